"""Reruns converge: a run right after another changes nothing, and a run after
Okta changed applies only those changes (issue 4: "a run with nothing to
change makes no QuickSight write and, on the Okta side, only the page reads").

Each scenario runs through the real DAG against the local servers
(``run_scenario(..., runs=N, between_runs=...)``). What was sent is checked
twice: in the run's own report (``api_calls``) and in the servers' request
counters, which the product cannot influence.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from local_servers.okta_org import numbered_org
from scenario_harness.compare import state_differences
from scenario_harness.runner import run_scenario

HERE = Path(__file__).parent
SHARED_EXAMPLES = HERE / "examples"
FILES = HERE / "files"

# Okta's largest page per list endpoint (docs/api-notes.md, Okta: endpoints and page sizes); the sync reads with these.
APP_USERS = "GET /api/v1/apps/{appId}/users"
APP_GROUPS = "GET /api/v1/apps/{appId}/groups"
GROUP_MEMBERS = "GET /api/v1/groups/{groupId}/users"
PAGE_SIZE = {APP_USERS: 500, APP_GROUPS: 200, GROUP_MEMBERS: 1000}
SYSTEM_LOG = "GET /api/v1/logs"

# QuickSight operations that only read; anything else is a write.
READ_PREFIXES = ("List", "Describe", "Search", "sts:")

# A sample across the contract: both role sources, recreate, hand-overs in two
# regions, renames, built-in groups, a held run and a failed one.
SAMPLE = [
    "first-sync",
    "leaver-assets",
    "groups-role-source-default-role",
    "role-upgrade-update",
    "role-downgrade-report",
    "role-downgrade-recreate",
    "email-change",
    "asset-types-handover",
    "asset-regions-two",
    "group-renamed",
    "group-prefix-change",
    "builtin-everyone-synced",
    "adopt-descriptions",
    "threshold-max-deletions-held",
    "group-conflict",
]


def load(name: str) -> dict:
    for folder in (SHARED_EXAMPLES, FILES):
        path = folder / f"{name}.json"
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(name)


def pages(n_items: int, endpoint: str) -> int:
    """Requests to list n items: Okta offers a next page whenever one is full, so the last may be empty."""
    return n_items // PAGE_SIZE[endpoint] + 1


def okta_page_reads(scenario: dict) -> dict[str, int]:
    """The Okta requests a complete read of the scenario's org needs: one per page, nothing else."""
    okta = scenario["okta"]
    target = scenario["target"]
    groups = {g["id"]: g for g in okta.get("groups", [])}
    app_groups = [groups[g] for g in okta.get("app_groups", [])]
    # Members of a BUILT_IN group are read only when it is synced or decides roles (docs/sync-rules.md, section 2).
    role_groups = target.get("role_groups", {}) if target.get("role_source") == "groups" else {}
    read = [
        g for g in app_groups
        if g.get("type") != "BUILT_IN" or target.get("sync_builtin_groups") or g["name"] in role_groups
    ]
    expected = {
        APP_USERS: pages(len(okta.get("app_users", [])), APP_USERS),
        APP_GROUPS: pages(len(app_groups), APP_GROUPS),
    }
    if read:
        expected[GROUP_MEMBERS] = sum(pages(len(g.get("members", [])), GROUP_MEMBERS) for g in read)
    return expected


def converged_full_run_calls(scenario: dict, converged: bool = True) -> dict[str, int]:
    """A full run: every page once, then, when it converged (only then), one System Log read for the
    incremental cursor."""
    return {**okta_page_reads(scenario), SYSTEM_LOG: 1} if converged else okta_page_reads(scenario)


def writes(calls: dict[str, int]) -> dict[str, int]:
    return {op: n for op, n in calls.items() if n and not op.startswith(READ_PREFIXES)}


