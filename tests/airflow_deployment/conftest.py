"""Airflow as it runs in production, for the tests in this directory.

PostgreSQL (a fresh database per session) holds the metadata, Redis is the
Celery broker, and the scheduler, DAG processor, API server, triggerer and a
Celery worker run as separate processes from this checkout's dags/,
include/ and plugins/. Each test target has its own local Okta and
QuickSight servers (in this process, on 127.0.0.1), reached through
``AIRFLOW_CONN_*`` connections as a deployment would configure them.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from local_servers.okta_server import OktaServer
from local_servers.quicksight_server import QuickSightServer
from local_servers.sqs_server import SqsServer
from scenario_harness.local_airflow import AirflowApi, AirflowProcesses, free_port
from scenario_harness.runner import target_of

FILES = Path(__file__).parent / "files"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
APPROVER, APPROVER_PASSWORD = "alice", "alice-approves"
MAIL_TO = "idm@example.com"  # deploy_approvers' notify list  # a second UI user, the deploy_approvers target's approver
# A Redis database of its own, so nothing else on this Redis sees our Celery queue.
REDIS_DB = 11
# The target whose incremental DAG starts from Okta's events on the local SQS queue (test_event_driven.py).
EVENTS_TARGET, EVENTS_QUEUE = "deploy_events", "okta-events"
READ_PREFIXES = ("List", "Describe", "Search", "sts:")



def scenario(name: str) -> dict:
    return json.loads((FILES / f"{name}.json").read_text())


class RecordingQuickSightServer(QuickSightServer):
    """The local QuickSight, also remembering when each request started and ended (wall clock)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self.requests: list[tuple[float, float, str, int]] = []

    def respond(self, method, raw_path, headers, body):
        started = time.time()
        status, out_headers, payload = super().respond(method, raw_path, headers, body)
        with self._lock:
            self.requests.append((started, time.time(), self._operation_of(method, raw_path), status))
        return status, out_headers, payload

    @staticmethod
    def _operation_of(method: str, raw_path: str) -> str:
        from urllib.parse import urlsplit

        from local_servers.qs_protocol import match

        found = match(method, urlsplit(raw_path).path)
        return found[0] if found else "sts:"

    def writes(self) -> list[tuple[float, float, str, int]]:
        with self._lock:
            return [r for r in self.requests if not r[2].startswith(READ_PREFIXES)]


@dataclass
class Target:
    """One sync target of the test deployment: its DAG id, scenario and local servers."""

    dag_id: str
    scenario: dict
    okta: OktaServer
    quicksight: RecordingQuickSightServer
    target: dict = field(default_factory=dict)


class MailCatcher:
    """aiosmtpd handler: the deployment's SMTP server keeps every mail the workers send it."""

    def __init__(self) -> None:
        self.mails: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.mails.append({"to": list(envelope.rcpt_tos), "subject": str(msg["Subject"]),
                           "body": envelope.original_content.decode("utf-8", "replace")})
        return "250 OK"


@dataclass
class Deployment:
    airflow: AirflowProcesses
    api: AirflowApi
    targets: dict[str, Target]
    scheduled_at: datetime  # when deploy_scheduled's cron fires
    sqs: SqsServer | None = None  # the local SQS holding EVENTS_TARGET's event_queue
    events_queue: str | None = None
    mail: MailCatcher | None = None  # what deploy_approvers' notify block sent, through a real SMTP server

    def backfill(self, dag_id: str, start: datetime, end: datetime, reprocess: str) -> str:
        done = self.airflow.cli(
            "backfill", "create", "--dag-id", dag_id,
            "--from-date", start.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "--to-date", end.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "--reprocess-behavior", reprocess,
        )
        return done.stdout

    def backfill_outcomes(self, dag_id: str) -> list[tuple]:
        """(logical date, run id, why not created) for every date of the DAG's latest backfill, from Airflow's
        database: the API does not show the dates a backfill skipped, nor why."""
        import psycopg

        url = self.airflow.sql_alchemy_conn.replace("postgresql+psycopg2://", "postgresql://")
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT b.logical_date, r.run_id, b.exception_reason FROM backfill_dag_run b "
                "LEFT JOIN dag_run r ON r.id = b.dag_run_id WHERE b.backfill_id = "
                "(SELECT max(id) FROM backfill WHERE dag_id = %s) ORDER BY b.sort_ordinal", (dag_id,)
            ).fetchall()

    def wait_for_backfills(self, dag_id: str, timeout: float = 300) -> None:
        """Until the scheduler has marked every backfill of the DAG completed (one may run per DAG)."""
        deadline = time.monotonic() + timeout
        while any(b["completed_at"] is None for b in self.api.call("GET", "/backfills", params={"dag_id": dag_id})["backfills"]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id}: a backfill is still running after {timeout:.0f} s")
            time.sleep(1)

    def wait_for_runs(self, dag_id: str, count: int, run_type: str, timeout: float = 300) -> list[dict]:
        """Until ``count`` runs of ``run_type`` exist and all have finished."""
        deadline = time.monotonic() + timeout
        while True:
            runs = [r for r in self.api.runs(dag_id) if r["run_type"] == run_type]
            if len(runs) >= count and all(r["state"] in ("success", "failed") for r in runs):
                return runs
            if time.monotonic() > deadline:  # every run of the DAG, of any type, says what happened instead
                every = [(r.get("dag_run_id"), r["run_type"], r["state"], r.get("logical_date")) for r in self.api.runs(dag_id)]
                raise TimeoutError(f"{dag_id}: {count} {run_type} run(s) wanted after {timeout:.0f} s; the DAG's runs: {every}")
            time.sleep(1)


