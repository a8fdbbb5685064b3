"""``python -m bench`` (``make bench``): the sync's calls, time and memory against the API floor and the baseline.

    python -m bench                      # 1k, 10k and 100k; writes docs/benchmarks.md
    python -m bench --smoke              # the smallest size, quickly (the smoke test runs this)
    python -m bench --sizes 1k,10k --out /tmp/b.md --json /tmp/b.json
    python -m bench --rate-limited-only --time-scale 1 --json /tmp/rl.json   # only the rate-limited run
    python -m bench --incremental-only --incremental-sizes 10k --slices 144   # only the incremental rows
    python -m bench --doc-only           # docs/benchmarks.md again from docs/measurements/bench.json, nothing measured
    python -m bench --doc-only --incremental-from /tmp/inc.json   # ... with the incremental rows of that run

Prints a line per run as it goes and a one-line summary last.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import doc, incremental, measure, orgs, workloads

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "measurements" / "bench.json"
EVENTS = REPO / "docs" / "measurements" / "event_latency.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1k,10k,100k", help="comma-separated sizes from 1k, 10k, 100k")
    p.add_argument("--smoke", action="store_true", help="only the smallest size (steady state, churn, baseline, a rate-limited run), fast")
    p.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"), help="the Markdown report ('-' for none)")
    p.add_argument("--json", default=None, help="also write the raw results here")
    p.add_argument("--results", default=None,
                   help=f"where a full run stores its raw results and --doc-only reads them ('-' for none; default "
                        f"{RESULTS.relative_to(REPO)}, none for --smoke)")
    p.add_argument("--doc-only", action="store_true",
                   help="measure nothing: render --out from the raw results in --results (and the event measurement)")
    p.add_argument("--incremental-from", default=None,
                   help="with --doc-only: take the incremental rows from this --incremental-only --json file "
                        "(stored into --results, so the document names both runs)")
    p.add_argument("--rate-limited-from", default=None,
                   help="with --doc-only: take the rate-limited run from this --rate-limited-only --json file")
    p.add_argument("--note", action="append", default=[],
                   help="with --doc-only: a sentence on how the merged runs were measured (e.g. a shared machine), kept in --results")
    p.add_argument("--events", default=str(EVENTS), help="the event-driven runs' measurement, rendered when it exists")
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--airflow-home", default=None,
                   help="an Airflow home with a migrated DB to reuse (default: a fresh one, migrated once)")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--first-sync-sizes", default="1k,10k", help="sizes that also run a first sync into empty QuickSight")
    p.add_argument("--steady-100k", action="store_true",
                   help="also run the 100k steady state (about 5 more minutes: the local QuickSight serves each "
                        "ListUsers page in time proportional to all users)")
    p.add_argument("--full-churn-100k", action="store_true",
                   help="let the 100k churn delete (default: the contract's max_deletions of 10 holds its deletions, "
                        "and the hand-over of 1,000 leavers, more than 10 more minutes here, is not run)")
    p.add_argument("--rate-limited-size", default="10k", help="size of the rate-limited run ('none' to skip)")
    p.add_argument("--time-scale", type=float, default=10.0,
                   help="rate-limited run: Okta windows last 60/scale s (same limits), QuickSight rate × scale")
    p.add_argument("--qs-rate", type=float, default=10.0, help="QuickSight calls per second allowed (real time)")
    p.add_argument("--okta-share", type=float, default=0.5, help="share of Okta's org limit one token gets")
    p.add_argument("--rate-limited-only", action="store_true",
                   help="run only the rate-limited run (of --rate-limited-size) and print its figures; writes no "
                        "Markdown, since docs/benchmarks.md needs every workload")
    p.add_argument("--incremental-sizes", default="10k,100k",
                   help="sizes (among --sizes) that also run the incremental rows ('none' to skip)")
    p.add_argument("--slices", type=int, default=144,
                   help="incremental churn: the day's changes in this many runs (144 = every 10 minutes)")
    p.add_argument("--slices-100k", type=int, default=144,
                   help="the same at 100k (about 4 s a run here). Fewer runs put more events in each; past the "
                        "target's bound (1,000 by default) a run falls back to full")
    p.add_argument("--incremental-only", action="store_true",
                   help="run only the incremental rows (of --incremental-sizes) and print their figures and "
                        "targets; writes no Markdown, since docs/benchmarks.md needs every workload")
    args = p.parse_args(argv)
    if args.rate_limited_only and args.rate_limited_size not in orgs.SIZES:
        p.error(f"--rate-limited-only needs --rate-limited-size from {', '.join(orgs.SIZES)}, "
                f"not {args.rate_limited_size!r}")
    if args.results is None:
        args.results = "-" if args.smoke else str(RESULTS)
    if args.smoke:
        # No first sync: it alone takes longer than the rest; make bench runs it.
        args.sizes, args.rate_limited_size, args.time_scale, args.first_sync_sizes = "1k", "1k", 60.0, ""
        if not args.incremental_only:
            args.incremental_sizes, args.slices = "1k", 12
    args.incremental_sizes = [s.strip() for s in args.incremental_sizes.split(",") if s.strip() and s.strip() != "none"]
    for s in args.incremental_sizes:
        if s not in orgs.SIZES:
            p.error(f"unknown size {s!r} in --incremental-sizes; choose from {', '.join(orgs.SIZES)} or none")
    if args.slices < 1 or args.slices_100k < 1:
        p.error("--slices and --slices-100k need at least 1 run")
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in args.sizes:
        if s not in orgs.SIZES:
            p.error(f"unknown size {s!r}; choose from {', '.join(orgs.SIZES)}")
    return args


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[bench {time.perf_counter() - started:6.1f} s] {message}", flush=True)

    if args.doc_only:
        return doc_only(args, log)
    if args.rate_limited_only:
        return rate_limited_only(args, log)
    if args.incremental_only:
        return incremental_only(args, log)

    results: dict = {"args": " ".join(argv), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                     "machine": doc.machine(), "workloads": []}
    first_sizes = {s.strip() for s in args.first_sync_sizes.split(",")}
    with tempfile.TemporaryDirectory(prefix="okta-qs-bench-") as tmp:
        home, workdir = Path(args.airflow_home or Path(tmp) / "airflow"), Path(tmp) / "runs"
        home.mkdir(exist_ok=True)
        workdir.mkdir()
        runner = workloads.Runner(home, workdir)
        steady_inputs = {}
        for size in args.sizes:
            org = orgs.generate(size, args.seed)
            big = size == "100k"
            ws, steady_inputs[size] = workloads.run_size(
                org, runner, first=size in first_sizes and not big, baseline=not args.no_baseline and not big,
                steady=not big or args.steady_100k, hold_deletions=big and not args.full_churn_100k, log=log)
            results["workloads"] += ws
            if big:
                from bench.server_profile import profile

                log("100k: timing the local servers' pages")
                results["profile_100k"] = profile(org)
        rows = []
        for size in args.incremental_sizes:
            if size in args.sizes:
                rows.append(run_incremental(size, args, runner, log))
        if rows:
            results["incremental"] = rows
        if "100k" not in args.sizes:
            results["skipped_100k"] = "100k was not asked for in this run (`--sizes`)."
        rl_size = args.rate_limited_size
        if rl_size != "none" and rl_size in steady_inputs:
            results["rate_limited"] = workloads.run_rate_limited(
                steady_inputs[rl_size], runner, time_scale=args.time_scale, qs_per_second=args.qs_rate,
                okta_share=args.okta_share, log=log)
            baseline_floor(results)
    rss_base = min(w["ours"]["rss_after_imports_mb"] for w in results["workloads"])
    results["settings"] = {"rss_base": rss_base}
    results["targets"] = doc.judge(results)
    results["duration_s"] = time.perf_counter() - started
    met = sum(1 for t in results["targets"] if t["met"])
    judged = sum(1 for t in results["targets"] if t["met"] is not None)
    results["summary"] = summary_line(results, met, judged)
    if args.out != "-":
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(doc.render(results, load_events(args.events)))
        log(f"wrote {args.out}")
    for path in {args.json, None if args.results == "-" else args.results} - {None}:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, default=str, indent=1))
    print(results["summary"], flush=True)
    return results


def baseline_floor(results: dict) -> None:
    """The baseline's floor at the rate-limited run's limits: its per-user calls in the steady state (computed)."""
    rl = results["rate_limited"]
    steady = next((w for w in results["workloads"] if w["name"] == "steady state" and w["size"] == rl["size"]), None)
    if steady and steady.get("baseline"):
        users_calls = steady["baseline"]["okta_calls"].get(measure.OKTA_USER_GROUPS, 0)
        limit = rl["okta_per_window"].get("/api/v1/users")
        if limit:
            rl["baseline_okta_users_calls"] = users_calls
            rl["baseline_floor_s"] = users_calls / limit * rl["window_s"]


def merge(results: dict, key: str, other: dict, path: str) -> None:
    """Take `key`'s rows (incremental, rate_limited) from another run's raw results, naming that run.

    Incremental rows are taken per size: another run's 100k rows replace the stored 100k rows and
    keep the stored 10k ones (with the run that measured them), so sizes can be measured apart."""
    if not other.get(key):
        raise SystemExit(f"{path} holds no {key} results")
    kept_rows: list = []
    if key == "incremental":
        sizes = {r["size"] for r in other[key]}
        kept_rows = [r for r in results.get(key) or [] if r["size"] not in sizes]
        rows = f"incremental rows ({', '.join(r['size'] for r in other[key])})"
    else:
        rows = f"rate-limited run ({other[key]['size']})"

    def replaced(part: dict) -> bool:
        if part["rows"].split(" ")[0] != rows.split(" ")[0]:
            return False
        if key != "incremental":
            return True
        kept = {r["size"] for r in kept_rows}
        return not kept & set(part["rows"].partition("(")[2].rstrip(")").split(", "))

    parts = [p for p in results.get("parts") or [] if not replaced(p)]
    if not parts:
        parts = [{"rows": "every other row", "args": results["args"], "date": results["date"],
                  "duration_s": results["duration_s"], "commit": results["machine"].get("commit")}]
    parts.append({"rows": rows, "args": other.get("args", "?"), "date": other.get("date", "?"),
                  "duration_s": other.get("duration_s", 0.0), "commit": (other.get("machine") or {}).get("commit")})
    order = {size: i for i, size in enumerate(("1k", "10k", "100k"))}
    merged = sorted([*kept_rows, *other[key]], key=lambda r: order.get(r["size"], 9)) if key == "incremental" else other[key]
    results[key], results["parts"] = merged, parts
    if key == "rate_limited":
        baseline_floor(results)


def load_events(path: str | None) -> dict | None:
    """The event-driven runs' measurement (another tool writes it), or None when there is none yet."""
    if not path or not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text())