class ServerCounters:
    """between_runs hook: keep QuickSight's state after each run but the last, zero both servers'
    request counters before each later run, and keep the servers for the assertions."""

    def __init__(self, on_gap=None) -> None:
        self.okta = None
        self.quicksight = None
        self.gaps = 0
        self.states: list[dict] = []  # QuickSight after run 1, 2, ...
        self._on_gap = on_gap

    def __call__(self, okta, quicksight) -> None:
        self.gaps += 1
        self.okta, self.quicksight = okta, quicksight
        self.states.append(quicksight.dump())
        if self._on_gap:
            self._on_gap(self.gaps, okta, quicksight)
        okta.counter.reset()
        quicksight.counter.reset()


def assert_idle_rerun(scenario: dict, run: dict, counters: ServerCounters) -> None:
    """The later run read every page once and wrote nothing, by its report and by the servers."""
    report = run["report"]
    okta_calls = report["api_calls"]["okta"]
    qs_calls = report["api_calls"]["quicksight"]
    converged = run["outcome"] == "success"  # a held or failed run leaves the cursor where it was
    assert okta_calls == converged_full_run_calls(scenario, converged), okta_calls
    assert counters.okta.counter.snapshot() == converged_full_run_calls(scenario, converged)
    assert writes(qs_calls) == {}, qs_calls
    assert writes(counters.quicksight.counter.snapshot()) == {}, counters.quicksight.counter.snapshot()
    assert qs_calls.get("ListUsers", 0) >= 1  # it did read QuickSight in full, it did not skip the run
    for row in report["counts"].values():
        assert row["done"] == row["already"] == 0, report["counts"]


@pytest.mark.parametrize("name", SAMPLE)
def test_second_run_right_after_changes_nothing(name: str):
    scenario = load(name)
    counters = ServerCounters()
    result = run_scenario(scenario, runs=2, between_runs=counters)
    first, second = result["runs"]
    assert first["outcome"] == scenario["expect"]["outcome"]
    # The second run sees what the first left, so it ends the same way (held stays held, a conflict stays failed).
    assert second["outcome"] == scenario["expect"]["outcome"], second["report"].get("errors")
    assert state_differences(scenario["expect"]["quicksight"], result["quicksight"]) == []
    assert_idle_rerun(scenario, second, counters)
    # What the second run still reports is what it did not do: skips, holds, failures; never a write.
    assert {i["status"] for i in second["report"]["items"]} <= {"skipped", "held", "failed"}


def test_idle_rerun_reads_every_okta_page_once():
    """501 app users take two pages of 500 (docs/api-notes.md, Okta: paging): the idle rerun asks for exactly those."""
    org = numbered_org(n_users=501, n_groups=1)
    admin = {"id": "00uadmin", "status": "ACTIVE", "login": "admin@example.com", "email": "admin@example.com"}
    org["users"].append(admin)
    org["app_users"].append({"id": "00uadmin", "scope": "USER", "saml_roles": ["QuickSightAdmin"]})
    scenario = {
        "name": "paged-org",
        "target": {
            "okta_app_id": "0oaqs1",
            "saml_roles": {"QuickSightAdmin": "ADMIN", "QuickSightReader": "READER"},
            "asset_recipient": "QuickSightAdmin/admin@example.com",
        },
        "okta": org,
        "quicksight": {
            "account_id": "111122223333",
            "identity_region": "us-east-1",
            "users": [{"user_name": "QuickSightAdmin/admin@example.com", "email": "admin@example.com",
                       "role": "ADMIN", "identity_type": "IAM"}],
        },
    }
    counters = ServerCounters()
    result = run_scenario(scenario, runs=2, between_runs=counters)
    first, second = result["runs"]
    assert first["outcome"] == second["outcome"] == "success"
    assert first["report"]["counts"]["register_user"]["done"] == 501
    assert okta_page_reads(scenario) == {APP_USERS: 2, APP_GROUPS: 1, GROUP_MEMBERS: 1}
    assert_idle_rerun(scenario, second, counters)
    assert len(result["quicksight"]["users"]) == 502
    assert len(result["quicksight"]["groups"][0]["members"]) == 501


