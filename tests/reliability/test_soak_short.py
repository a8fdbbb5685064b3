"""Ten rounds of the soak (`make soak` runs 200): random Okta changes, random faults on
both sides, a run, a clean run; every invariant holds and faults really fired."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from soak.report import BEGIN, END, render, write_doc  # noqa: E402
from soak.rounds import run_soak  # noqa: E402


def test_short_soak_keeps_every_invariant(tmp_path):
    stats = run_soak(rounds=10, seed=11)
    assert stats.violations == []
    assert stats.rounds == 10 and stats.runs == 20
    assert stats.clean_runs_failed == 0
    assert sum(stats.faults_injected.values()) >= 5
    assert any(k.startswith("okta") for k in stats.faults_injected)
    assert any(k.startswith("quicksight") for k in stats.faults_injected)
    assert sum(stats.okta_changes.values()) >= 10

    doc = tmp_path / "reliability.md"
    doc.write_text("# Reliability\n\nhand-written part\n\n" + BEGIN + "\nold figures\n" + END + "\n\nmore hand-written\n")
    write_doc(doc, render(stats))
    text = doc.read_text()
    assert "hand-written part" in text and "more hand-written" in text and "old figures" not in text
    assert "| **invariant violations** | **0** |" in text
