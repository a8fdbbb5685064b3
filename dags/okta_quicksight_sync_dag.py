"""Okta -> QuickSight sync: one DAG per target in include/targets.json.

    plan_sync -> group_sync -> user_sync -> deletion_gate -> [approve_deletions] -> deprovision -> report

The tasks only wire; what they do lives in ``okta_quicksight_airflow.sync_tasks``
(each step), ``okta_quicksight_airflow.run_bookkeeping`` (what runs keep in
Airflow) and the plain-Python core ``okta_quicksight_sync``. The graph
depends only on the target's settings (``approval``, ``task_retries``,
``retry_delay_s``, ``approval_timeout_h``). See docs/operating.md.

This file is not named ``okta_quicksight_sync.py``: Airflow puts dags/ on
sys.path, and a module there of that name would shadow the core package.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

from airflow.sdk import DAG, Asset, Param, Variable, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

# Airflow puts dags/ and plugins/ on sys.path, not include/: unless the sync's packages are already
# importable (installed, or copied into dags/ as on MWAA), use the include/ folder beside dags/
# (Astro, the official image, this repository). docs/deploy.md says how each platform gets them.
if find_spec("okta_quicksight_airflow") is None:
    sys.path.append(str(Path(__file__).resolve().parents[1] / "include"))

from okta_quicksight_airflow import event_entry, incremental_run, run_bookkeeping, run_outcome, sync_tasks
from okta_quicksight_airflow import metrics, notifications
from okta_quicksight_airflow.targets import load_targets_leniently
from okta_quicksight_sync import deletions
from okta_quicksight_sync.config import DEFAULT_SCHEDULE, TargetConfig
from okta_quicksight_sync.report import render_table

log = logging.getLogger(__name__)

# One writer at a time: every task that reads, decides or writes runs in this
# 1-slot pool (created by `airflow pools import include/pools.json`, which
# `make airflow` and docker-compose's airflow-init run). Backfills and cleared
# runs ignore max_active_runs; they do not ignore pools. With weight_rule
# "upstream", a run's later steps outrank other runs' plan_sync, so the pool
# serves one run's plan_sync..deprovision back to back.
POOL = "okta_quicksight_sync"
# The task each route of deletions.route leads to.
NEXT_TASK = {deletions.APPLY: "deprovision", deletions.APPROVE: "approve_deletions", deletions.HOLD: "report"}

def user_docs(dag_id: str, config: TargetConfig, *, target_id: str | None = None) -> str:
    """The DAG's page in the UI, for the people who run it (what it syncs, the target, the parameters, held deletions).
    ``target_id``: this is the target's incremental DAG, beside the main DAG of that id."""
    where = f"QuickSight account `{config.aws_account_id or 'from the AWS connection'}`, namespace `{config.namespace}`"
    if target_id:
        starts = [f"`{config.incremental_schedule}` (UTC)"] if config.incremental_schedule else []
        starts += ["Okta's events arriving on the SQS queue `" + config.event_queue + "`"] if config.event_queue else []
        schedule = (" and ".join(starts) + f": incremental runs. The daily full run is the DAG `{target_id}`; "
                    "both share the System Log cursor and never write at the same time")
    else:
        schedule = f"`{config.schedule}` (UTC)" if config.schedule else "manual runs only"
        if event_entry.wanted(config):
            schedule += f"; incremental runs in the DAG `{dag_id}{INCREMENTAL_SUFFIX}`"
    approval = (
        f"they wait in **Browse -> Required Actions** for an approver ({config.approval_timeout_h:g} h; no answer "
        "deletes nothing)" if config.approval == "ui" else "they are reported held and the run ends"
    )
    return f"""### Okta -> Amazon QuickSight sync: `{dag_id}`

Makes QuickSight's users, groups and group memberships match who is assigned the Okta app
`{config.okta_app_id}` (connection `{config.okta_conn_id}`), in {where} (connection `{config.aws_conn_id}`).
Users who left Okta are deprovisioned: their dashboards, analyses and datasets are handed to
`{config.asset_recipient or '(no asset_recipient set: nobody is deprovisioned)'}` first, then they are deleted.
Schedule: {schedule}. New deployments start paused: unpause the DAG to let the schedule run.

**Parameters** (Trigger):
- *Dry run*: read both sides, plan and report, write nothing.
- *Allow deletions*: apply more deletions than the limit in this run without waiting for approval.
- *Mode*: `full` reads everything; `incremental` reads Okta's System Log since the last run and syncs just
  the people and groups it names (it reads everything instead, and says why, when it cannot be sure).
- *Only these people*: Okta logins or user ids; just these people are synced now, nobody else.

**Held deletions**: when a run plans more than {config.max_deletions} deletions
{f"(or {config.max_deletion_percent:g}% of the managed users and groups) " if config.max_deletion_percent is not None else ""}\
nothing is deleted and {approval}. Everything else is applied. The approval page lists the users and groups
that would be deleted and the assets each user would hand over.

**After a run**: its note in the runs list says what happened ("synced: 42 changes", "held: 12 deletions
wait for approval", "rejected by alice: ..."); the report is the `report` task's result and a file under
the target's report path. See docs/operating.md in the project.
"""


