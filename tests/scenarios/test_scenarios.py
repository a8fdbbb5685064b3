"""Every scenario file, shared examples and the project's own, through the real DAG.

Each runs the harness end to end: local servers seeded from the file, the
DAG through dag.test() with Airflow connections pointing at them. The outcome
and QuickSight's state afterwards must be what the file expects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenario_harness.compare import api_calls_over, expectation_problems, report_has, state_differences
from scenario_harness.runner import run_scenario

HERE = Path(__file__).parent
SHARED_EXAMPLES = HERE / "examples"
FILES = (sorted(SHARED_EXAMPLES.glob("*.json")) + sorted((HERE / "files").glob("*.json"))
         + sorted((HERE / "files" / "incremental").glob("*.json")))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path):
    scenario = json.loads(path.read_text())
    result = run_scenario(scenario)
    expect = scenario["expect"]
    assert result["outcome"] == expect["outcome"], json.dumps(result["report"].get("errors"), indent=1)
    assert state_differences(expect["quicksight"], result["quicksight"]) == []
    for check in scenario.get("expect_report", []):
        assert report_has(result["report"], check), f"report lacks {check}"
    assert api_calls_over(result["report"], expect.get("api_calls_at_most") or {}) == []
    rounds = scenario.get("rounds") or []
    assert len(result.get("rounds", [])) == len(rounds)
    for n, (one, got) in enumerate(zip(rounds, result.get("rounds", [])), start=2):
        assert expectation_problems(one["expect"], one.get("expect_report", []), got) == [], f"run {n} (a round)"


def test_examples_exist():
    assert len(list(SHARED_EXAMPLES.glob("*.json"))) >= 3
