"""The soak's invariants for incremental and on-demand runs are not vacuous: each kind of damage
they look for is reported, and a run that did what it should is not."""

from __future__ import annotations

import copy
import json

from soak.oracle import (cursor_violations, desired_of, identities_of, on_demand_violations,
                         scoped_differences)
from soak.rounds import fallback_kind, retarget_faults
from soak.world import RECIPIENT, changed_people, initial_scenario

ANN, BOB, CAT = "QuickSightReader/user1@example.com", "QuickSightReader/user2@example.com", "QuickSightReader/user3@example.com"


def _world():
    """Three readers, Okta group Team 1 (ann, bob) assigned to the app, and QuickSight synced to it."""
    sc = initial_scenario(n_users=3, n_groups=1, seed=1)
    target, okta = sc["target"], sc["okta"]
    for app_user in okta["app_users"]:
        app_user["saml_roles"] = ["QuickSightAdmin"] if app_user["id"] == "00uadmin" else ["QuickSightReader"]
    okta["groups"][0]["members"] = ["00u00001", "00u00002"]
    state = copy.deepcopy(sc["quicksight"])
    want = desired_of(target, okta)
    for name, user in want.users.items():
        if name != RECIPIENT:
            state["users"].append({"user_name": name, "email": user["email"], "role": user["role"], "identity_type": "IAM"})
    state["groups"].append({"name": "Okta-Team 1", "description": "okta-sync:00g00001", "members": sorted(want.groups["Okta-Team 1"])})
    state["assets"].append({"type": "dashboard", "id": "bobs", "region": "us-east-1", "owners": [BOB]})
    return target, okta, state


def _user(state, name):
    return next(u for u in state["users"] if u["user_name"] == name)


def _group(state, name):
    return next(g for g in state["groups"] if g["name"] == name)


def test_on_demand_runs_may_change_only_the_named_people():
    target, okta, before = _world()
    assert identities_of(target, okta, "00u00002") == {f"{r}/user2@example.com" for r in target["saml_roles"]}

    # done right: bob (named) leaves, his dashboard goes to the recipient; ann (named too) is promoted
    right = copy.deepcopy(before)
    right["users"] = [u for u in right["users"] if u["user_name"] != BOB]
    _group(right, "Okta-Team 1")["members"].remove(BOB)
    _user(right, ANN)["role"] = "AUTHOR"
    right["assets"][-1]["owners"] = [RECIPIENT]
    right["groups"].append({"name": "Okta-Team 9", "description": "okta-sync:00g9", "members": [ANN]})
    assert on_demand_violations(target, okta, ["00u00001", "00u00002"], before, right) == []

    # the same run with only bob named: ann's role and the new group's member are someone else's
    found = "\n".join(on_demand_violations(target, okta, ["00u00002"], before, right))
    assert f"changed user {ANN}, who was not named" in found, found
    assert "created group Okta-Team 9 with members not named" in found, found

    # bob named and recreated (a role downgrade: his assets go to the recipient before the delete, and he is
    # registered again): allowed for him, as the plan says so; the same move without it in the plan is not
    recreated = copy.deepcopy(before)
    recreated["assets"][-1]["owners"] = [RECIPIENT]
    assert on_demand_violations(target, okta, ["00u00002"], before, recreated, recreated=[BOB]) == []
    found = "\n".join(on_demand_violations(target, okta, ["00u00002"], before, recreated))
    assert "changed the owners of asset ('dashboard', 'bobs'" in found, found
    assert on_demand_violations(target, okta, ["00u00003"], before, recreated, recreated=[BOB]) != []  # bob not named

    wrong = copy.deepcopy(before)  # only cat named, yet bob left Team 1, a hand-made group lost a member,
    _group(wrong, "Okta-Team 1")["members"].remove(BOB)  # a group went and an asset changed hands
    _group(wrong, "Finance-Manual")["members"].remove("analyst")
    wrong["groups"] = [g for g in wrong["groups"] if g["name"] != "Okta-Board"]
    wrong["assets"][-1]["owners"] = [RECIPIENT]
    found = "\n".join(on_demand_violations(target, okta, ["00u00003"], before, wrong))
    for needle in (f"changed memberships of people not named in Okta-Team 1: ['{BOB}'] left",
                   "changed memberships of people not named in Finance-Manual: ['analyst'] left",
                   "deleted group Okta-Board", "changed the owners of asset ('dashboard', 'bobs'"):
        assert needle in found, found


