"""``make soak`` / ``python -m soak [--rounds N] [--seed S] [--doc PATH]``.

Runs the seeded soak and writes its figures into the doc between the
``soak:begin`` / ``soak:end`` markers (the rest of the doc is kept). Exits 1
if any invariant was violated.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "reliability.md")
    parser.add_argument("--no-doc", action="store_true", help="print the figures, write no doc")
    args = parser.parse_args(argv)

    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    from scenario_harness import airflow_env

    airflow_env.prepare(Path(tempfile.mkdtemp(prefix="okta-qs-soak-airflow-")))

    import logging

    logging.basicConfig(level=logging.ERROR)
    from soak.report import render, write_doc
    from soak.rounds import run_soak

    def progress(n, stats, result):
        if n % 10 == 0 or n == args.rounds:
            print(f"round {n}/{args.rounds}: {stats.runs_failed} faulty runs failed, "
                  f"{len(stats.violations)} violations", flush=True)

    stats = run_soak(args.rounds, args.seed, progress=progress)
    text = render(stats)
    print(text)
    if not args.no_doc:
        write_doc(args.doc, text)
        print(f"wrote {args.doc}")
    return 1 if stats.violations else 0


if __name__ == "__main__":
    sys.exit(main())