INCREMENTAL_SUFFIX = "_incremental"  # the target's incremental DAG: <dag_id>_incremental


def params_for(mode: str) -> dict:
    """The trigger form: ``mode`` defaults to what the DAG's schedule runs (full, or incremental)."""
    return {
        **PARAMS,
        "mode": Param(
            mode,
            type="string",
            enum=[incremental_run.MODE_FULL, incremental_run.MODE_INCREMENTAL],
            title="Mode",
            description=(
                "full: read everything in Okta and QuickSight (what the daily schedule runs). incremental: read "
                "Okta's System Log since the last run and sync just the people and groups it names; it runs full "
                "instead, saying why in the report, when it cannot be sure."
            ),
        ),
        "only_users": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Only these people",
            description=(
                "Okta logins or user ids, one per line: sync just these people now (register, update, regroup, "
                "or hand over and deprovision) and nobody else. Empty: everyone, as the mode says."
            ),
        ),
    }


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


def plan_sync(target: dict, target_id: str):
    """The target is held by the task, not passed as an argument: arguments are rendered as templates.
    ``target_id``: the main DAG's id, which keys the target's System Log cursor for both of its DAGs."""

    @task(task_id="plan_sync", execution_timeout=timedelta(minutes=30), multiple_outputs=False)
    def plan_sync():
        ctx = get_current_context()
        reason = run_bookkeeping.superseded(ctx["ti"].dag_id, ctx["dag_run"], Variable)
        if reason:
            log.info("Backfill run skipped: %s", reason)
            # Skipping here skips every write task without starting it; report still runs.
            ctx["ti"].xcom_push(key=run_bookkeeping.SUPERSEDED_KEY, value=run_bookkeeping.skipped_plan(target, reason))
            raise AirflowSkipException(reason)
        planned = incremental_run.plan_for_mode(target, ctx["params"], dag_id=target_id, variables=Variable)
        if planned.get("fallback_reason"):
            log.warning("Incremental run reads everything instead: %s", planned["fallback_reason"])
        planned = run_bookkeeping.publish_plan(ctx["ti"], {**planned, "target_id": target_id})
        config = TargetConfig.from_dict(planned["config"])
        if deletions.route(deletions.summary(planned["plan"]), ctx["params"], config.approval) != deletions.APPLY:
            # Held: the approval page (with each leaver's assets) for the approval step, and the held mail.
            qs = sync_tasks.QuickSightSide(config)
            run_outcome.on_held(ctx["ti"], planned, qs.handover, ctx)
            planned = sync_tasks.with_calls(planned, {"quicksight": qs.api_calls})
        return planned

    return plan_sync()


@task(execution_timeout=timedelta(hours=1), multiple_outputs=False)
def group_sync(planned: dict):
    return sync_tasks.group_sync(planned, get_current_context()["params"])


@task(execution_timeout=timedelta(hours=3), multiple_outputs=False)
def user_sync(planned: dict, groups_done: dict):
    return sync_tasks.user_sync(planned, get_current_context()["params"], groups_done)


@task.branch(retries=0)
def deletion_gate(summary: dict, approval: str):
    return NEXT_TASK[deletions.route(summary, get_current_context()["params"], approval)]