def test_a_converged_scoped_run_equals_the_desired_state_for_what_it_looked_at():
    target, okta, state = _world()
    assert scoped_differences(target, okta, state, user_ids=["00u00001", "00u00002", "00u00003"],
                              group_ids=["00g00001"], group_names=["Okta-Team 1"]) == []

    okta["users"][1]["email"] = "ann@example.org"  # ann's email changed, bob left the group, cat is now in it
    okta["groups"][0]["members"] = ["00u00001", "00u00003"]
    okta["app_users"] = [a for a in okta["app_users"] if a["id"] != "00u00002"]  # and bob left the app
    found = "\n".join(scoped_differences(target, okta, state, user_ids=["00u00001", "00u00002", "00u00003"],
                                         group_ids=["00g00001"]))
    for needle in (f"person 00u00001: user {ANN} has user1@example.com/READER, wants ann@example.org/READER",
                   f"person 00u00002: user {BOB} should have been deprovisioned",
                   f"person 00u00002: {BOB} should not be in group Okta-Team 1",
                   f"person 00u00003: {CAT} missing from group Okta-Team 1",
                   "group Okta-Team 1 (Okta 00g00001, read whole): managed members"):
        assert needle in found, found
    # people and groups the run did not look at are not its to fix
    assert scoped_differences(target, okta, state, user_ids=[], group_ids=[]) == []

    okta["app_groups"] = []  # unassigned from the app: its group must be gone once it was read whole
    found = "\n".join(scoped_differences(target, okta, state, group_ids=["00g00001"]))
    assert "group Okta-Team 1 (okta-sync:00g00001) should have been deleted" in found, found

    okta["app_groups"] = ["00g00001"]  # a group that should exist, asked about, and missing
    okta["groups"][0]["name"] = "Team 2"
    found = "\n".join(scoped_differences(target, okta, state, user_ids=["00u00001"], group_names=["Okta-Team 2"]))
    assert "group Okta-Team 2 was asked about and is desired, but missing" in found, found
    assert f"person 00u00001: desired group Okta-Team 2 missing (wants {ANN} in it)" in found, found


def test_the_cursor_moves_only_after_a_converged_run_that_may_move_it():
    key = "sync.incremental_cursor"
    old = {key: json.dumps({"next_link": "old"})}
    new = {key: json.dumps({"next_link": "new"})}
    incremental = {"mode": "incremental", "cursor_to": "new"}
    assert cursor_violations("success", incremental, key, old, new) == []
    assert cursor_violations("success", {"mode": "full"}, key, old, new) == []
    assert cursor_violations("failed", {"mode": "full"}, key, old, old) == []
    assert "moved after a run that ended failed" in cursor_violations("failed", incremental, key, old, new)[0]
    assert "moved after a run that ended held" in cursor_violations("held", {"mode": "full"}, key, {}, new)[0]
    assert "moved after an on-demand run" in cursor_violations("success", {"mode": "only_users"}, key, old, new)[0]
    assert "not where its log read ended" in cursor_violations("success", incremental, key, old, old)[0]


def test_the_round_knows_whom_it_changed_and_where_a_modes_faults_go():
    import random

    target, okta, _ = _world()
    after = copy.deepcopy(okta)
    after["groups"][0]["name"] = "Team 1 (renamed)"  # ann and bob are in it
    after["users"][3]["email"] = "cat@example.org"
    assert changed_people(okta, after) == ["00u00001", "00u00002", "00u00003"]
    assert changed_people(okta, copy.deepcopy(okta)) == []

    faults = [{"service": "okta", "endpoint": "GET /api/v1/apps/{appId}/users", "status": 500}] * 40
    faults += [{"service": "quicksight", "operation": "ListUsers", "error": "ThrottlingException"}] * 40
    assert retarget_faults(faults, "full", random.Random(1)) == faults
    moved = retarget_faults(faults, "only_users", random.Random(1))
    assert {f["endpoint"] for f in moved if f["service"] == "okta"} >= {"GET /api/v1/users/{userId}",
                                                                        "GET /api/v1/apps/{appId}/users"}
    assert "DescribeUser" in {f["operation"] for f in moved if f["service"] == "quicksight"}

    assert fallback_kind("a System Log page failed (Okta said 500): everything is read instead") == "a System Log page failed"
    assert fallback_kind("the cursor was saved 95 days ago, past the System Log's 90-day retention: ...") \
        == "cursor past the log's retention"
