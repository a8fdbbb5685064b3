"""The Okta client against the local Okta over real HTTP: paging, pacing,
retries, errors a person can act on, SSWS and OAuth (with and without DPoP)."""

from __future__ import annotations

import logging
import math
import time

import pytest

from okta_provider.auth import OAuthServiceAppAuth, SswsAuth
from okta_provider.client import APP_GROUPS, APP_USERS, GROUP_MEMBERS, OktaClient, normalize_org_url
from okta_provider.errors import (
    OktaAppNotFoundError,
    OktaAuthError,
    OktaConfigError,
    OktaGroupNotFoundError,
    OktaPermissionError,
    OktaTransientError,
)

from local_servers.okta_org import numbered_org as make_org

APP_ID = "0oaqs1"  # conftest's okta_server starts every org with this app id
TOKEN = "local-test-token"
SCOPES = ["okta.apps.read", "okta.groups.read"]

SOURCE = "Airflow connection 'okta_default'"


def client_for(server, auth=None, **kw) -> OktaClient:
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("rate_limit_margin_s", 0.05)
    kw.setdefault("timeout", 5.0)
    return OktaClient(server.url, auth or SswsAuth(TOKEN), credentials_source=SOURCE, **kw)


# -- paging ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_users", "expected_requests"),
    [(0, 1), (1, 1), (499, 1), (500, 2), (501, 2), (1234, 3)],
)
def test_app_users_take_ceil_n_over_500_requests(okta_server, n_users, expected_requests):
    server = okta_server(make_org(n_users=n_users, n_groups=0))
    client = client_for(server)
    users = list(client.iter_app_users(APP_ID))
    assert [u["id"] for u in users] == [f"00u{i:05d}" for i in range(n_users)]
    # ceil(N/P), plus the empty last page Okta serves when P divides N (N = 0 included)
    assert expected_requests == (math.ceil(n_users / 500) if n_users % 500 else n_users // 500 + 1)
    assert server.counter.snapshot() == {APP_USERS: expected_requests}
    assert client.api_calls == {APP_USERS: expected_requests}


def test_app_users_embed_the_okta_user(okta_server):
    server = okta_server(make_org(n_users=2, n_groups=0))
    user = next(iter(client_for(server).iter_app_users(APP_ID)))
    assert user["credentials"]["userName"] == "user0@example.com"
    assert user["profile"]["samlRoles"] == ["QuickSightReader"]
    assert user["_embedded"]["user"]["status"] == "ACTIVE"
    assert user["_embedded"]["user"]["profile"]["email"] == "user0@example.com"


def test_app_groups_and_members_page_at_their_own_maxima(okta_server):
    server = okta_server(make_org(n_users=2300, n_groups=401, members_per_group=2300))
    client = client_for(server)
    groups = list(client.iter_app_groups(APP_ID))
    assert len(groups) == 401 and groups[0]["_embedded"]["group"]["profile"]["name"] == "Group 0"
    members = list(client.iter_group_members("00g00007"))
    assert len(members) == 2300
    assert server.counter.snapshot() == {APP_GROUPS: math.ceil(401 / 200), GROUP_MEMBERS: math.ceil(2300 / 1000)}


def test_limit_above_the_maximum_is_clamped_by_the_server(okta_server):
    server = okta_server(make_org(n_users=1100, n_groups=0))
    client = client_for(server, page_sizes={APP_USERS: 5000})
    assert len(list(client.iter_app_users(APP_ID))) == 1100
    assert server.counter.snapshot() == {APP_USERS: math.ceil(1100 / 500)}  # not one page of 5000


def test_a_next_link_to_another_host_is_refused(okta_server):
    server = okta_server(make_org(n_users=3, n_groups=0))
    client = client_for(server)
    # a token must never follow a header to another host
    with pytest.raises(Exception, match="outside"):
        client._next_link_of({"next": {"url": "https://evil.example.com/api/v1/apps/x/users?after=1"}}, APP_USERS)


# -- rate limits -----------------------------------------------------------------


def test_pacing_on_remaining_avoids_429(okta_server):
    server = okta_server(make_org(n_users=6, n_groups=0), limits={"okta_per_minute": {"/api/v1/apps": 2}}, window_s=1.0)
    client = client_for(server, page_sizes={APP_USERS: 1})
    started = time.monotonic()
    assert len(list(client.iter_app_users(APP_ID))) == 6
    assert server.counter.snapshot() == {APP_USERS: 7}
    assert "429" not in server.statuses.snapshot()  # it waited for the reset instead of being refused
    assert time.monotonic() - started >= 2.0  # 7 requests at 2 per 1 s window span at least 3 windows


def test_429_waits_until_the_reset_then_completes(okta_server):
    server = okta_server(make_org(n_users=4, n_groups=0), limits={"okta_per_minute": {"/api/v1/apps": 3}}, window_s=2.0)
    client = client_for(server, page_sizes={APP_USERS: 1})
    import requests

    # Another process spends the window, so this client's first request meets a 429 with a reset in the future.
    while requests.get(f"{server.url}/api/v1/apps/{APP_ID}/users", headers={"Authorization": f"SSWS {TOKEN}"}).status_code != 429:
        pass
    server.counter.reset()
    server.statuses.reset()
    assert len(list(client.iter_app_users(APP_ID))) == 4
    assert server.statuses.snapshot().get("429", 0) >= 1
    assert server.statuses.snapshot()["200"] == 5
    assert client.waited_s > 0.0


def test_429_fault_with_reset_header_is_absorbed(okta_server):
    server = okta_server(
        make_org(n_users=3, n_groups=0),
        faults=[{"service": "okta", "endpoint": APP_USERS, "status": 429, "times": 2}],
        limits={"okta_per_minute": {"/api/v1/apps": 100}},
        window_s=1.0,
    )
    client = client_for(server)
    started = time.time()
    assert len(list(client.iter_app_users(APP_ID))) == 3
    assert server.statuses.snapshot() == {"429": 2, "200": 1}
    assert time.time() - started >= 0.5  # each wait ran to the next window's reset


# -- transient failures ----------------------------------------------------------


def test_5xx_then_success(okta_server):
    server = okta_server(make_org(n_users=3, n_groups=1), faults=[{"service": "okta", "path": "/api/v1/groups/00g00000/users", "status": 500, "times": 3}])
    client = client_for(server)
    assert len(list(client.iter_group_members("00g00000"))) == 3
    assert server.statuses.snapshot() == {"500": 3, "200": 1}
    assert client.api_calls == {GROUP_MEMBERS: 4}  # retries are counted


def test_failures_beyond_max_retries_raise_and_return_nothing(okta_server):
    server = okta_server(make_org(n_users=3, n_groups=0), faults=[{"service": "okta", "endpoint": APP_USERS, "status": 503, "times": -1}])
    client = client_for(server, max_retries=3)
    got = []
    with pytest.raises(OktaTransientError, match=r"HTTP 503, 4 times in a row"):
        got = list(client.iter_app_users(APP_ID))
    assert got == []
    assert server.counter.snapshot() == {APP_USERS: 4}


def test_failure_on_a_later_page_raises_not_a_partial_list(okta_server):
    server = okta_server(make_org(n_users=3, n_groups=0))
    client = client_for(server, page_sizes={APP_USERS: 1}, max_retries=2)
    pages = client.iter_app_users(APP_ID)
    first = next(pages)
    server.faults.add({"service": "okta", "endpoint": APP_USERS, "status": 500, "times": -1})
    with pytest.raises(OktaTransientError):
        list(pages)
    assert first["id"] == "00u00000"


def test_a_timeout_is_retried(okta_server):
    server = okta_server(make_org(n_users=2, n_groups=0), faults=[{"service": "okta", "endpoint": APP_USERS, "kind": "timeout", "delay_s": 1.0, "times": 1}])
    client = client_for(server, timeout=0.3)
    assert len(list(client.iter_app_users(APP_ID))) == 2
    assert client.api_calls == {APP_USERS: 2}


def test_a_dropped_connection_and_a_garbled_body_are_retried(okta_server):
    server = okta_server(
        make_org(n_users=2, n_groups=0),
        faults=[
            {"service": "okta", "endpoint": APP_USERS, "kind": "reset", "times": 1},
            {"service": "okta", "endpoint": APP_USERS, "kind": "invalid_json", "times": 1},
            {"service": "okta", "endpoint": APP_USERS, "status": 502, "times": 1},
        ],
    )
    client = client_for(server)
    assert len(list(client.iter_app_users(APP_ID))) == 2
    assert server.statuses.snapshot() == {"0": 1, "200": 2, "502": 1}  # one garbled 200, one good


# -- errors a person can act on --------------------------------------------------


def test_invalid_token_names_the_connection_and_hides_the_token(okta_server, caplog):
    server = okta_server(make_org(n_users=1, n_groups=0))
    secret = "00SECRETtokenValue123"
    client = client_for(server, auth=SswsAuth(secret))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OktaAuthError) as info:
        list(client.iter_app_users(APP_ID))
    message = str(info.value)
    assert "E0000011" in message and "invalid or expired" in message and SOURCE in message
    assert info.value.status == 401
    assert secret not in message and secret not in repr(client) and secret not in repr(client.auth)
    assert secret not in caplog.text


