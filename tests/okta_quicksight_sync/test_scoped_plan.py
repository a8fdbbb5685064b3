"""scoped_plan.plan_scope on hand-built scopes: what it may change is what the read looked at."""

from __future__ import annotations

import pytest
from tests.okta_quicksight_sync.sync_builders import ADMIN, admin, config, og, ou, qg, qu

from okta_quicksight_sync.scoped_plan import FullRunNeeded, plan_scope
from okta_quicksight_sync.scoped_read import Scope, ScopedOktaSnapshot, ScopedQsSnapshot, candidate_user_names

ANN, BOB = "QuickSightReader/ann@example.com", "QuickSightReader/bob@example.com"


def scope(cfg, *, users=(), groups=(), read_users=(), read_groups=(), complete=(), app_groups=(),
          qs_users=(), qs_groups=(), qs_read_groups=(), qs_complete=(), names=()) -> Scope:
    people = frozenset(candidate_user_names(cfg, names))
    okta = ScopedOktaSnapshot(
        users={u.id: u for u in users}, groups={g.id: g for g in groups},
        read_user_ids=frozenset(read_users), read_group_ids=frozenset(read_groups),
        complete_group_ids=frozenset(complete), app_group_ids=frozenset(app_groups),
    )
    qs = ScopedQsSnapshot(
        users={u.user_name: u for u in qs_users}, groups={g.name: g for g in qs_groups},
        read_user_names=people, read_group_names=frozenset(qs_read_groups), complete_group_names=frozenset(qs_complete),
    )
    return Scope(okta=okta, qs=qs, people=people)


def test_a_person_who_left_a_group_not_read_leaves_it_and_the_group_stays():
    cfg = config()
    s = scope(
        cfg, users=[ou("00u1", "ann@example.com")], read_users=["00u1"], app_groups=["00g1"],
        qs_users=[qu(ANN)], qs_groups=[qg("Okta-Finance", "okta-sync:00g1", [ANN])], names=["ann@example.com"],
    )
    planned = plan_scope(cfg, s, {})
    assert planned.remove_members == {"Okta-Finance": [ANN]}
    assert planned.delete_groups == [] and planned.deprovision == [] and planned.register == []


def test_only_groups_read_and_gone_from_the_app_are_deleted():
    cfg = config()
    s = scope(
        cfg, read_groups=["00g2"], app_groups=["00g1"],
        qs_groups=[qg("Okta-Finance", "okta-sync:00g1"), qg("Okta-Sales", "okta-sync:00g2", []), qg("Okta-Old", "okta-sync:00g9")],
        qs_read_groups=["Okta-Sales"], qs_complete=["Okta-Sales"],
    )
    planned = plan_scope(cfg, s, {"allow_deletions": True})
    assert planned.delete_groups == ["Okta-Sales"]


def test_a_renamed_group_is_deleted_after_its_successor():
    cfg = config()
    s = scope(
        cfg, users=[ou("00u1", "ann@example.com")], groups=[og("00g1", "Finance EU", ["00u1"])],
        read_users=["00u1"], read_groups=["00g1"], complete=["00g1"], app_groups=["00g1"],
        qs_users=[qu(ANN)], qs_groups=[qg("Okta-Finance", "okta-sync:00g1", [ANN])],
        qs_read_groups=["Okta-Finance", "Okta-Finance EU"], qs_complete=["Okta-Finance"], names=["ann@example.com"],
    )
    planned = plan_scope(cfg, s, {"allow_deletions": True})
    assert [g["name"] for g in planned.create_groups] == ["Okta-Finance EU"]
    assert planned.add_members == {"Okta-Finance EU": [ANN]}
    assert planned.delete_groups == ["Okta-Finance"]
    assert planned.successors["Okta-Finance"]["name"] == "Okta-Finance EU"


