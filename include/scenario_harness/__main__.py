"""``python -m scenario_harness run SCENARIO RESULT`` (``make scenario``).

Exits 0 whenever the harness itself worked, whatever the runs' outcomes (the first run
and each of the scenario's rounds); 2 for a file it cannot read or rounds it cannot run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from local_servers.common import read_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenario_harness")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one scenario file through the real DAG and write the result")
    run.add_argument("scenario", type=Path)
    run.add_argument("result", type=Path)
    args = parser.parse_args(argv)

    scenario = read_scenario(args.scenario)
    if scenario is None:
        return 2

    from scenario_harness import airflow_env

    airflow_env.prepare()
    from scenario_harness.runner import ScenarioError, run_scenario

    try:
        result = run_scenario(scenario)
    except ScenarioError as exc:
        print(f"cannot run scenario {args.scenario}: {exc}", file=sys.stderr)
        return 2
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=2, sort_keys=True))
    outcomes = [_said(result["outcome"], scenario.get("expect"))]
    outcomes += [_said(got["outcome"], one.get("expect")) for one, got in zip(scenario.get("rounds") or [], result.get("rounds", []))]
    rounds = f" then rounds: {', '.join(outcomes[1:])}" if len(outcomes) > 1 else ""
    print(f"{scenario.get('name', args.scenario.stem)}: {outcomes[0]}{rounds}; result in {args.result}")
    return 0


def _said(outcome: str, expect: dict | None) -> str:
    """`success (expected success)`: a run's outcome and, when the file says one, the expected one."""
    expected = (expect or {}).get("outcome")
    return f"{outcome} (expected {expected})" if expected else outcome


if __name__ == "__main__":
    sys.exit(main())
