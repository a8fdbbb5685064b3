"""The fault matrix: every Okta and QuickSight fault of issue 7 through the real DAG.

Each scenario in files/ (docs/scenario-format.md, plus two fault keys of soak.faults:
``skip`` and ``race``) runs with ``dag.test()`` against the local servers. It
must end as the file says - converged with nothing lost, or failed with
nothing deleted that should stay - and a failed run's messages must name
the cause. Then the faults are lifted and one more run (the task functions
in-process) must converge: a fault never leaves damage behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


from local_servers.okta_org import numbered_org  # noqa: E402
from scenario_harness.compare import report_has, state_differences  # noqa: E402

from soak.driver import LocalSync  # noqa: E402
from soak.oracle import convergence_differences, invariant_violations  # noqa: E402

FILES = sorted((Path(__file__).parent / "files").glob("*.json"))

# Scenarios the product fails today; strict, so a fix turns them into errors to remove from here.
PRODUCT_BUGS: dict[str, str] = {}


def _scenario_params():
    for path in FILES:
        marks = [pytest.mark.xfail(strict=True, reason=PRODUCT_BUGS[path.stem])] if path.stem in PRODUCT_BUGS else []
        yield pytest.param(path, id=path.stem, marks=marks)


def test_matrix_covers_the_issue():
    names = {p.stem for p in FILES}
    for status in (500, 502, 503):
        assert {f"okta-{status}-transient", f"okta-{status}-permanent"} <= names
    assert {"okta-429-storm", "okta-remaining-near-zero", "okta-reset-permanent", "okta-timeout-permanent",
            "okta-invalid-json-permanent", "okta-401-mid-read", "okta-group-deleted-mid-read",
            "qs-throttling-storm", "qs-5xx-transient", "qs-recipient-deleted-before-handover",
            "qs-wrong-identity-region", "qs-user-created-by-someone-else", "qs-group-created-by-someone-else"} <= names


@pytest.mark.parametrize("path", list(_scenario_params()))
def test_fault_scenario(path: Path, capfd):
    scenario = json.loads(path.read_text())
    expect = scenario["expect"]
    with LocalSync(scenario) as sync:
        before = sync.dump()
        result = sync.run_dag()
        out, err = capfd.readouterr()
        after = sync.dump()
        messages = out + err + result.text()

        assert result.outcome == expect["outcome"], result.text() or out[-3000:]
        assert state_differences(expect["quicksight"], after) == []
        if not any("race" in f for f in scenario.get("faults", [])):  # a race is someone else deleting things
            assert invariant_violations(scenario["target"], scenario["okta"], before, after) == []
        for needle in scenario.get("expect_messages", []):
            assert needle in messages, f"no message names {needle!r}"
        for check in scenario.get("expect_report", []):
            assert report_has(result.report, check), f"report lacks {check}"
        if scenario.get("faults"):  # the fault really happened
            assert sum(sync.okta_faults.injected.values()) + sum(sync.qs_faults.injected.values()) > 0
        if scenario.get("limits"):  # paced on Remaining: Okta never had to refuse a request
            assert "429" not in sync.okta.statuses.snapshot()
            assert sync.okta.counter.snapshot()["GET /api/v1/apps/{appId}/users"] >= 1
        transient_okta = [f for f in scenario.get("faults", []) if f.get("service") == "okta" and f.get("times", 1) > 0]
        if transient_okta and result.outcome == "success":
            assert result.retries["okta"] >= sum(f["times"] for f in transient_okta)

        sync.set_faults(None)
        rerun = sync.run_tasks()
        if "expect_after_rerun" in scenario:
            assert state_differences(scenario["expect_after_rerun"], sync.dump()) == []
        else:
            assert rerun.outcome == "success", rerun.text()
            assert convergence_differences(scenario["target"], sync.okta_section(), sync.dump()) == []


def _big_org_scenario(faults: list[dict]) -> dict:
    """500 app users (one full page of 500, then an empty page behind a next link), all already in QuickSight."""
    okta = numbered_org(500, 1, members_per_group=10)
    users = [{"user_name": f"QuickSightReader/user{i}@example.com", "email": f"user{i}@example.com",
              "role": "READER", "identity_type": "IAM"} for i in range(500)]
    return {
        "name": "okta-next-link",
        "target": {"okta_app_id": "0oaqs1", "saml_roles": {"QuickSightReader": "READER"}},
        "okta": okta,
        "quicksight": {
            "account_id": "111122223333", "identity_region": "us-east-1", "namespace": "default", "users": users,
            "groups": [{"name": "Okta-Group 0", "description": "okta-sync:00g00000", "members": [u["user_name"] for u in users[:10]]}],
        },
        "faults": faults,
    }


@pytest.mark.parametrize(
    "fault, outcome",
    [
        ({"status": 500, "times": -1}, "failed"),
        ({"kind": "reset", "times": 2}, "success"),
    ],
    ids=["permanent", "transient"],
)
def test_next_link_fails(fault, outcome):
    """The first page of app users arrives, the `next` page does not: nobody on it may be taken as gone."""
    scenario = _big_org_scenario([{"service": "okta", "endpoint": "GET /api/v1/apps/{appId}/users", "skip": 1, **fault}])
    with LocalSync(scenario) as sync:
        before = sync.dump()
        result = sync.run_tasks()
        assert result.outcome == outcome, result.text()
        assert sync.okta_faults.injected, "the next page was never faulted"
        assert state_differences(before, sync.dump()) == []
        calls = sync.quicksight.counter.snapshot()
        assert not {"DeleteUser", "DeleteGroup", "DeleteGroupMembership", "RegisterUser"} & set(calls)
        if outcome == "failed":
            assert "kept failing GET /api/v1/apps/{appId}/users: HTTP 500" in result.text()
            # Okta and QuickSight are read at once, so QuickSight may have been read; nothing was planned or written.
            writes = {op for op in calls if not op.startswith(("List", "Describe", "Search", "sts:"))}
            assert writes == set(), writes