# ---------------------------------------------------------------- changes between runs
def _changed_okta(okta: dict) -> dict:
    """first-sync's org a day later: ann left the app, bob's email changed, dee joined Finance,
    cy left Finance, Sales was renamed to 'Sales EMEA'."""
    okta = copy.deepcopy(okta)
    users = {u["id"]: u for u in okta["users"]}
    users["00u2"]["email"] = "robert@example.com"
    okta["users"].append({"id": "00u4", "status": "ACTIVE", "login": "dee@example.com", "email": "dee@example.com",
                          "first_name": "Dee", "last_name": "Test"})
    okta["app_users"] = [a for a in okta["app_users"] if a["id"] != "00u1"]
    okta["app_users"].append({"id": "00u4", "scope": "GROUP", "saml_roles": ["QuickSightReader"]})
    groups = {g["id"]: g for g in okta["groups"]}
    groups["00g1"]["members"] = ["00u1", "00u4"]
    groups["00g2"]["name"] = "Sales EMEA"
    return okta


def _user(name: str, role: str, email: str) -> dict:
    return {"user_name": name, "email": email, "role": role, "identity_type": "IAM"}


def test_run_after_okta_changes_applies_only_the_changes():
    scenario = load("first-sync")
    changed = _changed_okta(scenario["okta"])

    def reseed(gap: int, okta, quicksight) -> None:
        if gap == 1:
            okta.load(changed)

    counters = ServerCounters(on_gap=reseed)
    result = run_scenario(scenario, runs=3, between_runs=counters)
    snapshots = counters.states
    first, second, third = result["runs"]
    assert [r["outcome"] for r in result["runs"]] == ["success"] * 3
    assert state_differences(scenario["expect"]["quicksight"], snapshots[0]) == []

    expected = {
        "users": [
            _user("QuickSightAdmin/admin@example.com", "ADMIN", "admin@example.com"),
            _user("QuickSightAuthor/bob@example.com", "AUTHOR", "robert@example.com"),
            _user("QuickSightReader/cy@example.com", "READER", "cy@example.com"),
            _user("QuickSightAuthor/cy@example.com", "AUTHOR", "cy@example.com"),
            _user("QuickSightReader/dee@example.com", "READER", "dee@example.com"),
        ],
        "groups": [
            {"name": "Okta-Finance", "members": ["QuickSightReader/dee@example.com"]},
            {"name": "Okta-Sales EMEA", "members": ["QuickSightAuthor/bob@example.com"]},
        ],
        "assets": [],
    }
    assert state_differences(expected, snapshots[1]) == []
    assert state_differences(expected, result["quicksight"]) == []

    # The second run wrote exactly the changes, one call each.
    assert writes(second["report"]["api_calls"]["quicksight"]) == {
        "CreateGroup": 1,
        "RegisterUser": 1,
        "UpdateUser": 1,
        "CreateGroupMembership": 2,
        "DeleteGroupMembership": 3,
        "DeleteUser": 1,
        "DeleteGroup": 1,
    }
    assert {(i["action"], i["item"], i["status"]) for i in second["report"]["items"]} == {
        ("create_group", "Okta-Sales EMEA", "done"),
        ("register_user", "QuickSightReader/dee@example.com", "done"),
        ("update_user", "QuickSightAuthor/bob@example.com", "done"),
        ("add_member", "QuickSightReader/dee@example.com in Okta-Finance", "done"),
        ("add_member", "QuickSightAuthor/bob@example.com in Okta-Sales EMEA", "done"),
        ("remove_member", "QuickSightReader/ann@example.com in Okta-Finance", "done"),
        ("remove_member", "QuickSightReader/cy@example.com in Okta-Finance", "done"),
        ("remove_member", "QuickSightAuthor/cy@example.com in Okta-Finance", "done"),
        ("deprovision_user", "QuickSightReader/ann@example.com", "done"),
        ("delete_group", "Okta-Sales", "done"),
    }
    assert second["report"]["api_calls"]["okta"] == converged_full_run_calls({**scenario, "okta": changed})

    # And the third run, with Okta unchanged since, is idle again.
    assert_idle_rerun({**scenario, "okta": changed}, third, counters)