@task(execution_timeout=timedelta(hours=3), multiple_outputs=False, trigger_rule="none_failed_min_one_success")
def deprovision(planned: dict, summary: dict, approval: str, groups_done: dict | None, users_done: dict | None):
    ctx = get_current_context()
    # Past the gate on the approve route, a person said yes.
    approved = deletions.route(summary, ctx["params"], approval) == deletions.APPROVE
    done = sync_tasks.deprovision(planned, ctx["params"], groups_done, approved=approved)
    steps = [groups_done, users_done, done]
    if planned.get("mode", incremental_run.MODE_FULL) == incremental_run.MODE_FULL:
        # Only a full read supersedes backfill runs; incremental and on-demand runs looked at less.
        run_bookkeeping.mark_converged(ctx["ti"].dag_id, planned, steps, Variable)
    # Where the next incremental run reads the System Log from: moved only by a run that converged.
    calls: dict[str, int] = {}
    converged = run_bookkeeping.converged_at(planned, steps) is not None
    target_id = planned.get("target_id") or ctx["ti"].dag_id
    if incremental_run.advance_cursor(target_id, planned, converged, Variable, calls):
        log.info("System Log cursor stored for the next incremental run of %s", target_id)
    return sync_tasks.with_calls(done, {"okta": calls}) if calls else done


def directory_asset(dag_id: str) -> Asset:
    """The target's QuickSight directory as an Airflow asset: each run that ends well updates it, with its counts.

    Name and URI depend on the DAG id alone: Airflow deactivates an asset whose name comes back with
    another URI, and a task with an inactive outlet fails before it starts, so a URI built from settings
    (account, namespace) would break every run after someone changed them."""
    return Asset(name=f"quicksight_directory/{dag_id}", uri=f"okta-quicksight-sync://{dag_id}", group="okta_quicksight_sync")


