"""`make scenario`'s command, `python -m scenario_harness run SCENARIO RESULT`, as a user runs it.

Run in a subprocess, as make does: it writes the result in the shape of
docs/scenario-format.md and exits 0 whenever the harness worked,
whatever the run's outcome; a scenario it cannot read is a non-zero exit
with a message naming the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenario_harness.compare import state_differences

HERE = Path(__file__).parent
REPO = HERE.parents[1]
EXAMPLES = HERE / "examples"
FILES = HERE / "files"


@pytest.fixture
def run_cli(migrated_home, tmp_path):
    """The CLI in a subprocess, in an Airflow home of its own: a copy of the session's migrated
    database (tests/conftest.py), not the session's SQLite file, which this process has open."""
    env = {**os.environ, "OKTA_QS_SYNC_HARNESS_HOME": str(migrated_home(tmp_path / "airflow"))}

    def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
        return _run_cli(env, *args, timeout=timeout)

    return run


def _run_cli(env: dict, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scenario_harness", "run", *map(str, args)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )


def check_result_shape(result: dict) -> None:
    """docs/scenario-format.md's Result: outcome, QuickSight's whole state in the scenario's shape, the run's report."""
    assert set(result) >= {"outcome", "quicksight", "report"}
    assert result["outcome"] in ("success", "failed", "held")
    state = result["quicksight"]
    for user in state["users"]:
        assert set(user) >= {"user_name", "email", "role", "identity_type"}
    for group in state["groups"]:
        assert set(group) >= {"name", "members"}
    for asset in state["assets"]:
        assert set(asset) >= {"type", "id", "region", "owners"}
    report = result["report"]
    assert set(report["api_calls"]) == {"okta", "quicksight"}
    assert report["api_calls"]["okta"]["GET /api/v1/apps/{appId}/users"] >= 1
    assert report["api_calls"]["quicksight"]["ListUsers"] >= 1
    assert isinstance(report["duration_s"], (int, float)) and report["duration_s"] >= 0


@pytest.mark.parametrize(
    "scenario_path",
    [EXAMPLES / "leaver-assets.json", FILES / "group-conflict.json"],
    ids=["success", "failed"],
)
def test_cli_writes_the_result_and_exits_0_whatever_the_outcome(run_cli, tmp_path: Path, scenario_path: Path):
    scenario = json.loads(scenario_path.read_text())
    result_path = tmp_path / "out" / "result.json"  # a folder that does not exist yet
    proc = run_cli(scenario_path, result_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(result_path.read_text())
    check_result_shape(result)
    assert result["outcome"] == scenario["expect"]["outcome"]
    assert state_differences(scenario["expect"]["quicksight"], result["quicksight"]) == []
    # The harness's local credentials (Okta SSWS token, AWS secret key) appear nowhere in what the run hands back.
    for secret in ("local-test-token", "local-quicksight-secret"):
        assert secret not in result_path.read_text() and secret not in proc.stdout + proc.stderr
    summary = f"{scenario['name']}: {result['outcome']} (expected {scenario['expect']['outcome']}); result in {result_path}"
    assert summary in proc.stdout


def test_cli_reports_a_missing_scenario_file(run_cli, tmp_path: Path):
    missing = tmp_path / "no-such-scenario.json"
    result_path = tmp_path / "result.json"
    proc = run_cli(missing, result_path)
    assert proc.returncode != 0
    assert "cannot read scenario" in proc.stderr and str(missing) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not result_path.exists()


def test_cli_reports_a_scenario_that_is_not_json(run_cli, tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "half a scenario", ')
    result_path = tmp_path / "result.json"
    proc = run_cli(broken, result_path)
    assert proc.returncode != 0
    assert "cannot read scenario" in proc.stderr and str(broken) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not result_path.exists()


def test_cli_usage_error_without_a_result_path(run_cli):
    proc = run_cli(EXAMPLES / "first-sync.json")
    assert proc.returncode == 2
    assert "result" in proc.stderr


def test_cli_runs_the_rounds_and_lists_each_in_the_result(run_cli, tmp_path: Path):
    scenario_path = FILES / "rounds-leaver-then-idle.json"
    scenario = json.loads(scenario_path.read_text())
    result_path = tmp_path / "result.json"
    proc = run_cli(scenario_path, result_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(result_path.read_text())
    check_result_shape(result)
    assert len(result["rounds"]) == len(scenario["rounds"]) == 2
    for one, got in zip(scenario["rounds"], result["rounds"]):
        check_result_shape(got)
        assert got["outcome"] == one["expect"]["outcome"]
        assert state_differences(one["expect"]["quicksight"], got["quicksight"]) == []
    # QuickSight kept what the runs before left: the leaver removed in round 2 stays gone in round 3.
    names = [{u["user_name"] for u in r["quicksight"]["users"]} for r in [result, *result["rounds"]]]
    assert "QuickSightReader/bob@example.com" in names[0]
    assert "QuickSightReader/bob@example.com" not in names[1] | names[2]
    summary = (f"{scenario['name']}: success (expected success) then rounds: success (expected success), "
               f"success (expected success); result in {result_path}")
    assert summary in proc.stdout


def test_cli_refuses_a_round_it_cannot_run_before_running_anything(run_cli, tmp_path: Path):
    scenario = json.loads((EXAMPLES / "first-sync.json").read_text())
    scenario["rounds"] = [{"expect": {"outcome": "success"}}, {"okta": {"users": []}, "limits": {}}]
    path = tmp_path / "bad-round.json"
    path.write_text(json.dumps(scenario))
    result_path = tmp_path / "result.json"
    proc = run_cli(path, result_path, timeout=120)
    assert proc.returncode == 2
    assert "rounds[1]" in proc.stderr and "'limits'" in proc.stderr and "Traceback" not in proc.stderr
    assert not result_path.exists()


def test_api_calls_at_most_counts_totals_and_writes():
    from scenario_harness.compare import api_call_totals, api_calls_over

    report = {"api_calls": {"okta": {"GET /api/v1/apps/{appId}/users": 2, "POST /oauth2/v1/token": 1},
                            "quicksight": {"ListUsers": 2, "DescribeUser": 1, "SearchDashboards": 1, "DeleteUser": 1, "CreateGroup": 2}}}
    assert api_call_totals(report) == {"okta": 3, "quicksight": 7, "quicksight_writes": 3}
    assert api_calls_over(report, {"okta": 3, "quicksight": 7, "quicksight_writes": 3}) == []
    over = api_calls_over(report, {"okta": 2, "quicksight_writes": 0})
    assert len(over) == 2 and over[0].startswith("api_calls okta: 3 > at most 2") and "quicksight_writes: 3 > at most 0" in over[1]
    assert "unknown key(s) ['qs']" in api_calls_over(report, {"qs": 1})[0]
    assert api_calls_over({}, {"okta": 1}) == ["api_calls_at_most: the report has no api_calls to compare"]
