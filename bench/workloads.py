"""The benchmark's workloads: first sync, steady state, daily churn, a rate-limited run, the baseline.

Each run is one process (``bench.run_sync``) against servers in another
(``bench.servers``); the servers' own counters say which calls were made.
Every workload records its calls next to the minimum they need.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import measure
from bench.orgs import APP_ID, BenchOrg
from bench.servers import ServerProcess

OKTA_TOKEN = "local-test-token"
REPO = Path(__file__).resolve().parents[1]


class Runner:
    """Runs syncs in child processes against one ServerProcess; one Airflow home for all."""

    def __init__(self, home: Path, workdir: Path) -> None:
        self.home = home
        self.workdir = workdir

    @staticmethod
    def env(servers: ServerProcess, qs_per_second: float | None = None) -> dict[str, str]:
        """The connections (and QuickSight pace) a sync process needs to reach ``servers``."""
        return {
            "AIRFLOW_CONN_OKTA_DEFAULT": json.dumps({"conn_type": "okta", "host": servers.okta_url, "password": OKTA_TOKEN}),
            "AIRFLOW_CONN_AWS_DEFAULT": servers.qs_connection,
            "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": str(qs_per_second or 0),
        }

    def run(self, mode: str, servers: ServerProcess, target: dict, *, params: dict | None = None,
            qs_per_second: float | None = None) -> dict:
        env = self.env(servers, qs_per_second)
        spec = {"mode": mode, "target": target, "params": params or {}, "env": env, "home": str(self.home),
                "okta_url": servers.okta_url, "okta_token": OKTA_TOKEN}
        fd, spec_path = tempfile.mkstemp(suffix=".json", dir=self.workdir)
        os.close(fd)
        out_path = spec_path.replace(".json", ".out.json")
        Path(spec_path).write_text(json.dumps(spec))
        servers.reset()
        before = servers.counters()
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench.run_sync", spec_path, out_path], cwd=REPO,
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = servers.counters()
        if proc.returncode != 0:
            raise RuntimeError(f"bench.run_sync ({mode}) failed with exit code {proc.returncode}:\n{proc.stderr[-4000:]}")
        result = json.loads(Path(out_path).read_text())
        result["process_wall_s"] = wall
        result["server_cpu_s"] = after["cpu_s"] - before["cpu_s"]
        result["okta_calls"] = measure.normalise_okta(measure.delta(before["okta"], after["okta"]))
        result["okta_statuses"] = measure.delta(before["okta_statuses"], after["okta_statuses"])
        result["quicksight_calls"] = measure.delta(before["quicksight"], after["quicksight"])
        result["quicksight_throttled"] = measure.delta(before["quicksight_throttled"], after["quicksight_throttled"])
        return result


def minimum_for(org: BenchOrg, qs_before: dict, cursor: bool = True) -> dict:
    """The fewest reads of a full sync of ``org`` against QuickSight as it was before the run; ``cursor``:
    the run converges, so the DAG then stores the incremental cursor (one System Log page)."""
    return {
        "okta": measure.okta_minimum(len(org.people), list(org.group_sizes().values()), cursor),
        "quicksight_reads": measure.quicksight_read_minimum(qs_before),
    }


def first_sync_writes(org: BenchOrg) -> dict[str, int]:
    """The writes a first sync into an empty QuickSight needs.

    The recipient is registered already and, being protected, is never added to groups.
    """
    from bench.orgs import RECIPIENT_ID

    recipient = org.people[RECIPIENT_ID]
    return {
        "CreateGroup": len(org.groups),
        "RegisterUser": org.identity_count() - 1,
        "CreateGroupMembership": org.membership_count() - len(recipient.roles) * len(recipient.groups),
    }


def workload(name: str, org: BenchOrg, qs_before: dict, result: dict, expected_writes: dict[str, int],
             baseline: dict | None = None, cursor: bool = True) -> dict:
    return {"name": name, "size": org.size, "app_users": len(org.people), "app_groups": len(org.groups),
            "identities": org.identity_count(), "memberships": org.membership_count(),
            "minimum": minimum_for(org, qs_before, cursor), "expected_writes": expected_writes, "ours": result,
            "baseline": baseline}


def steady_start(org: BenchOrg, qs_before: dict, okta_section: dict | None = None) -> dict:
    """What a steady-state run of ``org`` starts from: Okta's section and QuickSight as the last sync left it."""
    return {"org": org, "qs_before": qs_before, "okta_section": okta_section or org.okta_section()}


