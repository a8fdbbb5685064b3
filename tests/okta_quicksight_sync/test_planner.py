"""The planner, clause by clause (docs/sync-rules.md sections 3-6), applied to the memory directory."""

import json
import time

import pytest
from tests.okta_quicksight_sync.memory_directory import MemoryAssetHandover
from tests.okta_quicksight_sync.sync_builders import (
    ADMIN, by_status, config, directory, groups_config, og, okta, ou, plan_for, qg, qu, run, state,
)

from okta_quicksight_sync.apply import apply_deprovision, apply_group_sync, apply_user_sync
from okta_quicksight_sync.model import OKTA_STATUSES, OktaGroup, OktaSnapshot, OktaUser, QsGroup, QsSnapshot, QsUser
from okta_quicksight_sync.planner import plan
from okta_quicksight_sync.quicksight_reader import read_quicksight
from okta_quicksight_sync.report import outcome_of

R, A, M = "QuickSightReader", "QuickSightAuthor", "QuickSightAdmin"


def names(memory):
    return set(memory.users)


# ------------------------------------------------------------------ statuses
@pytest.mark.parametrize("status", [s for s in OKTA_STATUSES if s != "DEPROVISIONED"])
def test_every_status_but_deprovisioned_is_eligible_by_default(status):
    memory = directory()
    run(config(), okta([ou("u1", status=status)]), memory)
    assert f"{R}/u1@example.com" in memory.users


def test_deprovisioned_okta_user_is_deprovisioned_in_quicksight():
    memory = directory([qu(f"{R}/u1@example.com")])
    planned, results = run(config(), okta([ou("u1", status="DEPROVISIONED"), ou("u2")]), memory)
    assert planned.deprovision == [f"{R}/u1@example.com"]
    assert f"{R}/u1@example.com" not in memory.users
    assert ("deprovision_user", f"{R}/u1@example.com") in by_status(results, "done")


def test_eligible_statuses_is_configurable():
    memory = directory([qu(f"{R}/u1@example.com")])
    run(config(eligible_statuses=["ACTIVE"]), okta([ou("u1", status="SUSPENDED"), ou("u2")]), memory)
    assert names(memory) == {ADMIN, f"{R}/u2@example.com"}


# -------------------------------------------------------------- role sources
def test_saml_roles_one_identity_per_mapped_role_and_others_ignored():
    memory = directory()
    users = [ou("u1", roles=(R, A, "SomeOtherRole", R))]
    run(config(), okta(users), memory)
    assert state(memory)[0] == {
        ADMIN: ("admin@example.com", "ADMIN", "IAM"),
        f"{R}/u1@example.com": ("u1@example.com", "READER", "IAM"),
        f"{A}/u1@example.com": ("u1@example.com", "AUTHOR", "IAM"),
    }


def test_saml_roles_register_call_carries_arn_and_session_name():
    memory = directory()
    planned = plan_for(config(), okta([ou("u1", roles=(A,))]), memory)
    assert planned.register == [{
        "user_name": f"{A}/u1@example.com", "iam_arn": "arn:aws:iam::111122223333:role/QuickSightAuthor",
        "session_name": "u1@example.com", "email": "u1@example.com", "role": "AUTHOR",
    }]


def test_user_with_no_mapped_role_gets_no_identity():
    memory = directory()
    planned, _ = run(config(), okta([ou("u1", roles=("Unmapped",)), ou("u2", roles=())]), memory)
    assert not planned.has_writes and names(memory) == {ADMIN}


def test_groups_role_source_takes_the_highest_role_group():
    cfg = groups_config()
    users = [ou("u1", roles=()), ou("u2", roles=()), ou("u3", roles=())]
    groups = [og("g1", "QS Readers", ["u1", "u2"]), og("g2", "QS Authors", ["u2"]), og("g3", "QS Admins", ["u2"])]
    memory = directory()
    run(cfg, okta(users, groups), memory)
    users_after = state(memory)[0]
    assert users_after["QuickSightFederated/u1@example.com"][1] == "READER"
    assert users_after["QuickSightFederated/u2@example.com"][1] == "ADMIN"
    assert "QuickSightFederated/u3@example.com" not in users_after  # no role group, no default_role


def test_groups_role_source_default_role():
    cfg = groups_config(default_role="READER")
    memory = directory()
    run(cfg, okta([ou("u3", roles=())], [og("g2", "QS Authors", [])]), memory)
    assert state(memory)[0]["QuickSightFederated/u3@example.com"][1] == "READER"