def _fresh_database() -> str:
    import psycopg

    name = f"okta_qs_deploy_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _flush_redis() -> None:
    import redis

    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()


def _targets(scheduled_at: datetime) -> dict[str, tuple[dict, str | None, dict]]:
    """dag_id -> (scenario, schedule, extra for the Okta connection)."""
    first, held = scenario("first-sync"), scenario("mass-deletion-held")
    slow_writes = copy.deepcopy(first)
    # Each RegisterUser takes a while, so a SIGKILL lands inside user_sync.
    slow_writes["faults"] = [{"service": "quicksight", "operation": "RegisterUser", "delay_s": 1.5, "times": -1}]
    contended = copy.deepcopy(first)
    contended["faults"] = [{"service": "quicksight", "operation": op, "delay_s": 0.3, "times": -1}
                           for op in ("CreateGroup", "RegisterUser", "CreateGroupMembership")]
    okta_down = copy.deepcopy(first)
    # Okta is down from the start: every run fails until the test ends the outage.
    okta_down["faults"] = [{"service": "okta", "status": 503, "times": -1}]
    refused = copy.deepcopy(first)
    refused["faults"] = [{"service": "quicksight", "operation": "CreateGroup", "error": "AccessDeniedException", "times": -1}]
    return {
        # The browser test's DAG: the production DAG id, so the screenshot shows what users see.
        "okta_quicksight_sync": (copy.deepcopy(first), None, {}),
        "deploy_scheduled": (first, f"{scheduled_at.minute} {scheduled_at.hour} * * *", {}),
        "deploy_manual": (copy.deepcopy(first), None, {}),
        "deploy_approval": (held, None, {}),
        # The browser test answers this one's approvals in the UI.
        "deploy_browser_approval": (copy.deepcopy(held), None, {}),
        # Only the approver named in the target may answer its approval.
        "deploy_approvers": (copy.deepcopy(held), None, {}),
        # Daily, so it can be backfilled; an Okta read gives up after one retry, so outages fail fast.
        "deploy_outage": (okta_down, "0 3 * * *", {"max_retries": 1}),
        "deploy_kill": (slow_writes, None, {}),
        "deploy_clear": (refused, None, {}),
        "deploy_concurrent": (contended, "0 3 * * *", {}),
        # No schedule of its own: its incremental DAG runs when Okta's events reach its SQS queue.
        EVENTS_TARGET: (copy.deepcopy(first), None, {}),
    }


def _check_celery_works() -> None:
    """CeleryExecutor needs a celery its provider can import; say which pin to change if not."""
    try:
        import airflow.providers.celery.executors.celery_executor_utils  # noqa: F401
    except ImportError as exc:
        import celery

        pytest.fail(
            f"apache-airflow-providers-celery cannot import with celery {celery.__version__} ({exc}); "
            "pin celery==5.6.3 in constraints.txt (5.7 removed celery.backends.database.retry)"
        )