def report(target: dict, asset: Asset, *, asked: bool):
    """The run's report, file, metrics, mails and note. The target is held by the task, not passed as an
    argument (arguments are rendered as templates); ``asked``: the DAG has the approval step."""

    @task(task_id="report", trigger_rule="all_done", pool="default_pool", retries=0, multiple_outputs=False,
          outlets=[asset])
    def report(planned: dict | None, groups_done: dict | None, users_done: dict | None, deprovisioned: dict | None):
        ctx = get_current_context()
        ti = ctx["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ctx["run_id"]]).get(ctx["run_id"], {})
        failed = run_bookkeeping.failed_tasks(states, besides="report")
        planned = planned or ti.xcom_pull(task_ids="plan_sync", key=run_bookkeeping.SUPERSEDED_KEY)
        if not planned:
            # Nothing was planned, so nothing written; the people who run it still hear of it.
            empty = {**run_bookkeeping.skipped_plan(target, ""), "superseded": None}
            out = sync_tasks.build_report(empty, [], failed_tasks=failed or ["plan_sync"], finished_at=time.time())
            run_outcome.after_run(ti, target, out, None, ctx)
            raise AirflowFailException(f"plan_sync did not produce a plan (failed tasks: {failed}); nothing was written")
        if deprovisioned is None:
            deprovisioned = sync_tasks.not_run_results(planned, failed)
        out = sync_tasks.build_report(
            planned, [groups_done, users_done, deprovisioned], failed_tasks=failed, finished_at=time.time()
        )
        approval = run_outcome.approval_of(ti) if asked else None
        if approval:
            out["approval"] = approval
        log.info("Sync report\n%s", render_table(out))
        note = run_outcome.after_run(ti, planned["config"], out, approval, ctx)
        log.info("Run note: %s", note)
        if out["outcome"] == "failed":
            ti.xcom_push(key=run_bookkeeping.REPORT_KEY, value=out)
            raise AirflowFailException(f"{len(out['errors'])} item(s) failed; see the report above")
        # Only a run whose report task succeeds updates the asset; its event carries the counts.
        ctx["outlet_events"][asset].extra = metrics.asset_extra(out, note)
        return out

    return report


def approve_deletions(config: TargetConfig):
    """The standard provider's approval step: reject, or no answer in time, deletes nothing."""
    from okta_quicksight_airflow.approval_step import DeletionApproval

    return DeletionApproval(
        task_id="approve_deletions",
        subject="Okta -> QuickSight sync: approve held deletions?",
        body=run_outcome.approval_body(),
        defaults="Reject",
        assigned_users=notifications.approvers_from(config.to_dict(), "approvers"),
        response_timeout=timedelta(hours=config.approval_timeout_h),
        pool="default_pool",
        retries=0,
    )


def build_dag(dag_id: str, config: TargetConfig, *, target_id: str | None = None) -> DAG:
    """One sync DAG for one target: the main one (full on ``schedule``), or with ``target_id`` (the main
    DAG's id) the target's incremental DAG (incremental on ``incremental_schedule`` or the event queue)."""
    incremental = target_id is not None
    target_id = target_id or dag_id
    default_args = {
        "retries": config.task_retries,
        "retry_delay": timedelta(seconds=config.retry_delay_s),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "pool": POOL,
        # Later steps of a run outrank earlier steps of other runs, so a run
        # that started applying finishes before the next one plans.
        "weight_rule": "upstream",
    }
    # Paused when it first appears in a deployment, whatever Airflow's global default: someone enables it.
    if incremental:
        schedule, mode = event_entry.incremental_schedule(target_id, config), incremental_run.MODE_INCREMENTAL
        what = f"Incremental Okta -> QuickSight sync of {target_id}: changes since the last run"
    else:
        schedule, mode = config.schedule, incremental_run.MODE_FULL
        what = f"Sync Okta app {config.okta_app_id} users and groups into QuickSight ({config.namespace})"
    with DAG(dag_id=dag_id, schedule=schedule, catchup=False, max_active_runs=1, params=params_for(mode),
             is_paused_upon_creation=True, tags=["okta", "quicksight", "identity"] + (["incremental"] if incremental else []),
             description=what, doc_md=user_docs(dag_id, config, target_id=target_id if incremental else None),
             default_args=default_args) as built:
        planned = plan_sync(config.to_dict(), target_id)
        summary = planned[run_bookkeeping.DELETIONS_KEY]
        groups_done = group_sync(planned)
        users_done = user_sync(planned, groups_done)
        gate = deletion_gate(summary, config.approval)
        users_done >> gate
        deprovisioned = deprovision(planned, summary, config.approval, groups_done, users_done)
        if config.approval == "ui":
            gate >> approve_deletions(config) >> deprovisioned
        gate >> deprovisioned
        report_task = report(config.to_dict(), directory_asset(target_id), asked=config.approval == "ui")
        gate >> report_task(planned, groups_done, users_done, deprovisioned)
    return built


def config_error(error: str):
    """The error is held by the task, not passed as an argument: arguments are rendered as templates."""

    @task(task_id="config_error", retries=0)
    def config_error():
        raise AirflowFailException(error)

    return config_error()


def build_broken_dag(dag_id: str, error: str) -> DAG:
    """A target whose configuration is invalid: a DAG that says why, and fails every run with that message.

    The other targets keep syncing; this one turns red on its daily schedule
    until its configuration is fixed.
    """
    with DAG(
        dag_id=dag_id,
        schedule=DEFAULT_SCHEDULE,
        catchup=False,
        description=f"CONFIGURATION ERROR: {error}"[:1000],
        doc_md=f"**This target's configuration is invalid; nothing is synced.**\n\n{error}",
        tags=["okta", "quicksight", "config-error"],
    ) as built:
        config_error(error)
    return built


_targets, _broken = load_targets_leniently()
for _dag_id, _config in _targets.items():
    globals()[_dag_id] = build_dag(_dag_id, _config)
    if event_entry.wanted(_config):
        _incremental_id = _dag_id + INCREMENTAL_SUFFIX
        if _incremental_id in _targets or _incremental_id in _broken:
            log.error("Target %s: no incremental DAG, another target is named %s", _dag_id, _incremental_id)
            continue
        try:
            globals()[_incremental_id] = build_dag(_incremental_id, _config, target_id=_dag_id)
        except ValueError as _exc:  # e.g. the event queue's packages are not installed
            log.error("Target %s: incremental DAG not built: %s", _dag_id, _exc)
            globals()[_incremental_id] = build_broken_dag(_incremental_id, str(_exc))
for _dag_id, _error in _broken.items():
    log.error("Okta -> QuickSight target not built: %s", _error)
    globals()[_dag_id] = build_broken_dag(_dag_id, _error)