def doc_only(args: argparse.Namespace, log) -> dict:
    """Re-render the document from stored raw results, optionally with the incremental rows of a separate run."""
    if args.results == "-" or not Path(args.results).is_file():
        raise SystemExit(f"--doc-only needs the raw results of a full run in {args.results} (see --results)")
    results = json.loads(Path(args.results).read_text())
    merged = False
    for key, path in (("incremental", args.incremental_from), ("rate_limited", args.rate_limited_from)):
        if path:
            merge(results, key, json.loads(Path(path).read_text()), path)
            merged = True
    if args.note:
        results["notes"], merged = [*results.get("notes", []), *args.note], True
    results["targets"] = doc.judge(results)
    met = sum(1 for t in results["targets"] if t["met"])
    judged = sum(1 for t in results["targets"] if t["met"] is not None)
    results["summary"] = summary_line(results, met, judged)
    if args.out != "-":
        Path(args.out).write_text(doc.render(results, load_events(args.events)))
        log(f"wrote {args.out} from {args.results}")
    if merged:
        Path(args.results).write_text(json.dumps(results, default=str, indent=1))
        log(f"stored the merged results in {args.results}")
    print(results["summary"], flush=True)
    return results


def rate_limited_only(args: argparse.Namespace, log) -> dict:
    """The rate-limited run alone, from the converged QuickSight the steady state starts from."""
    started, date = time.perf_counter(), datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    org = orgs.generate(args.rate_limited_size, args.seed)
    inputs = workloads.steady_start(org, org.synced_quicksight())
    with tempfile.TemporaryDirectory(prefix="okta-qs-bench-") as tmp:
        home, workdir = Path(args.airflow_home or Path(tmp) / "airflow"), Path(tmp) / "runs"
        home.mkdir(exist_ok=True)
        workdir.mkdir()
        rl = workloads.run_rate_limited(inputs, workloads.Runner(home, workdir), time_scale=args.time_scale,
                                        qs_per_second=args.qs_rate, okta_share=args.okta_share, log=log)
    results = {"args": " ".join(sys.argv[1:]), "date": date, "machine": doc.machine(), "rate_limited": rl,
               "duration_s": time.perf_counter() - started}
    print("\n".join(doc.rate_limited_lines(rl)), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, default=str, indent=1))
    return results


