"""Okta's events start incremental runs in the production-shaped deployment, with nobody triggering.

The deploy_events target has no schedule and an ``event_queue`` on the local SQS (moto's server). The
local Okta's System Log reaches that queue through the local stand-in for Okta Log Streaming ->
EventBridge -> SQS (one message per event, EventBridge's envelope); the triggerer's SQS trigger
(MessageQueueTrigger) turns messages into asset events, and the scheduler starts
``deploy_events_incremental``. Measured: seconds from a change in Okta to QuickSight showing it, and
how many runs a burst of 500+ events costs (docs/events.md explains the bound).
"""

from __future__ import annotations

import copy
import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from local_servers.okta_log_stream import OktaLogStream
from okta_quicksight_airflow import event_entry
from okta_quicksight_sync.okta_changes import SYNC_EVENT_TYPES
from scenario_harness.compare import state_differences
from tests.airflow_deployment.conftest import EVENTS_TARGET

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MEASUREMENT = ROOT / "docs" / "measurements" / "event_latency.json"
INCREMENTAL = EVENTS_TARGET + "_incremental"
LEAVER, LEAVER_NAME = "00u2", "QuickSightAuthor/bob@example.com"
BURST_LOADS, JOINERS_PER_LOAD = 5, 34  # 3 events a joiner (activate, app and group membership): 510 messages
MAX_BURST_RUNS = 5


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _wait(what: str, check, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f} s")
        time.sleep(every)


def _user_names(target) -> set[str]:
    return {u["user_name"] for u in target.quicksight.dump()["users"]}


def _joiner(i: int) -> tuple[dict, dict]:
    uid = f"00uj{i:04d}"
    user = {"id": uid, "status": "ACTIVE", "login": f"joiner{i}@example.com", "email": f"joiner{i}@example.com",
            "first_name": "Joiner", "last_name": str(i)}
    return user, {"id": uid, "scope": "USER", "saml_roles": ["QuickSightReader"]}


def _settled(api, sqs, queue: str, stream: OktaLogStream, quiet_s: float) -> bool:
    """Nothing left anywhere: the stream sent all, the queue is empty, no asset event waits for a run (the
    scheduler holds those while a run is active: max_active_runs=1), no incremental run waits or runs,
    and none was created or ended for ``quiet_s`` (longer than the trigger's idle poll plus the scheduler's loop)."""
    runs = api.runs(INCREMENTAL)
    if any(r["state"] not in ("success", "failed") for r in runs) or sqs.depth(queue) or stream.errors:
        return False
    if api.call("GET", f"/dags/{INCREMENTAL}/assets/queuedEvents")["total_entries"]:
        return False
    newest = max((_ts(r[key]) for r in runs for key in ("run_after", "end_date") if r.get(key)), default=0)
    return time.time() - newest > quiet_s


def _task_states(api, run: dict) -> dict:
    """Each task's state and try number, to say which one failed."""
    tis = api.task_instances(INCREMENTAL, run["dag_run_id"])
    return {task_id: (ti["state"], ti["try_number"]) for task_id, ti in tis.items()}


