"""Run the sync against the local Okta and QuickSight, with scripted faults.

``LocalSync`` keeps both servers and the Airflow connections (environment
variables, as production can use) up across runs, so a test or the soak can
change Okta, inject faults, run, and read QuickSight's state back. A run goes
either through the real DAG with ``dag.test()`` (:meth:`LocalSync.run_dag`) or
through the same task functions in the DAG's order, in-process
(:meth:`LocalSync.run_tasks`, ~10x faster; what the soak uses). Given a
``variables`` store, ``run_tasks`` plans by the run's ``mode``/``only_users``
(``incremental_run.plan_for_mode``) and moves the incremental cursor after a
converged run, as the DAG does.

Two knobs differ from the scenario harness, both settings a deployment has:
the Okta connection's extra (``max_retries``, ``timeout``) and the local Okta's
rate-limit window (so a 429's reset is a second away, not a minute).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from local_servers.okta_server import OktaServer
from local_servers.quicksight_server import QuickSightServer

from scenario_harness.runner import target_of
from soak.faults import ScriptedFaults, install

# Okta client settings for runs here: three failures in a row are absorbed
# (the contract's minimum), a fourth fails the read; a hung request gives up after 1 s.
FAST_OKTA_EXTRA = {"max_retries": 3, "timeout": 1.0}


@dataclass
class RunResult:
    outcome: str  # success | failed | held
    report: dict
    failed_tasks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # task exceptions, "task: message"
    retries: Counter = field(default_factory=Counter)  # by service
    planned: dict | None = None  # plan_sync's (or plan_for_mode's) output: mode, looked_at, fallback_reason

    @property
    def mode(self) -> str:
        """The mode the run ran in (an incremental run that fell back ran ``full``)."""
        return (self.planned or {}).get("mode") or "full"

    def text(self) -> str:
        """Everything a person would read about the run: task errors and the report's errors."""
        parts = list(self.errors)
        parts += [f"{e['action']} {e['item']}: {e['cause']}" for e in self.report.get("errors", [])]
        return "\n".join(parts)


