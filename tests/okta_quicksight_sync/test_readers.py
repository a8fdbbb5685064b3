"""The two readers: Okta through the real OktaClient and QuickSight through the real
QuickSightDirectory, each against its local server over HTTP on 127.0.0.1."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from tests.okta_quicksight_sync.sync_builders import ADMIN, config

from local_servers.okta_server import OktaServer
from local_servers.quicksight_server import QuickSightServer
from okta_provider.client import OktaClient
from okta_provider.auth import SswsAuth
from okta_quicksight_sync.okta_reader import OktaDataError, read_okta
from okta_quicksight_sync.quicksight_directory import QuickSightDirectory
from okta_quicksight_sync.quicksight_reader import read_quicksight

APP = "0oaqs1"
TOKEN = "local-test-token"


def okta_section(n_users=7):
    users = [{"id": f"00u{i}", "status": "ACTIVE", "login": f"u{i}@example.com", "email": f"u{i}@example.com",
              "first_name": "U", "last_name": str(i)} for i in range(n_users)]
    users.append({"id": "00uX", "status": "SUSPENDED", "login": "x@example.com", "email": "x@example.com",
                  "first_name": "X", "last_name": "X"})
    users.append({"id": "00uOut", "status": "ACTIVE", "login": "out@example.com", "email": "out@example.com",
                  "first_name": "O", "last_name": "O"})  # in a group, not in the app
    return {
        "api_token": TOKEN,
        "users": users,
        "groups": [
            {"id": "00g1", "name": "Finance", "type": "OKTA_GROUP", "members": ["00u0", "00u1", "00uOut"]},
            {"id": "00g2", "name": "Everyone", "type": "BUILT_IN", "members": [u["id"] for u in users]},
            {"id": "00g3", "name": "Not assigned", "type": "OKTA_GROUP", "members": ["00u0"]},
        ],
        "app_users": [{"id": f"00u{i}", "scope": "USER", "saml_roles": ["QuickSightReader"] if i % 2 else
                       ["QuickSightReader", "QuickSightAuthor"]} for i in range(n_users)]
        + [{"id": "00uX", "scope": "GROUP", "user_name": "x-app-name", "saml_roles": []}],
        "app_groups": ["00g1", "00g2"],
    }


@pytest.fixture
def okta():
    servers = []

    def start(section, faults=None):
        server = OktaServer(section, faults, {}, app_id=APP)
        server.start()
        servers.append(server)
        client = OktaClient(server.url, SswsAuth(TOKEN), max_retries=2, backoff_base_s=0.01, backoff_max_s=0.02,
                            page_sizes={"GET /api/v1/apps/{appId}/users": 3})
        return server, client

    yield start
    for server in servers:
        server.stop()


def test_okta_snapshot_holds_app_users_app_groups_and_their_app_user_members(okta):
    server, client = okta(okta_section())
    snap = read_okta(client, APP)
    assert set(snap.users) == {f"00u{i}" for i in range(7)} | {"00uX"}
    u0, x = snap.users["00u0"], snap.users["00uX"]
    assert (u0.status, u0.user_name, u0.email, u0.saml_roles) == (
        "ACTIVE", "u0@example.com", "u0@example.com", ("QuickSightReader", "QuickSightAuthor"))
    assert (x.status, x.user_name, x.saml_roles, x.scope) == ("SUSPENDED", "x-app-name", (), "GROUP")
    assert set(snap.groups) == {"00g1", "00g2"}
    assert snap.groups["00g1"].member_ids == ("00u0", "00u1")  # 00uOut is no app user
    assert snap.groups["00g2"].type == "BUILT_IN" and len(snap.groups["00g2"].member_ids) == 8
    calls = server.counter.snapshot()
    assert calls["GET /api/v1/apps/{appId}/users"] == 3  # 8 app users, pages of 3: one request per page
    assert calls["GET /api/v1/apps/{appId}/groups"] == 1
    assert calls["GET /api/v1/groups/{groupId}/users"] == 2


def test_okta_members_of_builtin_groups_are_skipped_when_not_needed(okta):
    server, client = okta(okta_section())
    snap = read_okta(client, APP, wants_members=config().wants_group_members)
    assert snap.groups["00g2"].member_ids == () and snap.groups["00g1"].member_ids == ("00u0", "00u1")
    assert server.counter.snapshot()["GET /api/v1/groups/{groupId}/users"] == 1


def test_a_failed_okta_page_fails_the_read(okta):
    _, client = okta(okta_section(), faults=[{"service": "okta", "path": "/api/v1/groups/00g1/users", "status": 500, "times": -1}])
    with pytest.raises(Exception) as err:
        read_okta(client, APP)
    assert "00g1" in str(err.value) or "500" in str(err.value)


class RawOkta:
    """Okta's raw shapes with null and missing optional fields, as real orgs send them."""

    def __init__(self, app_users, app_groups, members):
        self.app_users, self.app_groups, self.members = app_users, app_groups, members

    def iter_app_users(self, app_id):
        yield from self.app_users

    def iter_app_groups(self, app_id):
        yield from self.app_groups

    def iter_group_members(self, group_id):
        yield from self.members[group_id]


