"""apply: contract order, idempotent writes, one failure never stopping the others, held and dry runs."""

from tests.okta_quicksight_sync.memory_directory import MemoryAssetHandover
from tests.okta_quicksight_sync.sync_builders import ADMIN, by_status, config, directory, og, okta, ou, plan_for, qg, qu, run

from okta_quicksight_sync.apply import apply_deprovision, apply_group_sync, apply_user_sync
from okta_quicksight_sync.deletions import APPLY, released, route, summary
from okta_quicksight_sync.plan import Plan
from okta_quicksight_sync.report import outcome_of

R = "QuickSightReader"
U1, U2, U3 = (f"{R}/u{i}@example.com" for i in (1, 2, 3))


def test_one_failed_register_skips_its_memberships_and_others_go_on():
    memory = directory()
    memory.fail("RegisterUser", "u1@example.com")
    planned, results = run(config(), okta([ou("u1"), ou("u2")], [og("g1", "Fin", ["u1", "u2"])]), memory)
    assert by_status(results, "failed") == [("register_user", U1)]
    skipped = [r for r in results if r["status"] == "skipped"]
    assert [(r["action"], r["item"]) for r in skipped] == [("add_member", f"{U1} in Okta-Fin")]
    assert "failed to register" in skipped[0]["reason"] and "injected" in skipped[0]["reason"]
    assert memory.groups["Okta-Fin"]["members"] == {U2}


def test_failed_group_creation_skips_its_memberships():
    memory = directory()
    memory.fail("CreateGroup", "Okta-Fin")
    _, results = run(config(), okta([ou("u1")], [og("g1", "Fin", ["u1"]), og("g2", "Ops", ["u1"])]), memory)
    assert by_status(results, "failed") == [("create_group", "Okta-Fin")]
    assert by_status(results, "skipped") == [("add_member", f"{U1} in Okta-Fin")]
    assert memory.groups["Okta-Ops"]["members"] == {U1}


def test_failures_at_every_step_are_isolated():
    memory = directory([qu(U1, email="old@example.com"), qu(U3)], [qg("Okta-Fin", "okta-sync:g1", [U3]), qg("Okta-Old", "okta-sync:g9"),
                       qg("Okta-Old2", "okta-sync:g8")])
    memory.fail("UpdateUser", U1)
    memory.fail("DeleteGroupMembership", f"Okta-Fin:{U3}")
    memory.fail("DeleteGroup", "Okta-Old")
    _, results = run(config(), okta([ou("u1"), ou("u2")], [og("g1", "Fin", ["u1", "u2"])]), memory)
    assert by_status(results, "failed") == [
        ("delete_group", "Okta-Old"), ("remove_member", f"{U3} in Okta-Fin"), ("update_user", U1)]
    # The removal failed, yet the deprovision still ran (and took U3 out of every group with it).
    assert U3 not in memory.users and "Okta-Old2" not in memory.groups
    assert memory.groups["Okta-Fin"]["members"] == {U1, U2}
    assert memory.users[U1].email == "old@example.com"


def test_rerunning_a_step_converges_through_already():
    memory = directory()
    planned = plan_for(config(), okta([ou("u1")], [og("g1", "Fin", ["u1"])]), memory)
    first = apply_group_sync(planned, memory) + apply_user_sync(planned, memory)
    again = apply_group_sync(planned, memory) + apply_user_sync(planned, memory)
    assert {r["status"] for r in first} == {"done"}
    assert {r["status"] for r in again} == {"already"}


def test_deprovision_hands_over_before_deleting_and_keeps_a_user_whose_handover_is_not_clean():
    memory = directory([qu(U1), qu(U2)])
    handover = MemoryAssetHandover(memory, {"dash": {U1}, "stuck": {U2}, "other": {U2}}, stuck={"stuck"})
    _, results = run(config(), okta([ou("u3")]), memory, handover)
    assert handover.calls == [(U1, ADMIN), (U2, ADMIN)]
    assert U1 not in memory.users and U2 in memory.users
    (failed,) = [r for r in results if r["status"] == "failed"]
    assert failed["item"] == U2 and "1 failed, 1 still owned" in failed["reason"]
    assert "dashboard stuck (us-east-1): AccessDeniedException" in failed["reason"]
    assert handover.assets == {"dash": {ADMIN}, "stuck": {U2}, "other": {ADMIN}}


