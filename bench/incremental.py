"""Incremental runs in the benchmark: nothing changed, and a day's churn spread over short runs.

One process runs every sync of a series (``_session``), keeping the cursor store in memory
as Airflow's Variable would between runs, and chains the DAG's tasks as the DAG does
(plan_for_mode, group_sync, user_sync, deprovision, the cursor, the report). The parent
changes Okta between runs (the local Okta logs the difference) and reads the servers'
counters around each run, so every call a run makes is counted, the cursor's included.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import traceback

from bench import measure
from bench.orgs import APP_ID, BenchOrg, churn_slices
from bench.servers import ServerProcess

DAG_ID = "bench_sync"


def _session(conn, env: dict, home: str, target: dict) -> None:
    """The child: runs one sync per params received, the tasks chained as the DAG chains them."""
    import logging
    import os
    from pathlib import Path

    os.environ.update(env)
    from scenario_harness import airflow_env

    airflow_env.prepare(Path(home))
    logging.getLogger("okta_quicksight_sync.apply").setLevel(logging.ERROR)
    from okta_quicksight_airflow import incremental_run, run_bookkeeping, sync_tasks
    from okta_quicksight_sync.plan import Plan

    variables = incremental_run.MemoryVariables()
    conn.send("ready")
    while True:
        params = conn.recv()
        if params is None:
            return
        try:
            wall0 = time.perf_counter()
            planned = incremental_run.plan_for_mode(target, params, dag_id=DAG_ID, variables=variables)
            groups_done = sync_tasks.group_sync(planned, params)
            users_done = sync_tasks.user_sync(planned, params, groups_done)
            done = sync_tasks.deprovision(planned, params, groups_done)
            steps = [groups_done, users_done, done]
            converged = run_bookkeeping.converged_at(planned, steps) is not None
            cursor = incremental_run.advance_cursor(DAG_ID, planned, converged, variables)
            report = sync_tasks.build_report(planned, steps, failed_tasks=[], finished_at=time.time())
            looked = planned.get("looked_at") or {}
            events = looked.get("events") or {}
            conn.send({
                "mode": planned.get("mode"), "fallback_reason": planned.get("fallback_reason"),
                "outcome": report.get("outcome"), "errors": report.get("errors", [])[:5],
                "planned_writes": Plan.from_dict(planned["plan"]).planned_counts(),
                "plan_calls": planned.get("api_calls"), "cursor_stored": cursor is not None,
                "event_users": len(events.get("user_ids") or ()), "event_groups": len(events.get("group_ids") or ()),
                "looked_at_users": len(looked.get("okta_users") or ()),
                "wall_s": time.perf_counter() - wall0,
            })
        except Exception:  # noqa: BLE001 - the parent gets the trace instead of a hung pipe
            conn.send(RuntimeError(traceback.format_exc()))


class Session:
    """A child process running a series of syncs of one target against ``servers``, one cursor store for all."""

    def __init__(self, runner, servers: ServerProcess, target: dict) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.servers = servers
        self._proc = ctx.Process(target=_session, args=(child, runner.env(servers), str(runner.home), target),
                                 daemon=True)
        self._proc.start()
        self._receive()

    def _receive(self):
        while not self._conn.poll(0.5):
            if not self._proc.is_alive():
                raise RuntimeError(f"the bench's sync session ended (exit code {self._proc.exitcode}); see its stderr")
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def run(self, params: dict) -> dict:
        """One sync; its calls from the servers' counters."""
        self.servers.reset()
        before = self.servers.counters()
        self._conn.send(params)
        out = self._receive()
        after = self.servers.counters()
        out["okta_calls"] = measure.normalise_okta(measure.delta(before["okta"], after["okta"]))
        out["quicksight_calls"] = measure.delta(before["quicksight"], after["quicksight"])
        return out

    def close(self) -> None:
        try:
            self._conn.send(None)
        finally:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.terminate()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def counts(run: dict) -> dict:
    """A run's calls as the tables show them: Okta, QuickSight identity reads and writes, hand-over calls."""
    qs = measure.split_quicksight(run["quicksight_calls"])
    return {"okta": sum(run["okta_calls"].values()), "qs_reads": sum(qs["reads"].values()),
            "qs_writes": sum(qs["writes"].values()), "handover": sum(qs["assets"].values()) + sum(qs["other"].values())}


