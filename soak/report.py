"""The soak's figures as Markdown, and writing them into docs/reliability.md between markers."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path

from soak.rounds import SoakStats

BEGIN, END = "<!-- soak:begin (written by make soak) -->", "<!-- soak:end -->"


def render(stats: SoakStats) -> str:
    lines = [
        f"Seed {stats.seed}, {stats.rounds} rounds, {stats.runs} runs, {stats.duration_s:.0f} s on "
        f"{platform.machine()} ({datetime.now(timezone.utc):%Y-%m-%d}). Runs drive the DAG's task functions "
        "in-process (`okta_quicksight_airflow.sync_tasks`, in the DAG's order, Airflow connections from the "
        "environment) against the local Okta and QuickSight servers over HTTP.",
        "",
        "| figure | count |",
        "|---|---:|",
        f"| rounds | {stats.rounds} |",
        f"| runs (faulty + clean) | {stats.runs} |",
        f"| faults drawn | {stats.faults_planned} |",
        f"| faults injected (calls that got one) | {sum(stats.faults_injected.values())} |",
        f"| retries: Okta | {stats.retries.get('okta', 0)} |",
        f"| retries: QuickSight | {stats.retries.get('quicksight', 0)} |",
        f"| faulty runs failed | {stats.runs_failed} |",
        f"| faulty runs held | {stats.runs_held} |",
        f"| clean runs not converged | {stats.clean_runs_failed} |",
        f"| users deprovisioned | {stats.users_deprovisioned} |",
        f"| assets created by users | {stats.assets_created} |",
        f"| **invariant violations** | **{len(stats.violations)}** |",
        "",
        "Faults injected, by kind:",
        "",
        "| fault | calls |",
        "|---|---:|",
    ]
    lines += [f"| {kind} | {n} |" for kind, n in sorted(stats.faults_injected.items())]
    lines += ["", "Okta changes made:", "", "| change | count |", "|---|---:|"]
    lines += [f"| {kind} | {n} |" for kind, n in sorted(stats.okta_changes.items())]
    lines += ["", "QuickSight changes made by hand:", "", "| change | count |", "|---|---:|"]
    lines += [f"| {kind} | {n} |" for kind, n in sorted(stats.quicksight_changes.items())]
    lines += ["", "Rounds by `downgrade_policy`, and what the runs did that the group and membership invariants watch:",
              "", "| | count |", "|---|---:|"]
    lines += [f"| rounds with downgrade_policy {kind} | {n} |" for kind, n in sorted(stats.policies.items())]
    lines += [f"| {kind} | {n} |" for kind, n in sorted(stats.sync_actions.items())]
    lines += [f"| {kind} | {n} |" for kind, n in sorted(stats.watched.items())]
    lines += ["", "Runs by mode (each round's faulty run draws one; the clean run after it is full):", "",
              "| mode | runs |", "|---|---:|"]
    lines += [f"| {kind} | {n} |" for kind, n in sorted(stats.runs_by_mode.items())]
    lines += ["", "Incremental runs that fell back to a full run, by reason:", "", "| reason | runs |", "|---|---:|"]
    lines += [f"| {kind} | {n} |" for kind, n in stats.fallbacks.most_common()] or ["| (none) | 0 |"]
    lines += ["", "The incremental cursor after each run, and what the incremental and on-demand invariants checked:",
              "", "| | count |", "|---|---:|"]
    lines += [f"| cursor {kind} | {n} |" for kind, n in sorted(stats.cursor.items())]
    lines += [f"| {kind} | {n} |" for kind, n in sorted(stats.scoped.items())]
    if stats.failure_causes:
        lines += ["", "Why faulty runs failed:", "", "| cause | runs |", "|---|---:|"]
        lines += [f"| {kind} | {n} |" for kind, n in stats.failure_causes.most_common()]
    if stats.violations:
        lines += ["", "Violations (first 50):", ""] + [f"- {v}" for v in stats.violations[:50]]
    return "\n".join(lines)


def write_doc(path: Path, figures: str) -> None:
    """Replace the text between the markers; create the doc if it is missing."""
    block = f"{BEGIN}\n{figures}\n{END}"
    text = path.read_text() if path.exists() else "# Reliability\n\n## The soak\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