def test_handover_exception_keeps_the_user():
    class Broken(MemoryAssetHandover):
        def handover(self, user_name, recipient_name):
            raise RuntimeError("SearchDashboards throttled")

    memory = directory([qu(U1)])
    _, results = run(config(), okta([ou("u3")]), memory, Broken(memory))
    assert U1 in memory.users
    assert by_status(results, "failed") == [("deprovision_user", U1)]
    assert "throttled" in results[-1]["reason"]


def test_recipient_refused_at_apply_time_fails_every_user_deletion_but_groups_are_deleted():
    memory = directory([qu(U1), qu(U2)], [qg("Okta-Old", "okta-sync:g9")])
    planned = plan_for(config(), okta([ou("u3")]), memory)
    del memory.users[ADMIN]  # gone between plan and apply
    results = apply_deprovision(planned, memory, MemoryAssetHandover(memory))
    assert by_status(results, "failed") == [("deprovision_user", U1), ("deprovision_user", U2)]
    assert "cannot take assets" in results[0]["reason"]
    assert by_status(results, "done") == [("delete_group", "Okta-Old")]
    assert {U1, U2} <= set(memory.users)


def test_held_deletions_call_nothing_without_approval():
    memory = directory([qu(U1), qu(U2)], [qg("Okta-Old", "okta-sync:g9")])
    planned = plan_for(config(max_deletions=1), okta([ou("u3")]), memory)
    handover = MemoryAssetHandover(memory)
    memory.writes.clear()
    results = apply_deprovision(planned, memory, handover, dry_run=False)
    assert {r["status"] for r in results} == {"held"} and len(results) == 3
    assert memory.writes == [] and handover.calls == []
    results = apply_deprovision(released(planned), memory, handover, dry_run=False)
    assert {r["status"] for r in results} == {"done"}
    assert {U1, U2} & set(memory.users) == set() and "Okta-Old" not in memory.groups


def test_dry_run_calls_nothing_at_all():
    class Refusing:
        def __getattr__(self, name):
            raise AssertionError(f"dry run called {name}")

    memory = directory([qu(U1, "ADMIN")], [qg("Okta-Old", "okta-sync:g9")])
    cfg = config(downgrade_policy="recreate")
    planned = plan_for(cfg, okta([ou("u1"), ou("u2")], [og("g1", "Fin", ["u2"])]), memory, dry_run=True)
    results = (apply_group_sync(planned, Refusing(), True) + apply_user_sync(planned, Refusing(), True)
               + apply_deprovision(planned, Refusing(), Refusing(), True))
    assert sorted((r["action"], r["status"]) for r in results) == [
        ("add_member", "planned"), ("create_group", "planned"), ("delete_group", "planned"),
        ("recreate_user", "planned"), ("register_user", "planned")]



def test_dry_run_over_the_limit_reports_held_deletions_and_outcome_held_as_a_real_run_would():
    """The DAG sends every dry run to deprovision (no one is asked): held deletions stay held."""
    class Refusing:
        def __getattr__(self, name):
            raise AssertionError(f"dry run called {name}")

    memory = directory([qu(U1), qu(U2)], [qg("Okta-Old", "okta-sync:g9")])
    planned = plan_for(config(max_deletions=1), okta([ou("u3")]), memory, dry_run=True)
    assert route(summary(planned), {"dry_run": True}, "ui") == APPLY
    results = (apply_group_sync(planned, Refusing(), True) + apply_user_sync(planned, Refusing(), True)
               + apply_deprovision(planned, Refusing(), Refusing(), True))
    assert by_status(results, "held") == [("delete_group", "Okta-Old"), ("deprovision_user", U1), ("deprovision_user", U2)]
    assert "max_deletions 1" in [r for r in results if r["status"] == "held"][0]["reason"]
    assert by_status(results, "planned") == [("register_user", f"{R}/u3@example.com")]
    assert outcome_of(results) == "held"
    released = plan_for(config(max_deletions=1), okta([ou("u3")]), memory, dry_run=True, allow_deletions=True)
    assert {r["status"] for r in apply_deprovision(released, Refusing(), Refusing(), True)} == {"planned"}

