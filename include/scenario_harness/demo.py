"""``make demo``: the sync end to end on local stand-ins for Okta and QuickSight.

Starts the local servers with the demo org (include/demo_scenario.json), runs
the real DAG twice through Airflow connections (the first run creates, the
second finds nothing to change), then once more as an incremental run (Okta's
System Log since the last run: nothing changed, so one Okta call), and prints
the reports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEMO_FILE = Path(__file__).resolve().parents[1] / "demo_scenario.json"


def main() -> int:
    from scenario_harness import airflow_env

    airflow_env.prepare()
    from okta_quicksight_sync.report import render_table
    from scenario_harness.runner import run_scenario

    scenario = json.loads(DEMO_FILE.read_text())
    okta = scenario["okta"]
    print(f"Demo org: {len(okta['app_users'])} app users, {len(okta['app_groups'])} app groups; "
          f"QuickSight starts with {len(scenario['quicksight']['users'])} users. Running the DAG twice...\n", flush=True)
    result = run_scenario({**scenario, "rounds": [{"params": {"mode": "incremental"}}]}, runs=2)
    for i, run in enumerate(result["runs"] + result["rounds"], 1):
        print(f"===== run {i}{' (incremental)' if i == 3 else ''}: {run['outcome']} =====")
        print(render_table(run["report"], item_limit=12))
        print()
    state = result["quicksight"]
    moved = [a for a in state["assets"] if a["owners"] == ["QuickSightAdmin/admin@example.com"]]
    print(f"QuickSight now: {len(state['users'])} users, {len(state['groups'])} groups; "
          f"{len(moved)} assets owned by the admin alone (the leaver's were handed over before the leaver was deleted).")
    second = result["runs"][-1]["report"]
    writes = sum(row["done"] + row["failed"] for row in second["counts"].values())
    print(f"Second run: {writes} writes, {sum(second['api_calls'].get('okta', {}).values())} Okta reads.")
    third = result["rounds"][0]["report"]
    print(f"Incremental run: {sum(third['api_calls'].get('okta', {}).values())} Okta call(s), "
          f"{sum(third['api_calls'].get('quicksight', {}).values())} QuickSight calls.")
    return 0 if all(r["outcome"] == "success" for r in result["runs"] + result["rounds"]) else 1


if __name__ == "__main__":
    sys.exit(main())
