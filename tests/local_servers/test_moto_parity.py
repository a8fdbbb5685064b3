"""The local QuickSight and moto's, given the same calls, answer alike.

moto cannot stand in for QuickSight here (docs/api-notes.md, QuickSight: moto,
lists what it lacks),
but for every operation both implement the same call sequence runs against
both servers through boto3, and the answers' shapes, key values and error
codes are compared, so the local server does not drift from what boto3 sees.
Where moto is known to differ from AWS, the case says so and asserts moto's
quirk, so that a moto upgrade that fixes it shows up here.
"""

from __future__ import annotations

import logging

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.quicksight.responses import QuickSightResponse

from local_servers.qs_assets import BY_OPERATION
from local_servers.qs_state import QuickSightState
from local_servers.quicksight_server import QuickSightServer

ACCOUNT = "123456789012"  # moto's default account
NS = {"AwsAccountId": ACCOUNT, "Namespace": "default"}
# Values that must agree, not only exist (PrincipalId and RequestId are random on both sides).
COMPARED_VALUES = {"Arn", "UserName", "Email", "Role", "IdentityType", "Active", "GroupName", "Description",
                   "MemberName"}
# moto answers a group member's Arn as group/<ns>/<group>/<member>; AWS documents it as the member's
# (user's) ARN, which the local server sends. Only the value differs, so only the value is skipped.
MEMBER_ARN_QUIRK = {"CreateGroupMembership", "DescribeGroupMembership", "ListGroupMemberships"}

# (operation, params, quirk): quirk None = full comparison; else why moto differs from AWS, and what moto does.
CASES = [
    ("RegisterUser", dict(**NS, IdentityType="QUICKSIGHT", Email="alice@example.com", UserRole="READER",
                          UserName="alice"), None),
    ("RegisterUser", dict(**NS, IdentityType="QUICKSIGHT", Email="alice@example.com", UserRole="READER",
                          UserName="alice"),
     ("moto accepts a duplicate user; AWS answers ResourceExistsException", "ok")),
    ("RegisterUser", dict(**NS, IdentityType="QUICKSIGHT", Email="bob@example.com", UserRole="AUTHOR",
                          UserName="bob"), None),
    ("DescribeUser", dict(**NS, UserName="alice"), None),
    ("DescribeUser", dict(**NS, UserName="nobody"), None),
    ("ListUsers", dict(**NS), None),
    ("ListUsers", dict(**NS, MaxResults=1), None),
    ("UpdateUser", dict(**NS, UserName="alice", Email="alice@example.org", Role="AUTHOR"), None),
    ("UpdateUser", dict(**NS, UserName="alice", Email="alice@example.org", Role="READER"),
     ("moto accepts a downgrade from AUTHOR to READER; AWS refuses it", "ok")),
    ("UpdateUser", dict(**NS, UserName="nobody", Email="n@example.com", Role="READER"), None),
    ("CreateGroup", dict(**NS, GroupName="Okta-Finance", Description="okta-sync:00g1"), None),
    ("CreateGroup", dict(**NS, GroupName="Okta-Finance", Description="okta-sync:00g1"),
     ("moto accepts a duplicate group; AWS answers ResourceExistsException", "ok")),
    ("DescribeGroup", dict(**NS, GroupName="Okta-Finance"), None),
    ("DescribeGroup", dict(**NS, GroupName="Okta-Missing"), None),
    ("UpdateGroup", dict(**NS, GroupName="Okta-Finance", Description="okta-sync:00g2"), None),
    ("ListGroups", dict(**NS), None),
    ("SearchGroups", dict(**NS, Filters=[{"Operator": "StartsWith", "Name": "GROUP_NAME", "Value": "Okta-"}]), None),
    ("CreateGroupMembership", dict(**NS, GroupName="Okta-Finance", MemberName="alice"), None),
    ("DescribeGroupMembership", dict(**NS, GroupName="Okta-Finance", MemberName="alice"), None),
    ("ListGroupMemberships", dict(**NS, GroupName="Okta-Finance"), None),
    ("ListUserGroups", dict(**NS, UserName="alice"), None),
    ("CreateGroupMembership", dict(**NS, GroupName="Okta-Finance", MemberName="ghost"),
     ("moto adds an unknown member; AWS answers ResourceNotFoundException", "ok")),
    ("ListDashboards", dict(AwsAccountId=ACCOUNT), None),
    ("ListDataSources", dict(AwsAccountId=ACCOUNT), None),
    ("DeleteGroup", dict(**NS, GroupName="Okta-Finance"), None),
    ("DeleteGroup", dict(**NS, GroupName="Okta-Finance"),
     ("moto deletes a missing group silently; AWS answers ResourceNotFoundException", "ok")),
    ("DeleteUser", dict(**NS, UserName="bob"), None),
    ("DeleteUser", dict(**NS, UserName="bob"),
     ("moto deletes a missing user silently; AWS answers ResourceNotFoundException", "ok")),
]