def test_groups_role_source_owns_only_its_iam_role():
    cfg = groups_config(default_role="READER")
    memory = directory([qu(f"{R}/old@example.com")])  # saml-style name: not this target's
    planned, _ = run(cfg, okta([ou("u1", roles=())]), memory)
    assert planned.deprovision == [] and f"{R}/old@example.com" in memory.users


# -------------------------------------------------------------- role changes
def test_higher_role_is_applied_with_email():
    memory = directory([qu(f"{R}/u1@example.com", "READER", email="old@example.com")])
    planned, _ = run(config(saml_roles={R: "AUTHOR"}), okta([ou("u1")]), memory)
    assert planned.update == [{
        "user_name": f"{R}/u1@example.com", "email": "u1@example.com", "role": "AUTHOR",
        "reason": "role READER -> AUTHOR; email old@example.com -> u1@example.com",
    }]
    assert memory.users[f"{R}/u1@example.com"].role == "AUTHOR"


def test_email_change_keeps_the_current_role():
    memory = directory([qu(f"{R}/u1@example.com", "AUTHOR", email="old@example.com")])
    planned, results = run(config(), okta([ou("u1")]), memory)  # Okta asks READER
    assert planned.update[0]["role"] == "AUTHOR"
    assert memory.users[f"{R}/u1@example.com"].email == "u1@example.com"
    assert memory.users[f"{R}/u1@example.com"].role == "AUTHOR"
    assert by_status(results, "skipped") == [("downgrade", f"{R}/u1@example.com")]


def test_downgrade_report_policy_leaves_the_role_and_reports_it():
    memory = directory([qu(f"{R}/u1@example.com", "ADMIN")])
    planned, results = run(config(), okta([ou("u1")]), memory)
    assert not planned.has_writes and planned.deletion_count == 0
    assert memory.users[f"{R}/u1@example.com"].role == "ADMIN"
    (skip,) = [r for r in results if r["status"] == "skipped"]
    assert "downgrade_policy" in skip["reason"] and "ADMIN" in skip["reason"]


def test_downgrade_recreate_policy_moves_assets_and_reregisters_with_groups():
    user = f"{R}/u1@example.com"
    memory = directory([qu(user, "AUTHOR")], [qg("Okta-Finance", "okta-sync:g1", [user])])
    handover = MemoryAssetHandover(memory, {"dash": {user}})
    cfg = config(downgrade_policy="recreate")
    planned, results = run(cfg, okta([ou("u1")], [og("g1", "Finance", ["u1"])]), memory, handover)
    assert [r["user_name"] for r in planned.recreate] == [user]
    assert planned.recreate[0]["groups"] == ["Okta-Finance"]
    assert planned.deletion_count == 1
    assert memory.users[user].role == "READER"
    assert memory.groups["Okta-Finance"]["members"] == {user}
    assert handover.assets["dash"] == {ADMIN}
    assert ("recreate_user", user) in by_status(results, "done")
    again = plan_for(cfg, okta([ou("u1")], [og("g1", "Finance", ["u1"])]), memory)
    assert not again.has_writes


def test_recreate_counts_as_a_deletion_and_is_held_over_the_limit():
    user = f"{R}/u1@example.com"
    memory = directory([qu(user, "AUTHOR")])
    planned, results = run(config(downgrade_policy="recreate", max_deletions=0), okta([ou("u1")]), memory)
    assert planned.deletions_held
    assert by_status(results, "held") == [("recreate_user", user)]
    assert memory.users[user].role == "AUTHOR"


# --------------------------------------------------------- what is not owned
def test_unmanaged_users_and_groups_are_left_alone():
    outsiders = [
        qu("QuickSightReader/native@example.com", identity_type="QUICKSIGHT"),  # not IAM
        qu("OtherRole/x@example.com"),  # another IAM role
        qu("plainuser", identity_type="QUICKSIGHT"),
    ]
    unmanaged_groups = [qg("Analysts", "hand made", ["OtherRole/x@example.com"]), qg("NoDescription", None)]
    memory = directory(outsiders, unmanaged_groups)
    before_users, before_groups = state(memory)
    planned, _ = run(config(), okta([]), memory, deletions_allowed=True)
    assert planned.deprovision == [] and planned.delete_groups == []
    assert state(memory) == (before_users, before_groups)
    # Members of unmanaged groups are not even read.
    assert memory.api_calls["ListGroupMemberships"] == 0


