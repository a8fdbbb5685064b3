"""docs/iam/*.json: the Airflow role's least-privilege policy, the three SAML roles, and the event
entry's EventBridge rule and SQS queue policy (docs/events.md).

The policies are JSON a person pastes into IAM, so they are checked here: real
QuickSight operations (from botocore's service model, so a typo fails), no
wildcard actions, one placeholder for the account, and the SAML roles matching
the reference target's role mapping. The SQS actions are the ones the event
entry's trigger was seen calling on the local SQS; the rule's pattern is
evaluated by moto's EventBridge pattern matcher on the events the local Okta logs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

ROOT = Path(__file__).resolve().parents[2]
IAM_DIR = ROOT / "docs" / "iam"
SYNC_POLICY = IAM_DIR / "airflow-sync-policy.json"
TRUST_POLICY = IAM_DIR / "saml-trust-policy.json"
EVENT_RULE = IAM_DIR / "eventbridge-rule.json"
QUEUE_POLICY = IAM_DIR / "sqs-queue-policy.json"
# The IAM action that authorizes each SQS API call (a batch call is authorized by its single form).
SQS_PERMISSION = {"ReceiveMessage": "sqs:ReceiveMessage", "DeleteMessage": "sqs:DeleteMessage",
                  "DeleteMessageBatch": "sqs:DeleteMessage", "GetQueueUrl": "sqs:GetQueueUrl",
                  "GetQueueAttributes": "sqs:GetQueueAttributes", "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
                  "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility"}
ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"
ASSET_TYPES = ["Dashboard", "Analysis", "DataSet", "DataSource", "Theme", "Template", "Folder", "Topic"]
DIRECTORY_ACTIONS = {
    "ListUsers", "DescribeUser", "RegisterUser", "UpdateUser", "DeleteUser", "ListGroups", "CreateGroup", "DescribeGroup",
    "DeleteGroup", "ListGroupMemberships", "CreateGroupMembership", "DeleteGroupMembership",
}
# The QuickSight role each federated sign-in permission creates (permission-only actions, not API calls).
SIGN_IN_ACTION = {"ADMIN": "quicksight:CreateAdmin", "AUTHOR": "quicksight:CreateUser", "READER": "quicksight:CreateReader"}


def load(path: Path) -> dict:
    document = json.loads(path.read_text())
    assert document.get("Version") == "2012-10-17", f"{path.name}: Version must be 2012-10-17"
    assert document.get("Statement"), f"{path.name}: no statements"
    return document


def actions_of(document: dict) -> list[str]:
    actions = []
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        value = statement["Action"]
        actions.extend([value] if isinstance(value, str) else value)
    return actions


def resources_of(document: dict) -> list[str]:
    resources = []
    for statement in document["Statement"]:
        value = statement.get("Resource", [])
        resources.extend([value] if isinstance(value, str) else value)
    return resources


@pytest.fixture(scope="module")
def sync_actions() -> list[str]:
    return actions_of(load(SYNC_POLICY))


def test_every_sync_action_is_a_real_api_operation(sync_actions):
    session = botocore.session.get_session()
    operations = {
        "quicksight": set(session.get_service_model("quicksight").operation_names),
        "sts": set(session.get_service_model("sts").operation_names),
        "sqs": set(session.get_service_model("sqs").operation_names),
    }
    assert len(sync_actions) == len(set(sync_actions)), "an action is listed twice"
    for action in sync_actions:
        service, _, operation = action.partition(":")
        assert "*" not in action, f"{action}: no wildcard actions in a least-privilege policy"
        assert service in operations, f"{action}: only quicksight, sts and (the event entry's) sqs actions belong in this policy"
        assert operation in operations[service], f"{action}: not a {service} API operation"
    assert [a for a in sync_actions if a.startswith("sts:")] == ["sts:GetCallerIdentity"]


def test_sync_policy_covers_the_directory_and_every_asset_type(sync_actions):
    quicksight = {a.split(":", 1)[1] for a in sync_actions if a.startswith("quicksight:")}
    missing = sorted(DIRECTORY_ACTIONS - quicksight)
    assert not missing, f"the sync's user and group calls need {missing}"
    for asset in ASSET_TYPES:
        plural = {"Analysis": "Analyses", "DataSet": "DataSets"}.get(asset, asset + "s")
        finders = {f"Search{plural}", f"List{plural}"} & quicksight
        assert finders, f"no Search{plural}/List{plural}: a departing user's {asset.lower()}s could not be found"
        for verb in ("Describe", "Update"):
            assert f"{verb}{asset}Permissions" in quicksight, f"{verb}{asset}Permissions is needed to hand over a {asset.lower()}"
    unexpected = sorted(
        action for action in quicksight
        if action not in DIRECTORY_ACTIONS
        and not re.fullmatch(r"(Search|List)\w+|(Describe|Update)\w+Permissions", action)
    )
    assert not unexpected, f"the sync never calls {unexpected}"


def test_resources_name_the_account_by_one_placeholder():
    for path in sorted(IAM_DIR.glob("*.json")):
        text = path.read_text()
        assert not re.search(r"\b\d{12}\b", text), f"{path.name} holds a real account id; use {ACCOUNT_PLACEHOLDER}"
        for arn in re.findall(r"arn:aws:[^\"]+", text):
            assert arn.split(":")[4] == ACCOUNT_PLACEHOLDER, f"{path.name}: {arn} should name account {ACCOUNT_PLACEHOLDER}"
    scoped = [r for r in resources_of(load(SYNC_POLICY)) if r != "*" and not r.startswith("arn:aws:sqs:")]
    assert scoped and all(r.startswith(f"arn:aws:quicksight:*:{ACCOUNT_PLACEHOLDER}:") for r in scoped), scoped


def test_three_saml_roles_match_the_reference_role_mapping():
    targets = json.loads((ROOT / "include" / "targets.json").read_text())
    saml_roles = next(iter(targets.values()))["saml_roles"]
    files = {path.stem.removeprefix("saml-role-"): path for path in IAM_DIR.glob("saml-role-*.json")}
    assert set(files) == set(saml_roles), f"SAML role files {sorted(files)} differ from targets.json {sorted(saml_roles)}"
    for role, quicksight_role in saml_roles.items():
        document = load(files[role])
        assert actions_of(document) == [SIGN_IN_ACTION[quicksight_role]], f"{role} should allow only {SIGN_IN_ACTION[quicksight_role]}"
        assert resources_of(document) == [f"arn:aws:quicksight::{ACCOUNT_PLACEHOLDER}:user/${{aws:userid}}"], role


def test_saml_trust_policy_lets_only_okta_saml_sign_ins_assume_the_roles():
    (statement,) = load(TRUST_POLICY)["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithSAML"
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT_PLACEHOLDER}:saml-provider/Okta"}
    assert statement["Condition"] == {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}


# ---- the event entry (docs/events.md) -------------------------------------------------------------


def _sqs_statement(document: dict) -> dict:
    (statement,) = [s for s in document["Statement"] if any(str(a).startswith("sqs:") for a in
                                                             ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]
    return statement


def test_the_sync_policy_grants_exactly_the_sqs_calls_the_event_trigger_makes(tmp_path):
    """The trigger Airflow's triggerer runs for an ``event_queue``, run against the local SQS through an
    Airflow AWS connection: every SQS call it makes is allowed, and nothing else is, on the queue alone."""
    import asyncio

    from local_servers.sqs_server import SqsServer
    from okta_quicksight_airflow import event_entry
    from okta_quicksight_sync.config import TargetConfig
    from scenario_harness.runner import _environment

    with SqsServer() as sqs:
        url = sqs.create_queue("okta-events")
        sqs.client().send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(10)])
        sqs.calls.reset()
        connection = {"conn_type": "aws", "login": "AKIDLOCAL", "password": "local-secret",
                      "extra": {"region_name": "us-east-1", **sqs.airflow_connection_extra()}}
        with _environment({"AIRFLOW_CONN_AWS_EVENTS": json.dumps(connection)}):
            asset = event_entry.incremental_schedule("t", TargetConfig(okta_app_id="x", event_queue=url, aws_conn_id="aws_events"))

            async def first_event():
                async for event in asset.watchers[0].trigger.run():
                    return event

            event = asyncio.run(asyncio.wait_for(first_event(), 60))
        assert len(event.payload["message_batch"]) == 10
        called = set(sqs.calls.snapshot())
    assert called <= set(SQS_PERMISSION), f"map {sorted(called - set(SQS_PERMISSION))} to their IAM actions"
    statement = _sqs_statement(load(SYNC_POLICY))
    assert sorted(statement["Action"]) == sorted({SQS_PERMISSION[c] for c in called}), sorted(called)
    assert statement["Resource"] == f"arn:aws:sqs:REGION:{ACCOUNT_PLACEHOLDER}:okta-events"


def test_the_rule_forwards_exactly_the_event_types_the_sync_reads():
    """moto's EventBridge pattern matcher on EventBridge envelopes of what the local Okta logs: the rule
    takes Okta's events of the sync's types (okta_changes.SYNC_EVENT_TYPES, the incremental run's log
    filter) and nothing else, from Okta's partner source only."""
    import copy

    from moto.events.models import EventPattern

    from local_servers.okta_log_stream import envelope
    from local_servers.okta_org import numbered_org
    from local_servers.okta_server import OktaServer
    from okta_quicksight_sync.okta_changes import SYNC_EVENT_TYPES

    rule = json.loads(EVENT_RULE.read_text())
    assert rule["detail"]["eventType"] == sorted(SYNC_EVENT_TYPES)
    pattern = EventPattern.load(json.dumps(rule))
    source = "aws.partner/okta.com/example-org/okta_log_stream"

    org = numbered_org(n_users=4, n_groups=2)
    okta = OktaServer(org, limits={}, app_id="0oaqs1")
    changed = copy.deepcopy(org)
    changed["users"][1]["status"] = "DEPROVISIONED"
    changed["app_users"] = [a for a in changed["app_users"] if a["id"] != "00u00002"]
    changed["groups"][0]["members"].remove("00u00003")
    changed["groups"][1]["name"] = "Renamed"
    changed["app_groups"] = changed["app_groups"][:1]
    okta.load(changed)
    logged = okta.log.events()
    assert len({e["eventType"] for e in logged}) >= 4
    okta.log.record("user.session.start", [])  # a sign-in: not the sync's business
    for event in okta.log.events():
        wrapped = envelope(event, source=source, account="111122223333", region="us-east-1")
        assert pattern.matches_event(wrapped) is (event["eventType"] in SYNC_EVENT_TYPES), event["eventType"]
    leaver = next(e for e in logged if e["eventType"] == "application.user_membership.remove")
    assert not pattern.matches_event(envelope(leaver, source="aws.partner/other.com/x/y", account="1", region="us-east-1"))
    assert not pattern.matches_event({**envelope(leaver, source=source, account="1", region="us-east-1"), "detail-type": "Other"})


def test_the_queue_takes_messages_only_from_eventbridge_for_the_rule():
    (statement,) = load(QUEUE_POLICY)["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == _sqs_statement(load(SYNC_POLICY))["Resource"]  # the queue Airflow reads
    source_arn = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert re.fullmatch(rf"arn:aws:events:REGION:{ACCOUNT_PLACEHOLDER}:rule/aws\.partner/okta\.com/[^/*]+/[^/*]+/[^/*]+", source_arn), \
        "only the rule on Okta's partner event bus may send (no wildcard)"
