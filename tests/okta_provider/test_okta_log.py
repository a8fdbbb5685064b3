"""The Okta client reads the System Log from a cursor against the local Okta over HTTP:
paging, the cursor from an empty page, continuing from a stored link, filters, a failing
page, a `since` too far back, and a cursor that points at another host."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from okta_provider.auth import SswsAuth
from okta_provider.client import SYSTEM_LOG, OktaClient
from okta_provider.errors import OktaLogCursorError, OktaLogStartError, OktaPermissionError, OktaTransientError

from local_servers.okta_org import numbered_org

TOKEN = "local-test-token"
SOURCE = "Airflow connection 'okta_default'"


def client_for(server, **kw) -> OktaClient:
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("rate_limit_margin_s", 0.05)
    kw.setdefault("timeout", 5.0)
    return OktaClient(server.url, SswsAuth(TOKEN), credentials_source=SOURCE, **kw)


def an_hour_ago() -> datetime:
    return datetime.now(timezone.utc) - timedelta(hours=1)


def log_n(server, n: int, kind: str = "user.account.update_profile", start: int = 0) -> None:
    for i in range(start, start + n):
        server.log.record(kind, [{"id": f"00u{i:05d}", "type": "User", "alternateId": f"u{i}@example.com"}])


def ids(events) -> list[str]:
    return [e["target"][0]["id"] for e in events]


@pytest.mark.parametrize(("n_events", "pages"), [(0, 1), (1, 1), (999, 1), (1000, 2), (2500, 3)])
def test_reads_every_event_one_request_per_page(okta_server, n_events, pages):
    server = okta_server()
    log_n(server, n_events)
    client = client_for(server)
    read = client.read_log(since=an_hour_ago())
    assert ids(read.events) == [f"00u{i:05d}" for i in range(n_events)]
    assert read.pages == pages  # full pages of 1000, then the first page that is not full
    assert client.api_calls == {SYSTEM_LOG: pages} == server.counter.snapshot()
    assert read.next_link.startswith(server.url + "/api/v1/logs?")


def test_an_empty_log_still_gives_a_cursor_that_later_returns_what_was_logged_since(okta_server):
    server = okta_server()
    client = client_for(server)
    first = client.read_log(since=an_hour_ago())
    assert first.events == [] and first.pages == 1 and first.next_link
    log_n(server, 3)
    second = client.read_log(next_link=first.next_link)
    assert ids(second.events) == ["00u00000", "00u00001", "00u00002"]
    third = client.read_log(next_link=second.next_link)  # nothing new: one request, no event, a cursor again
    assert third.events == [] and third.pages == 1 and third.next_link
    log_n(server, 1, start=7)
    assert ids(client.read_log(next_link=second.next_link).events) == ["00u00007"]


def test_continuing_from_a_stored_link_returns_only_newer_events(okta_server):
    server = okta_server(numbered_org(n_users=3, n_groups=1))
    client = client_for(server)
    cursor = client.read_log(since=an_hour_ago()).next_link
    after = numbered_org(n_users=3, n_groups=1)
    after["app_users"] = after["app_users"][1:]
    server.load(after)  # the org changes: Okta logs the unassignment
    read = client_for(server).read_log(next_link=cursor)  # a new client, as the next run has
    assert [e["eventType"] for e in read.events] == ["application.user_membership.remove"]
    assert {t["type"]: t["id"] for t in read.events[0]["target"]}["User"] == "00u00000"
    assert client_for(server).read_log(next_link=read.next_link).events == []


def test_pages_are_yielded_as_they_come(okta_server):
    server = okta_server()
    log_n(server, 1500)
    pages = list(client_for(server).iter_log_pages(since=an_hour_ago()))
    assert [len(p.events) for p in pages] == [1000, 500]
    assert [p.last for p in pages] == [False, True]
    assert pages[0].next_link != pages[1].next_link


def test_a_filter_narrows_the_read_and_stays_in_the_cursor(okta_server):
    server = okta_server()
    for kind in ("group.user_membership.add", "user.session.start", "application.user_membership.add"):
        server.log.record(kind, [{"id": "00u1", "type": "User"}])
    flt = 'eventType eq "group.user_membership.add" or eventType eq "application.user_membership.add"'
    client = client_for(server)
    read = client.read_log(since=an_hour_ago(), filter=flt)
    assert [e["eventType"] for e in read.events] == ["group.user_membership.add", "application.user_membership.add"]
    server.log.record("user.session.start", [{"id": "00u2", "type": "User"}])
    server.log.record("group.user_membership.add", [{"id": "00u3", "type": "User"}])
    assert [e["target"][0]["id"] for e in client.read_log(next_link=read.next_link).events] == ["00u3"]


def test_a_failing_page_raises_never_a_partial_read(okta_server):
    server = okta_server()
    log_n(server, 1500)
    first_page = client_for(server).read_log(since=an_hour_ago())  # find the second page's link
    server.set_faults([{"service": "okta", "endpoint": SYSTEM_LOG, "status": 500, "times": -1}])
    client = client_for(server, max_retries=2)
    with pytest.raises(OktaTransientError, match="kept failing GET /api/v1/logs"):
        client.read_log(since=an_hour_ago())
    assert client.api_calls == {SYSTEM_LOG: 3}  # the request and its two retries
    assert first_page.pages == 2


def test_a_failing_second_page_raises_after_the_first_was_yielded(okta_server):
    server = okta_server()
    log_n(server, 1500)
    client = client_for(server, max_retries=1)
    pages = client.iter_log_pages(since=an_hour_ago())
    assert len(next(pages).events) == 1000
    server.set_faults([{"service": "okta", "endpoint": SYSTEM_LOG, "status": 503, "times": -1}])
    with pytest.raises(OktaTransientError):
        next(pages)


def test_transient_failures_and_rate_limits_are_absorbed(okta_server):
    server = okta_server(
        faults=[{"service": "okta", "endpoint": SYSTEM_LOG, "status": 500, "times": 1},
                {"service": "okta", "endpoint": SYSTEM_LOG, "kind": "reset", "times": 1}],
        limits={"okta_per_minute": {"/api/v1/logs": 2}, "okta_window_s": 1}, window_s=1.0,
    )
    log_n(server, 2)
    client = client_for(server)
    read = client.read_log(since=an_hour_ago())
    assert ids(read.events) == ["00u00000", "00u00001"]
    assert client.api_calls[SYSTEM_LOG] >= 3


def test_a_since_before_retention_gets_what_is_left(okta_server):
    server = okta_server()
    now = time.time()
    server.log.record("old.event", [{"id": "00u1", "type": "User"}], published=now - 95 * 86400)
    server.log.record("kept.event", [{"id": "00u2", "type": "User"}], published=now - 30 * 86400)
    read = client_for(server).read_log(since=datetime.now(timezone.utc) - timedelta(days=100))
    assert [e["eventType"] for e in read.events] == ["kept.event"]  # Okta answers, without the expired events


def test_a_since_over_180_days_back_is_refused_with_okta_words(okta_server):
    server = okta_server()
    with pytest.raises(OktaLogStartError, match="180 days") as caught:
        client_for(server).read_log(since=datetime.now(timezone.utc) - timedelta(days=200))
    assert caught.value.error_code == "E0000053" and caught.value.status == 400


@pytest.mark.parametrize(
    "link",
    ["https://evil.example.com/api/v1/logs?after=x", "http://127.0.0.1:1/api/v1/logs?after=x", "{url}/api/v1/users?after=x", "not a url"],
)
def test_a_cursor_to_another_host_or_path_is_refused_before_any_request(okta_server, link):
    server = okta_server()
    client = client_for(server)
    with pytest.raises(OktaLogCursorError, match="not followed"):
        client.read_log(next_link=link.format(url=server.url))
    assert client.api_calls == {} and server.counter.total() == 0


def test_a_relative_cursor_is_taken_on_the_org(okta_server):
    server = okta_server()
    client = client_for(server)
    cursor = client.read_log(since=an_hour_ago()).next_link
    log_n(server, 1)
    relative = cursor[len(server.url):]
    assert ids(client.read_log(next_link=relative).events) == ["00u00000"]


def test_exactly_one_start_point(okta_server):
    client = client_for(okta_server())
    with pytest.raises(ValueError, match="exactly one"):
        client.read_log()
    with pytest.raises(ValueError, match="exactly one"):
        client.read_log(since=an_hour_ago(), next_link="x")


def test_a_token_without_the_log_scope_is_told_which_scope(okta_server, rsa_key):
    from okta_provider.auth import OAuthServiceAppAuth

    pem, jwk = rsa_key
    section = {**numbered_org(), "oauth_clients": [{"client_id": "0oasvc1", "public_jwk": jwk, "scopes": ["okta.apps.read", "okta.groups.read"]}]}
    server = okta_server(section)
    auth = OAuthServiceAppAuth(client_id="0oasvc1", private_key=pem, key_id="kid-1")
    client = OktaClient(server.url, auth, credentials_source=SOURCE, timeout=5.0)
    with pytest.raises(OktaPermissionError, match="okta.logs.read"):
        client.read_log(since=an_hour_ago())


def test_the_hook_reads_the_log_through_an_airflow_connection(okta_server, airflow_okta_conn):
    from okta_provider.hooks.okta import OktaHook

    server = okta_server()
    log_n(server, 2)
    airflow_okta_conn(server.url)
    hook = OktaHook()
    read = hook.read_log(since=an_hour_ago())
    assert ids(read.events) == ["00u00000", "00u00001"]
    log_n(server, 1, start=5)
    assert [ids(p.events) for p in hook.iter_log_pages(next_link=read.next_link)] == [["00u00005"]]
    assert hook.api_calls == {SYSTEM_LOG: 2} == server.counter.snapshot()
