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


# ------------------------------------------------------------------ many groups: one ListGroups pass

def wide_sections(n_groups: int, n_people: int) -> tuple[dict, dict]:
    """`n_people` new readers, each in every one of `n_groups` app groups; QuickSight holds the managed
    group of each but the last (a group that must be known not to exist), and no identity for them."""
    people = [(f"00up{i}", f"p{i}") for i in range(n_people)]
    okta = {
        "users": [{"id": i, "login": f"{n}@example.com", "email": f"{n}@example.com", "status": "ACTIVE"}
                  for i, n in [("00uadmin", "admin"), *people]],
        "groups": [{"id": f"00gw{j}", "name": f"W{j}", "type": "OKTA_GROUP", "members": [i for i, _ in people]}
                   for j in range(n_groups)],
        "app_users": [{"id": "00uadmin", "saml_roles": ["QuickSightAdmin"]}, *({"id": i, "saml_roles": [R]} for i, _ in people)],
        "app_groups": [f"00gw{j}" for j in range(n_groups)],
    }
    qs = {
        "account_id": ACCOUNT, "identity_region": "us-east-1", "namespace": "default",
        "users": [{"user_name": ADMIN, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"}],
        "groups": [{"name": f"Okta-W{j}", "description": f"okta-sync:00gw{j}", "members": []} for j in range(n_groups - 1)]
        + [{"name": "Hand", "description": "by hand", "members": []}],
        "assets": [],
    }
    return okta, qs


@pytest.fixture
def wide():
    started = []

    def start(n_groups: int, n_people: int):
        okta_section, qs = wide_sections(n_groups, n_people)
        okta, quicksight = OktaServer(okta_section, None, {}, app_id=APP), QuickSightServer(qs)
        okta.start()
        quicksight.start()
        started.extend([okta, quicksight])

        def client_for_region(region):
            return boto3.client(
                "quicksight", region_name=region, endpoint_url=quicksight.url, aws_access_key_id="x",
                aws_secret_access_key="y", config=Config(retries={"max_attempts": 1}),
            )

        client = OktaClient(okta.url, SswsAuth(TOKEN), backoff_base_s=0.01, timeout=5.0)
        directory = QuickSightDirectory(client_for_region, ACCOUNT, "us-east-1", "default")
        return client, quicksight, directory, okta_section["app_groups"]

    yield start
    for server in started:
        server.stop()


def test_people_in_more_groups_than_listgroups_pages_cost_one_listgroups_pass_not_a_describegroup_each(wide):
    """3 joiners in 12 groups: a DescribeGroup per group would be 12 reads; ListGroups' one page is 1.
    Every group they should be in is still known to exist or not (the last one does not)."""
    client, quicksight, directory, app_groups = wide(12, 3)
    people = [f"00up{i}" for i in range(3)]
    scope = read_scope(client, directory, config(), people, [], app_groups,
                       names={f"00up{i}": [f"p{i}@example.com"] for i in range(3)})
    calls = quicksight.counter.snapshot()
    assert "DescribeGroup" not in calls, calls
    assert calls["ListGroups"] == 1
    assert sum(calls.values()) <= 3 * 3 + 1 + 1, calls  # a DescribeUser per role and person, the recipient, the list
    assert scope.qs.read_group_names == {f"Okta-W{j}" for j in range(12)}
    assert set(scope.qs.groups) == {f"Okta-W{j}" for j in range(11)}  # Okta-W11 is known not to exist
    planned = plan_scope(config(), scope, {})
    assert [g["name"] for g in planned.create_groups] == ["Okta-W11"]
    assert planned.add_members[f"Okta-W0"] == [f"{R}/p{i}@example.com" for i in range(3)]
    assert len(planned.register) == 3


def test_a_person_in_fewer_groups_than_listgroups_pages_costs_a_describegroup_each(wide):
    """250 app groups take 3 ListGroups pages: one person in 2 of them is cheaper described."""
    client, quicksight, directory, app_groups = wide(2, 1)
    scope = read_scope(client, directory, config(), ["00up0"], [], [*app_groups, *(f"00gother{j}" for j in range(248))],
                       names={"00up0": ["p0@example.com"]})
    calls = quicksight.counter.snapshot()
    assert calls.get("DescribeGroup") == 2 and "ListGroups" not in calls, calls
    assert scope.qs.read_group_names == {"Okta-W0", "Okta-W1"} and set(scope.qs.groups) == {"Okta-W0"}
