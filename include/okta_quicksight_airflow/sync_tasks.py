"""What each task of the sync DAG does: clients from Airflow connections, then the core.

Every function takes and returns plain JSON (dicts, lists, strings,
numbers), which is what travels between tasks through XCom. Nothing here
holds a credential: clients are built from connection ids inside the task.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from okta_quicksight_sync import apply, deletions, planner, report
from okta_quicksight_sync.results import FAILED, result
from okta_quicksight_sync.asset_handover import AssetHandover
from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.okta_reader import read_okta
from okta_quicksight_sync.plan import STEP_DEPROVISION, Plan
from okta_quicksight_sync.quicksight_directory import QuickSightDirectory
from okta_quicksight_sync.quicksight_reader import read_quicksight

from okta_quicksight_airflow.quicksight_clients import (
    DEFAULT_CALLS_PER_SECOND,
    account_id_from,
    quicksight_client_factory,
)


# What plan_sync's variants (incremental_run) add for the report: the mode, why it fell back to full,
# what it read, and the System Log cursor it started from and stopped at.
RUN_SCOPE_KEYS = ("mode", "fallback_reason", "looked_at", "cursor_from", "cursor_to")


def quicksight_calls_per_second() -> float | None:
    """Client-side QuickSight call rate: OKTA_QS_SYNC_QS_CALLS_PER_SECOND, 0 = unlimited."""
    value = float(os.environ.get("OKTA_QS_SYNC_QS_CALLS_PER_SECOND") or DEFAULT_CALLS_PER_SECOND)
    return value or None


def _region_of(aws_conn_id: str) -> str | None:
    from airflow.providers.amazon.aws.hooks.quicksight import QuickSightHook

    return QuickSightHook(aws_conn_id=aws_conn_id).conn_region_name


def resolve_config(target: dict) -> TargetConfig:
    """The target with what only AWS knows filled in: the account (STS) and the connection's region."""
    config = TargetConfig.from_dict(target)
    region = config.identity_region or _region_of(config.aws_conn_id)
    if not region:
        raise ValueError(
            f"No identity region: set identity_region in the target, or region_name in the extra of "
            f"Airflow connection {config.aws_conn_id!r}"
        )
    account = account_id_from(config.aws_account_id, config.aws_conn_id, region)
    return config.with_runtime(aws_account_id=account, identity_region=region)


class QuickSightSide:
    """The QuickSight directory and asset hand-over of one target, sharing one client per region."""

    def __init__(self, config: TargetConfig) -> None:
        self.client_for_region = quicksight_client_factory(
            config.aws_conn_id, calls_per_second=quicksight_calls_per_second()
        )
        self.directory = QuickSightDirectory(
            self.client_for_region, config.aws_account_id, config.identity_region, config.namespace
        )
        self.handover = AssetHandover(
            self.client_for_region,
            config.aws_account_id,
            config.identity_region,
            config.namespace,
            config.regions_for_assets,
        )

    @property
    def api_calls(self) -> dict[str, int]:
        calls = dict(self.directory.api_calls)
        for op, n in getattr(self.handover, "api_calls", {}).items():
            calls[op] = calls.get(op, 0) + n
        return calls


def plan_sync(target: dict, params: dict) -> dict:
    """Read both sides in full and plan; any failed read raises, so nothing is planned from a partial read."""
    from okta_provider.hooks.okta import OktaHook

    started = time.time()
    config = resolve_config(target)
    okta = OktaHook(okta_conn_id=config.okta_conn_id)
    qs = QuickSightSide(config)
    # Connections are resolved here, in the task's own thread; the two reads then only speak HTTP.
    okta.get_conn()
    qs.client_for_region(config.identity_region)
    # Each side's rate limit bounds its own read, so both run at once: the read takes as long as
    # the slower side, not the sum. Either failing fails the task (nothing planned from half a read).
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="read") as pool:
        okta_read = pool.submit(read_okta, okta, config.okta_app_id, wants_members=config.wants_group_members)
        qs_read = pool.submit(read_quicksight, qs.directory, config)
        okta_snapshot, qs_snapshot = okta_read.result(), qs_read.result()
    plan = planner.plan(config, okta_snapshot, qs_snapshot, params)
    return {
        "config": config.to_dict(),
        "plan": plan.to_dict(),
        "api_calls": {"okta": okta.api_calls, "quicksight": qs.api_calls},
        "started_at": started,
        # The app's groups as this read found them: the incremental cursor stored after the run keeps them.
        "app_group_ids": sorted(okta_snapshot.groups),
    }


def with_calls(planned: dict, calls: dict[str, dict[str, int]]) -> dict:
    """The plan step's output with more API calls counted (e.g. the approval page's asset reads)."""
    merged = {service: dict(counts) for service, counts in (planned.get("api_calls") or {}).items()}
    for service, counts in calls.items():
        for op, n in counts.items():
            merged.setdefault(service, {})[op] = merged.get(service, {}).get(op, 0) + n
    return {**planned, "api_calls": merged}


