"""One sync run in a fresh process: ``python -m bench.run_sync IN.json OUT.json``.

Runs the DAG's task functions (``okta_quicksight_airflow.sync_tasks``) in
the DAG's order, with Airflow connections from ``AIRFLOW_CONN_*`` variables
pointing at the local servers, as the deployed DAG would; or the baseline.
A process per run makes its peak RSS that run's own. CPU time of read and
plan is taken by probes wrapped around the reader and planner functions the
task calls (they call the real functions and only time them).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


class _Probe:
    """Wraps a function, adding up its wall and CPU time (its own thread's: plan_sync reads both sides at once)."""

    def __init__(self, fn) -> None:
        self.fn, self.cpu_s, self.wall_s = fn, 0.0, 0.0

    def __call__(self, *args, **kwargs):
        c, w = time.thread_time(), time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.cpu_s += time.thread_time() - c
            self.wall_s += time.perf_counter() - w


class _RetryLog:
    """Okta 429 retries as the client logs them: the longest run of refusals of one request."""

    def __init__(self) -> None:
        import logging
        import re

        self.max_in_a_row = 0
        self.refusals = 0
        pattern = re.compile(r"429 rate limited; waiting [\d.]+ s for the reset \(retry (\d+)/")
        probe = self

        class Handler(logging.Handler):
            def emit(self, record) -> None:
                m = pattern.search(record.getMessage())
                if m:
                    probe.refusals += 1
                    probe.max_in_a_row = max(probe.max_in_a_row, int(m.group(1)))

        logger = logging.getLogger("okta_provider.client")
        logger.addHandler(Handler(level=logging.WARNING))
        logger.setLevel(min(logger.level or logging.WARNING, logging.WARNING))


def run_ours(target: dict, params: dict) -> dict:
    from okta_quicksight_airflow import incremental_run, run_bookkeeping, sync_tasks
    from okta_quicksight_airflow.quicksight_clients import PACING_MARGIN
    from okta_quicksight_sync import planner
    from okta_quicksight_sync.plan import Plan

    from bench.measure import xcom_bytes

    read_okta, read_qs = _Probe(sync_tasks.read_okta), _Probe(sync_tasks.read_quicksight)
    plan_fn = _Probe(planner.plan)
    sync_tasks.read_okta, sync_tasks.read_quicksight, planner.plan = read_okta, read_qs, plan_fn
    retries = _RetryLog()
    out: dict = {"phases": {}, "xcom": {}}

    wall0, cpu0 = time.perf_counter(), time.process_time()
    planned = sync_tasks.plan_sync(target, params)
    wall1, cpu1 = time.perf_counter(), time.process_time()
    plan = Plan.from_dict(planned["plan"])
    groups_done = sync_tasks.group_sync(planned, params)
    users_done = sync_tasks.user_sync(planned, params, groups_done)
    # No person to ask: deletions the plan holds are reported held, none applied.
    deprovisioned = sync_tasks.deprovision(planned, params, groups_done)
    steps = [groups_done, users_done, deprovisioned]
    # The DAG's deprovision task then stores the System Log cursor after a run that converged (one log page).
    cursor_calls: dict[str, int] = {}
    converged = run_bookkeeping.converged_at(planned, steps) is not None
    # A throwaway Variable store: the cursor a full run stores is dropped with the process.
    cursor = incremental_run.advance_cursor("bench_sync", planned, converged, incremental_run.MemoryVariables(), cursor_calls)
    wall2, cpu2 = time.perf_counter(), time.process_time()
    report = sync_tasks.build_report(planned, steps, failed_tasks=[], finished_at=time.time())
    out["phases"] = {
        "read_okta": {"cpu_s": read_okta.cpu_s, "wall_s": read_okta.wall_s},
        "read_quicksight": {"cpu_s": read_qs.cpu_s, "wall_s": read_qs.wall_s},
        "plan": {"cpu_s": plan_fn.cpu_s, "wall_s": plan_fn.wall_s},
        "plan_sync_task": {"cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0},
        "apply": {"cpu_s": cpu2 - cpu1, "wall_s": wall2 - wall1},
        "total": {"cpu_s": cpu2 - cpu0, "wall_s": wall2 - wall0},
    }
    for task_id, value in (("plan_sync", planned), ("group_sync", groups_done), ("user_sync", users_done),
                           ("deprovision", deprovisioned), ("report", report)):
        out["xcom"][task_id] = xcom_bytes(value)
    out["planned_writes"] = plan.planned_counts()
    out["deletions_held"] = plan.deletions_held
    out["cursor_stored"], out["cursor_okta_calls"] = cursor is not None, cursor_calls
    out["outcome"] = report.get("outcome")
    out["errors"] = report.get("errors", [])[:5]
    out["statuses"] = _statuses(groups_done, users_done, deprovisioned)
    out["qs_pacing_margin"] = PACING_MARGIN  # how far under the configured rate the QuickSight client paces
    out["okta_429_refusals"] = retries.refusals
    out["okta_429_max_in_a_row"] = retries.max_in_a_row
    return out


def _statuses(*steps: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in steps:
        for r in (step or {}).get("results", []):
            key = f"{r['action']}:{r['status']}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def run_baseline(target: dict, okta_url: str, okta_token: str) -> dict:
    from okta_quicksight_airflow.quicksight_clients import quicksight_client_factory

    from bench.baseline import ReferenceDesign

    client_for_region = quicksight_client_factory(target.get("aws_conn_id", "aws_default"), calls_per_second=None)
    design = ReferenceDesign(target, okta_url, okta_token, client_for_region(target["identity_region"]))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = design.run()
    out["phases"] = {"total": {"cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0}}
    return out


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    os.environ.update(spec["env"])
    from scenario_harness import airflow_env

    airflow_env.prepare(Path(spec["home"]))
    import logging

    logging.getLogger("okta_quicksight_sync.apply").setLevel(logging.ERROR)
    from okta_quicksight_airflow import sync_tasks  # noqa: F401 - imports counted before the run starts
    from okta_provider.hooks.okta import OktaHook  # noqa: F401

    from bench.measure import peak_rss_mb

    rss_before = peak_rss_mb()
    if spec["mode"] == "ours":
        out = run_ours(spec["target"], spec.get("params") or {})
    else:
        out = run_baseline(spec["target"], spec["okta_url"], spec["okta_token"])
    out["peak_rss_mb"] = peak_rss_mb()
    out["rss_after_imports_mb"] = rss_before
    Path(argv[1]).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