def run_incremental(size: str, args: argparse.Namespace, runner: workloads.Runner, log) -> dict:
    """The incremental rows of one size; the reference design only below 100k, as elsewhere."""
    slices = args.slices_100k if size == "100k" else args.slices
    return incremental.run_incremental(orgs.generate(size, args.seed), runner, slices=slices,
                                       baseline=not args.no_baseline and size != "100k", log=log)


def incremental_only(args: argparse.Namespace, log) -> dict:
    """The incremental rows alone: printed with their targets, no Markdown written."""
    if not args.incremental_sizes:
        raise SystemExit("--incremental-only needs at least one size in --incremental-sizes")
    started = time.perf_counter()
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="okta-qs-bench-") as tmp:
        home, workdir = Path(args.airflow_home or Path(tmp) / "airflow"), Path(tmp) / "runs"
        home.mkdir(exist_ok=True)
        workdir.mkdir()
        runner = workloads.Runner(home, workdir)
        rows = [run_incremental(size, args, runner, log) for size in args.incremental_sizes]
    results = {"args": " ".join(sys.argv[1:]), "date": date, "machine": doc.machine(), "incremental": rows,
               "targets": doc.judge_incremental(rows), "duration_s": time.perf_counter() - started}
    lines = doc.incremental_lines(rows) + ["", "| target | measured | met | cause of the gap |", "|---|---|---|---|"]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {t['figure']} | {doc.MET[t['met']]} | {t['cause'] or '–'} |")
    print("\n".join(lines), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, default=str, indent=1))
    return results


def summary_line(results: dict, met: int, judged: int) -> str:
    parts = [f"bench: {met}/{judged} targets met in {results['duration_s'] / 60:.1f} min"]
    for w in results["workloads"]:
        if w["name"] == "steady state":
            f = doc.figures(w)
            parts.append(f"{w['size']} steady {f['okta'] + f['qs_reads']:,} calls (min "
                         f"{f['okta_min'] + f['qs_reads_min']:,}), {f['qs_writes']} writes")
    for r in results.get("incremental") or []:
        n = doc.incremental_counts(r["nothing"])
        parts.append(f"{r['size']} incremental nothing changed {n['okta']} Okta / {n['qs_reads']} QS calls, "
                     f"churn {r['churn']['calls'].get('okta', 0):,} Okta / {r['churn']['calls'].get('qs_reads', 0):,} "
                     f"QS reads in {r['slices']} runs")
    rl = results.get("rate_limited")
    if rl:
        parts.append(f"rate-limited {rl['ratio']:.2f}× floor")
    return "; ".join(parts)


if __name__ == "__main__":
    main()