def revalidated(planned: dict, params: dict) -> dict:
    """The approved plan, released, keeping only the deletions that a fresh read still plans.

    Held deletions wait for a person, possibly for hours; in that time Okta
    may have given a departing user back their access. Deleting from the
    old plan would then delete a wanted user (and hand their assets away).
    So after approval both sides are read again and a deletion is applied
    only if the approved plan and the fresh plan both hold it; the others
    are reported skipped. Deletions new since the approval wait for the next run.
    """
    fresh = Plan.from_dict(plan_sync(planned["config"], params)["plan"])
    plan = Plan.from_dict(planned["plan"])
    still_users = set(fresh.deprovision)
    still_recreate = {r["user_name"] for r in fresh.recreate}
    still_groups = set(fresh.delete_groups)
    why = "no longer planned when the deletions were approved (a fresh read of Okta and QuickSight keeps it)"
    dropped = [("deprovision_user", n) for n in plan.deprovision if n not in still_users]
    dropped += [("recreate_user", r["user_name"]) for r in plan.recreate if r["user_name"] not in still_recreate]
    dropped += [("delete_group", n) for n in plan.delete_groups if n not in still_groups]
    plan.deprovision = [n for n in plan.deprovision if n in still_users]
    plan.recreate = [r for r in plan.recreate if r["user_name"] in still_recreate]
    plan.delete_groups = [n for n in plan.delete_groups if n in still_groups]
    plan.skipped = plan.skipped + [
        {"step": STEP_DEPROVISION, "action": action, "item": item, "reason": why} for action, item in dropped
    ]
    return {**planned, "plan": deletions.released(plan).to_dict()}


def _step(planned: dict, params: dict, run) -> dict:
    plan = Plan.from_dict(planned["plan"])
    if not plan.has_writes and not plan.failed and not plan.skipped:
        return {"results": [], "api_calls": {}}
    qs = QuickSightSide(TargetConfig.from_dict(planned["config"]))
    results = run(plan, qs, bool(params.get("dry_run")))
    return {"results": results, "api_calls": {"quicksight": qs.api_calls}}


def group_sync(planned: dict, params: dict) -> dict:
    """Step 1: create missing managed groups."""
    return _step(planned, params, lambda plan, qs, dry: apply.apply_group_sync(plan, qs.directory, dry))


def user_sync(planned: dict, params: dict, groups_done: dict) -> dict:
    """Steps 2-3: register and update identities, then memberships."""
    earlier = (groups_done or {}).get("results", [])
    return _step(
        planned, params, lambda plan, qs, dry: apply.apply_user_sync(plan, qs.directory, dry, earlier_results=earlier)
    )


def deprovision(planned: dict, params: dict, groups_done: dict | None = None, *, approved: bool = False) -> dict:
    """Steps 4-5: hand over and delete departing users, recreate downgrades, delete groups.

    Deletions the plan holds stay held (reported so, nothing deleted) unless
    ``approved``: the run's route was ``approve`` (``deletions.route``) and a
    person said yes, so they are checked against a fresh read
    (:func:`revalidated`) and applied.
    ``groups_done`` (group_sync's output) says at once which renamed groups'
    successors failed; without it the directory is asked.
    """
    if approved:
        planned = revalidated(planned, params)
    earlier = (groups_done or {}).get("results", [])
    return _step(
        planned,
        params,
        lambda plan, qs, dry: apply.apply_deprovision(plan, qs.directory, qs.handover, dry, earlier),
    )


def not_run_results(planned: dict, failed_tasks: list[str]) -> dict:
    """Deprovision's output when it did not run: held deletions held (not approved), any other
    deletion skipped because of the failed tasks."""
    why = f"not applied: {', '.join(failed_tasks)} failed" if failed_tasks else "not applied: deprovision did not run"
    return {"results": apply.not_run(Plan.from_dict(planned["plan"]), why), "api_calls": {}}


def build_report(planned: dict, steps: list[dict | None], *, failed_tasks: list[str], finished_at: float) -> dict:
    """The run's report; a task that crashed counts as a failed item so the run shows red."""
    plan = Plan.from_dict(planned["plan"])
    results: list[dict] = []
    calls: dict[str, dict[str, int]] = {}
    for source in [planned, *steps]:
        if not source:
            continue
        results += source.get("results", [])
        for service, counts in source.get("api_calls", {}).items():
            merged = calls.setdefault(service, {})
            for key, n in counts.items():
                merged[key] = merged.get(key, 0) + n
    for task_id in failed_tasks:
        results.append(result("task", task_id, FAILED, f"task {task_id} failed; see its log"))
    out = report.build_report(
        planned["config"], plan, results, calls, duration_s=finished_at - planned.get("started_at", finished_at)
    )
    if planned.get("superseded"):
        out["superseded"] = planned["superseded"]
    # Which mode ran and what it looked at (contract section 8); a full run without these keys is plain "full".
    for key in RUN_SCOPE_KEYS:
        if planned.get(key) is not None:
            out[key] = planned[key]
    return out
