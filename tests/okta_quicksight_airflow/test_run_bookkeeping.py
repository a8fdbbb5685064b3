"""The DAG's bookkeeping between tasks and runs: superseded backfill runs, the convergence mark,
Airflow's enums, the XCom keys, re-checked approvals and deletions that did not run.

Fast tests of the functions the DAG calls (no deployment needed); the
deployment tests show the same rules at work in a real Airflow.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from types import SimpleNamespace

from okta_quicksight_airflow import run_bookkeeping, sync_tasks
from okta_quicksight_sync.plan import Plan
from scenario_harness.runner import _environment, connections_env, local_servers, target_of

FILES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"


def _planned(dry_run: bool = False, started_at: float = 1000.0) -> dict:
    return {"config": {}, "plan": {"dry_run": dry_run}, "started_at": started_at}


def test_a_backfill_run_is_superseded_only_by_a_converged_read_after_its_interval():
    assert run_bookkeeping.superseded_reason(None, 500.0) is None
    assert run_bookkeeping.superseded_reason("", 500.0) is None
    assert run_bookkeeping.superseded_reason("400", 500.0) is None
    assert run_bookkeeping.superseded_reason("500", 500.0) is None
    reason = run_bookkeeping.superseded_reason("86400", 500.0)
    assert reason.startswith("superseded") and "1970-01-02T00:00:00Z" in reason


def test_only_a_real_run_with_every_item_applied_counts_as_converged():
    done = {"results": [{"action": "create_group", "item": "Okta-A", "status": "done", "reason": ""}]}
    failed = {"results": [{"action": "register_user", "item": "x", "status": "failed", "reason": "boom"}]}
    held = {"results": [{"action": "delete_group", "item": "Okta-B", "status": "held", "reason": "held"}]}
    assert run_bookkeeping.converged_at(_planned(), [done, None, {"results": []}]) == 1000.0
    assert run_bookkeeping.converged_at(_planned(), [done, failed]) is None
    assert run_bookkeeping.converged_at(_planned(), [done, held]) is None
    assert run_bookkeeping.converged_at(_planned(dry_run=True), [done]) is None
    assert run_bookkeeping.converged_at({**_planned(), "superseded": "superseded: ..."}, [done]) is None


def test_approved_deletions_are_rechecked_against_a_fresh_read():
    """A user given back access while the approval waited is not deleted; the others are."""
    scenario = json.loads((FILES / "mass-deletion-held.json").read_text())
    target = target_of(scenario)
    with local_servers(scenario) as (okta, quicksight):
        with _environment(connections_env(okta, quicksight, scenario, target)):
            planned = sync_tasks.plan_sync(target, {})
            assert planned["plan"]["deletions_held"]
            assert "QuickSightReader/u0@example.com" in planned["plan"]["deprovision"]

            back = copy.deepcopy(scenario["okta"])
            back["users"].append({"id": "00u0", "status": "ACTIVE", "login": "u0@example.com", "email": "u0@example.com",
                                  "first_name": "U", "last_name": "Zero"})
            back["app_users"].append({"id": "00u0", "scope": "USER", "saml_roles": ["QuickSightReader"]})
            okta.load(back)
            checked = sync_tasks.revalidated(planned, {})
    assert not checked["plan"]["deletions_held"]  # approved: step 4-5 applies what is left

    kept = checked["plan"]["deprovision"]
    assert "QuickSightReader/u0@example.com" not in kept
    assert sorted(kept) == sorted(n for n in planned["plan"]["deprovision"] if n != "QuickSightReader/u0@example.com")
    skipped = [s for s in checked["plan"]["skipped"] if s["item"] == "QuickSightReader/u0@example.com"]
    assert skipped and skipped[0]["action"] == "deprovision_user" and "no longer planned" in skipped[0]["reason"]


class Variables:
    """Airflow Variables as the bookkeeping uses them (get with a default, set), kept in a dict."""

    def __init__(self, **values):
        self.values = dict(values)

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value):
        self.values[key] = value


class RunType(Enum):  # the shape of Airflow's DagRunType: str() is "RunType.BACKFILL"
    BACKFILL = "backfill"
    SCHEDULED = "scheduled"


def _dag_run(run_type, interval_end: float):
    end = datetime.fromtimestamp(interval_end, tz=timezone.utc)
    return SimpleNamespace(run_type=run_type, data_interval_end=end, run_after=end)


def test_enums_are_compared_by_their_value():
    assert run_bookkeeping.enum_value(RunType.BACKFILL) == "backfill"
    assert run_bookkeeping.enum_value("TaskInstanceState.FAILED") == "failed"
    states = {"plan_sync": "success", "user_sync": "TaskInstanceState.FAILED", "deprovision": "upstream_failed",
              "report": "failed", "group_sync": RunType.SCHEDULED}
    assert run_bookkeeping.failed_tasks(states, besides="report") == ["user_sync"]


def test_only_a_backfill_run_before_the_last_converged_read_is_superseded():
    variables = Variables(**{"sync.last_converged_at": "2000.0"})
    assert run_bookkeeping.superseded("sync", _dag_run(RunType.SCHEDULED, 1000.0), variables) is None
    assert run_bookkeeping.superseded("sync", _dag_run(RunType.BACKFILL, 3000.0), variables) is None
    assert run_bookkeeping.superseded("other", _dag_run(RunType.BACKFILL, 1000.0), variables) is None
    reason = run_bookkeeping.superseded("sync", _dag_run(RunType.BACKFILL, 1000.0), variables)
    assert reason.startswith("superseded")
    skipped = run_bookkeeping.skipped_plan({"okta_app_id": "0oa1", "saml_roles": {"R": "READER"}}, reason)
    assert skipped["superseded"] == reason and not Plan.from_dict(skipped["plan"]).has_writes


def test_the_converged_mark_only_moves_forward_and_only_for_converged_runs():
    done = {"results": [{"action": "create_group", "item": "Okta-A", "status": "done", "reason": ""}]}
    held = {"results": [{"action": "delete_group", "item": "Okta-B", "status": "held", "reason": "held"}]}
    variables = Variables()
    run_bookkeeping.mark_converged("sync", _planned(started_at=1000.0), [done, held], variables)
    assert variables.values == {}
    run_bookkeeping.mark_converged("sync", _planned(started_at=1000.0), [done], variables)
    assert variables.values == {"sync.last_converged_at": "1000.0"}
    run_bookkeeping.mark_converged("sync", _planned(started_at=900.0), [done], variables)
    assert variables.values == {"sync.last_converged_at": "1000.0"}


class TaskInstance:
    def __init__(self):
        self.pushed = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def test_plan_sync_publishes_a_small_deletion_summary_for_the_gate_and_the_approval_text():
    plan = Plan(deprovision=["a", "b"], deletion_count=2, deletions_over_limit=True, deletions_held=True,
                hold_reasons=["2 deletions planned, more than max_deletions 1"])
    planned = {"config": {}, "plan": plan.to_dict(), "started_at": 1.0}
    ti = TaskInstance()
    assert run_bookkeeping.publish_plan(ti, planned) is planned
    summary = ti.pushed[run_bookkeeping.DELETIONS_KEY]
    assert summary == {"held": True, "count": 2, "reasons": plan.hold_reasons,
                       "text": "2 deletions were held: 2 deletions planned, more than max_deletions 1."}
    from okta_quicksight_airflow import run_outcome

    body = run_outcome.approval_body()
    assert f"key='{run_outcome.APPROVAL_PAGE_KEY}')" in body  # the approval page, else the summary's text
    assert f"key='{run_bookkeeping.DELETIONS_KEY}')['text']" in body


def test_the_report_is_the_return_value_or_else_the_failed_runs_report_key():
    assert run_bookkeeping.report_of({"return_value": {"outcome": "success"}}) == {"outcome": "success"}
    assert run_bookkeeping.report_of({"report": {"outcome": "failed"}}) == {"outcome": "failed"}
    assert run_bookkeeping.report_of({}) is None


def test_deletions_that_did_not_run_say_why_and_are_held_only_when_the_plan_held_them():
    """A plan that was not held is never reported planned or held when deprovision did not run."""
    plan = Plan(deprovision=["u1"], delete_groups=["Okta-Old"], deletion_count=2,
                skipped=[{"step": "deprovision", "action": "deprovision_user", "item": "u9", "reason": "frozen"}])
    planned = {"config": {}, "plan": plan.to_dict(), "started_at": 1.0}
    results = sync_tasks.not_run_results(planned, ["user_sync"])["results"]
    assert [(r["item"], r["status"]) for r in results] == [("u9", "skipped"), ("u1", "skipped"), ("Okta-Old", "skipped")]
    assert results[1]["reason"] == "not applied: user_sync failed"
    plan.deletions_held, plan.deletions_over_limit, plan.hold_reasons = True, True, ["over max_deletions"]
    held = sync_tasks.not_run_results({**planned, "plan": plan.to_dict()}, [])["results"]
    assert [r["status"] for r in held] == ["skipped", "held", "held"]
    assert held[1]["reason"] == "deletions held for approval: over max_deletions"
