"""The sync DAG in a production-shaped Airflow: PostgreSQL, CeleryExecutor + Redis, separate processes.

Each test drives the deployment only through what an operator has: the REST
API (as the UI uses it), the ``airflow`` CLI, and the world outside Airflow
(an Okta outage, a killed worker process). QuickSight's state is checked on
the local server after each.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from scenario_harness.compare import state_differences

pytestmark = pytest.mark.slow

POOL_TASKS = ("plan_sync", "group_sync", "user_sync", "deletion_gate", "deprovision")


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def _expected(target) -> dict:
    return target.scenario["expect"]["quicksight"]


def _assert_state(target, expected: dict) -> None:
    assert state_differences(expected, target.quicksight.dump()) == []


def _day(days_ago: int, hour: int = 0) -> datetime:
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago) + timedelta(hours=hour)


def test_manual_run_with_the_trigger_forms_params(deployment):
    """conf as the trigger form sends it: a dry run writes nothing, then a real run converges."""
    target = deployment.targets["deploy_manual"]
    api = deployment.api
    before = target.quicksight.dump()

    run_id = api.trigger(target.dag_id, {"dry_run": True, "allow_deletions": False})
    assert api.wait_for_run(target.dag_id, run_id)["state"] == "success"
    report = api.xcom(target.dag_id, run_id, "report")
    assert report["dry_run"] is True and report["totals"]["planned"] > 0 and report["totals"]["done"] == 0
    assert target.quicksight.writes() == []
    assert state_differences(before, target.quicksight.dump()) == []

    run_id = api.trigger(target.dag_id, {"dry_run": False, "allow_deletions": False})
    assert api.wait_for_run(target.dag_id, run_id)["state"] == "success"
    report = api.xcom(target.dag_id, run_id, "report")
    assert report["outcome"] == "success" and report["totals"]["done"] == report["totals"]["planned"] > 0
    _assert_state(target, _expected(target))


def test_held_deletions_wait_for_a_person_reject_then_approve(deployment):
    """approve_deletions waits in the UI; Reject deletes nothing, Approve deletes the held users."""
    target = deployment.targets["deploy_approval"]
    api = deployment.api
    held_state = _expected(target)  # the example's expectation: creations applied, nothing deleted

    run_id = api.trigger(target.dag_id, {"dry_run": False, "allow_deletions": False})
    api.wait_for_task(target.dag_id, run_id, "approve_deletions", ("awaiting_input",))
    _assert_state(target, held_state)
    api.answer_approval(target.dag_id, run_id, "approve_deletions", "Reject")
    assert api.wait_for_run(target.dag_id, run_id)["state"] == "success"
    assert api.task_instances(target.dag_id, run_id)["deprovision"]["state"] == "skipped"
    assert api.xcom(target.dag_id, run_id, "report")["outcome"] == "held"
    _assert_state(target, held_state)
    assert not [w for w in target.quicksight.writes() if w[2] == "DeleteUser"]

    run_id = api.trigger(target.dag_id, {"dry_run": False, "allow_deletions": False})
    api.wait_for_task(target.dag_id, run_id, "approve_deletions", ("awaiting_input",))
    api.answer_approval(target.dag_id, run_id, "approve_deletions", "Approve")
    assert api.wait_for_run(target.dag_id, run_id)["state"] == "success"
    report = api.xcom(target.dag_id, run_id, "report")
    assert report["outcome"] == "success"
    leavers = [u["user_name"] for u in held_state["users"] if u["user_name"].startswith("QuickSightReader/u")]
    assert len(leavers) > 10 and report["counts"]["deprovision_user"]["done"] == len(leavers)
    _assert_state(target, {**held_state, "users": [u for u in held_state["users"] if u["user_name"] not in leavers]})


def _note(api, dag_id: str, run_id: str, timeout: float = 30) -> str | None:
    """The run's note, which the run-notes listener sets in the scheduler as the run ends."""
    deadline = time.monotonic() + timeout
    while True:
        note = api.run(dag_id, run_id).get("note")
        if note or time.monotonic() > deadline:
            return note
        time.sleep(1)


