"""okta_changes.scope_changes on System Log events: those the local Okta logs when its org is
replaced (read back over HTTP through the real OktaClient), and a few hand-written events in
the shapes Okta's recorded events have."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from local_servers.okta_org import numbered_org
from local_servers.okta_server import OktaServer
from okta_provider.auth import SswsAuth
from okta_provider.client import OktaClient
from okta_quicksight_sync.okta_changes import SYNC_EVENT_TYPES, ChangeScope, log_filter, scope_changes

APP = "0oaqs1"
TOKEN = "local-test-token"
APP_TARGET = {"id": APP, "type": "AppInstance", "alternateId": "AWS Account Federation", "displayName": "AWS Account Federation"}


@pytest.fixture
def okta():
    """(server, client) for an org; the server's log starts empty, each `load` logs the difference."""
    servers = []

    def start(section):
        server = OktaServer(section, None, {}, app_id=APP)
        server.start()
        servers.append(server)
        return server, OktaClient(server.url, SswsAuth(TOKEN), backoff_base_s=0.01, timeout=5.0)

    yield start
    for server in servers:
        server.stop()


def read_events(client, **kw) -> list[dict]:
    return client.read_log(since=datetime.now(timezone.utc) - timedelta(hours=1), **kw).events


def org() -> dict:
    """Users 0-6 in the app; groups 0-2 app groups, group 3 not; group 0 holds users 0-3."""
    section = numbered_org(n_users=8, n_groups=4, members_per_group=4)
    section["app_users"] = section["app_users"][:7]
    section["app_groups"] = ["00g00000", "00g00001", "00g00002"]
    return section


def changed(section: dict) -> dict:
    after = json.loads(json.dumps(section))
    after["app_users"] = [a for a in after["app_users"] if a["id"] != "00u00000"]  # unassigned
    next(a for a in after["app_users"] if a["id"] == "00u00001")["saml_roles"] = ["QuickSightAuthor"]
    after["users"][2]["status"] = "SUSPENDED"
    after["users"][3]["email"] = "new3@example.com"
    after["groups"][0]["name"] = "Group 0 renamed"
    after["groups"][1]["members"].append("00u00004")
    after["groups"][3]["members"].append("00u00005")  # group 3 is not an app group
    after["app_groups"] = ["00g00000", "00g00001", "00g00004"]  # 2 removed, a new group 4 assigned
    after["groups"].append({"id": "00g00004", "name": "Group 4", "members": ["00u00006"]})
    return after


def test_what_the_local_okta_logs_for_a_changed_org_is_scoped(okta):
    before = org()
    server, client = okta(before)
    server.load(changed(before))
    events = read_events(client)
    scope = scope_changes(events, APP, app_group_ids={"00g00000", "00g00001", "00g00002"})
    assert scope.fallback_reason is None
    # 00u00006 joined group 4 as it was created, and group 4 was assigned to the app in the same events
    assert scope.user_ids == {"00u00000", "00u00001", "00u00002", "00u00003", "00u00004", "00u00006"}
    assert scope.group_ids == {"00g00000", "00g00002", "00g00004"}  # renamed, unassigned, assigned
    assert scope.membership_group_ids == {"00g00001"}  # 00u00004 joined it: only 00u00004 is re-read
    assert scope.assignment_group_ids == {"00g00002", "00g00004"} and scope.app_groups_changed
    assert scope.names["00u00000"] == {"user0@example.com"}  # login and app username, as the events name them
    assert scope.names["00u00003"] == {"user3@example.com"}
    assert "00u00005" not in scope.user_ids
    assert scope.ignored == {"not an app group": 1, "not sync relevant": 1}  # the second: group 4 created
    assert scope.events_read == len(events) and scope.events_counted == len(events) - 2
    assert not scope.nothing_changed