def test_nobody_outside_the_people_looked_at_is_deprovisioned_or_regrouped():
    """Bob's identity is in QuickSight's answer (a member of a group read whole) but his Okta user was not read."""
    cfg = config()
    s = scope(
        cfg, users=[ou("00u1", "ann@example.com")], groups=[og("00g1", "Finance", ["00u1"])],
        read_users=["00u1"], app_groups=["00g1"],
        qs_users=[qu(ANN), qu(BOB), admin()], qs_groups=[qg("Okta-Finance", "okta-sync:00g1", [ANN, BOB])],
        qs_read_groups=["Okta-Finance"], qs_complete=["Okta-Finance"], names=["ann@example.com"],
    )
    planned = plan_scope(cfg, s, {"allow_deletions": True})
    assert planned.deprovision == [] and planned.remove_members == {} and planned.failed == []


def test_a_leaver_is_deprovisioned_and_the_limits_count_against_the_last_full_runs_totals():
    cfg = config(max_deletion_percent=10)
    s = scope(
        cfg, read_users=["00u2"], app_groups=["00g1"],
        qs_users=[qu(BOB), admin()], qs_groups=[qg("Okta-Finance", "okta-sync:00g1", [BOB])], names=["bob@example.com"],
    )
    totals = {"managed_users": 100, "managed_groups": 10, "okta_eligible_users": 100}
    planned = plan_scope(cfg, s, {}, totals)
    assert planned.deprovision == [BOB] and planned.remove_members == {"Okta-Finance": [BOB]}
    assert planned.recipient == ADMIN
    assert not planned.deletions_held and planned.hold_reasons == []

    without_totals = plan_scope(cfg, s, {})
    assert without_totals.deletions_held
    assert any("max_deletion_percent" in r for r in without_totals.hold_reasons)


def test_many_leavers_are_held_against_the_totals_too():
    cfg = config(max_deletions=1)
    bob, cat = BOB, "QuickSightReader/cat@example.com"
    s = scope(cfg, read_users=["00u2", "00u3"], qs_users=[qu(bob), qu(cat), admin()], names=["bob@example.com", "cat@example.com"])
    planned = plan_scope(cfg, s, {}, {"managed_users": 100, "managed_groups": 0, "okta_eligible_users": 100})
    assert planned.deletions_held and planned.deletion_count == 2
    assert "max_deletions 1" in planned.hold_reasons[0]


def test_a_group_adopted_by_its_description_is_kept_and_a_person_who_left_it_leaves_it():
    cfg = config(adopt_descriptions=["Okta"])
    s = scope(
        cfg, users=[ou("00u1", "ann@example.com")], groups=[og("00g1", "Finance", ["00u1"])], read_users=["00u1"],
        app_groups=["00g1"], qs_users=[qu(ANN)],
        qs_groups=[qg("Okta-Finance", "Okta", [ANN]), qg("Okta-Sales", "Okta", [ANN])], names=["ann@example.com"],
    )
    planned = plan_scope(cfg, s, {"allow_deletions": True})
    assert planned.remove_members == {"Okta-Sales": [ANN]}
    assert planned.add_members == {} and planned.delete_groups == [] and planned.create_groups == []


def test_a_group_read_whole_beside_an_adopted_group_it_may_have_been_needs_a_full_run():
    """Okta group 00g1 was renamed; QuickSight's Okta-Legacy is adopted by Description and names no
    Okta group: it may be 00g1's old group, which only a full run can tell."""
    cfg = config(adopt_descriptions=["Okta"])
    s = scope(
        cfg, groups=[og("00g1", "Finance EU")], read_groups=["00g1"], complete=["00g1"], app_groups=["00g1"],
        qs_groups=[qg("Okta-Legacy", "Okta")], qs_read_groups=["Okta-Finance EU", "Okta-Legacy"],
    )
    with pytest.raises(FullRunNeeded, match="'Okta-Legacy' is adopted by its Description"):
        plan_scope(cfg, s, {"allow_deletions": True})
    # Without a group read whole, the adopted group is just kept.
    s = scope(cfg, app_groups=["00g1"], qs_groups=[qg("Okta-Legacy", "Okta")])
    assert plan_scope(cfg, s, {"allow_deletions": True}).delete_groups == []