def test_only_the_configured_approver_can_answer_and_the_run_says_who_rejected(deployment):
    """approvers: ["alice"]: the admin's answer is refused (403), alice's Reject is taken and named."""
    from scenario_harness.local_airflow import AirflowApi

    from tests.airflow_deployment.conftest import APPROVER, APPROVER_PASSWORD

    target = deployment.targets["deploy_approvers"]
    api = deployment.api  # logged in as the admin, who is not an approver of this target
    held_state = _expected(target)
    run_id = api.trigger(target.dag_id, {"dry_run": False, "allow_deletions": False})
    api.wait_for_task(target.dag_id, run_id, "approve_deletions", ("awaiting_input",))
    detail = api.call("GET", f"/dags/{target.dag_id}/dagRuns/{run_id}/taskInstances/approve_deletions/-1/hitlDetails")
    assert detail["assigned_users"] == [{"id": APPROVER, "name": APPROVER}]
    count = api.xcom(target.dag_id, run_id, "plan_sync", "deletions")["count"]
    assert detail["body"].startswith(f"**{count} deletions wait for your approval.**")
    assert "## Users to delete" in detail["body"]
    with pytest.raises(RuntimeError, match="403"):
        api.answer_approval(target.dag_id, run_id, "approve_deletions", "Approve")
    assert api.task_instances(target.dag_id, run_id)["approve_deletions"]["state"] == "awaiting_input"

    alice = AirflowApi(deployment.airflow.api_url, APPROVER, APPROVER_PASSWORD)
    alice.answer_approval(target.dag_id, run_id, "approve_deletions", "Reject")
    assert api.wait_for_run(target.dag_id, run_id)["state"] == "success"
    report = api.xcom(target.dag_id, run_id, "report")
    assert report["approval"] == {"decision": "rejected", "by": APPROVER}
    assert _note(api, target.dag_id, run_id) == f"rejected by {APPROVER}: {count} deletions not applied"
    _assert_state(target, held_state)
    assert not [w for w in target.quicksight.writes() if w[2] == "DeleteUser"]
    # Its notify block mailed the held deletions, then the rejection, through a real SMTP server.
    subjects = _mail_subjects(deployment, target.dag_id, 2)
    assert subjects[-1] == f"[{target.dag_id}] rejected by {APPROVER}: {count} deletions not applied", subjects
    assert subjects[0] == f"[{target.dag_id}] {count} deletions wait for approval", subjects


def _mail_subjects(deployment, dag_id: str, at_least: int, timeout: float = 60) -> list[str]:
    """The subjects of the mails sent for ``dag_id``, once there are ``at_least`` (the report task sends them)."""
    from tests.airflow_deployment.conftest import MAIL_TO

    deadline = time.monotonic() + timeout
    while True:
        mails = [m for m in deployment.mail.mails if m["subject"].startswith(f"[{dag_id}]")]
        if len(mails) >= at_least or time.monotonic() > deadline:
            assert all(m["to"] == [MAIL_TO] for m in mails)
            return [m["subject"] for m in mails]
        time.sleep(1)


def _last_tick(hour: int = 3) -> datetime:
    """The latest daily cron tick at ``hour``:00 UTC that is not in the future."""
    tick = _day(0, hour)
    return tick if tick <= datetime.now(timezone.utc) else tick - timedelta(days=1)