def test_protected_users_are_never_changed_nor_deleted():
    protected = f"{R}/boss@example.com"
    memory = directory([qu(protected, "ADMIN", email="x@example.com")], [qg("Okta-Finance", "okta-sync:g1")])
    users = [ou("boss")]  # Okta would make it a READER with another email and put it in Finance
    cfg = config(protected_users=[protected])
    planned, _ = run(cfg, okta(users, [og("g1", "Finance", ["boss"])]), memory)
    assert planned.update == [] and planned.add_members == {} and planned.failed == []
    assert memory.users[protected].role == "ADMIN" and memory.users[protected].email == "x@example.com"
    planned, _ = run(cfg, okta([]), memory, deletions_allowed=True)
    assert protected in memory.users


def test_recipient_is_protected_even_when_okta_has_no_such_user():
    memory = directory([qu(f"{R}/u1@example.com")])
    planned, _ = run(config(), okta([]), memory, deletions_allowed=True)
    assert ADMIN in memory.users and ADMIN not in planned.deprovision



def test_protected_user_okta_wants_and_quicksight_lacks_is_registered_then_never_changed():
    memory = directory(with_admin=False)
    admin_okta = ou("admin", roles=(M,))
    groups = [og("g1", "Finance", ["admin", "u1"])]
    planned, results = run(config(), okta([admin_okta, ou("u1")], groups), memory)
    assert [r["user_name"] for r in planned.register] == [ADMIN, f"{R}/u1@example.com"]
    assert memory.users[ADMIN] == qu(ADMIN, "ADMIN")
    # Unmanaged, so put into no group (in a managed group only managed users are added or removed).
    assert memory.groups["Okta-Finance"]["members"] == {f"{R}/u1@example.com"}
    assert by_status(results, "failed") == []
    # Once it exists it is protected like any other: an email change in Okta is not applied.
    moved = OktaUser("admin", "ACTIVE", "admin@example.com", "new@example.com", (M,))
    planned, _ = run(config(), okta([moved, ou("u1")], groups), memory)
    assert not planned.has_writes and memory.users[ADMIN].email == "admin@example.com"


def test_protected_user_okta_does_not_want_is_not_registered():
    memory = directory(with_admin=False)
    planned, _ = run(config(protected_users=[f"{A}/boss@example.com"]), okta([ou("u1")]), memory)
    assert [r["user_name"] for r in planned.register] == [f"{R}/u1@example.com"]


def test_recipient_registered_in_this_run_takes_a_leavers_assets():
    leaver = f"{R}/gone@example.com"
    memory = directory([qu(leaver)], with_admin=False)
    handover = MemoryAssetHandover(memory, {"dash": {leaver}})
    planned, results = run(config(), okta([ou("admin", roles=(M,))]), memory, handover)
    assert planned.deprovision == [leaver] and by_status(results, "failed") == []
    assert handover.assets == {"dash": {ADMIN}} and leaver not in memory.users

def test_only_managed_users_are_removed_from_managed_groups():
    native = "QuickSightReader/native"
    memory = directory([qu(native, identity_type="QUICKSIGHT"), qu(f"{R}/u2@example.com")],
                       [qg("Okta-Finance", "okta-sync:g1", [native, ADMIN, f"{R}/u2@example.com"])])
    planned, _ = run(config(), okta([ou("u2")], [og("g1", "Finance", [])]), memory)
    assert planned.remove_members == {"Okta-Finance": [f"{R}/u2@example.com"]}
    assert memory.groups["Okta-Finance"]["members"] == {native, ADMIN}


# ---------------------------------------------------------------- conflicts
def test_unmanaged_group_with_a_desired_name_is_a_conflict():
    memory = directory([], [qg("Okta-Finance", "made by hand", ["OtherRole/x"])])
    planned, results = run(config(), okta([ou("u1")], [og("g1", "Finance", ["u1"])]), memory)
    assert planned.create_groups == [] and planned.add_members == {}
    (failed,) = [r for r in results if r["status"] == "failed"]
    assert failed["action"] == "group_conflict" and "adopt_descriptions" in failed["reason"]
    assert memory.groups["Okta-Finance"] == {"description": "made by hand", "members": {"OtherRole/x"}}


def test_non_iam_user_with_a_desired_name_is_a_conflict():
    name = f"{R}/u1@example.com"
    memory = directory([qu(name, identity_type="QUICKSIGHT", email="other@example.com")])
    planned, results = run(config(), okta([ou("u1")]), memory)
    assert planned.register == [] and planned.update == []
    assert by_status(results, "failed") == [("user_conflict", name)]
    assert memory.users[name].email == "other@example.com"