def test_unknown_app_names_the_id(okta_server):
    server = okta_server(make_org(n_users=1, n_groups=0))
    with pytest.raises(OktaAppNotFoundError, match=r"no app with id '0oaNOPE'") as info:
        list(client_for(server).iter_app_groups("0oaNOPE"))
    assert info.value.app_id == "0oaNOPE" and info.value.error_code == "E0000007"


def test_unknown_group_names_the_id(okta_server):
    server = okta_server(make_org(n_users=1, n_groups=0))
    with pytest.raises(OktaGroupNotFoundError, match="00gGONE"):
        list(client_for(server).iter_group_members("00gGONE"))


def test_403_names_the_scopes_and_role(okta_server):
    server = okta_server(make_org(n_users=1, n_groups=0), faults=[{"service": "okta", "endpoint": APP_USERS, "status": 403}])
    with pytest.raises(OktaPermissionError) as info:
        list(client_for(server).iter_app_users(APP_ID))
    message = str(info.value)
    assert "okta.apps.read okta.groups.read" in message and "Read-Only Administrator" in message and "E0000006" in message
    assert SOURCE in message


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://acme.okta.com/", "https://acme.okta.com"),
        ("acme.okta.com", "https://acme.okta.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://acme.okta.com", None),
        ("https://acme-admin.okta.com", None),
        ("", None),
    ],
)
def test_org_url_rules(url, ok):
    if ok:
        assert normalize_org_url(url) == ok
    else:
        with pytest.raises(OktaConfigError):
            normalize_org_url(url)