def test_okta_reader_tolerates_null_and_missing_optional_fields():
    raw = RawOkta(
        [
            {"id": "u1", "scope": None, "credentials": None, "profile": None,
             "_embedded": {"user": {"id": "u1", "status": "ACTIVE", "profile": {"email": None}}}},
            {"id": "u2", "profile": {"samlRoles": "QuickSightReader"}, "credentials": {"userName": "b@x.io"},
             "_embedded": {"user": {"id": "u2", "status": "STAGED"}}},
        ],
        [{"id": "g1", "_embedded": {"group": {"id": "g1", "profile": {"name": "Fin", "description": None}}}}],
        {"g1": [{"id": "u2", "profile": None}, {"id": "zz"}]},
    )
    snap = read_okta(raw, "app")
    assert snap.users["u1"].email is None and snap.users["u1"].user_name == "" and snap.users["u1"].scope == "USER"
    assert snap.users["u2"].saml_roles == ("QuickSightReader",) and snap.users["u2"].user_name == "b@x.io"
    assert snap.groups["g1"].type == "OKTA_GROUP" and snap.groups["g1"].member_ids == ("u2",)


def test_okta_reader_refuses_app_users_without_the_embedded_user():
    raw = RawOkta([{"id": "u1", "credentials": {"userName": "a"}}], [], {})
    with pytest.raises(OktaDataError, match="expand=user"):
        read_okta(raw, "app")


# ------------------------------------------------------------------ QuickSight
def test_quicksight_reader_reads_members_of_managed_groups_only():
    members = ["QuickSightReader/a@example.com", "QuickSightReader/b@example.com"]
    section = {
        "account_id": "111122223333", "identity_region": "us-east-1", "namespace": "default",
        "users": [{"user_name": ADMIN, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"}]
        + [{"user_name": m, "email": "a@example.com", "role": "READER", "identity_type": "IAM"} for m in members],
        "groups": [
            {"name": "Okta-Fin", "description": "okta-sync:00g1", "members": members},
            {"name": "Legacy", "description": "Okta", "members": members[:1]},
            {"name": "Hand", "description": "by hand", "members": members},
        ],
        "assets": [],
    }
    with QuickSightServer(section) as server:
        def client_for_region(region):
            return boto3.client(
                "quicksight", region_name=region, endpoint_url=server.url, aws_access_key_id="x",
                aws_secret_access_key="y", config=Config(retries={"max_attempts": 1}),
            )

        directory = QuickSightDirectory(client_for_region, "111122223333", "us-east-1", "default")
        snap = read_quicksight(directory, config())
        calls = server.counter.snapshot()
    assert set(snap.users) == {ADMIN, *members}
    assert snap.groups["Okta-Fin"].members == tuple(members)
    assert snap.groups["Legacy"].members == (members[0],)
    assert snap.groups["Hand"].members is None
    assert calls["ListGroupMemberships"] == 2