def test_okta_outage_fails_runs_then_a_backfill_converges_and_later_runs_are_superseded(deployment):
    """Issue 5's outage + backfill --reprocess-behavior failed, and issue 7's 10-day backfill after an outage."""
    target = deployment.targets["deploy_outage"]
    api = deployment.api
    before = target.quicksight.dump()
    last_tick = _last_tick()

    # Okta has been down since the deployment started: a run for the latest tick (if unpausing started one)
    # failed, and so do two backfilled days.
    assert [r["state"] for r in deployment.wait_for_runs(target.dag_id, 0, "scheduled")] in ([], ["failed"])
    deployment.backfill(target.dag_id, last_tick - timedelta(days=9), last_tick - timedelta(days=8), reprocess="none")
    runs = deployment.wait_for_runs(target.dag_id, 2, "backfill")
    assert [r["state"] for r in runs] == ["failed", "failed"]
    deployment.wait_for_backfills(target.dag_id)
    # The backfilled days are now the DAG's latest automated runs, so the scheduler starts the latest tick's run
    # (catchup is off; unpausing may have started it already). It fails too. Left running, it would race the next
    # backfill, which skips a day whose run is in flight.
    scheduled = deployment.wait_for_runs(target.dag_id, 1, "scheduled")
    assert [(_ts(r["logical_date"]), r["state"]) for r in scheduled] == [(last_tick.timestamp(), "failed")], scheduled
    assert target.quicksight.writes() == []
    assert state_differences(before, target.quicksight.dump()) == []

    # Okta is back: ten days, the three failed runs among them, are backfilled.
    target.okta.faults.clear()
    okta_calls_before = target.okta.counter.total()
    started = time.monotonic()
    said = deployment.backfill(target.dag_id, last_tick - timedelta(days=9), last_tick, reprocess="failed")
    try:
        runs = deployment.wait_for_runs(target.dag_id, 10, "backfill", timeout=400)
    except TimeoutError as exc:
        outcomes = deployment.backfill_outcomes(target.dag_id)
        raise AssertionError(f"{exc}\nthe backfill's dates: {outcomes}\n`airflow backfill create` printed:\n{said}") from None
    took = time.monotonic() - started
    assert len(runs) == 10 and all(r["state"] == "success" for r in runs), [(r["run_id"], r["state"]) for r in runs]
    assert [r for r in api.runs(target.dag_id) if r["run_type"] != "backfill"] == []  # a failed scheduled run is reprocessed too
    _assert_state(target, _expected(target))

    # The earliest run synced. A run that planned after a converged read (marked when a run's deprovision ends)
    # newer than its interval was superseded: its plan_sync and every writing task skipped, no API call made.
    # Airflow's pool does not reserve the slot between one run's tasks, so a run may plan before the first
    # run finished; it then syncs in full (harmless: writes are idempotent and never concurrent).
    synced, superseded = [], []
    for run in runs:
        tis = api.task_instances(target.dag_id, run["dag_run_id"])
        (synced if tis["plan_sync"]["state"] == "success" else superseded).append((run, tis))
    assert synced[0][0]["logical_date"] == min(r["logical_date"] for r in runs)
    first_converged = min(_ts(tis["deprovision"]["end_date"]) for _, tis in synced)
    for run, tis in synced:
        assert _ts(tis["plan_sync"]["start_date"]) < first_converged, f"{run['dag_run_id']} synced after a converged read"
    for run, tis in superseded:
        assert tis["plan_sync"]["state"] == "skipped"
        for task_id in ("group_sync", "user_sync", "deprovision"):  # never sent to a worker
            ti = tis[task_id]
            assert (ti["state"], ti["try_number"], ti["pid"]) == ("skipped", 0, None), (run["dag_run_id"], ti)
        assert "superseded" in api.xcom(target.dag_id, run["dag_run_id"], "report")["superseded"]
    assert len(superseded) >= 5, f"only {len(superseded)} of 10 runs superseded"
    synced_calls = sum(sum(api.xcom(target.dag_id, r["dag_run_id"], "report")["api_calls"]["okta"].values()) for r, _ in synced)
    assert target.okta.counter.total() - okta_calls_before == synced_calls
    print(f"\n10-day backfill after the outage: {took:.1f} s, {len(synced)} run(s) synced, {len(superseded)} superseded")


def test_worker_task_killed_mid_apply_then_the_retry_converges(deployment):
    """SIGKILL of the task process while user_sync registers users; the retry finishes the job, nothing lost."""
    target = deployment.targets["deploy_kill"]
    api = deployment.api
    run_id = api.trigger(target.dag_id, {})
    deadline = time.monotonic() + 180
    while target.quicksight.counter.snapshot().get("RegisterUser", 0) < 2:  # the second registration is in flight
        assert time.monotonic() < deadline, "user_sync never started registering users"
        time.sleep(0.1)
    ti = api.task_instances(target.dag_id, run_id)["user_sync"]
    assert ti["state"] == "running" and ti["pid"]
    os.kill(ti["pid"], signal.SIGKILL)
    killed_at_registrations = target.quicksight.counter.snapshot()["RegisterUser"]

    assert api.wait_for_run(target.dag_id, run_id, timeout=300)["state"] == "success"
    ti = api.task_instances(target.dag_id, run_id)["user_sync"]
    assert ti["state"] == "success" and ti["try_number"] == 2
    assert len([u for u in _expected(target)["users"]]) > 1
    assert target.quicksight.counter.snapshot()["RegisterUser"] > killed_at_registrations
    _assert_state(target, _expected(target))