def test_okta_changes_reach_quicksight_through_the_queue_and_a_burst_coalesces(deployment):
    target = deployment.targets[EVENTS_TARGET]
    api, sqs, queue = deployment.api, deployment.sqs, deployment.events_queue
    okta_section = copy.deepcopy(target.scenario["okta"])
    token = okta_section.get("api_token", "local-test-token")

    # The incremental DAG is built from the queue (paused at first, as every new DAG here); someone unpauses it.
    _wait("no incremental DAG", lambda: INCREMENTAL in api.dag_ids(), 120)
    api.set_paused(INCREMENTAL, False)

    # The daily DAG's full run syncs everything and stores the System Log cursor.
    run_id = api.trigger(EVENTS_TARGET, {})
    assert api.wait_for_run(EVENTS_TARGET, run_id)["state"] == "success"
    expected = copy.deepcopy(target.scenario["expect"]["quicksight"])
    assert state_differences(expected, target.quicksight.dump()) == []
    # The watcher's trigger runs in the triggerer once the unpaused DAG was parsed again: it polls the queue.
    before_polls = sqs.calls.snapshot().get("ReceiveMessage", 0)
    _wait("the triggerer never polled the queue", lambda: sqs.calls.snapshot().get("ReceiveMessage", 0) > before_polls, 180)
    assert api.runs(INCREMENTAL) == []  # an idle queue starts nothing

    # From before the org was first loaded: the local Okta publishes a change's events between the previous
    # load and the change (real Okta's stream sends all it logs after the stream was set up).
    stream = OktaLogStream(target.okta.url, token, sqs.client(), queue, event_types=SYNC_EVENT_TYPES,
                           since=datetime.now(timezone.utc) - timedelta(hours=1), interval_s=2.0)
    with stream:
        # A leaver: bob leaves the app in Okta.
        leaver_section = copy.deepcopy(okta_section)
        leaver_section["app_users"] = [a for a in leaver_section["app_users"] if a["id"] != LEAVER]
        assert LEAVER_NAME in _user_names(target)
        changed_at = time.time()
        target.okta.load(leaver_section)
        _wait("the leaver is still in QuickSight", lambda: LEAVER_NAME not in _user_names(target), 300, every=0.2)
        change_to_quicksight_s = time.time() - changed_at
        _wait("incremental runs did not settle", lambda: _settled(api, sqs, queue, stream, quiet_s=30), 300, every=2)
        runs = api.runs(INCREMENTAL)
        assert runs and all(r["run_type"] == "asset_triggered" for r in runs), runs  # nobody triggered them
        assert all(r["state"] == "success" for r in runs), [(r["dag_run_id"], r["state"], _task_states(api, r)) for r in runs]
        report = api.xcom(INCREMENTAL, runs[0]["dag_run_id"], "report")
        assert report.get("mode") == "incremental", report.get("mode")
        pickup_s = _ts(runs[0]["run_after"]) - changed_at  # change -> the scheduler's run (stream, queue, trigger)
        expected["users"] = [u for u in expected["users"] if u["user_name"] != LEAVER_NAME]
        for group in expected["groups"]:
            group["members"] = [m for m in group["members"] if m != LEAVER_NAME]
        assert state_differences(expected, target.quicksight.dump()) == []
        leaver_runs = len(runs)

        # A burst: 170 joiners in five changes a second apart, 510 events on the queue within seconds.
        sent_before, burst_started = stream.sent, time.time()
        section, joiners = leaver_section, []
        for load in range(BURST_LOADS):
            section = copy.deepcopy(section)
            for i in range(load * JOINERS_PER_LOAD, (load + 1) * JOINERS_PER_LOAD):
                user, app_user = _joiner(i)
                section["users"].append(user)
                section["app_users"].append(app_user)
                section["groups"][0]["members"].append(user["id"])  # Finance
                joiners.append(user)
            target.okta.load(section)
            time.sleep(1)
        _wait("the burst's events did not all reach the queue", lambda: stream.sent - sent_before >= 3 * len(joiners), 120)
        _wait("the burst's runs did not settle", lambda: _settled(api, sqs, queue, stream, quiet_s=30), 600, every=2)
        burst_messages = stream.sent - sent_before
    runs = api.runs(INCREMENTAL)
    burst_runs = [r for r in runs if _ts(r["run_after"]) >= burst_started]
    assert len(runs) == leaver_runs + len(burst_runs)
    not_ok = [r for r in burst_runs if (r["run_type"], r["state"]) != ("asset_triggered", "success")]
    assert not_ok == [], [(r["dag_run_id"], r["run_type"], r["state"], _task_states(api, r)) for r in not_ok]
    # One run for what queued while the previous one worked (max_active_runs=1): the first takes the first
    # messages, the next one all that arrived meanwhile; a few more if the burst outlasts a run.
    assert 1 <= len(burst_runs) <= MAX_BURST_RUNS, [(r["dag_run_id"], r["run_after"]) for r in burst_runs]
    assert burst_messages >= 500
    burst_done_s = max(_ts(r["end_date"]) for r in burst_runs) - burst_started
    burst_modes = [api.xcom(INCREMENTAL, r["dag_run_id"], "report").get("mode") for r in burst_runs]

    # The end state is right: every joiner in QuickSight and in Okta-Finance, and a full run finds nothing to do.
    names = _user_names(target)
    assert {f"QuickSightReader/{u['login']}" for u in joiners} <= names
    finance = next(g for g in target.quicksight.dump()["groups"] if g["name"] == "Okta-Finance")
    assert {f"QuickSightReader/{u['login']}" for u in joiners} <= set(finance["members"])
    run_id = api.trigger(EVENTS_TARGET, {})
    assert api.wait_for_run(EVENTS_TARGET, run_id)["state"] == "success"
    full = api.xcom(EVENTS_TARGET, run_id, "report")
    end_state_ok = full["totals"]["planned"] == 0
    assert end_state_ok, full["totals"]

    # A duplicated message (SQS delivers at least once) costs one run that finds nothing and writes nothing.
    writes_before, runs_before = len(target.quicksight.writes()), len(api.runs(INCREMENTAL))
    sqs.client().send_message(QueueUrl=queue, MessageBody=json.dumps(
        {"detail-type": "SystemLog", "source": stream.source, "detail": {"eventType": "application.user_membership.remove"}}))
    _wait("no run for the duplicate", lambda: len(api.runs(INCREMENTAL)) > runs_before, 120)
    _wait("the duplicate's run did not settle", lambda: _settled(api, sqs, queue, stream, quiet_s=20), 240, every=2)
    (duplicate,) = api.runs(INCREMENTAL)[runs_before:]
    assert (duplicate["run_type"], duplicate["state"]) == ("asset_triggered", "success")
    report = api.xcom(INCREMENTAL, duplicate["dag_run_id"], "report")
    assert (report.get("mode"), report["totals"]["planned"]) == ("incremental", 0), report["totals"]
    assert len(target.quicksight.writes()) == writes_before

    measured = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "change_to_quicksight_s": round(change_to_quicksight_s, 1),
        "burst_messages": burst_messages,
        "burst_runs": len(burst_runs),
        "end_state_ok": end_state_ok,
        "notes": (
            "Deployment test (PostgreSQL, Celery, separate scheduler, dag-processor, triggerer): a leaver removed "
            "from the app in the local Okta, to the user gone from the local QuickSight, through the local Log "
            f"Streaming stand-in (polls the System Log every {stream.interval_s:g} s), moto's SQS and the triggerer's "
            f"SQS trigger ({event_entry.MAX_MESSAGES} messages a receive, {event_entry.BATCHES} receives a poll, "
            f"{event_entry.IDLE_S} s between idle polls); the incremental run was created {pickup_s:.1f} s after "
            f"the change, the rest is the run's own tasks on Celery. Burst: {BURST_LOADS * JOINERS_PER_LOAD} joiners "
            f"in {BURST_LOADS} changes a second apart, {burst_messages} messages, {len(burst_runs)} runs "
            f"(modes {burst_modes}), the last done {burst_done_s:.0f} s after the burst began; a full run "
            "afterwards planned nothing."
        ),
    }
    print("\nevent-driven:", json.dumps(measured))
    if os.environ.get("OKTA_QS_RECORD_MEASUREMENTS") == "1":
        MEASUREMENT.parent.mkdir(parents=True, exist_ok=True)
        MEASUREMENT.write_text(json.dumps(measured, indent=2) + "\n")
