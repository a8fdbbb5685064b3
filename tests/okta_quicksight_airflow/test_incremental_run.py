"""Incremental and on-demand runs through the real hook and directory against the local servers.

Each scenario file under tests/scenarios/files/incremental/ is driven the way the DAG chains its
tasks (plan, group_sync, user_sync, the deletion route, deprovision, report, then the cursor):
the first run is full and stores the cursor, each round replaces the Okta org (the local Okta
logs the difference) and plans with incremental_run.plan_for_mode. Its state, report and call
bounds must be what the file expects.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from local_servers.common import FaultPlan
from okta_quicksight_airflow import incremental_run, run_bookkeeping, sync_tasks
from okta_quicksight_sync import deletions
from scenario_harness.compare import expectation_problems
from scenario_harness.runner import _environment, connections_env, local_servers, outcome_of, target_of

FILES = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "files" / "incremental").glob("*.json"))
DAG_ID = "scenario_sync"


def one_run(target: dict, params: dict, variables: incremental_run.MemoryVariables, *, now: float | None = None) -> tuple[dict, dict]:
    """(planned, report) of one run, the tasks chained as the DAG chains them."""
    if now is not None and params.get("mode") == "incremental":
        planned = incremental_run.plan_incremental(target, params, dag_id=DAG_ID, variables=variables, now=now)
    else:
        planned = incremental_run.plan_for_mode(target, params, dag_id=DAG_ID, variables=variables)
    groups_done = sync_tasks.group_sync(planned, params)
    users_done = sync_tasks.user_sync(planned, params, groups_done)
    summary = deletions.summary(planned["plan"])
    route = deletions.route(summary, params, target["approval"])
    if route == deletions.APPLY:
        done = sync_tasks.deprovision(planned, params, groups_done)
    else:
        done = sync_tasks.not_run_results(planned, [])
    steps = [groups_done, users_done, done]
    converged = run_bookkeeping.converged_at(planned, steps) is not None
    incremental_run.advance_cursor(DAG_ID, planned, converged, variables)
    report = sync_tasks.build_report(planned, steps, failed_tasks=[], finished_at=time.time())
    return planned, report


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_incremental_scenario(path: Path):
    scenario = json.loads(path.read_text())
    target = target_of(scenario)
    variables = incremental_run.MemoryVariables()
    with local_servers(scenario) as (okta, quicksight):
        with _environment({**connections_env(okta, quicksight, scenario, target), "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": "0"}):
            planned, report = one_run(target, scenario.get("params") or {}, variables)
            first = {"outcome": outcome_of("success", report), "quicksight": quicksight.dump(), "report": report}
            assert expectation_problems(scenario["expect"], scenario.get("expect_report", []), first) == []
            assert json.loads(variables.values[incremental_run.cursor_key(DAG_ID)])["next_link"]
            for n, one in enumerate(scenario["rounds"], start=2):
                if "okta" in one:
                    okta.load(one["okta"])
                okta.set_faults(one.get("faults") or [])
                quicksight.faults = FaultPlan(one.get("faults") or [], "quicksight")
                aged = time.time() + one["cursor_age_days"] * 86400 if one.get("cursor_age_days") else None
                planned, report = one_run(target, one.get("params") or {}, variables, now=aged)
                got = {"outcome": outcome_of("success", report), "quicksight": quicksight.dump(), "report": report}
                problems = expectation_problems(one["expect"], one.get("expect_report", []), got)
                assert problems == [], (f"run {n}", planned.get("mode"), planned.get("fallback_reason"), report.get("api_calls"), report.get("items"))
                expected_mode = one["expect"]["mode"]  # also checked on the report by expectation_problems
                assert planned["mode"] == expected_mode, (planned["mode"], planned.get("fallback_reason"))
                if expected_mode == "full" and one.get("params", {}).get("mode") == "incremental":
                    assert planned["fallback_reason"], "a fallback says why"
                assert_reads_within_budget(planned)


def assert_reads_within_budget(planned: dict) -> None:
    """The issue's budget for planning: nothing changed, at most 2 Okta calls and no QuickSight call;
    per changed person (no group read whole), at most 5 Okta calls and 10 QuickSight reads."""
    if planned["mode"] != "incremental":
        return
    events = planned["looked_at"]["events"]
    okta_calls = sum(planned["api_calls"]["okta"].values())
    qs_calls = sum(planned["api_calls"].get("quicksight", {}).values())
    if not events["user_ids"] and not events["group_ids"]:
        assert okta_calls <= 2 and qs_calls == 0, planned["api_calls"]
    elif not events["group_ids"]:
        people = len(events["user_ids"])
        assert okta_calls <= 5 * people and qs_calls <= 10 * people, planned["api_calls"]


def test_a_cursor_is_stale_without_one_or_past_the_logs_retention():
    now = 100 * 86400.0
    assert "no cursor" in incremental_run.stale_reason(None, now)
    assert "90-day retention" in incremental_run.stale_reason({"next_link": "x", "saved_at": now - 95 * 86400}, now)
    assert incremental_run.stale_reason({"next_link": "x", "saved_at": now - 86400}, now) is None


def test_the_cursor_moves_only_after_a_converged_run_that_may_move_it():
    variables = incremental_run.MemoryVariables()
    key = incremental_run.cursor_key(DAG_ID)
    variables.set(key, json.dumps({"next_link": "old", "saved_at": 1.0, "app_group_ids": ["00g1"],
                                   "totals": {"managed_users": 10, "managed_groups": 2, "okta_eligible_users": 10}}))
    plan = {"dry_run": False, "register": [{"user_name": "r/a"}], "deprovision": ["r/b", "r/c"], "create_groups": [], "delete_groups": []}
    planned = {"config": {}, "plan": plan, "started_at": 5.0, "mode": "incremental", "cursor_to": "new", "app_group_ids": ["00g1", "00g2"]}
    assert incremental_run.advance_cursor(DAG_ID, planned, False, variables) is None
    assert incremental_run.advance_cursor(DAG_ID, {**planned, "plan": {**plan, "dry_run": True}}, True, variables) is None
    assert incremental_run.advance_cursor(DAG_ID, {**planned, "mode": "only_users"}, True, variables) is None
    assert json.loads(variables.get(key))["next_link"] == "old"

    stored = incremental_run.advance_cursor(DAG_ID, planned, True, variables)
    assert json.loads(variables.get(key)) == stored
    assert stored["next_link"] == "new" and stored["saved_at"] == 5.0 and stored["app_group_ids"] == ["00g1", "00g2"]
    assert stored["totals"] == {"managed_users": 9, "managed_groups": 2, "okta_eligible_users": 10}


def test_an_on_demand_run_reports_an_entry_okta_does_not_know_and_syncs_the_others():
    scenario = json.loads((FILES[0].parent / "on-demand-joiner-others-untouched.json").read_text())
    target = target_of(scenario)
    with local_servers(scenario) as (okta, quicksight):
        with _environment({**connections_env(okta, quicksight, scenario, target), "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": "0"}):
            okta.load(scenario["rounds"][0]["okta"])
            planned = incremental_run.plan_only_users(
                target, {"only_users": "nobody@example.com, eve@example.com"}, dag_id=DAG_ID, variables=incremental_run.MemoryVariables()
            )
    plan = planned["plan"]
    assert planned["looked_at"]["resolved"] == {"nobody@example.com": None, "eve@example.com": "00u5"}
    assert [r["user_name"] for r in plan["register"]] == ["QuickSightReader/eve@example.com"]
    assert plan["deprovision"] == [] and plan["remove_members"] == {}
    assert [(f["action"], f["item"]) for f in plan["failed"]] == [("sync_user", "nobody@example.com")]


def test_a_failing_log_page_falls_back_to_full_and_counts_its_attempts():
    scenario = json.loads((FILES[0].parent / "incremental-log-page-fails.json").read_text())
    target = target_of(scenario)
    variables = incremental_run.MemoryVariables()
    with local_servers(scenario) as (okta, quicksight):
        with _environment({**connections_env(okta, quicksight, scenario, target), "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": "0"}):
            one_run(target, {}, variables)
            okta.set_faults(scenario["rounds"][0]["faults"])
            planned = incremental_run.plan_incremental(target, {"mode": "incremental"}, dag_id=DAG_ID, variables=variables)
    assert planned["mode"] == "full"
    assert planned["fallback_reason"].startswith("a System Log page failed")
    assert planned["api_calls"]["okta"]["GET /api/v1/logs"] >= 2  # retried before giving up
    assert planned["api_calls"]["okta"]["GET /api/v1/apps/{appId}/users"] >= 1  # then read in full


def test_a_full_run_that_cannot_read_the_log_says_why_the_next_incremental_run_is_full():
    scenario = json.loads((FILES[0].parent / "incremental-nothing-changed.json").read_text())
    target = target_of(scenario)
    variables = incremental_run.MemoryVariables()
    denied = [{"service": "okta", "endpoint": "GET /api/v1/logs", "status": 403, "error_code": "E0000006", "times": -1}]
    with local_servers(scenario) as (okta, quicksight):
        with _environment({**connections_env(okta, quicksight, scenario, target), "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": "0"}):
            okta.set_faults(denied)
            one_run(target, {}, variables)
            assert incremental_run.load_cursor(variables, DAG_ID) is None
            planned = incremental_run.plan_incremental(target, {"mode": "incremental"}, dag_id=DAG_ID, variables=variables)
    assert planned["mode"] == "full"
    assert planned["fallback_reason"].startswith("no cursor: the last full run could not read the System Log (")