# ----------------------------------------------------------------- bad data
@pytest.mark.parametrize("group_name", ["Finance \u20ac", "Tab\tSeparated", "F" * 130 + "\u0100"])
def test_group_name_quicksight_rejects_fails_that_group_only(group_name):
    memory = directory()
    groups = [og("g1", group_name, ["u1"]), og("g2", "Sales", ["u1"])]
    planned, results = run(config(), okta([ou("u1")], groups), memory)
    assert [g["name"] for g in planned.create_groups] == ["Okta-Sales"]
    assert [r["action"] for r in results if r["status"] == "failed"] == ["validate_group"]
    assert set(memory.groups) == {"Okta-Sales"}


def test_renamed_to_a_bad_name_keeps_the_old_group_as_it_is():
    memory = directory([qu(f"{R}/u1@example.com")], [qg("Okta-Finance", "okta-sync:g1", ["QuickSightReader/u1@example.com"])])
    planned, _ = run(config(), okta([], [og("g1", "Finance \u20ac", [])]), memory, deletions_allowed=True)
    assert planned.delete_groups == [] and planned.remove_members == {}
    assert "Okta-Finance" in memory.groups


def test_group_name_exactly_128_characters_is_fine():
    memory = directory()
    run(config(group_prefix=""), okta([], [og("g1", "\u00e9" * 128)]), memory)
    assert "\u00e9" * 128 in memory.groups


@pytest.mark.parametrize("length", [129, 140, 1000])
def test_group_name_longer_than_128_is_fine_as_quicksights_model_states_no_maximum(length):
    memory = directory([qu(f"{R}/u1@example.com")])
    planned, results = run(config(group_prefix=""), okta([ou("u1")], [og("g1", "\u00e9" * length, ["u1"])]), memory)
    assert planned.failed == [] and by_status(results, "failed") == []
    assert memory.groups["\u00e9" * length]["members"] == {f"{R}/u1@example.com"}


def test_a_group_name_quicksight_itself_refuses_fails_that_item_with_awss_message():
    memory = directory([qu(f"{R}/u1@example.com")])
    memory.fail("CreateGroup", "Okta-Finance", "InvalidParameterValueException: GroupName refused by AWS")
    _, results = run(config(), okta([ou("u1")], [og("g1", "Finance", ["u1"]), og("g2", "Sales", ["u1"])]), memory)
    (failed,) = [r for r in results if r["status"] == "failed"]
    assert failed["action"] == "create_group" and "GroupName refused by AWS" in failed["reason"]
    assert set(memory.groups) == {"Okta-Sales"}


def test_user_without_email_fails_and_its_quicksight_user_stays_as_it_is():
    name = f"{R}/u1@example.com"
    memory = directory([qu(name, "READER", email="old@example.com")], [qg("Okta-Finance", "okta-sync:g1", [name])])
    okta_state = okta([ou("u1", email=None), ou("u2")], [og("g1", "Finance", ["u2"])])
    planned, results = run(config(), okta_state, memory, deletions_allowed=True)
    assert name not in planned.deprovision and planned.remove_members == {}
    assert planned.add_members == {"Okta-Finance": [f"{R}/u2@example.com"]}
    assert memory.users[name].email == "old@example.com"
    assert name in memory.groups["Okta-Finance"]["members"]
    (failed,) = [r for r in results if r["status"] == "failed"]
    assert failed["action"] == "validate_user" and "email" in failed["reason"] and "u1" in failed["item"]


def test_typod_okta_username_freezes_the_persons_identities_by_user_name_and_by_email():
    """Ann's app username became 'ann@example,com': her identities (same email, any case) are kept whole."""
    ann_r, ann_a, zed = f"{R}/ann@example.com", f"{A}/a.lee@example.com", f"{R}/zed@example.com"
    memory = directory([qu(ann_r), qu(ann_a, "AUTHOR", email="Ann@Example.com"), qu(zed)],
                       [qg("Okta-Finance", "okta-sync:g1", [ann_r, ann_a])])
    handover = MemoryAssetHandover(memory, {"ann-board": {ann_r}, "zed-board": {zed}})
    typo = ou("u1", "ann@example,com", email="ann@example.com")
    planned, results = run(config(), okta([typo, ou("bob")], [og("g1", "Finance", ["u1", "bob"])]), memory, handover)
    assert planned.deprovision == [zed] and planned.remove_members == {} and planned.update == []
    assert {ann_r, ann_a} <= set(memory.users) and zed not in memory.users
    assert memory.groups["Okta-Finance"]["members"] == {ann_r, ann_a, f"{R}/bob@example.com"}
    assert handover.assets["ann-board"] == {ann_r} and handover.calls == [(zed, ADMIN)]
    assert by_status(results, "failed") == [("validate_user", "ann@example,com (Okta u1)")]
    kept = {r["item"]: r["reason"] for r in results if r["status"] == "skipped"}
    assert set(kept) == {ann_r, ann_a} and "Okta user ann@example,com (Okta u1)" in kept[ann_a]