def _add(total: dict, run: dict) -> None:
    for key, n in counts(run).items():
        total[key] = total.get(key, 0) + n


def run_incremental(org: BenchOrg, runner, *, slices: int, baseline: bool, log) -> dict:
    """Nothing changed and the day's churn in ``slices`` incremental runs, with a full run before and after.

    Starts from the QuickSight a converged sync leaves; the first full run writes nothing and
    stores the cursor. The full run after the churn shows whether the incremental runs converged.
    """
    target = org.target()
    out: dict = {"size": org.size, "app_users": len(org.people), "app_groups": len(org.groups), "slices": slices}
    with ServerProcess(org.okta_section(), org.synced_quicksight(), APP_ID) as servers, \
            Session(runner, servers, target) as session:
        full = session.run({})
        log(f"{org.size} incremental: full run {full['wall_s']:.1f} s, cursor stored: {full['cursor_stored']}")
        nothing = session.run({"mode": "incremental"})
        log(f"{org.size} incremental, nothing changed: {counts(nothing)}")
        out.update(full=full, nothing=nothing)
        if baseline:
            base = runner.run("baseline", servers, target)
            log(f"{org.size} nothing changed, baseline: {base['phases']['total']['wall_s']:.1f} s")
            out["baseline"] = {"okta_calls": base["okta_calls"], "quicksight_calls": base["quicksight_calls"]}
        churned, changes = org.churned()
        steps = churn_slices(org, churned, slices)
        out["slices"] = len(steps)
        total: dict = {}
        okta_ops: dict[str, int] = {}
        qs_ops: dict[str, int] = {}
        modes: dict[str, int] = {}
        outcomes: dict[str, int] = {}
        fallbacks, worst, changed, load_s, wall_s = [], {}, 0, 0.0, 0.0
        for k, (step_org, chunk) in enumerate(steps, start=1):
            t = time.perf_counter()
            servers.load_okta(step_org.okta_section())
            load_s += time.perf_counter() - t
            run = session.run({"mode": "incremental"})
            wall_s += run["wall_s"]
            _add(total, run)
            for key, per_op in (("okta_calls", okta_ops), ("quicksight_calls", qs_ops)):
                for op, n in run[key].items():
                    per_op[op] = per_op.get(op, 0) + n
            changed += len(chunk)
            modes[run["mode"]] = modes.get(run["mode"], 0) + 1
            outcomes[run["outcome"]] = outcomes.get(run["outcome"], 0) + 1
            if run["fallback_reason"]:
                fallbacks.append(f"run {k}: {run['fallback_reason']}")
            c = counts(run)
            for key in ("okta", "qs_reads"):  # the run costing the most per changed person, for each service
                per = c[key] / len(chunk)
                if per > worst.get(key, {}).get("per_person", -1):
                    worst[key] = {"run": k, "changed": len(chunk), "calls": c[key], "per_person": per}
            if run["errors"]:
                fallbacks.append(f"run {k} errors: {run['errors'][:2]}")
            if k % 24 == 0 or k == len(steps):
                log(f"{org.size} churn slice {k}/{len(steps)}: {total}")
        after = session.run({})
        log(f"{org.size} full run after the churn: {counts(after)}")
    out["churn"] = {"changes": {k: v for k, v in changes.items() if k != "writes"}, "expected_writes": changes["writes"],
                    "changed_people": changed, "calls": total,
                    "okta_calls": okta_ops, "quicksight_calls": qs_ops, "modes": modes, "outcomes": outcomes,
                    "fallbacks": fallbacks, "worst": worst, "sync_wall_s": wall_s, "okta_load_s": load_s}
    out["full_after"] = after
    return out