def run_size(size_org: BenchOrg, runner: Runner, *, first: bool, baseline: bool, log,
             steady: bool = True, hold_deletions: bool = False) -> tuple[list[dict], dict]:
    """First sync (optional), steady state and churn for one org; returns the workloads and the steady state's inputs.

    ``hold_deletions`` keeps the contract's default ``max_deletions`` (10), so the churn's
    deletions are held for approval, as a daily run of a large org would see them.
    """
    org = size_org
    target = org.target(max_deletions=10) if hold_deletions else org.target()
    out = []
    t = time.perf_counter()
    qs_start = org.empty_quicksight() if first else org.synced_quicksight()
    okta_section = org.okta_section()
    with ServerProcess(okta_section, qs_start, APP_ID) as servers:
        log(f"{org.size}: servers seeded in {servers.seed_s:.1f} s ({time.perf_counter() - t:.1f} s with generation)")
        if first:
            before = servers.dump()
            ours = runner.run("ours", servers, target)
            log(f"{org.size} first sync: {ours['phases']['total']['wall_s']:.1f} s")
            base = None
            if baseline:
                after_ours = servers.dump()
                servers.load_quicksight(before)
                base = runner.run("baseline", servers, target)
                log(f"{org.size} first sync, baseline: {base['phases']['total']['wall_s']:.1f} s")
                servers.load_quicksight(after_ours)
            out.append(workload("first sync", org, before, ours, first_sync_writes(org), base))

        before = servers.dump() if first or baseline else qs_start
        steady_inputs = steady_start(org, before, okta_section)
        if steady:
            ours = runner.run("ours", servers, target)
            log(f"{org.size} steady state: {ours['phases']['total']['wall_s']:.1f} s")
            base = None
            if baseline:
                base = runner.run("baseline", servers, target)
                log(f"{org.size} steady state, baseline: {base['phases']['total']['wall_s']:.1f} s")
            out.append(workload("steady state", org, before, ours, {}, base))

        churned, changes = org.churned()
        servers.load_okta(churned.okta_section())
        before = servers.dump()
        ours = runner.run("ours", servers, target)
        log(f"{org.size} churn: {ours['phases']['total']['wall_s']:.1f} s")
        base = None
        if baseline:
            servers.load_quicksight(before)
            base = runner.run("baseline", servers, target)
            log(f"{org.size} churn, baseline: {base['phases']['total']['wall_s']:.1f} s")
        expected = dict(changes["writes"])
        if ours["deletions_held"]:  # departing users leave their groups and keep their accounts and assets
            expected["DeleteGroupMembership"] += changes["leaver_memberships"]
            expected["DeleteUser"] = expected["asset_handovers"] = 0
        # Held deletions leave the run unconverged: the DAG stores no cursor after it.
        w = workload("churn", churned, before, ours, expected, base, cursor=not hold_deletions)
        w["changes"] = changes
        w["deletions_held"] = ours["deletions_held"]
        out.append(w)
    return out, steady_inputs


def run_rate_limited(inputs: dict, runner: Runner, *, time_scale: float, qs_per_second: float,
                     okta_share: float, log) -> dict:
    """The steady-state run again from the same start, with Okta's published limits and a QuickSight rate.

    Time is scaled by ``time_scale``: Okta's windows last 60/time_scale s with the
    same per-window limits, and QuickSight's rate is ``qs_per_second * time_scale``.
    """
    from local_servers.okta_server import OKTA_DEFAULT_LIMITS_PER_MINUTE

    org: BenchOrg = inputs["org"]
    per_window = {family: max(1, int(limit * okta_share)) for family, limit in OKTA_DEFAULT_LIMITS_PER_MINUTE.items()}
    window_s = 60.0 / time_scale
    scaled_qs = qs_per_second * time_scale
    limits = {"okta_per_minute": per_window, "quicksight_per_second": scaled_qs}
    with ServerProcess(inputs["okta_section"], inputs["qs_before"], APP_ID, limits,
                       okta_window_s=window_s, qs_window_s=1.0) as servers:
        result = runner.run("ours", servers, org.target(), qs_per_second=scaled_qs)
    families = list(per_window)
    by_family: dict[str, int] = {}
    for endpoint, n in result["okta_calls"].items():
        fam = measure.okta_family(endpoint, families)
        if fam:
            by_family[fam] = by_family.get(fam, 0) + n
    # Refused calls are not work the sync needs: the QuickSight bucket counts only the calls the server took.
    qs_accepted = sum(result["quicksight_calls"].values()) - sum(result["quicksight_throttled"].values())
    buckets = measure.rate_limit_floor(by_family, per_window, window_s, qs_accepted, scaled_qs)
    floor = max(buckets.values())
    wall = result["phases"]["total"]["wall_s"]
    log(f"{org.size} steady state under rate limits: {wall:.1f} s against a floor of {floor:.1f} s")
    return {"size": org.size, "workload": "steady state", "time_scale": time_scale, "window_s": window_s, "okta_per_window": per_window,
            "okta_share": okta_share, "qs_per_second_real": qs_per_second, "qs_per_second_scaled": scaled_qs,
            "buckets_s": buckets, "floor_s": floor, "wall_s": wall, "ratio": wall / floor if floor else None,
            "okta_calls_by_family": by_family, "ours": result}