def test_without_the_known_app_groups_every_group_touched_is_reread(okta):
    before = org()
    server, client = okta(before)
    server.load(changed(before))
    scope = scope_changes(read_events(client), APP)
    assert "00g00003" in scope.membership_group_ids and "00u00005" in scope.user_ids


def test_nothing_changed_scopes_nothing(okta):
    before = org()
    server, client = okta(before)
    server.load(before)
    events = read_events(client)
    scope = scope_changes(events, APP)
    assert events == [] and scope.nothing_changed and scope == ChangeScope()


def test_a_username_change_without_the_old_name_falls_back_to_full(okta):
    before = org()
    server, client = okta(before)
    after = json.loads(json.dumps(before))
    after["app_users"][1]["user_name"] = "renamed@example.com"
    server.load(after)
    scope = scope_changes(read_events(client), APP)
    assert scope.user_ids == {"00u00001"}
    assert "00u00001" in scope.fallback_reason and "renamed@example.com" in scope.fallback_reason
    assert "old name" in scope.fallback_reason


def test_a_username_change_whose_old_name_an_event_gives_is_scoped():
    app_user = {"id": "0ua1", "type": "AppUser", "alternateId": "old@example.com", "displayName": "A B"}
    user = {"id": "00u1", "type": "User", "alternateId": "a@example.com", "displayName": "A B"}
    renamed = {**app_user, "alternateId": "new@example.com"}
    earlier = event("application.user_membership.update", [app_user, APP_TARGET, user])
    change = event("application.user_membership.change_username", [renamed, APP_TARGET, user])
    scope = scope_changes([earlier, change], APP)
    assert scope.fallback_reason is None
    assert scope.names["00u1"] == {"old@example.com", "new@example.com", "a@example.com"}
    with_details = {**renamed, "changeDetails": {"from": {"userName": "older@example.com"}, "to": {"userName": "new@example.com"}}}
    scope = scope_changes([event("application.user_membership.change_username", [with_details, APP_TARGET, user])], APP)
    assert scope.fallback_reason is None and "older@example.com" in scope.names["00u1"]
    assert scope_changes([change], APP).fallback_reason  # the same event alone: the old name is unknown


def test_only_the_listed_event_types_come_through_the_filter(okta):
    before = org()
    server, client = okta(before)
    server.log.record("user.session.start", [{"id": "00u00001", "type": "User", "alternateId": "user1@example.com"}])
    server.load(changed(before))
    events = read_events(client, filter=log_filter())
    assert events and {e["eventType"] for e in events} <= SYNC_EVENT_TYPES
    assert "user.session.start" not in {e["eventType"] for e in events}


# -- hand-written events in recorded shapes ------------------------------------------------------


def event(kind, targets, outcome="SUCCESS", **extra) -> dict:
    """A LogEvent as Okta serves it (fields real events carry, some null)."""
    return {
        "uuid": f"uuid-{kind}-{len(targets)}",
        "published": "2026-12-01T10:00:00.000Z",
        "eventType": kind,
        "version": "0",
        "severity": "INFO",
        "legacyEventType": None,
        "displayMessage": kind,
        "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin", "detailEntry": None},
        "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0"}, "zone": "null", "ipAddress": "192.0.2.1"},
        "outcome": {"result": outcome, "reason": None},
        "target": targets,
        "transaction": {"type": "WEB", "id": "Wn4f-0RQ8D8lTSLkAmkKdQAADqo", "detail": {}},
        "debugContext": {"debugData": {"requestUri": "/api/v1/apps/0oaqs1/users"}},
        **extra,
    }


ALICE = {"id": "00ualice", "type": "User", "alternateId": "alice@example.com", "displayName": "Alice Example", "detailEntry": None}
ALICE_APP = {"id": "0uaalice", "type": "AppUser", "alternateId": "alice@example.com", "displayName": "Alice Example", "detailEntry": None}
FINANCE = {"id": "00gfin", "type": "UserGroup", "alternateId": "unknown", "displayName": "Finance", "detailEntry": None}