def test_a_name_a_valid_okta_user_claims_is_not_frozen_by_another_users_email():
    shared = "team@example.com"
    bob = f"{R}/bob@example.com"
    memory = directory([qu(bob, email=shared)])
    users = [ou("bob", email=shared), ou("u1", "bad name", email=shared)]
    planned, _ = run(config(), okta(users, [og("g1", "Finance", ["bob"])]), memory)
    assert planned.add_members == {"Okta-Finance": [bob]}


@pytest.mark.parametrize("user_name", ["a", "ann smith", "x" * 65, "ann/smith", "änne", ""])
def test_user_name_that_is_no_session_name_fails(user_name):
    memory = directory()
    planned, results = run(config(), okta([ou("u1", user_name, email="u1@example.com"), ou("u2")]), memory)
    assert [r["user_name"] for r in planned.register] == [f"{R}/u2@example.com"]
    assert by_status(results, "failed")[0][0] == "validate_user"


def test_two_okta_users_mapping_to_one_name_both_fail_and_the_existing_user_stays():
    name = f"{R}/ann@example.com"
    memory = directory([qu(name, email="old@example.com")])
    users = [ou("u1", "ann@example.com", email="a1@example.com"), ou("u2", "ann@example.com", email="a2@example.com"),
             ou("u3")]
    planned, results = run(config(), okta(users), memory, deletions_allowed=True)
    failed = [r for r in results if r["status"] == "failed"]
    assert sorted("u1" in r["item"] or "u2" in r["item"] for r in failed) == [True, True]
    assert name not in planned.deprovision and planned.update == []
    assert memory.users[name].email == "old@example.com"
    assert f"{R}/u3@example.com" in memory.users


def test_duplicate_with_an_invalid_user_fails_both():
    users = [ou("u1", "ann@example.com", email=None), ou("u2", "ann@example.com")]
    planned = plan_for(config(), okta(users), directory())
    assert planned.register == []
    assert len([f for f in planned.failed if f["action"] == "validate_user"]) == 2


def test_failed_items_do_not_stop_the_run_but_make_it_fail():
    memory = directory()
    _, results = run(config(), okta([ou("u1", email=None), ou("u2")]), memory)
    assert f"{R}/u2@example.com" in memory.users
    assert outcome_of(results) == "failed"


# ------------------------------------------------------------------- groups
def test_renamed_okta_group_new_name_created_first_old_deleted_last():
    user = f"{R}/u1@example.com"
    memory = directory([qu(user)], [qg("Okta-Finance", "okta-sync:g1", [user])])
    planned, results = run(config(), okta([ou("u1")], [og("g1", "Money", ["u1"])]), memory)
    assert planned.create_groups == [{"name": "Okta-Money", "description": "okta-sync:g1"}]
    assert planned.delete_groups == ["Okta-Finance"]
    assert planned.remove_members == {}  # the deletion takes them
    order = [r["action"] for r in results]
    assert order.index("create_group") < order.index("add_member") < order.index("delete_group")
    assert state(memory)[1] == {"Okta-Money": ("okta-sync:g1", (user,))}


def test_renamed_okta_group_whose_new_name_is_a_conflict_keeps_the_old_group_with_its_members():
    user = f"{R}/u1@example.com"
    memory = directory([qu(user)], [qg("Okta-Finance", "okta-sync:g1", [user]), qg("Okta-Money", "by hand", ["x"])])
    planned, results = run(config(), okta([ou("u1")], [og("g1", "Money", ["u1"])]), memory, deletions_allowed=True)
    assert planned.delete_groups == [] and planned.deletion_count == 0 and planned.remove_members == {}
    assert by_status(results, "failed") == [("delete_group", "Okta-Finance"), ("group_conflict", "Okta-Money")]
    reason = [r["reason"] for r in results if r["item"] == "Okta-Finance"][0]
    assert "kept with its members" in reason and "'Okta-Money'" in reason and "conflict" in reason
    assert state(memory)[1] == {"Okta-Finance": ("okta-sync:g1", (user,)), "Okta-Money": ("by hand", ("x",))}


