"""What operators are told, through the real DAG with dag.test() and the local Okta and QuickSight servers.

A real SMTP server (aiosmtpd) catches the held, timed-out and failed mails;
the report files are on disk; the run's note is the report task's XCom; the
target's asset gets an event with the run's counts in the metadata database.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from scenario_harness.runner import run_scenario
from tests.okta_quicksight_airflow.test_notifications import smtp, _body  # noqa: F401 - the SMTP fixture

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"
FILES = Path(__file__).resolve().parents[1] / "scenarios" / "files"
LEAVER = "QuickSightReader/user03@example.com"


def _scenario(name: str, folder: Path = EXAMPLES) -> dict:
    return json.loads((folder / f"{name}.json").read_text())


def _xcoms(dag_id: str) -> dict:
    """The latest run of ``dag_id``: its run id and {(task_id, key): value}."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run.run_id).all()
        values = {}
        for row in rows:
            value = row.value
            if isinstance(value, (str, bytes)):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            values[(row.task_id, row.key)] = value
        return {"run_id": run.run_id, "xcom": values, "note": run.note}


def _asset_events(dag_id: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (session.query(AssetEvent, AssetModel).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                .filter(AssetEvent.source_dag_id == dag_id).all())
        return [{"name": asset.name, "uri": asset.uri, "extra": event.extra, "run_id": event.source_run_id}
                for event, asset in rows]


@contextmanager
def scheduler_timeout_sweep():
    """What the scheduler does for an approval nobody answers: its own AWAITING_INPUT timeout sweep, every
    half second (dag.test() runs tasks but leaves a parked approval to the scheduler)."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    runner = SchedulerJobRunner(job=Job())
    stop = threading.Event()

    def sweep():
        while not stop.wait(0.5):
            runner.check_awaiting_input_timeouts()

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def test_held_deletions_mail_the_approval_page_then_the_time_out(smtp, tmp_path):  # noqa: F811
    scenario = _scenario("mass-deletion-held")
    leavers = [u["user_name"] for u in scenario["quicksight"]["users"] if u["user_name"].startswith("QuickSightReader/")
               and u["user_name"] != "QuickSightReader/ann@example.com"]
    leaver = leavers[0]
    scenario["quicksight"]["assets"] = [{"type": "dashboard", "id": "sales-board", "region": "us-east-1",
                                         "owners": [leaver]}]
    scenario["target"].update({
        "approval": "ui", "approval_timeout_h": 0.001,  # 3.6 s: no one answers, the default (Reject) applies
        "notify": {"email": ["idm@example.com"]}, "report_path": f"file://{tmp_path}/reports",
        "approvers": ["alice"],
    })
    dag_id = "outcome_held"
    with scheduler_timeout_sweep():
        result = run_scenario(scenario, dag_id=dag_id)
    found = _xcoms(dag_id)
    count = len(leavers)

    subjects = [m["msg"]["subject"] for m in smtp.mails]
    assert subjects == [f"[{dag_id}] {count} deletions wait for approval",
                        f"[{dag_id}] approval timed out: {count} deletions not applied"], subjects
    held_mail = _body(smtp.mails[0])
    assert f"{leaver}</code>" not in held_mail  # markdown shown as text, not HTML
    assert leaver in held_mail and "1 asset moves to `QuickSightAdmin/admin@example.com`" in held_mail
    assert "dashboard `sales-board` (us-east-1)" in held_mail
    page = found["xcom"][("plan_sync", "approval_page")]
    assert page.startswith(f"**{count} deletions wait for your approval.**") and "sales-board" in page
    assert found["xcom"][("report", "run_note")] == f"approval timed out: {count} deletions not applied"
    assert found["note"] == found["xcom"][("report", "run_note")]  # the run-notes listener put it on the run
    assert result["report"]["approval"] == {"decision": "timed_out", "by": None}
    # Nothing was deleted: the leavers and the dashboard are where they were.
    assert set(leavers) <= {u["user_name"] for u in result["quicksight"]["users"]}

    stem = found["run_id"].replace(":", "_")
    folder = tmp_path / "reports" / dag_id
    report_json = json.loads((folder / f"{stem}.json").read_text())
    assert report_json["deletions"]["count"] == count and report_json["outcome"] == "held"
    assert "the approval was not answered in time" in (folder / f"{stem}.md").read_text()

    events = [e for e in _asset_events(dag_id) if e["run_id"] == found["run_id"]]
    assert len(events) == 1 and events[0]["name"] == f"quicksight_directory/{dag_id}"
    extra = events[0]["extra"]
    assert extra["outcome"] == "held" and extra["held"] == count and extra["deletions_planned"] == count
    assert extra["note"] == f"approval timed out: {count} deletions not applied"


def test_a_failed_run_mails_and_updates_no_asset(smtp, tmp_path):  # noqa: F811
    scenario = _scenario("fault-okta-permanent", FILES)
    scenario["target"].update({"notify": {"email": ["idm@example.com"], "on": ["failed"]},
                               "report_path": f"file://{tmp_path}/reports"})
    dag_id = "outcome_failed"
    result = run_scenario(scenario, dag_id=dag_id)
    assert result["outcome"] == "failed"
    found = _xcoms(dag_id)
    assert [m["msg"]["subject"] for m in smtp.mails] == [f"[{dag_id}] sync failed: failed: 1 item"]
    assert "plan_sync" in _body(smtp.mails[0])
    assert found["xcom"][("report", "run_note")] == "failed: 1 item" == found["note"]
    assert list((tmp_path / "reports" / dag_id).glob("*.json"))
    assert _asset_events(dag_id) == []


def test_a_successful_run_updates_the_asset_with_its_counts(tmp_path):
    scenario = _scenario("first-sync")
    scenario["target"]["report_path"] = f"file://{tmp_path}/reports"
    dag_id = "outcome_success"
    result = run_scenario(scenario, dag_id=dag_id)
    assert result["outcome"] == "success"
    found = _xcoms(dag_id)
    events = [e for e in _asset_events(dag_id) if e["run_id"] == found["run_id"]]
    assert len(events) == 1
    extra = events[0]["extra"]
    done = {a: row["done"] for a, row in result["report"]["counts"].items() if row["done"]}
    assert extra["outcome"] == "success" and extra["done"] == done and done.get("register_user", 0) > 0
    assert extra["note"] == found["xcom"][("report", "run_note")] == found["note"]
    assert extra["note"].startswith("synced: ")


# What Airflow's task runner does when a task process starts (task_runner.main: Stats from [metrics]);
# then one scenario through the real DAG with dag.test(), in a process of its own so [metrics] applies.
RUN_WITH_STATSD = """
import json, sys
from pathlib import Path
from scenario_harness import airflow_env
airflow_env.prepare(Path(sys.argv[1]), migrate=False)
from airflow.sdk.configuration import conf
from airflow.sdk.observability import stats
from airflow.sdk.observability.metrics import stats_utils
stats.initialize(factory=stats_utils.get_stats_factory(),
                 export_legacy_names=conf.getboolean("metrics", "legacy_names_on"))
from scenario_harness.runner import run_scenario
result = run_scenario(json.loads(Path(sys.argv[2]).read_text()), dag_id="outcome_metrics")
Path(sys.argv[3]).write_text(json.dumps(result["report"]))
"""


def test_a_run_through_the_dag_sends_its_statsd_metrics_to_a_udp_listener(tmp_path, migrated_home):
    import os
    import socket
    import subprocess
    import sys

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    scenario_file, report_file = tmp_path / "scenario.json", tmp_path / "report.json"
    scenario_file.write_text(json.dumps(_scenario("first-sync")))
    home = migrated_home(tmp_path / "home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OTEL_"))}
    env.update({"AIRFLOW__METRICS__STATSD_ON": "True", "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                "AIRFLOW__METRICS__STATSD_PORT": str(sock.getsockname()[1]), "AIRFLOW__METRICS__STATSD_PREFIX": "af"})
    done = subprocess.run([sys.executable, "-c", RUN_WITH_STATSD, str(home), str(scenario_file), str(report_file)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    got = []
    try:
        while True:
            got.append(sock.recv(65535).decode())
    except TimeoutError:
        pass
    sock.close()
    p = "af.okta_quicksight_sync.outcome_metrics"
    ours = [line for datagram in got for line in datagram.splitlines() if line.startswith(p + ".")]
    report = json.loads(report_file.read_text())
    assert report["outcome"] == "success"
    assert f"{p}.run.success:1|c" in ours
    for action, row in report["counts"].items():
        if row["done"]:
            assert f"{p}.items.{action}.done:{row['done']}|c" in ours, action
    calls = {service: sum(c.values()) for service, c in report["api_calls"].items()}
    assert calls["okta"] > 0 and f"{p}.api_calls.okta:{calls['okta']}|c" in ours
    assert f"{p}.api_calls.quicksight:{calls['quicksight']}|c" in ours
    assert f"{p}.managed_users:{report['stats']['managed_users']}|g" in ours
    assert any(line.startswith(f"{p}.duration:") and line.endswith("|ms") for line in ours)
