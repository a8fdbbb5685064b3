"""What the DAG keeps between its tasks and its runs, so the DAG file only wires.

- Backfill supersession: a backfill run whose data interval ended before the
  last converged run read both sides has nothing left to do.
- The converged-at mark: the Variable ``<dag_id>.last_converged_at``.
- Airflow's enums (run types, task states) compared by their value.
- The XCom keys: the plan's deletion summary for the gate, and the report's two keys (its return value, or ``report`` when the
  task fails and Airflow keeps no return value).
"""

from __future__ import annotations

import time

from okta_quicksight_sync import deletions, report
from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.plan import Plan

DELETIONS_KEY = "deletions"  # plan_sync's deletion summary
SUPERSEDED_KEY = "superseded"  # plan_sync's empty plan when a backfill run is superseded
REPORT_KEY = "report"  # the report of a failed run (a failing task has no return value)
REPORT_KEYS = ("return_value", REPORT_KEY)


def enum_value(value) -> str:
    """An Airflow enum (``DagRunType.BACKFILL``, ``TaskInstanceState.FAILED``) or its string, as its lower-case value."""
    return str(getattr(value, "value", value)).split(".")[-1].lower()


def failed_tasks(states: dict, *, besides: str) -> list[str]:
    """Tasks that failed themselves (upstream_failed ones never started), other than ``besides``."""
    return sorted(t for t, state in states.items() if t != besides and enum_value(state) == "failed")


# ---- backfill supersession --------------------------------------------------


def last_converged_key(dag_id: str) -> str:
    """Variable holding when the last converged run of this DAG read both sides (epoch seconds)."""
    return f"{dag_id}.last_converged_at"


def superseded_reason(last_converged_at: float | str | None, interval_end: float | None) -> str | None:
    """Why a backfill run has nothing left to do, or None when it must sync.

    A sync is state-based: a run that read both sides after this run's data
    interval ended and converged already did everything this run would do.
    ``last_converged_at`` is when that run started reading (epoch seconds);
    ``interval_end`` is the end of this run's data interval.
    """
    if last_converged_at in (None, "") or interval_end is None:
        return None
    converged = float(last_converged_at)
    if converged <= interval_end:
        return None
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(converged))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(interval_end))
    return f"superseded: a run that read Okta and QuickSight at {when}, after this run's interval ended ({end}), converged"


def superseded(dag_id: str, dag_run, variables) -> str | None:
    """Why this run is a superseded backfill run, or None (any other run, or a backfill that must sync)."""
    if enum_value(dag_run.run_type) != "backfill":
        return None
    interval_end = dag_run.data_interval_end or dag_run.run_after
    return superseded_reason(variables.get(last_converged_key(dag_id), default=None), interval_end.timestamp())


def skipped_plan(target: dict, reason: str) -> dict:
    """A plan that writes nothing, for a backfill run that a later run already made moot."""
    config = TargetConfig.from_dict(target)
    return {
        "config": config.to_dict(),
        "plan": Plan(okta_app_id=config.okta_app_id, namespace=config.namespace).to_dict(),
        "api_calls": {},
        "started_at": time.time(),
        "superseded": reason,
    }


# ---- the converged-at mark --------------------------------------------------


def converged_at(planned: dict, steps: list[dict | None]) -> float | None:
    """When the converged state of this run was read (its plan's start), or None if it did not converge.

    Converged: not a dry run, and no item failed or was held in any step.
    """
    plan = Plan.from_dict(planned["plan"])
    if plan.dry_run or planned.get("superseded"):
        return None
    results = [r for step in steps if step for r in step.get("results", [])]
    if report.outcome_of(results) != "success":
        return None
    return float(planned.get("started_at") or time.time())


def mark_converged(dag_id: str, planned: dict, steps: list[dict | None], variables) -> None:
    """Move ``<dag_id>.last_converged_at`` forward when this run converged (never back)."""
    read_at = converged_at(planned, steps)
    if read_at is None:
        return
    key = last_converged_key(dag_id)
    previous = variables.get(key, default=None)
    if previous is None or float(previous) < read_at:
        variables.set(key, str(read_at))


# ---- XCom keys ------------------------------------------------------------------


def publish_plan(ti, planned: dict) -> dict:
    """Push the plan's deletion summary beside the plan (the gate and the approval text read only it)."""
    ti.xcom_push(key=DELETIONS_KEY, value=deletions.summary(planned["plan"]))
    return planned


def report_of(xcoms: dict) -> dict | None:
    """The report among a report task's XComs by key (return value, else the failed run's ``report``)."""
    for key in REPORT_KEYS:
        if xcoms.get(key):
            return xcoms[key]
    return None
