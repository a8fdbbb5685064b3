"""docs/iam/airflow-sync-policy.json grants exactly the calls the sync makes.

The calls are recorded, not guessed: one run of the real DAG against the
local QuickSight (which counts every operation it serves, STS included)
that takes every code path - account id from STS, groups created and
deleted, users registered, updated, recreated and deprovisioned, members
added and removed, and a hand-over of every asset type in two regions. The
policy must list those actions, and nothing more (its event-entry statement
for the SQS queue is checked against the calls the triggerer makes, in
tests/packaging/test_iam_policies.py).
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

from local_servers.qs_assets import KINDS  # noqa: E402

from soak.driver import LocalSync  # noqa: E402

POLICY = REPO / "docs" / "iam" / "airflow-sync-policy.json"
ADMIN = "QuickSightAdmin/admin@example.com"
LEAVER = "QuickSightAuthor/leaver@example.com"


# The event entry's statement (sqs:*) is granted to the triggerer, not used by a sync run: its calls are
# recorded against the local SQS by tests/packaging/test_iam_policies.py.
EVENT_ENTRY_SID = "TakeOktaEventsFromTheQueue"


def policy_actions() -> set[str]:
    """The actions the sync run's statements grant (all but the event entry's)."""
    actions = set()
    for statement in json.loads(POLICY.read_text())["Statement"]:
        if statement.get("Sid") == EVENT_ENTRY_SID:
            continue
        value = statement["Action"]
        actions.update([value] if isinstance(value, str) else value)
    return actions


def every_path_scenario() -> dict:
    people = [("00uadmin", "admin@example.com", ["QuickSightAdmin"]),
              ("00u1", "ann@example.com", ["QuickSightReader"]),       # new: RegisterUser
              ("00u2", "bob@example.com", ["QuickSightAuthor"]),       # email and role change: UpdateUser
              ("00u3", "cy@example.com", ["QuickSightReader"])]        # lower role than QuickSight has
    regions = ["us-east-1", "eu-west-1"]
    assets = [{"type": t, "id": f"{t}-{r}", "region": r, "owners": [LEAVER]} for t in sorted(KINDS) for r in regions]
    return {
        "target": {"okta_app_id": "0oaqs1", "asset_recipient": ADMIN, "asset_regions": regions,
                   "saml_roles": {"QuickSightAdmin": "ADMIN", "QuickSightAuthor": "AUTHOR", "QuickSightReader": "READER",
                                  "QuickSightCy": "READER"},
                   "downgrade_policy": "recreate"},
        "okta": {
            "users": [{"id": i, "status": "ACTIVE", "login": login, "email": login, "first_name": "A", "last_name": "B"}
                      for i, login, _ in people],
            "groups": [{"id": "00g1", "name": "Finance", "type": "OKTA_GROUP", "members": ["00u1", "00u2"]},
                       {"id": "00g2", "name": "Sales", "type": "OKTA_GROUP", "members": ["00u2"]}],
            "app_users": [{"id": i, "scope": "USER", "saml_roles": roles} for i, _, roles in people],
            "app_groups": ["00g1", "00g2"],
        },
        "quicksight": {
            "account_id": "111122223333", "identity_region": "us-east-1", "namespace": "default",
            "users": [
                {"user_name": ADMIN, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"},
                {"user_name": "QuickSightAuthor/bob@example.com", "email": "old@example.com", "role": "READER", "identity_type": "IAM"},
                {"user_name": "QuickSightReader/cy@example.com", "email": "cy@example.com", "role": "AUTHOR", "identity_type": "IAM"},
                {"user_name": LEAVER, "email": "leaver@example.com", "role": "AUTHOR", "identity_type": "IAM"},
            ],
            "groups": [{"name": "Okta-Finance", "description": "okta-sync:00g1", "members": [LEAVER]},
                       {"name": "Okta-Gone", "description": "okta-sync:00g9", "members": []}],
            "assets": assets,
        },
    }


def test_policy_lists_exactly_the_recorded_calls():
    scenario = every_path_scenario()
    sync = LocalSync(scenario)
    del sync.target["aws_account_id"]  # resolved through STS, as a deployment without it does
    with sync:
        result = sync.run_dag()
        calls = sync.quicksight.counter.snapshot()
        state = sync.dump()

    assert result.outcome == "success", result.report.get("errors")
    # Every path was taken: the leaver's assets of all types in both regions moved, and nothing else happened by luck.
    assert all(a["owners"] == [ADMIN] for a in state["assets"]) and len(state["assets"]) == 2 * len(KINDS)
    users = {u["user_name"]: u for u in state["users"]}
    assert LEAVER not in users and users["QuickSightAuthor/bob@example.com"]["role"] == "AUTHOR"
    assert users["QuickSightReader/cy@example.com"]["role"] == "READER"  # recreated with the lower role
    for op in ("sts:GetCallerIdentity", "RegisterUser", "UpdateUser", "DeleteUser", "CreateGroup", "DeleteGroup",
               "CreateGroupMembership", "DeleteGroupMembership", "DescribeUser"):
        assert calls.get(op), f"the run never called {op}; the recording does not cover every path"

    calls = {**calls, **conflict_path_calls()}
    recorded = {op if op.startswith("sts:") else f"quicksight:{op}" for op in calls}
    granted = policy_actions()
    assert sorted(recorded - granted) == [], "the code calls actions the policy does not grant"
    assert sorted(granted - recorded) == [], "the policy grants actions the code never calls"


def conflict_path_calls() -> dict[str, int]:
    """The one path a clean run cannot take: a group someone else created between read and write.

    CreateGroup then meets ResourceExists, and the directory reads the group
    (DescribeGroup) to refuse adopting it.
    """
    import boto3
    import pytest

    from local_servers.quicksight_server import QuickSightServer
    from okta_quicksight_sync.quicksight_directory import GroupConflictError, QuickSightDirectory

    section = {"account_id": "111122223333", "identity_region": "us-east-1", "namespace": "default",
               "users": [], "groups": [{"name": "Okta-Finance", "description": "made by hand", "members": []}]}
    with QuickSightServer(section) as server:
        client = boto3.client("quicksight", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local")
        directory = QuickSightDirectory(lambda region: client, "111122223333", "us-east-1")
        with pytest.raises(GroupConflictError, match="not adopted"):
            directory.create_group("Okta-Finance", "okta-sync:00g1")
        return server.counter.snapshot()