class RetryCounter(logging.Handler):
    """Counts retries from the clients' own log records (Okta client warnings, botocore's retry handler)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.name.startswith("okta_provider") and ("retry" in msg or "429" in msg):
            self.counts["okta"] += 1
        elif record.name.startswith("botocore.retries") and msg.startswith("Retry needed, retrying"):
            self.counts["quicksight"] += 1

    def __enter__(self) -> RetryCounter:
        self._saved = []
        for name, level in (("okta_provider.client", logging.WARNING), ("botocore.retries.standard", logging.DEBUG)):
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.level, logger.propagate))
            logger.addHandler(self)
            if logger.getEffectiveLevel() > level:
                logger.setLevel(level)
            if name.startswith("botocore"):
                logger.propagate = False  # counted here; botocore's debug lines are no one's log
        return self

    def __exit__(self, *exc) -> None:
        for logger, level, propagate in self._saved:
            logger.removeHandler(self)
            logger.setLevel(level)
            logger.propagate = propagate


class LocalSync:
    """Both local servers seeded from a scenario, plus the connections and target for the DAG."""

    def __init__(
        self,
        scenario: dict,
        *,
        dag_id: str = "reliability_sync",
        okta_extra: dict | None = None,
        okta_window_s: float = 1.0,
        okta_connection: dict | None = None,
        aws_connection: dict | None = None,
    ) -> None:
        self.scenario = scenario
        self.dag_id = dag_id
        self.target = target_of(scenario)
        limits = scenario.get("limits") or {}
        self.okta = OktaServer(
            scenario.get("okta", {}), None, limits, app_id=self.target["okta_app_id"], window_s=okta_window_s
        )
        self.quicksight = QuickSightServer(scenario.get("quicksight", {}), None, limits)
        self.okta_faults, self.qs_faults = install(self.okta, self.quicksight, scenario.get("faults"))
        self.okta_extra = {**FAST_OKTA_EXTRA, **(okta_extra or {})}
        self._okta_connection = okta_connection
        self._aws_connection = aws_connection
        self._saved_env: dict[str, str | None] = {}
        self._tmp: tempfile.TemporaryDirectory | None = None

    # ---- lifecycle --------------------------------------------------------------

    def __enter__(self) -> LocalSync:
        self.okta.start()
        self.quicksight.start()
        self._tmp = tempfile.TemporaryDirectory(prefix="okta-qs-reliability-")
        targets = Path(self._tmp.name) / "targets.json"
        targets.write_text(json.dumps({self.dag_id: {**self.target, "schedule": None}}))
        okta_conn = self._okta_connection or {
            "conn_type": "okta",
            "host": self.okta.url,
            "password": self.scenario.get("okta", {}).get("api_token", "local-test-token"),
            "extra": self.okta_extra,
        }
        aws_conn = self._aws_connection or json.loads(self.quicksight.airflow_connection(self.target["identity_region"]))
        env = {
            f"AIRFLOW_CONN_{self.target.get('okta_conn_id', 'okta_default').upper()}": json.dumps(okta_conn),
            f"AIRFLOW_CONN_{self.target.get('aws_conn_id', 'aws_default').upper()}": json.dumps(aws_conn),
            "OKTA_QS_SYNC_TARGETS": str(targets),
            "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": str((self.scenario.get("limits") or {}).get("quicksight_per_second") or 0),
        }
        self._saved_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        return self

    def __exit__(self, *exc) -> None:
        for key, old in self._saved_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self.okta.stop()
        self.quicksight.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    # ---- state --------------------------------------------------------------------

    def set_faults(self, faults: list[dict] | None) -> tuple[ScriptedFaults, ScriptedFaults]:
        """Fresh fault plans for the next run (the old ones' counts stay with the old objects)."""
        self.okta_faults, self.qs_faults = install(self.okta, self.quicksight, faults)
        return self.okta_faults, self.qs_faults

    def load_okta(self, okta_section: dict) -> None:
        self.okta.load(okta_section)

    def dump(self) -> dict:
        return self.quicksight.dump()

    def okta_section(self) -> dict:
        """The local Okta org as it is now (races may have changed it), in the scenario's ``okta`` shape."""
        org = self.okta.org
        return {
            "users": [dict(u) for u in org.users.values()],
            "groups": [dict(g) for g in org.groups.values()],
            "app_users": [dict(a) for a in org.app_users],
            "app_groups": list(org.app_groups),
        }

    # ---- runs ---------------------------------------------------------------------

    def run_dag(self, params: dict | None = None) -> RunResult:
        """One run of the real DAG with dag.test(); task errors go to the task log (stdout), not ``errors``."""
        from scenario_harness.runner import outcome_of, run_dag

        with RetryCounter() as retries:
            state, report = run_dag(self.dag_id, params or self.scenario.get("params") or {})
        return RunResult(outcome_of(state, report), report, retries=retries.counts)

    def run_tasks(self, params: dict | None = None, *, variables=None) -> RunResult:
        """The DAG's tasks in its order, in-process; a task that raises stops its downstream tasks as in the DAG.

        With ``variables`` (the cursor's store), the plan follows ``mode``/``only_users`` and, once every
        task ran, ``advance_cursor`` is told whether the run converged (``run_bookkeeping.converged_at``).
        """
        from okta_quicksight_airflow import incremental_run, run_bookkeeping, sync_tasks

        params = dict(params if params is not None else (self.scenario.get("params") or {}))
        failed: list[str] = []
        errors: list[str] = []

        def step(name: str, fn):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - a task failure, as Airflow would record it
                failed.append(name)
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                logging.getLogger(__name__).debug("%s failed\n%s", name, traceback.format_exc())
                return None

        with RetryCounter() as retries:
            if variables is None:
                planned = step("plan_sync", lambda: sync_tasks.plan_sync(self.target, params))
            else:
                planned = step("plan_sync", lambda: incremental_run.plan_for_mode(
                    self.target, params, dag_id=self.dag_id, variables=variables))
            groups = users = deprovisioned = None
            if planned is not None:
                groups = step("group_sync", lambda: sync_tasks.group_sync(planned, params))
            if groups is not None:
                users = step("user_sync", lambda: sync_tasks.user_sync(planned, params, groups))
            if users is not None:
                # No person to ask (approval: hold): held deletions are reported held, none applied.
                deprovisioned = step("deprovision", lambda: sync_tasks.deprovision(planned, params, groups))
            if planned is None:
                return RunResult("failed", {}, failed, errors, retries.counts)
            if variables is not None and deprovisioned is not None:
                converged = run_bookkeeping.converged_at(planned, [groups, users, deprovisioned]) is not None
                step("advance_cursor", lambda: incremental_run.advance_cursor(self.dag_id, planned, converged, variables))
            if deprovisioned is None:
                deprovisioned = sync_tasks.not_run_results(planned, failed)
            report = sync_tasks.build_report(
                planned, [groups, users, deprovisioned], failed_tasks=failed, finished_at=time.time()
            )
        return RunResult(report["outcome"], report, failed, errors, retries.counts, planned)
