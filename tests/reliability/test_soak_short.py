"""Ten rounds of the soak (`make soak` runs 200): random Okta changes, random faults on
both sides, a run (full, incremental or on-demand), a clean run; every invariant holds and
faults really fired. Seed 11's
ten rounds include a rename onto a name an unmanaged group holds, refused CreateGroup calls
and recreate downgrades of users in hand-made groups: the rounds that lost groups and
memberships before the sync kept them."""

from __future__ import annotations

from soak.report import BEGIN, END, render, write_doc  # noqa: E402
from soak.rounds import run_soak  # noqa: E402


def test_short_soak_keeps_every_invariant(tmp_path):
    stats = run_soak(rounds=10, seed=11)
    assert stats.violations == []
    assert stats.rounds == 10 and stats.runs == 20
    assert stats.clean_runs_failed == 0
    assert sum(stats.faults_injected.values()) >= 5
    assert any(k.startswith("okta") for k in stats.faults_injected)
    assert any(k.startswith("quicksight") for k in stats.faults_injected)
    assert sum(stats.okta_changes.values()) >= 10
    # the rounds the group and membership invariants are for really happened
    assert stats.okta_changes["rename_group_onto_taken_name"] >= 1 and stats.okta_changes["fix_taken_name"] >= 1
    assert stats.faults_injected["quicksight CreateGroup refused"] >= 1
    assert stats.policies["recreate"] >= 1 and stats.policies["report"] >= 1
    assert stats.sync_actions["recreate_user done"] >= 1
    assert stats.quicksight_changes["promote a user by hand"] >= 1
    assert stats.quicksight_changes["add a user to a hand-made group"] >= 1
    assert stats.watched["kept groups (successor missing)"] >= 1
    assert stats.watched["recreated users' memberships in unmanaged groups"] >= 1
    # incremental and on-demand runs happened, converged, and their own invariants looked at something
    assert stats.runs_by_mode["incremental"] >= 1 and stats.runs_by_mode["only_users"] >= 1
    assert stats.runs_by_mode["full (clean run)"] == 10
    assert stats.scoped["converged incremental runs: people checked"] >= 1
    assert stats.scoped["converged on-demand runs: people checked"] >= 1
    assert stats.scoped["on-demand: people named that the round changed"] >= 1
    assert stats.cursor["moved (converged run)"] >= 1 and stats.cursor["kept (run failed)"] >= 1

    doc = tmp_path / "reliability.md"
    doc.write_text("# Reliability\n\nhand-written part\n\n" + BEGIN + "\nold figures\n" + END + "\n\nmore hand-written\n")
    write_doc(doc, render(stats))
    text = doc.read_text()
    assert "hand-written part" in text and "more hand-written" in text and "old figures" not in text
    assert "| **invariant violations** | **0** |" in text
    assert "| rounds with downgrade_policy recreate |" in text and "| kept groups (successor missing) |" in text
    assert "| incremental |" in text and "| only_users |" in text and "fell back to a full run, by reason" in text


def test_invariants_catch_each_kind_of_damage():
    """The checker is not vacuous: each kind of damage the soak looks for is reported."""
    import copy

    from soak.oracle import convergence_differences, invariant_violations
    from soak.world import RECIPIENT, initial_scenario

    sc = initial_scenario(n_users=3, n_groups=1, seed=1)
    target, okta = sc["target"], sc["okta"]
    keeper = f"QuickSightReader/{okta['users'][1]['login']}"
    for app_user in okta["app_users"]:
        app_user["saml_roles"] = ["QuickSightAdmin"] if app_user["id"] == "00uadmin" else ["QuickSightReader"]
    before = copy.deepcopy(sc["quicksight"])
    before["users"].append({"user_name": keeper, "email": okta["users"][1]["email"], "role": "READER", "identity_type": "IAM"})
    before["users"].append({"user_name": "QuickSightReader/left@example.com", "email": "l@example.com", "role": "READER", "identity_type": "IAM"})
    before["assets"].append({"type": "dashboard", "id": "left", "region": "us-east-1", "owners": ["QuickSightReader/left@example.com"]})

    before["groups"][0]["members"].append("QuickSightReader/left@example.com")  # Finance-Manual

    damaged = copy.deepcopy(before)
    damaged["users"] = [u for u in damaged["users"] if u["user_name"] not in (keeper, "QuickSightReader/left@example.com")]
    damaged["users"] = [dict(u, role="READER") if u["user_name"] == "analyst" else u for u in damaged["users"]]
    damaged["groups"][0]["members"] = []
    damaged["groups"][1]["members"].append("OtherRole/contractor@example.com")  # Okta-Lookalike
    damaged["assets"][-1]["owners"] = []
    found = "\n".join(invariant_violations(target, okta, before, damaged))
    for needle in (f"desired identity {keeper} was deleted", "is not owned by " + RECIPIENT, "lost every owner",
                   "unmanaged user analyst changed", "unmanaged group Okta-Lookalike: members",
                   "membership lost: analyst left unmanaged group Finance-Manual",
                   "membership lost: OtherRole/contractor@example.com left unmanaged group Finance-Manual"):
        assert needle in found, found
    assert "left@example.com left" not in found, "a deleted user leaving its groups is not a lost membership"
    assert any("missing" in d for d in convergence_differences(target, okta, damaged))