@pytest.mark.parametrize("tell_apply", [True, False], ids=["group_sync-results", "directory-check"])
def test_renamed_okta_group_whose_successor_quicksight_refuses_keeps_the_old_group(tell_apply):
    user = f"{R}/u1@example.com"
    memory = directory([qu(user)], [qg("Okta-Finance", "okta-sync:g1", [user])])
    memory.fail("CreateGroup", "Okta-Money", "LimitExceededException: namespace full")
    planned = plan_for(config(), okta([ou("u1")], [og("g1", "Money", ["u1"])]), memory)
    assert planned.successors == {"Okta-Finance": {"name": "Okta-Money", "description": "okta-sync:g1"}}
    groups_done = apply_group_sync(planned, memory)
    users_done = apply_user_sync(planned, memory, earlier_results=groups_done)
    memory.api_calls.clear()
    done = apply_deprovision(planned, memory, MemoryAssetHandover(memory),
                             earlier_results=groups_done if tell_apply else None)
    assert memory.api_calls.get("DescribeGroup", 0) == (0 if tell_apply else 1)
    (kept,) = [r for r in done if r["action"] == "delete_group"]
    assert kept["status"] == "failed" and "kept with its members" in kept["reason"] and "Okta-Money" in kept["reason"]
    if tell_apply:
        assert "namespace full" in kept["reason"]
    assert state(memory)[1] == {"Okta-Finance": ("okta-sync:g1", (user,))}
    assert outcome_of(groups_done + users_done + done) == "failed"


def test_renamed_okta_group_whose_new_name_someone_else_took_mid_run_keeps_the_old_group():
    user = f"{R}/u1@example.com"
    memory = directory([qu(user)], [qg("Okta-Finance", "okta-sync:g1", [user])])
    planned = plan_for(config(), okta([ou("u1")], [og("g1", "Money", ["u1"])]), memory)
    memory.groups["Okta-Money"] = {"description": "made by hand", "members": set()}  # after the read
    done = apply_deprovision(planned, memory, MemoryAssetHandover(memory))
    (kept,) = [r for r in done if r["action"] == "delete_group"]
    assert kept["status"] == "failed" and "not this sync's group" in kept["reason"]
    assert "Okta-Finance" in memory.groups


def test_renamed_okta_group_whose_successor_exists_already_is_deleted():
    user = f"{R}/u1@example.com"
    memory = directory([qu(user)], [qg("Okta-Finance", "okta-sync:g1", [user]), qg("Okta-Money", "Okta", [user])])
    planned, results = run(config(), okta([ou("u1")], [og("g1", "Money", ["u1"])]), memory)
    assert planned.successors == {"Okta-Finance": {"name": "Okta-Money", "description": "Okta"}}
    assert ("delete_group", "Okta-Finance") in by_status(results, "done")
    assert state(memory)[1] == {"Okta-Money": ("Okta", (user,))}

def test_unassigned_group_and_adopted_group_without_counterpart_are_deleted():
    memory = directory([], [qg("Okta-Gone", "okta-sync:g9"), qg("Okta-Legacy", "Okta"), qg("Mine", "other")])
    planned, _ = run(config(), okta([ou("u1")]), memory)
    assert planned.delete_groups == ["Okta-Gone", "Okta-Legacy"]
    assert set(memory.groups) == {"Mine"}


def test_adopted_group_with_a_desired_name_is_synced_and_its_description_kept():
    memory = directory([], [qg("Okta-Finance", "Okta")])
    planned, _ = run(config(), okta([ou("u1")], [og("g1", "Finance", ["u1"])]), memory)
    assert planned.create_groups == [] and planned.delete_groups == []
    assert memory.groups["Okta-Finance"] == {"description": "Okta", "members": {f"{R}/u1@example.com"}}


def test_adopt_descriptions_is_configurable():
    memory = directory([], [qg("Okta-Legacy", "Okta")])
    planned, _ = run(config(adopt_descriptions=["Managed by SSO"]), okta([ou("u1")]), memory)
    assert planned.delete_groups == [] and "Okta-Legacy" in memory.groups


def test_builtin_groups_are_skipped_unless_configured():
    groups = [og("g0", "Everyone", ["u1"], gtype="BUILT_IN"), og("g1", "Finance", ["u1"], gtype="APP_GROUP")]
    memory = directory()
    run(config(), okta([ou("u1")], groups), memory)
    assert set(memory.groups) == {"Okta-Finance"}
    run(config(sync_builtin_groups=True), okta([ou("u1")], groups), memory)
    assert set(memory.groups) == {"Okta-Finance", "Okta-Everyone"}


def test_group_prefix_is_applied_and_created_groups_carry_the_marker():
    memory = directory()
    run(config(group_prefix="SSO "), okta([ou("u1")], [og("00gX", "Finance", ["u1"])]), memory)
    assert memory.groups == {"SSO Finance": {"description": "okta-sync:00gX", "members": {f"{R}/u1@example.com"}}}


