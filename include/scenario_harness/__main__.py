"""``python -m scenario_harness run SCENARIO RESULT`` (``make scenario``).

Exits 0 whenever the harness itself worked, whatever the run's outcome.
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
    from scenario_harness.runner import run_scenario

    result = run_scenario(scenario)
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=2, sort_keys=True))
    expected = (scenario.get("expect") or {}).get("outcome")
    note = f" (expected {expected})" if expected else ""
    print(f"{scenario.get('name', args.scenario.stem)}: {result['outcome']}{note}; result in {args.result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