def test_recorded_app_assignment_and_group_membership_shapes():
    scope = scope_changes(
        [
            event("application.user_membership.add", [ALICE_APP, {**APP_TARGET, "detailEntry": {"signOnModeType": "SAML_2_0"}}, ALICE]),
            event("group.user_membership.add", [ALICE, FINANCE]),
        ],
        APP,
    )
    assert scope.user_ids == {"00ualice"} and scope.membership_group_ids == {"00gfin"} and scope.group_ids == set()
    assert scope.events_counted == 2 and scope.fallback_reason is None and not scope.app_groups_changed


def test_failed_events_and_other_apps_change_nothing():
    other_app = {**APP_TARGET, "id": "0oaother"}
    scope = scope_changes(
        [
            event("application.user_membership.remove", [ALICE_APP, APP_TARGET, ALICE], outcome="FAILURE"),
            event("application.user_membership.add", [ALICE_APP, other_app, ALICE]),
            event("group.application_assignment.add", [other_app, FINANCE]),
            event("user.session.start", [ALICE]),
            event("user.authentication.sso", [ALICE, APP_TARGET]),
        ],
        APP,
    )
    assert scope.nothing_changed and scope.events_read == 5 and scope.events_counted == 0
    assert scope.ignored == {"not done (outcome FAILURE)": 1, "another app": 2, "not sync relevant": 2}


def test_an_unknown_event_type_touching_a_user_or_group_is_reread():
    kinds = [event("user.import.something_new", [ALICE]), event("group.something_new", [FINANCE])]
    scope = scope_changes(kinds, APP)
    assert scope.user_ids == {"00ualice"} and scope.group_ids == {"00gfin"} and scope.fallback_reason is None
    limited = scope_changes(kinds, APP, known_user_ids={"00ubob"}, app_group_ids={"00gother"})
    assert limited.nothing_changed and limited.ignored == {"touches no known user or group": 2}


def test_an_app_level_change_falls_back_to_full():
    scope = scope_changes([event("application.lifecycle.update", [APP_TARGET])], APP)
    assert "application.lifecycle.update" in scope.fallback_reason and "app itself" in scope.fallback_reason
    assert scope_changes([event("application.lifecycle.update", [{**APP_TARGET, "id": "0oaother"}])], APP).fallback_reason is None


def test_a_known_event_without_the_target_it_needs_falls_back():
    scope = scope_changes([event("group.user_membership.add", [ALICE])], APP)
    assert "group.user_membership.add" in scope.fallback_reason and "UserGroup" in scope.fallback_reason


def test_more_events_than_the_bound_falls_back():
    events = [event("user.lifecycle.suspend", [{**ALICE, "id": f"00u{i}"}]) for i in range(3)]
    assert scope_changes(events, APP, max_events=3).fallback_reason is None
    scope = scope_changes(events, APP, max_events=2)
    assert "3 System Log events" in scope.fallback_reason and "bound of 2" in scope.fallback_reason
    assert scope.user_ids == {"00u0", "00u1", "00u2"}  # still said, for the report


def test_a_group_assigned_in_the_same_events_counts_as_an_app_group():
    scope = scope_changes(
        [event("group.user_membership.add", [ALICE, FINANCE]), event("group.application_assignment.add", [APP_TARGET, FINANCE])],
        APP,
        app_group_ids=set(),
    )
    assert scope.user_ids == {"00ualice"} and scope.group_ids == {"00gfin"} and scope.assignment_group_ids == {"00gfin"}
    assert scope.membership_group_ids == set()  # the whole group is re-read anyway


def test_the_scope_is_plain_json():
    scope = scope_changes([event("application.user_membership.add", [ALICE_APP, APP_TARGET, ALICE])], APP)
    data = json.loads(json.dumps(scope.to_dict()))
    assert data["user_ids"] == ["00ualice"] and data["names"] == {"00ualice": ["alice@example.com"]}
    assert data["fallback_reason"] is None and data["events_read"] == 1