def test_a_failed_run_cleared_reruns_and_converges(deployment):
    """A run that failed on QuickSight's side is cleared from the UI once the cause is fixed: it reruns and converges."""
    target = deployment.targets["deploy_clear"]
    api = deployment.api
    run_id = api.trigger(target.dag_id, {})
    assert api.wait_for_run(target.dag_id, run_id)["state"] == "failed"
    report = api.xcom(target.dag_id, run_id, "report", key="report")
    assert report["outcome"] == "failed" and all("AccessDenied" in e["cause"] for e in report["errors"])
    assert {g["name"] for g in target.quicksight.dump()["groups"]} == set()

    target.quicksight.faults.clear()
    api.clear_run(target.dag_id, run_id)
    assert api.wait_for_run(target.dag_id, run_id, states=("success",), timeout=240)["state"] == "success"
    assert api.xcom(target.dag_id, run_id, "report")["outcome"] == "success"
    _assert_state(target, _expected(target))


def test_two_runs_started_together_never_write_at_the_same_time(deployment):
    """A manual run and a backfill run of one target, started at once (backfill runs ignore max_active_runs).

    Any run that unpausing the DAG started is counted in: no two runs' pool tasks may overlap, and
    every QuickSight write must fall inside exactly one run's pool task.
    """
    target = deployment.targets["deploy_concurrent"]
    api = deployment.api
    manual = api.trigger(target.dag_id, {})
    api.call("POST", "/backfills", json={
        "dag_id": target.dag_id, "from_date": _day(1).isoformat(), "to_date": _day(1, 12).isoformat(),
        "max_active_runs": 10, "reprocess_behavior": "none",
    })
    backfill = deployment.wait_for_runs(target.dag_id, 1, "backfill")[0]
    assert api.wait_for_run(target.dag_id, manual)["state"] == "success"
    runs = {r["dag_run_id"]: r for r in api.runs(target.dag_id)}
    assert all(r["state"] == "success" for r in runs.values()), [(i, r["state"]) for i, r in runs.items()]
    _assert_state(target, _expected(target))

    a, b = runs[manual], runs[backfill["dag_run_id"]]
    assert _ts(a["start_date"]) < _ts(b["end_date"]) and _ts(b["start_date"]) < _ts(a["end_date"]), "the runs did not overlap"
    windows = {}
    for run_id in runs:
        tis = api.task_instances(target.dag_id, run_id)
        windows[run_id] = [(_ts(tis[t]["start_date"]), _ts(tis[t]["end_date"])) for t in POOL_TASKS if tis[t]["try_number"]]
    for one, other in itertools.combinations(windows, 2):
        for s1, e1 in windows[one]:
            for s2, e2 in windows[other]:
                assert e1 <= s2 or e2 <= s1, f"pool tasks of {one} and {other} overlapped: {(s1, e1)} and {(s2, e2)}"

    writes = target.quicksight.writes()
    assert writes, "no run wrote anything"
    for started, ended, operation, _ in writes:
        owners = [run_id for run_id, spans in windows.items() if any(s <= started and ended <= e for s, e in spans)]
        assert len(owners) == 1, f"{operation} at {started:.3f}-{ended:.3f} not inside exactly one run's pool task: {owners}"
    print(f"\nwrites by run: { {r: sum(1 for w in writes if any(s <= w[0] <= e for s, e in spans)) for r, spans in windows.items()} }")


def test_a_scheduled_run_happens_by_itself(deployment):
    """deploy_scheduled's cron fires a few minutes after start-up; nobody triggers it."""
    target = deployment.targets["deploy_scheduled"]
    api = deployment.api
    deadline = deployment.scheduled_at.timestamp() + 180
    while True:
        runs = [r for r in api.runs(target.dag_id) if r["run_type"] == "scheduled"]
        if runs and runs[0]["state"] in ("success", "failed"):
            break
        assert time.time() < deadline, f"no finished scheduled run by {deployment.scheduled_at} + 3 min: {runs}"
        time.sleep(2)
    api.set_paused(target.dag_id, True)
    assert [r["run_type"] for r in api.runs(target.dag_id)] == ["scheduled"]
    assert runs[0]["state"] == "success"
    assert _ts(runs[0]["run_after"]) == deployment.scheduled_at.timestamp()
    _assert_state(target, _expected(target))