# -- OAuth -------------------------------------------------------------------------


def oauth_org(jwk, dpop: bool, scopes=SCOPES, n_users=3) -> dict:
    return make_org(n_users=n_users, n_groups=1, oauth_clients=[{"client_id": "0oasvc1", "public_jwk": jwk, "scopes": scopes, "dpop": dpop}])


@pytest.mark.parametrize("dpop", [False, True])
def test_oauth_reads_with_one_cached_token(okta_server, rsa_key, dpop):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk, dpop=dpop, n_users=5))
    auth = OAuthServiceAppAuth("0oasvc1", pem, SCOPES, key_id="kid-1", dpop=dpop)
    client = client_for(server, auth=auth, page_sizes={APP_USERS: 2})
    assert len(list(client.iter_app_users(APP_ID))) == 5
    assert len(list(client.iter_group_members("00g00000"))) == 5
    assert auth.tokens_fetched == 1
    token_requests = 2 if dpop else 1  # DPoP: the first token request is answered with Okta's nonce challenge
    assert server.counter.snapshot() == {"POST /oauth2/v1/token": token_requests, APP_USERS: 3, GROUP_MEMBERS: 1}
    assert client.api_calls["POST /oauth2/v1/token"] == token_requests
    assert server.statuses.snapshot().get("401", 0) == 0
    assert pem.splitlines()[1] not in repr(auth)


def test_oauth_token_is_renewed_after_it_expires(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk, dpop=True, n_users=3))
    auth = OAuthServiceAppAuth("0oasvc1", pem, SCOPES, dpop=True)
    client = client_for(server, auth=auth, page_sizes={APP_USERS: 1})
    pages = client.iter_app_users(APP_ID)
    next(pages)
    server.oauth.expire_all()
    assert len(list(pages)) == 2
    assert auth.tokens_fetched == 2
    assert server.statuses.snapshot()["401"] == 1  # the expired token was refused once, then renewed


def test_dpop_required_but_not_configured_says_so(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk, dpop=True))
    client = client_for(server, auth=OAuthServiceAppAuth("0oasvc1", pem, SCOPES, dpop=False))
    with pytest.raises(OktaAuthError, match=rf"requires DPoP.*Set dpop to true in {SOURCE}"):
        list(client.iter_app_users(APP_ID))


def test_oauth_with_a_missing_scope_names_it(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk, dpop=False, scopes=["okta.apps.read"]))
    client = client_for(server, auth=OAuthServiceAppAuth("0oasvc1", pem, SCOPES))
    with pytest.raises(OktaPermissionError, match="okta.groups.read"):
        list(client.iter_app_users(APP_ID))


def test_oauth_token_without_a_groups_scope_gets_403_on_members(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk, dpop=False))
    client = client_for(server, auth=OAuthServiceAppAuth("0oasvc1", pem, ["okta.apps.read"]))
    assert len(list(client.iter_app_users(APP_ID))) == 3
    with pytest.raises(OktaPermissionError, match="okta.groups.read"):
        list(client.iter_group_members("00g00000"))


def test_oauth_with_an_unregistered_key_is_refused(okta_server, rsa_key):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    _, jwk = rsa_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    server = okta_server(oauth_org(jwk, dpop=False))
    client = client_for(server, auth=OAuthServiceAppAuth("0oasvc1", other_pem, SCOPES))
    with pytest.raises(OktaAuthError, match=r"invalid_client.*update Airflow connection"):
        list(client.iter_app_users(APP_ID))


def test_a_pem_flattened_onto_one_line_still_loads(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk, dpop=False))
    flat = " ".join(pem.strip().splitlines())
    client = client_for(server, auth=OAuthServiceAppAuth("0oasvc1", flat, SCOPES))
    assert len(list(client.iter_app_users(APP_ID))) == 3


def test_a_public_key_is_refused_as_private_key():
    with pytest.raises(OktaConfigError, match="private part"):
        OAuthServiceAppAuth("0oasvc1", '{"kty": "RSA", "n": "abc", "e": "AQAB"}', SCOPES)