def call(client, operation: str, params: dict) -> dict:
    try:
        response = getattr(client, xform_name(operation))(**params)
    except client.exceptions.ClientError as err:
        return {"error": err.response["Error"]["Code"], "http": err.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {"ok": response, "http": response["ResponseMetadata"]["HTTPStatusCode"]}


def shape(value, key=None, skip=frozenset()):
    """Keys and value types, and the values of COMPARED_VALUES keys not in ``skip``."""
    if isinstance(value, dict):
        return {
            k: shape(v, k, skip) for k, v in value.items()
            # moto omits RequestId from bodies (the model and AWS have it); Status is the HTTP status,
            # compared separately. NextToken values are opaque: only their presence is compared.
            if k not in ("ResponseMetadata", "RequestId", "Status")
        }
    if isinstance(value, list):
        return [shape(v, None, skip) for v in value]
    return value if key in COMPARED_VALUES - skip else type(value).__name__


@pytest.fixture(scope="module")
def clients():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    local = QuickSightServer({"account_id": ACCOUNT, "identity_region": "us-east-1", "namespace": "default"})
    local.start()
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})

    def client(url):
        return boto3.client("quicksight", region_name="us-east-1", endpoint_url=url, config=config,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    yield client(f"http://127.0.0.1:{moto._server.server_port}"), client(local.url)
    moto.stop()
    local.stop()


def test_the_cases_cover_every_operation_both_implement():
    moto_ops = {
        name for name in _model_operation_names()
        if callable(getattr(QuickSightResponse, xform_name(name), None))
    }
    local_ops = {name[4:] for name in dir(QuickSightState) if name.startswith("_op_")} | set(BY_OPERATION)
    assert {op for op, _, _ in CASES} == moto_ops & local_ops


def _model_operation_names():
    import botocore.session

    return botocore.session.get_session().get_service_model("quicksight").operation_names


def test_same_calls_same_answers(clients):
    moto, local = clients
    mismatches = []
    for index, (operation, params, quirk) in enumerate(CASES):
        from_moto, from_local = call(moto, operation, params), call(local, operation, params)
        label = f"#{index} {operation}"
        if quirk is not None:
            reason, moto_outcome = quirk
            # The quirk is still there (if moto fixes it, drop the quirk and compare fully)...
            assert moto_outcome in from_moto, f"{label}: moto no longer shows its quirk ({reason}): {from_moto}"
            # ...and the local server does what AWS does.
            assert "error" in from_local, f"{label}: local server should refuse: {reason}"
            continue
        if ("error" in from_moto) != ("error" in from_local):
            mismatches.append(f"{label}: moto {from_moto} vs local {from_local}")
        elif "error" in from_moto:
            # Same error code. Not the status: moto sends 400 for ResourceNotFoundException, where the
            # model (and AWS) say 404.
            if from_moto["error"] != from_local["error"]:
                mismatches.append(f"{label}: moto {from_moto['error']} vs local {from_local['error']}")
        else:
            skip = {"Arn"} if operation in MEMBER_ARN_QUIRK else set()
            if shape(from_moto["ok"], skip=skip) != shape(from_local["ok"], skip=skip):
                mismatches.append(
                    f"{label}: moto {shape(from_moto['ok'], skip=skip)} vs local {shape(from_local['ok'], skip=skip)}"
                )
            # moto answers deletes with 204; QuickSight's model declares no other code than 200.
            if operation not in ("DeleteUser", "DeleteGroup") and from_moto["http"] != from_local["http"]:
                mismatches.append(f"{label}: HTTP {from_moto['http']} vs {from_local['http']}")
    assert mismatches == [], "\n".join(mismatches)
