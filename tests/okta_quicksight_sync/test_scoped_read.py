"""scoped_read against the local Okta and QuickSight over HTTP through the real clients: the
scoped snapshots hold what the full read holds for the items asked about, say what they are
complete for, and one changed person costs at most 5 Okta calls (the log read included) and
10 QuickSight reads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from tests.okta_quicksight_sync.sync_builders import ADMIN, config

from local_servers.okta_org import numbered_org
from local_servers.okta_server import OktaServer
from local_servers.quicksight_server import QuickSightServer
from okta_provider.auth import SswsAuth
from okta_provider.client import OktaClient
from okta_quicksight_sync.model import OktaSnapshot
from okta_quicksight_sync.okta_changes import scope_changes
from okta_quicksight_sync.okta_reader import read_okta
from okta_quicksight_sync.quicksight_directory import QuickSightDirectory
from okta_quicksight_sync.quicksight_reader import read_quicksight
from okta_quicksight_sync.scoped_read import (
    ScopedOktaSnapshot,
    ScopedQsSnapshot,
    ScopeTooLargeError,
    candidate_user_names,
    read_okta_scope,
    read_quicksight_scope,
    resolve_user_ids,
)

APP = "0oaqs1"
TOKEN = "local-test-token"
ACCOUNT = "111122223333"


@pytest.fixture
def okta():
    servers = []

    def start(section):
        server = OktaServer(section, None, {}, app_id=APP)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def client_for(server) -> OktaClient:
    return OktaClient(server.url, SswsAuth(TOKEN), backoff_base_s=0.01, timeout=5.0)


def org() -> dict:
    """12 users, 1-10 in the app (11 is not, 0 only through group 0's assignment... as a member);
    groups 0-3 app groups (3 BUILT_IN), group 4 not; members overlap."""
    section = numbered_org(n_users=12, n_groups=5, members_per_group=6)
    section["app_users"] = section["app_users"][1:11]
    section["app_users"][1]["user_name"] = "app-name-2"
    section["app_groups"] = ["00g00000", "00g00001", "00g00002", "00g00003"]
    section["groups"][1]["members"] = ["00u00002", "00u00007", "00u00011"]
    section["groups"][2]["members"] = ["00u00003", "00u00009"]
    section["groups"][3].update(name="Everyone", type="BUILT_IN", members=[f"00u{i:05d}" for i in range(12)])
    return section


def full_read(server) -> OktaSnapshot:
    return read_okta(client_for(server), APP, wants_members=config().wants_group_members)


def assert_agrees_with_full(scoped: ScopedOktaSnapshot, full: OktaSnapshot) -> None:
    """Every fact the scoped snapshot claims is the full read's."""
    for uid in scoped.read_user_ids:
        assert scoped.users.get(uid) == full.users.get(uid), uid
    for uid in scoped.users:
        in_full = {gid for gid, g in full.groups.items() if uid in g.member_ids}
        in_scoped = {gid for gid, g in scoped.groups.items() if uid in g.member_ids}
        assert in_scoped == in_full, uid
    for gid in scoped.read_group_ids:
        assert (gid in scoped.groups) == (gid in full.groups), gid
    for gid in scoped.complete_group_ids:
        assert scoped.groups[gid] == full.groups[gid], gid
    for gid, group in scoped.groups.items():
        assert (group.name, group.type) == (full.groups[gid].name, full.groups[gid].type)
        assert set(group.member_ids) <= set(full.groups[gid].member_ids)


def test_one_changed_person_costs_at_most_5_okta_calls_with_the_log(okta):
    before = org()
    server = okta(before)
    after = json.loads(json.dumps(before))
    after["app_users"][1]["saml_roles"] = ["QuickSightAuthor"]  # 00u00002
    server.load(after)
    client = client_for(server)
    events = client.read_log(since=datetime.now(timezone.utc) - timedelta(hours=1)).events
    scope = scope_changes(events, APP, app_group_ids=before["app_groups"])
    assert scope.user_ids == {"00u00002"} and not scope.group_ids
    snap = read_okta_scope(client, APP, scope.user_ids, scope.group_ids, before["app_groups"], wants_members=config().wants_group_members)
    assert sum(client.api_calls.values()) <= 5
    assert client.api_calls == {"GET /api/v1/logs": 1, "GET /api/v1/apps/{appId}/users/{userId}": 1, "GET /api/v1/users/{userId}/groups": 1}
    assert set(snap.users) == {"00u00002"} and snap.users["00u00002"].saml_roles == ("QuickSightAuthor",)
    assert snap.users["00u00002"].user_name == "app-name-2"
    assert snap.groups["00g00000"].member_ids == ("00u00002",) and snap.groups["00g00001"].member_ids == ("00u00002",)
    assert snap.groups["00g00003"].member_ids == ()  # BUILT_IN: members not wanted, as in the full read
    assert "00g00004" not in snap.groups and snap.complete_group_ids == set()
    assert_agrees_with_full(snap, full_read(server))


def test_a_user_no_longer_in_the_app_is_read_but_absent(okta):
    server = okta(org())
    client = client_for(server)
    snap = read_okta_scope(client, APP, ["00u00011", "00u00000", "00uGONE"], [], org()["app_groups"])
    assert snap.users == {} and snap.read_user_ids == {"00u00011", "00u00000", "00uGONE"}
    assert all(not g.member_ids for g in snap.groups.values())
    assert client.api_calls == {"GET /api/v1/apps/{appId}/users/{userId}": 3}  # no group read for them


def test_a_group_read_whole_holds_every_member_that_is_an_app_user(okta):
    server = okta(org())
    client = client_for(server)
    snap = read_okta_scope(client, APP, [], ["00g00001", "00g00004"], org()["app_groups"], wants_members=config().wants_group_members)
    assert snap.complete_group_ids == {"00g00001"} and snap.read_group_ids == {"00g00001", "00g00004"}
    assert snap.groups["00g00001"].member_ids == ("00u00002", "00u00007")  # 00u00011 is no app user
    assert "00g00004" not in snap.groups and "00g00004" not in snap.app_group_ids  # not an app group
    # group 4's members are read too (it could have just left the app); those in the app are users
    assert set(snap.users) == {"00u00001", "00u00002", "00u00003", "00u00004", "00u00005", "00u00007"}
    assert {"00u00000", "00u00011"} <= snap.read_user_ids
    assert_agrees_with_full(snap, full_read(server))


def test_an_unassigned_group_is_looked_at_and_absent_and_its_members_reread(okta):
    before = org()
    server = okta(before)
    after = json.loads(json.dumps(before))
    after["app_groups"].remove("00g00002")
    after["app_users"] = [a for a in after["app_users"] if a["id"] != "00u00009"]  # assigned through that group
    server.load(after)
    client = client_for(server)
    events = client.read_log(since=datetime.now(timezone.utc) - timedelta(hours=1)).events
    scope = scope_changes(events, APP, app_group_ids=before["app_groups"])
    assert scope.group_ids == {"00g00002"} == scope.assignment_group_ids
    snap = read_okta_scope(client, APP, [], scope.group_ids, before["app_groups"], wants_members=config().wants_group_members)
    assert "00g00002" in snap.read_group_ids and "00g00002" not in snap.groups and "00g00002" not in snap.app_group_ids
    assert snap.read_user_ids == {"00u00003", "00u00009"}  # its members, re-read: 00u00009 left the app with it
    assert set(snap.users) == {"00u00003"}
    assert client.api_calls["GET /api/v1/apps/{appId}/groups/{groupId}"] == 1 and client.api_calls["GET /api/v1/groups/{groupId}"] == 1
    assert_agrees_with_full(snap, full_read(server))
    gone = read_okta_scope(client, APP, [], ["00gGONE"], before["app_groups"])  # deleted: nothing to list
    assert gone.read_group_ids == {"00gGONE"} and gone.read_user_ids == set() and gone.groups == {}


def test_a_group_over_the_member_limit_is_refused(okta):
    server = okta(org())
    with pytest.raises(ScopeTooLargeError, match=r"Group 0.*more than 5 members.*full run"):
        read_okta_scope(client_for(server), APP, [], ["00g00000"], org()["app_groups"], member_limit=5)


def test_the_scoped_okta_snapshot_travels_as_json(okta):
    server = okta(org())
    snap = read_okta_scope(client_for(server), APP, ["00u00003"], ["00g00002"], org()["app_groups"])
    again = ScopedOktaSnapshot.from_dict(json.loads(json.dumps(snap.to_dict())))
    assert again == snap and isinstance(again, OktaSnapshot)


def test_an_on_demand_run_resolves_logins_and_ids(okta):
    server = okta(org())
    client = client_for(server)
    found = resolve_user_ids(client, ["user3@example.com", "00u00004", "USER3@example.com", "nobody@example.com", " "])
    assert found == {"user3@example.com": "00u00003", "00u00004": "00u00004", "USER3@example.com": "00u00003",
                     "nobody@example.com": None}
    assert client.api_calls == {"GET /api/v1/users/{userId}": 4}


def test_candidate_names_cover_every_role_and_name():
    assert candidate_user_names(config(), ["a@x.io", "old@x.io", "", "Ann Lee", "x" * 65]) == {
        f"{role}/{name}" for role in ("QuickSightAdmin", "QuickSightAuthor", "QuickSightReader") for name in ("a@x.io", "old@x.io")
    }


# ------------------------------------------------------------------ QuickSight

R, A = "QuickSightReader", "QuickSightAuthor"


def qs_section() -> dict:
    alice, alice_old, bob = f"{R}/alice@example.com", f"{R}/alice-old@example.com", f"{R}/bob@example.com"
    users = [ADMIN, alice, alice_old, bob, f"{A}/alice@example.com"]
    return {
        "account_id": ACCOUNT, "identity_region": "us-east-1", "namespace": "default",
        "users": [{"user_name": u, "email": u.split("/")[1], "role": "ADMIN" if u == ADMIN else "READER", "identity_type": "IAM"} for u in users],
        "groups": [
            {"name": "Okta-Fin", "description": "okta-sync:00gfin", "members": [alice, bob]},
            {"name": "Okta-Old-Name", "description": "okta-sync:00gren", "members": [alice_old, bob]},
            {"name": "Legacy", "description": "Okta", "members": [bob]},
            {"name": "Hand", "description": "by hand", "members": [alice, bob]},
        ],
        "assets": [],
    }


@pytest.fixture
def quicksight():
    server = QuickSightServer(qs_section())
    server.start()

    def client_for_region(region):
        return boto3.client(
            "quicksight", region_name=region, endpoint_url=server.url, aws_access_key_id="x",
            aws_secret_access_key="y", config=Config(retries={"max_attempts": 1}),
        )

    yield server, QuickSightDirectory(client_for_region, ACCOUNT, "us-east-1", "default")
    server.stop()


def test_one_changed_person_costs_at_most_10_quicksight_reads(quicksight):
    """A renamed reader in three groups, one of them read whole: 2 + 2 + 3 + 1 reads."""
    server, directory = quicksight
    candidates = [f"{R}/alice@example.com", f"{R}/alice-old@example.com"]
    snap = read_quicksight_scope(directory, config(), candidates, ["Okta-Fin"])
    calls = server.counter.snapshot()
    assert sum(calls.values()) <= 10
    assert calls == {"DescribeUser": 2, "ListUserGroups": 2, "DescribeGroup": 3, "ListGroupMemberships": 1}
    assert set(snap.users) == set(candidates)
    assert snap.user_groups == {f"{R}/alice@example.com": ("Okta-Fin", "Hand"), f"{R}/alice-old@example.com": ("Okta-Old-Name",)}
    assert snap.groups["Okta-Fin"].members == (f"{R}/alice@example.com", f"{R}/bob@example.com")  # complete: bob too
    assert snap.groups["Okta-Old-Name"].members == (f"{R}/alice-old@example.com",)  # only the read users
    assert snap.groups["Hand"].members is None  # not managed: not read, as in the full read
    assert snap.complete_group_names == {"Okta-Fin"} and "Legacy" not in snap.groups


def test_a_candidate_that_does_not_exist_costs_one_read(quicksight):
    server, directory = quicksight
    snap = read_quicksight_scope(directory, config(), [f"{A}/alice-old@example.com", f"{A}/alice@example.com"], [])
    assert snap.read_user_names == {f"{A}/alice-old@example.com", f"{A}/alice@example.com"}
    assert set(snap.users) == {f"{A}/alice@example.com"} and snap.user_groups == {f"{A}/alice@example.com": ()}
    assert server.counter.snapshot() == {"DescribeUser": 2, "ListUserGroups": 1}


def test_facts_agree_with_the_full_read(quicksight):
    server, directory = quicksight
    full = read_quicksight(directory, config())
    snap = read_quicksight_scope(directory, config(), [f"{R}/bob@example.com", f"{R}/nobody@example.com"], ["Legacy", "Hand", "Missing"])
    for name in snap.read_user_names:
        assert snap.users.get(name) == full.users.get(name)
    for name in snap.read_group_names:
        assert (name in snap.groups) == (name in full.groups)
    for name in snap.complete_group_names:
        assert snap.groups[name] == full.groups[name]
    for name, group in snap.groups.items():
        assert group.description == full.groups[name].description
        if group.members is not None:
            assert set(group.members) <= set(full.groups[name].members)
    assert snap.complete_group_names == {"Legacy"} and snap.groups["Hand"].members is None
    assert set(snap.user_groups[f"{R}/bob@example.com"]) == {"Okta-Fin", "Okta-Old-Name", "Legacy", "Hand"}


def test_a_renamed_groups_old_quicksight_group_is_found_by_its_marker(quicksight):
    server, directory = quicksight
    snap = read_quicksight_scope(directory, config(), [], ["Okta-New-Name"], marked_for={"00gren"})
    assert snap.groups["Okta-Old-Name"].members == (f"{R}/alice-old@example.com", f"{R}/bob@example.com")
    assert snap.complete_group_names == {"Okta-Old-Name"} and "Okta-New-Name" not in snap.groups
    calls = server.counter.snapshot()
    assert calls == {"ListGroups": 1, "ListGroupMemberships": 1}  # descriptions came with the list


def test_the_scoped_quicksight_snapshot_travels_as_json(quicksight):
    _, directory = quicksight
    snap = read_quicksight_scope(directory, config(), [f"{R}/alice@example.com"], ["Okta-Fin"])
    again = ScopedQsSnapshot.from_dict(json.loads(json.dumps(snap.to_dict())))
    assert again == snap