def test_invariants_catch_lost_groups_and_memberships():
    """A renamed group deleted before its successor exists, a kept group stripped of members, and a
    recreate that drops memberships in hand-made groups are each reported; a rename done right is not."""
    import copy

    from soak.oracle import convergence_differences, invariant_violations
    from soak.world import initial_scenario

    sc = initial_scenario(n_users=3, n_groups=1, seed=1)
    target, okta = sc["target"], sc["okta"]
    for app_user in okta["app_users"]:
        app_user["saml_roles"] = ["QuickSightAdmin"] if app_user["id"] == "00uadmin" else ["QuickSightReader"]
    ann, bob = (f"QuickSightReader/{u['login']}" for u in okta["users"][1:3])
    group = okta["groups"][0]
    old_name, marker = f"Okta-{group['name']}", f"okta-sync:{group['id']}"
    before = copy.deepcopy(sc["quicksight"])
    for name, u in ((ann, okta["users"][1]), (bob, okta["users"][2])):
        before["users"].append({"user_name": name, "email": u["email"], "role": "AUTHOR", "identity_type": "IAM"})
    before["groups"].append({"name": old_name, "description": marker, "members": [ann, bob]})
    before["groups"][0]["members"].append(ann)  # Finance-Manual, made by hand
    group["name"] += " EMEA"  # renamed in Okta, still an app group
    new_name = f"Okta-{group['name']}"

    deleted = copy.deepcopy(before)  # the old group deleted, its successor never created
    deleted["groups"] = [g for g in deleted["groups"] if g["name"] != old_name]
    found = "\n".join(invariant_violations(target, okta, before, deleted))
    assert f"managed group {old_name} ({marker}) was deleted before its successor {new_name} exists" in found, found

    stripped = copy.deepcopy(before)  # kept (no successor) but a recreate dropped ann from it and from Finance-Manual
    for g in stripped["groups"]:
        if ann in g["members"]:
            g["members"].remove(ann)
    stripped["users"] = [dict(u, role="READER") if u["user_name"] == ann else u for u in stripped["users"]]
    found = "\n".join(invariant_violations(target, okta, before, stripped))
    assert f"membership lost: {ann} left managed group {old_name}, kept because its successor {new_name}" in found, found
    assert f"membership lost: {ann} left unmanaged group Finance-Manual" in found, found
    assert "deleted before its successor" not in found

    replaced = copy.deepcopy(before)  # done right: the successor exists with the marker, then the old one goes
    replaced["groups"] = [dict(g, name=new_name) if g["name"] == old_name else g for g in replaced["groups"]]
    assert invariant_violations(target, okta, before, replaced) == []

    okta["users"] = [u for u in okta["users"] if u["id"] != okta["app_users"][2]["id"]]  # bob leaves
    okta["app_users"] = okta["app_users"][:2]
    bob_leaving = copy.deepcopy(before)  # a leaving user out of the kept group is not the group's loss
    bob_leaving["groups"] = [dict(g, members=[ann]) if g["name"] == old_name else g for g in bob_leaving["groups"]]
    assert invariant_violations(target, okta, before, bob_leaving) == []

    # ann is AUTHOR in QuickSight and READER in Okta: report leaves the higher role, recreate may not
    assert not any(f"user {ann}:" in d for d in convergence_differences({**target, "downgrade_policy": "report"}, okta, replaced))
    assert any(f"user {ann}: has" in d for d in convergence_differences({**target, "downgrade_policy": "recreate"}, okta, replaced))