@pytest.fixture(scope="package")
def deployment():
    """The whole deployment, once for this directory's tests; stopped and its database dropped after them."""
    _check_celery_works()
    home = Path(tempfile.mkdtemp(prefix="okta-qs-deployment-"))
    database = _fresh_database()
    _flush_redis()
    now = datetime.now(timezone.utc)
    # A daily cron for the scheduled-run test, firing a few minutes from now (after start-up).
    scheduled_at = (now + timedelta(minutes=3)).replace(second=0, microsecond=0)
    targets: dict[str, Target] = {}
    settings: dict[str, str] = {}
    target_file: dict[str, dict] = {}
    sqs = SqsServer()
    sqs.start()
    events_queue = sqs.create_queue(EVENTS_QUEUE)
    from aiosmtpd.controller import Controller

    mail = MailCatcher()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    for dag_id, (scn, schedule, okta_extra) in _targets(scheduled_at).items():
        # The production graph: held deletions wait for a person; a failed task is retried once, soon.
        target = {**target_of(scn), "schedule": schedule, "approval": "ui", "task_retries": 1, "retry_delay_s": 1,
                  "okta_conn_id": f"okta_{dag_id}", "aws_conn_id": f"aws_{dag_id}"}
        if dag_id == "deploy_approvers":
            target["approvers"] = [APPROVER]
            target["notify"] = {"email": [MAIL_TO], "smtp_conn_id": "smtp_deploy", "on": ["held", "rejected"]}
        if dag_id == EVENTS_TARGET:
            target["event_queue"] = events_queue
        okta = OktaServer(scn["okta"], scn.get("faults"), app_id=target["okta_app_id"])
        quicksight = RecordingQuickSightServer(scn["quicksight"], scn.get("faults"))
        okta.start()
        quicksight.start()
        targets[dag_id] = Target(dag_id, scn, okta, quicksight, target)
        target_file[dag_id] = target
        settings[f"AIRFLOW_CONN_{target['okta_conn_id'].upper()}"] = json.dumps(
            {"conn_type": "okta", "host": okta.url, "password": scn["okta"].get("api_token", "local-test-token"),
             "extra": okta_extra}
        )
        aws = json.loads(quicksight.airflow_connection(target["identity_region"]))
        if dag_id == EVENTS_TARGET:  # the same connection reaches QuickSight and, for SQS alone, the local SQS
            aws["extra"].update(sqs.airflow_connection_extra())
        settings[f"AIRFLOW_CONN_{target['aws_conn_id'].upper()}"] = json.dumps(aws)
    settings["AIRFLOW_CONN_SMTP_DEPLOY"] = json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com", "timeout": 10}})
    (home / "targets.json").write_text(json.dumps(target_file, indent=2))

    db_url = f"{POSTGRES}/{database}"
    airflow = AirflowProcesses(
        home=home,
        sql_alchemy_conn=db_url.replace("postgresql://", "postgresql+psycopg2://"),
        executor="CeleryExecutor",
        api_port=free_port(),
        extra_users={APPROVER: APPROVER_PASSWORD},
        settings={
            **settings,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{db_url}",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "OKTA_QS_SYNC_TARGETS": str(home / "targets.json"),
            "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": "0",
        },
    )
    try:
        airflow.prepare()
        airflow.start(("scheduler", "dag-processor", "api-server", "triggerer", "celery-worker"))
        airflow.wait_until_healthy()
        api = AirflowApi(airflow.api_url, airflow.user, airflow.password)
        deadline = time.monotonic() + 120
        while not set(targets) <= api.dag_ids():
            if api.import_errors():
                raise RuntimeError(f"DAG import errors: {api.import_errors()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAGs not parsed after 120 s: have {sorted(api.dag_ids())}")
            time.sleep(1)
        # Unpausing a DAG with a schedule may start a run for its latest cron tick at once (catchup is off);
        # the tests of the daily targets count such a run in.
        for dag_id in targets:
            api.set_paused(dag_id, False)
        yield Deployment(airflow, api, targets, scheduled_at, sqs, events_queue, mail)
    finally:
        airflow.stop()
        for t in targets.values():
            t.okta.stop()
            t.quicksight.stop()
        sqs.stop()
        smtp.stop()
        _drop_database(database)
        _flush_redis()
        if os.environ.get("OKTA_QS_KEEP_DEPLOYMENT_HOME") == "1":  # logs of every component, for debugging
            print(f"\nDeployment home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