def test_planned_failures_are_reported_by_the_step_they_belong_to():
    planned = Plan(failed=[
        {"step": "group_sync", "action": "group_conflict", "item": "G", "reason": "r1"},
        {"step": "user_sync", "action": "validate_user", "item": "U", "reason": "r2"},
        {"step": "deprovision", "action": "deprovision_user", "item": "D", "reason": "r3"},
    ], skipped=[{"step": "user_sync", "action": "downgrade", "item": "X", "reason": "r4"}])
    memory = directory()
    assert [r["item"] for r in apply_group_sync(planned, memory)] == ["G"]
    assert [(r["item"], r["status"]) for r in apply_user_sync(planned, memory)] == [("U", "failed"), ("X", "skipped")]
    assert [r["item"] for r in apply_deprovision(planned, memory, None)] == ["D"]


def test_recreate_gives_back_memberships_in_groups_the_sync_does_not_change():
    """Unmanaged groups, and a managed group left as it is because its Okta group failed."""
    memory = directory(
        [qu(U1, "AUTHOR"), qu(U2)],
        [qg("Okta-Fin", "okta-sync:g1", [U1]), qg("Okta-Ops", "okta-sync:g3", [U1, U2]),
         qg("Okta-Legacy", "okta-sync:g2", [U1]), qg("Mine", "by hand", [U1, "x"]), qg("Theirs", None, ["x"])])
    groups = [og("g1", "Fin", ["u1"]), og("g2", "Bad\u20ac", ["u1"]), og("g3", "Ops", ["u2"])]
    planned, results = run(config(downgrade_policy="recreate"), okta([ou("u1"), ou("u2")], groups), memory)
    assert [r["user_name"] for r in planned.recreate] == [U1]
    assert memory.users[U1].role == "READER"
    members = {name: g["members"] for name, g in memory.groups.items()}
    assert members == {"Okta-Fin": {U1}, "Okta-Ops": {U2}, "Okta-Legacy": {U1}, "Mine": {U1, "x"}, "Theirs": {"x"}}
    reasons = {r["item"]: r["reason"] for r in results if r["action"] == "add_member" and r["status"] == "done"}
    assert reasons == {f"{U1} in Okta-Fin": "re-added after recreate",
                       f"{U1} in Mine": "restored after recreate (member before it)",
                       f"{U1} in Okta-Legacy": "restored after recreate (member before it)"}
    assert memory.api_calls["ListUserGroups"] == 1


def test_recreate_whose_groups_cannot_be_read_keeps_the_user_and_its_assets():
    memory = directory([qu(U1, "AUTHOR")], [qg("Mine", "by hand", [U1])])
    memory.fail("ListUserGroups", U1)
    handover = MemoryAssetHandover(memory, {"dash": {U1}})
    _, results = run(config(downgrade_policy="recreate"), okta([ou("u1")]), memory, handover)
    assert by_status(results, "failed") == [("recreate_user", U1)]
    assert "could not read its groups, user kept" in results[-1]["reason"]
    assert memory.users[U1].role == "AUTHOR" and memory.groups["Mine"]["members"] == {U1}
    assert handover.calls == [] and handover.assets == {"dash": {U1}}

def test_recreate_that_fails_after_delete_converges_on_the_next_run():
    memory = directory([qu(U1, "AUTHOR")])
    memory.fail("RegisterUser", "u1@example.com")
    cfg = config(downgrade_policy="recreate")
    _, results = run(cfg, okta([ou("u1")]), memory)
    assert by_status(results, "failed") == [("recreate_user", U1)]
    assert "recreate stopped" in [r for r in results if r["status"] == "failed"][0]["reason"]
    memory._faults.clear()
    planned, _ = run(cfg, okta([ou("u1")]), memory)
    assert [r["user_name"] for r in planned.register] == [U1]
    assert memory.users[U1].role == "READER"
