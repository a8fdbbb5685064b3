"""The DAG's bookkeeping between runs: superseded backfill runs, the convergence mark, re-checked approvals.

Fast tests of the functions the DAG calls (no deployment needed); the
deployment tests show the same rules at work in a real Airflow.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from okta_quicksight_airflow import sync_tasks
from scenario_harness.runner import _environment, connections_env, local_servers, target_of

FILES = Path(__file__).parent / "files"


def _planned(dry_run: bool = False, started_at: float = 1000.0) -> dict:
    return {"config": {}, "plan": {"dry_run": dry_run}, "started_at": started_at}


def test_a_backfill_run_is_superseded_only_by_a_converged_read_after_its_interval():
    assert sync_tasks.superseded_reason(None, 500.0) is None
    assert sync_tasks.superseded_reason("", 500.0) is None
    assert sync_tasks.superseded_reason("400", 500.0) is None
    assert sync_tasks.superseded_reason("500", 500.0) is None
    reason = sync_tasks.superseded_reason("86400", 500.0)
    assert reason.startswith("superseded") and "1970-01-02T00:00:00Z" in reason


def test_only_a_real_run_with_every_item_applied_counts_as_converged():
    done = {"results": [{"action": "create_group", "item": "Okta-A", "status": "done", "reason": ""}]}
    failed = {"results": [{"action": "register_user", "item": "x", "status": "failed", "reason": "boom"}]}
    held = {"results": [{"action": "delete_group", "item": "Okta-B", "status": "held", "reason": "held"}]}
    assert sync_tasks.converged_at(_planned(), [done, None, {"results": []}]) == 1000.0
    assert sync_tasks.converged_at(_planned(), [done, failed]) is None
    assert sync_tasks.converged_at(_planned(), [done, held]) is None
    assert sync_tasks.converged_at(_planned(dry_run=True), [done]) is None
    assert sync_tasks.converged_at({**_planned(), "superseded": "superseded: ..."}, [done]) is None


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

    kept = checked["plan"]["deprovision"]
    assert "QuickSightReader/u0@example.com" not in kept
    assert sorted(kept) == sorted(n for n in planned["plan"]["deprovision"] if n != "QuickSightReader/u0@example.com")
    skipped = [s for s in checked["plan"]["skipped"] if s["item"] == "QuickSightReader/u0@example.com"]
    assert skipped and skipped[0]["action"] == "deprovision_user" and "no longer planned" in skipped[0]["reason"]