def test_members_of_a_group_include_every_identity_of_an_eligible_member_only():
    users = [ou("u1", roles=(R, A)), ou("u2", status="DEPROVISIONED"), ou("u3", roles=())]
    memory = directory()
    run(config(), okta(users, [og("g1", "Finance", ["u1", "u2", "u3"])]), memory)
    assert memory.groups["Okta-Finance"]["members"] == {f"{R}/u1@example.com", f"{A}/u1@example.com"}


# --------------------------------------------------------------- thresholds
def _leavers(n):
    return [qu(f"{R}/gone{i}@example.com") for i in range(n)]


def test_deletions_up_to_max_deletions_go_ahead():
    memory = directory(_leavers(3))
    planned, _ = run(config(max_deletions=3), okta([ou("u1")]), memory)
    assert planned.deletion_count == 3 and not planned.deletions_held
    assert names(memory) == {ADMIN, f"{R}/u1@example.com"}


def test_deletions_over_max_deletions_are_held_but_other_changes_applied():
    memory = directory(_leavers(3), [qg("Okta-Team", "okta-sync:g1", [f"{R}/gone0@example.com"]), qg("Okta-Old", "okta-sync:g2",
                       [f"{R}/gone1@example.com"])])
    planned, results = run(config(max_deletions=2), okta([ou("u1")], [og("g1", "Team", ["u1"])]), memory)
    assert planned.deletions_held and planned.deletion_count == 4
    assert "max_deletions 2" in planned.hold_reasons[0]
    assert len(by_status(results, "held")) == 4
    # Creations and membership changes are applied: a departing user leaves its groups but keeps account...
    assert memory.groups["Okta-Team"]["members"] == {f"{R}/u1@example.com"}
    assert {f"{R}/gone{i}@example.com" for i in range(3)} <= set(memory.users)
    # ...and a group to be deleted keeps its members.
    assert memory.groups["Okta-Old"]["members"] == {f"{R}/gone1@example.com"}


def test_allow_deletions_or_approval_releases_held_deletions():
    for params in ({"allow_deletions": True}, {"approved": True}):
        memory = directory(_leavers(3))
        planned, _ = run(config(max_deletions=2), okta([ou("u1")]), memory, **params)
        assert planned.deletions_over_limit and not planned.deletions_held
        assert names(memory) == {ADMIN, f"{R}/u1@example.com"}
    memory = directory(_leavers(3))
    planned, _ = run(config(max_deletions=2), okta([ou("u1")]), memory, deletions_allowed=True)
    assert planned.deletions_held and names(memory) == {ADMIN, f"{R}/u1@example.com"}


def test_percentage_threshold_of_managed_users_and_groups():
    # 10 managed users + 0 managed groups (the admin is protected): 20% = 2
    memory = directory(_leavers(10))
    okta_state = okta([ou(f"gone{i}") for i in range(8)])
    planned = plan_for(config(max_deletion_percent=20), okta_state, memory)
    assert planned.deletion_count == 2 and not planned.deletions_held
    okta_state = okta([ou(f"gone{i}") for i in range(7)])
    planned = plan_for(config(max_deletion_percent=20), okta_state, memory)
    assert planned.deletions_held and "max_deletion_percent 20%" in planned.hold_reasons[0]


def test_empty_okta_is_a_mass_deletion_even_under_the_limits():
    memory = directory(_leavers(2))
    planned, results = run(config(), okta([]), memory)
    assert planned.deletions_held and "mass deletion" in planned.hold_reasons[0]
    assert len(by_status(results, "held")) == 2 and len(memory.users) == 3


def test_eligible_users_without_roles_do_not_count_as_empty():
    memory = directory(_leavers(2))
    planned = plan_for(config(), okta([ou("x", roles=())]), memory)
    assert not planned.deletions_held and planned.deletion_count == 2


def test_empty_okta_and_empty_quicksight_plan_nothing():
    planned = plan_for(config(), okta([]), directory())
    assert not planned.has_writes and not planned.deletions_held and planned.failed == []


