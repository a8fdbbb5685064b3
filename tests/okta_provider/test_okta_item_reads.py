"""The Okta client's one-item reads (what an incremental run re-reads for the users and groups the
System Log touched) against the local Okta over HTTP: the objects, None for "not assigned" or
"no such user/group", the app missing as an error, counts per endpoint template, retries, the
users scope, and the hook passing them through."""

from __future__ import annotations

import pytest

from okta_provider.auth import OAuthServiceAppAuth, SswsAuth
from okta_provider.client import APP_GROUP, APP_USER, GROUP, USER, USER_GROUPS, OktaClient
from okta_provider.errors import (
    OktaAppNotFoundError,
    OktaPermissionError,
    OktaTransientError,
    OktaUserNotFoundError,
)
from okta_provider.hooks.okta import OktaHook

from local_servers.okta_org import numbered_org

APP_ID = "0oaqs1"
TOKEN = "local-test-token"
SOURCE = "Airflow connection 'okta_default'"


def client_for(server, auth=None, **kw) -> OktaClient:
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("timeout", 5.0)
    return OktaClient(server.url, auth or SswsAuth(TOKEN), credentials_source=SOURCE, **kw)


def org() -> dict:
    """Four users (00u00002 and 00u00003 not assigned), three groups (00g00001 not an app group)."""
    section = numbered_org(n_users=4, n_groups=3)
    section["app_users"] = section["app_users"][:2]
    section["app_users"][1]["user_name"] = "app-name-1"
    section["app_groups"] = ["00g00000", "00g00002"]
    section["groups"][1]["members"] = ["00u00003"]
    return section


def test_app_user_with_its_okta_user_or_none_when_not_assigned(okta_server):
    server = okta_server(org())
    client = client_for(server)
    one = client.get_app_user(APP_ID, "00u00001")
    assert one["id"] == "00u00001" and one["credentials"]["userName"] == "app-name-1"
    assert one["_embedded"]["user"]["profile"]["email"] == "user1@example.com"
    assert one == next(u for u in client.iter_app_users(APP_ID) if u["id"] == "00u00001")  # the list's own shape
    assert client.get_app_user(APP_ID, "00u00002") is None  # a user, not assigned
    assert client.get_app_user(APP_ID, "00uGONE") is None  # deleted: Okta answers the same
    assert client.api_calls[APP_USER] == 3 == server.counter.snapshot()[APP_USER]


def test_app_group_with_its_group_or_none_when_not_an_app_group(okta_server):
    server = okta_server(org())
    client = client_for(server)
    group = client.get_app_group(APP_ID, "00g00002")
    assert group["id"] == "00g00002" and group["_embedded"]["group"]["profile"]["name"] == "Group 2"
    assert client.get_app_group(APP_ID, "00g00001") is None
    assert client.get_app_group(APP_ID, "00gGONE") is None
    assert client.api_calls == {APP_GROUP: 3}


def test_a_missing_app_is_an_error_not_an_unassigned_user(okta_server):
    client = client_for(okta_server(org()))
    with pytest.raises(OktaAppNotFoundError, match="0oaNOPE.*okta_app_id"):
        client.get_app_user("0oaNOPE", "00u00001")
    with pytest.raises(OktaAppNotFoundError, match="0oaNOPE"):
        client.get_app_group("0oaNOPE", "00g00000")


def test_user_by_id_or_login_and_group_by_id(okta_server):
    server = okta_server(org())
    client = client_for(server)
    by_login = client.get_user("user3@example.com")
    assert by_login["id"] == "00u00003" and by_login == client.get_user("00u00003")
    assert client.get_user("nobody@example.com") is None
    assert client.get_user("a/b@example.com") is None  # quoted whole: never another path
    assert client.get_group("00g00001")["profile"]["name"] == "Group 1"
    assert client.get_group("00gGONE") is None
    assert client.api_calls == {USER: 4, GROUP: 2} == server.counter.snapshot()


def test_user_groups_one_request_and_a_deleted_user_says_run_again(okta_server):
    server = okta_server(org())
    client = client_for(server)
    assert [g["id"] for g in client.iter_user_groups("00u00003")] == ["00g00000", "00g00001", "00g00002"]
    assert [g["id"] for g in client.iter_user_groups("00u00001")] == ["00g00000", "00g00002"]
    assert client.api_calls == {USER_GROUPS: 2}
    with pytest.raises(OktaUserNotFoundError, match="00uGONE.*Run the sync again"):
        list(client.iter_user_groups("00uGONE"))


def test_item_reads_retry_like_every_read_and_fail_whole(okta_server):
    server = okta_server(org(), faults=[{"service": "okta", "path": f"/api/v1/apps/{APP_ID}/users/00u00001", "status": 503, "times": 2}])
    client = client_for(server, max_retries=3)
    assert client.get_app_user(APP_ID, "00u00001")["id"] == "00u00001"
    assert client.api_calls == {APP_USER: 3}
    server.set_faults([{"service": "okta", "path": "/api/v1/groups/00g00000", "status": 500, "times": -1}])
    with pytest.raises(OktaTransientError, match=r"GET /api/v1/groups/\{groupId\}"):
        client_for(server, max_retries=1).get_group("00g00000")


def test_user_reads_without_the_users_scope_name_it(okta_server, rsa_key):
    pem, jwk = rsa_key
    section = {**org(), "oauth_clients": [{"client_id": "0oasvc1", "public_jwk": jwk, "scopes": ["okta.apps.read", "okta.groups.read"]}]}
    client = client_for(okta_server(section), auth=OAuthServiceAppAuth("0oasvc1", pem, ["okta.apps.read", "okta.groups.read"]))
    assert client.get_app_user(APP_ID, "00u00000")["id"] == "00u00000"  # okta.apps.read is enough here
    with pytest.raises(OktaPermissionError, match="okta.users.read"):
        client.get_user("00u00000")
    with pytest.raises(OktaPermissionError, match="okta.users.read"):
        list(client.iter_user_groups("00u00000"))


def test_hook_passes_the_item_reads_through(okta_server, airflow_okta_conn):
    server = okta_server(org())
    airflow_okta_conn(server.url)
    hook = OktaHook()
    assert hook.get_app_user(APP_ID, "00u00000")["id"] == "00u00000"
    assert hook.get_app_group(APP_ID, "00g00001") is None
    assert hook.get_user("user2@example.com")["id"] == "00u00002"
    assert hook.get_group("00g00002")["id"] == "00g00002"
    assert len(list(hook.iter_user_groups("00u00000"))) == 2
    assert hook.api_calls == {APP_USER: 1, APP_GROUP: 1, USER: 1, GROUP: 1, USER_GROUPS: 1} == server.counter.snapshot()
