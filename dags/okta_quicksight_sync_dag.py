"""Okta -> QuickSight sync: one DAG per target in include/targets.json.

    plan_sync -> group_sync -> user_sync -> deletion_gate -> [approve_deletions] -> deprovision -> report

The tasks only wire; what they do lives in ``okta_quicksight_airflow.sync_tasks``
and the plain-Python core ``okta_quicksight_sync``. See docs/operating.md.

This file is not named ``okta_quicksight_sync.py``: Airflow puts dags/ on
sys.path, and a module there of that name would shadow the core package.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

from airflow.sdk import Param, Variable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

# Airflow puts dags/ and plugins/ on sys.path, not include/: unless the sync's packages are already
# importable (installed, or copied into dags/ as on MWAA), use the include/ folder beside dags/
# (Astro, the official image, this repository). docs/deploy.md says how each platform gets them.
if find_spec("okta_quicksight_airflow") is None:
    sys.path.append(str(Path(__file__).resolve().parents[1] / "include"))

from okta_quicksight_airflow import sync_tasks
from okta_quicksight_sync.config import DEFAULT_SCHEDULE
from okta_quicksight_airflow.targets import load_targets_leniently

log = logging.getLogger(__name__)

# One writer at a time: every task that reads, decides or writes runs in this
# 1-slot pool (created by `airflow pools import include/pools.json`, which
# `make airflow` and docker-compose's airflow-init run). Backfills and cleared
# runs ignore max_active_runs; they do not ignore pools. With weight_rule
# "upstream", a run's later steps outrank other runs' plan_sync, so the pool
# serves one run's plan_sync..deprovision back to back.
POOL = "okta_quicksight_sync"
# "ui": held deletions wait for an administrator in the Airflow UI.
# "hold": they are reported held and nothing is deleted (tests, the scenario harness).
APPROVAL = os.environ.get("OKTA_QS_SYNC_APPROVAL", "ui")
TASK_RETRIES = int(os.environ.get("OKTA_QS_SYNC_TASK_RETRIES", "2"))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("OKTA_QS_SYNC_RETRY_DELAY_S", "120")))
APPROVAL_TIMEOUT = timedelta(hours=float(os.environ.get("OKTA_QS_SYNC_APPROVAL_HOURS", "24")))

PARAMS = {
    "dry_run": Param(
        False,
        type="boolean",
        title="Dry run",
        description="Read both sides, plan and report, but write nothing to QuickSight.",
    ),
    "allow_deletions": Param(
        False,
        type="boolean",
        title="Allow deletions",
        description=(
            "Apply deletions above max_deletions / max_deletion_percent in this run without waiting "
            "for an administrator's approval. Leave off unless you have read the planned deletions."
        ),
    ),
}


def _last_converged_key(dag_id: str) -> str:
    """Variable holding when the last converged run of this DAG read both sides (epoch seconds)."""
    return f"{dag_id}.last_converged_at"


def _mark_converged(dag_id: str, read_at: float | None) -> None:
    if read_at is None:
        return
    key = _last_converged_key(dag_id)
    previous = Variable.get(key, default=None)
    if previous is None or float(previous) < read_at:
        Variable.set(key, str(read_at))


def build_dag(dag_id: str, target: dict, schedule: str | None):
    """One sync DAG for one target."""

    @dag(
        dag_id=dag_id,
        schedule=schedule,
        catchup=False,
        max_active_runs=1,
        params=PARAMS,
        tags=["okta", "quicksight", "identity"],
        doc_md=__doc__,
        default_args={
            "retries": TASK_RETRIES,
            "retry_delay": RETRY_DELAY,
            "retry_exponential_backoff": True,
            "max_retry_delay": timedelta(minutes=20),
            "pool": POOL,
            # Later steps of a run outrank earlier steps of other runs, so a run
            # that started applying finishes before the next one plans.
            "weight_rule": "upstream",
        },
    )
    def sync():
        @task(execution_timeout=timedelta(minutes=30), multiple_outputs=False)
        def plan_sync():
            ctx = get_current_context()
            dag_run = ctx["dag_run"]
            # run_type is an Enum whose str() is "DagRunType.BACKFILL": compare its value.
            if getattr(dag_run.run_type, "value", dag_run.run_type) == "backfill":
                interval_end = dag_run.data_interval_end or dag_run.run_after
                last = Variable.get(_last_converged_key(dag_id), default=None)
                reason = sync_tasks.superseded_reason(last, interval_end.timestamp())
                log.info("Backfill run: interval ended %s, last converged read %s: %s",
                         interval_end, last, reason or "syncing")
                if reason:
                    # Skipping here skips every write task without starting it; report still runs.
                    ctx["ti"].xcom_push(key="superseded", value=sync_tasks.skipped_plan(target, reason))
                    raise AirflowSkipException(reason)
            return sync_tasks.plan_sync(target, ctx["params"])

        @task(execution_timeout=timedelta(hours=1), multiple_outputs=False)
        def group_sync(planned: dict):
            return sync_tasks.group_sync(planned, get_current_context()["params"])

        @task(execution_timeout=timedelta(hours=3), multiple_outputs=False)
        def user_sync(planned: dict, groups_done: dict):
            return sync_tasks.user_sync(planned, get_current_context()["params"], groups_done)

        @task.branch(retries=0)
        def deletion_gate(planned: dict):
            params = get_current_context()["params"]
            held = planned["plan"]["deletions_held"]
            if not held or params.get("dry_run") or params.get("allow_deletions"):
                return "deprovision"
            return "approve_deletions" if APPROVAL == "ui" else "report"

        @task(execution_timeout=timedelta(hours=3), multiple_outputs=False, trigger_rule="none_failed_min_one_success")
        def deprovision(planned: dict, groups_done: dict | None, users_done: dict | None):
            params = get_current_context()["params"]
            if planned["plan"]["deletions_held"] and not params.get("allow_deletions") and not params.get("dry_run"):
                # Approved after a wait: delete only what a fresh read still plans to delete.
                planned = sync_tasks.revalidated(planned, params)
            done = sync_tasks.deprovision(planned, params, deletions_allowed=True)
            _mark_converged(dag_id, sync_tasks.converged_at(planned, [groups_done, users_done, done]))
            return done

        @task(trigger_rule="all_done", pool="default_pool", retries=0, multiple_outputs=False)
        def report(planned: dict | None, groups_done: dict | None, users_done: dict | None, deprovisioned: dict | None):
            ctx = get_current_context()
            states = ctx["ti"].get_task_states(dag_id=dag_id, run_ids=[ctx["run_id"]]).get(ctx["run_id"], {})
            # Only tasks that failed themselves; upstream_failed ones never started.
            failed = sorted(t for t, state in states.items() if t != "report" and str(state).split(".")[-1].lower() == "failed")
            if not planned:
                planned = ctx["ti"].xcom_pull(task_ids="plan_sync", key="superseded")
            if not planned:
                raise AirflowFailException(f"plan_sync did not produce a plan (failed tasks: {failed}); nothing was written")
            if deprovisioned is None:
                deprovisioned = sync_tasks.held_results(planned)
            out = sync_tasks.build_report(
                planned, [groups_done, users_done, deprovisioned], failed_tasks=failed, finished_at=time.time()
            )
            from okta_quicksight_sync.report import render_table

            log.info("Sync report\n%s", render_table(out))
            if out["outcome"] == "failed":
                ctx["ti"].xcom_push(key="report", value=out)
                raise AirflowFailException(f"{len(out['errors'])} item(s) failed; see the report above")
            return out

        planned = plan_sync()
        groups_done = group_sync(planned)
        users_done = user_sync(planned, groups_done)
        gate = deletion_gate(planned)
        users_done >> gate
        deprovisioned = deprovision(planned, groups_done, users_done)
        if APPROVAL == "ui":
            from airflow.providers.standard.operators.hitl import ApprovalOperator

            approve = ApprovalOperator(
                task_id="approve_deletions",
                subject="Okta -> QuickSight sync: approve held deletions?",
                body=(
                    "{{ ti.xcom_pull(task_ids='plan_sync')['plan']['deletion_count'] }} deletions were held: "
                    "{{ ti.xcom_pull(task_ids='plan_sync')['plan']['hold_reasons'] | join('; ') }}. "
                    "Approve to hand over their assets and delete them; reject (or let it time out) to delete nothing."
                ),
                defaults="Reject",
                response_timeout=APPROVAL_TIMEOUT,
                pool="default_pool",
                retries=0,
            )
            gate >> approve >> deprovisioned
        gate >> deprovisioned
        rep = report(planned, groups_done, users_done, deprovisioned)
        gate >> rep

    return sync()


def build_broken_dag(dag_id: str, error: str):
    """A target whose configuration is invalid: a DAG that says why, and fails every run with that message.

    The other targets keep syncing; this one turns red on its daily schedule
    until its configuration is fixed.
    """

    @dag(
        dag_id=dag_id,
        schedule=DEFAULT_SCHEDULE,
        catchup=False,
        description=f"CONFIGURATION ERROR: {error}"[:1000],
        doc_md=f"**This target's configuration is invalid; nothing is synced.**\n\n{error}",
        tags=["okta", "quicksight", "config-error"],
    )
    def broken():
        @task(task_id="config_error", retries=0)
        def config_error():
            raise AirflowFailException(error)

        config_error()

    return broken()


_targets, _broken = load_targets_leniently()
for _dag_id, _config in _targets.items():
    globals()[_dag_id] = build_dag(_dag_id, _config.to_dict(), _config.schedule)
for _dag_id, _error in _broken.items():
    log.error("Okta -> QuickSight target not built: %s", _error)
    globals()[_dag_id] = build_broken_dag(_dag_id, _error)