# ----------------------------------------------------------------- recipient
@pytest.mark.parametrize(
    "cfg_kw, recipient_users, fix",
    [
        ({"asset_recipient": None}, [], "no asset_recipient is configured"),
        ({}, [], "does not exist in QuickSight"),
        ({}, [qu(ADMIN, "READER")], "may not own assets"),
    ],
)
def test_without_a_usable_recipient_nobody_is_deprovisioned(cfg_kw, recipient_users, fix):
    memory = directory(_leavers(1) + recipient_users, [qg("Okta-Gone", "okta-sync:g9")], with_admin=False)
    planned, results = run(config(**cfg_kw), okta([ou("u1")]), memory)
    assert planned.deprovision == []
    failed = [r for r in results if r["status"] == "failed"]
    assert [(r["action"], r["item"]) for r in failed] == [("deprovision_user", f"{R}/gone0@example.com")]
    assert fix in failed[0]["reason"]
    assert f"{R}/gone0@example.com" in memory.users
    assert "Okta-Gone" not in memory.groups  # group deletions do not need a recipient


def test_a_pro_author_may_receive_assets():
    memory = directory(_leavers(1) + [qu(ADMIN, "AUTHOR_PRO")], with_admin=False)
    planned, _ = run(config(), okta([ou("u1")]), memory)
    assert planned.deprovision == [f"{R}/gone0@example.com"] and planned.failed == []


# ------------------------------------------------------------------- dry run
def test_dry_run_writes_nothing_and_reports_what_it_would_do():
    memory = directory(_leavers(1), [qg("Okta-Old", "okta-sync:g2")])
    before = state(memory)
    planned, results = run(config(), okta([ou("u1")], [og("g1", "Finance", ["u1"])]), memory, dry_run=True)
    assert planned.dry_run and memory.writes == [] and state(memory) == before
    assert {r["status"] for r in results} == {"planned"}
    assert sorted(r["action"] for r in results) == [
        "add_member", "create_group", "delete_group", "deprovision_user", "register_user"]


# ---------------------------------------------------------- steady state
def test_a_plan_with_nothing_to_change_has_no_writes():
    memory = directory()
    cfg = config()
    okta_state = okta([ou("u1", roles=(R, A)), ou("u2")], [og("g1", "Finance", ["u1", "u2"])])
    run(cfg, okta_state, memory)
    memory.writes.clear()
    planned, results = run(cfg, okta_state, memory)
    assert not planned.has_writes and results == [] and memory.writes == []


def test_plan_is_plain_json():
    memory = directory(_leavers(1), [qg("Okta-Old", "okta-sync:g2")])
    memory.users[f"{R}/u1@example.com"] = qu(f"{R}/u1@example.com", "ADMIN")
    cfg = config(downgrade_policy="recreate")
    planned = plan(cfg, okta([ou("u1")], [og("g1", "F", ["u1"])]), read_quicksight(memory, cfg), {})
    assert planned.recreate and planned.deprovision and planned.delete_groups and planned.add_members
    text = json.dumps(planned.to_dict())
    assert json.loads(text) == planned.to_dict()
    assert type(planned).from_dict(json.loads(text)) == planned


# ---------------------------------------------------------------- scale
def test_planning_100k_users_2000_groups_500k_memberships_is_fast_and_the_plan_small():
    n_users, n_groups, per_user = 100_000, 2_000, 5
    users = {f"u{i}": OktaUser(f"u{i}", "ACTIVE", f"user{i}@example.com", f"user{i}@example.com", (R,)) for i in range(n_users)}
    members = [[] for _ in range(n_groups)]
    for i in range(n_users):
        for k in range(per_user):
            members[(i * 7 + k * 401) % n_groups].append(f"u{i}")
    groups = {f"g{j}": OktaGroup(f"g{j}", f"Group {j}", "OKTA_GROUP", tuple(members[j])) for j in range(n_groups)}
    qs_users = {f"{R}/user{i}@example.com": QsUser(f"{R}/user{i}@example.com", f"user{i}@example.com", "READER", "IAM")
                for i in range(n_users)}
    qs_users[ADMIN] = QsUser(ADMIN, "admin@example.com", "ADMIN", "IAM")
    qs_groups = {f"Okta-Group {j}": QsGroup(f"Okta-Group {j}", f"okta-sync:g{j}",
                                            tuple(f"{R}/user{u[1:]}@example.com" for u in members[j]))
                 for j in range(n_groups)}
    started = time.process_time()
    planned = plan(config(), OktaSnapshot(users, groups), QsSnapshot(qs_users, qs_groups), {})
    cpu = time.process_time() - started
    assert not planned.has_writes, planned.planned_counts()
    assert planned.stats["desired_users"] == n_users
    assert sum(len(m) for m in members) == n_users * per_user
    assert cpu < 10, f"planning took {cpu:.1f}s CPU"
    assert len(json.dumps(planned.to_dict())) < 4096
    print(f"plan of 100k users / 2k groups / 500k memberships: {cpu:.2f}s CPU")
