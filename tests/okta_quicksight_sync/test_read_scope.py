"""scoped_read.read_scope over both local servers through the real clients: what it looks at and
what it costs for one person (a joiner, a leaver), and that a person's groups are only described."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from tests.okta_quicksight_sync.sync_builders import ADMIN, config

from local_servers.okta_server import OktaServer
from local_servers.quicksight_server import QuickSightServer
from okta_provider.auth import SswsAuth
from okta_provider.client import OktaClient
from okta_quicksight_sync.quicksight_directory import QuickSightDirectory
from okta_quicksight_sync.scoped_plan import plan_scope
from okta_quicksight_sync.scoped_read import read_scope

APP, TOKEN, ACCOUNT = "0oaqs1", "local-test-token", "111122223333"
R = "QuickSightReader"
BOB = f"{R}/bob@example.com"


def okta_section() -> dict:
    people = [("00uadmin", "admin"), ("00u1", "ann"), ("00u2", "bob"), ("00u3", "eve")]
    return {
        "users": [{"id": i, "login": f"{n}@example.com", "email": f"{n}@example.com", "status": "ACTIVE"} for i, n in people],
        "groups": [
            {"id": "00g1", "name": "Finance", "type": "OKTA_GROUP", "members": ["00u1", "00u2", "00u3"]},
            {"id": "00g2", "name": "Sales", "type": "OKTA_GROUP", "members": ["00u1", "00u3"]},
        ],
        # Bob has left the app; Eve has joined it (QuickSight has no identity for her yet).
        "app_users": [{"id": "00uadmin", "saml_roles": ["QuickSightAdmin"]}, {"id": "00u1", "saml_roles": [R]},
                      {"id": "00u3", "saml_roles": [R]}],
        "app_groups": ["00g1", "00g2"],
    }


def qs_section() -> dict:
    ann = f"{R}/ann@example.com"
    users = [(ADMIN, "ADMIN"), (ann, "READER"), (BOB, "READER")]
    return {
        "account_id": ACCOUNT, "identity_region": "us-east-1", "namespace": "default",
        "users": [{"user_name": u, "email": u.split("/")[1], "role": role, "identity_type": "IAM"} for u, role in users],
        "groups": [
            {"name": "Okta-Finance", "description": "okta-sync:00g1", "members": [ann, BOB]},
            {"name": "Okta-Sales", "description": "okta-sync:00g2", "members": [ann]},
        ],
        "assets": [],
    }


@pytest.fixture
def servers():
    okta = OktaServer(okta_section(), None, {}, app_id=APP)
    quicksight = QuickSightServer(qs_section())
    okta.start()
    quicksight.start()

    def client_for_region(region):
        return boto3.client(
            "quicksight", region_name=region, endpoint_url=quicksight.url, aws_access_key_id="x",
            aws_secret_access_key="y", config=Config(retries={"max_attempts": 1}),
        )

    client = OktaClient(okta.url, SswsAuth(TOKEN), backoff_base_s=0.01, timeout=5.0)
    yield client, quicksight, QuickSightDirectory(client_for_region, ACCOUNT, "us-east-1", "default")
    okta.stop()
    quicksight.stop()


def test_a_joiner_in_two_groups_costs_2_okta_calls_and_describes_the_groups_without_their_members(servers):
    client, quicksight, directory = servers
    scope = read_scope(client, directory, config(), ["00u3"], [], ["00g1", "00g2"], names={"00u3": ["eve@example.com"]})
    assert sum(client.api_calls.values()) == 2
    calls = quicksight.counter.snapshot()
    assert "ListGroupMemberships" not in calls  # a big group's pages are not read for one person
    assert sum(calls.values()) <= 10, calls
    assert scope.qs.read_group_names == {"Okta-Finance", "Okta-Sales"} and scope.qs.complete_group_names == frozenset()
    planned = plan_scope(config(), scope, {})
    assert [r["user_name"] for r in planned.register] == [f"{R}/eve@example.com"]
    assert planned.add_members == {"Okta-Finance": [f"{R}/eve@example.com"], "Okta-Sales": [f"{R}/eve@example.com"]}
    assert planned.create_groups == [] and planned.remove_members == {} and planned.deprovision == []


def test_a_leaver_no_event_named_is_found_by_its_login(servers):
    """Bob is read by id only (a group's member, say): no longer in the app, so his login is asked for."""
    client, quicksight, directory = servers
    scope = read_scope(client, directory, config(), ["00u2"], [], ["00g1", "00g2"])
    assert client.api_calls == {"GET /api/v1/apps/{appId}/users/{userId}": 1, "GET /api/v1/users/{userId}": 1}
    assert BOB in scope.people and BOB in scope.qs.users and ADMIN in scope.qs.users  # the recipient, for the hand-over
    planned = plan_scope(config(), scope, {"allow_deletions": True})
    assert planned.deprovision == [BOB]
    assert planned.remove_members == {"Okta-Finance": [BOB]}
    assert planned.failed == [] and planned.delete_groups == []
