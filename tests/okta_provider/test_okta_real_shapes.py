"""The Okta client against the shapes real Okta has been recorded answering
(docs/api-notes.md, Okta: errors and wire format): errors decided on
errorCode, not the status alone, and the bytes real answers come in. Against
the local Okta over HTTP where it can produce the shape; a tiny raw HTTP
server here only for broken byte streams."""

from __future__ import annotations

import gzip
import socket
import threading
import time

import pytest

from local_servers.okta_org import numbered_org as make_org
from okta_provider.auth import OAuthServiceAppAuth, SswsAuth
from okta_provider.client import APP_USERS, OktaClient
from okta_provider.errors import (
    OktaAppNotFoundError,
    OktaAuthError,
    OktaFeatureUnavailableError,
    OktaOrgUrlError,
    OktaPermissionError,
)

APP_ID = "0oaqs1"
TOKEN = "local-test-token"
SCOPES = ["okta.apps.read", "okta.groups.read"]
SOURCE = "Airflow connection 'okta_default'"
TOKEN_ENDPOINT = "POST /oauth2/v1/token"


def client_for(url, auth=None, **kw) -> OktaClient:
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("rate_limit_margin_s", 0.05)
    kw.setdefault("timeout", 5.0)
    return OktaClient(url, auth or SswsAuth(TOKEN), credentials_source=SOURCE, **kw)


def oauth_org(jwk, n_users=2) -> dict:
    return make_org(n_users=n_users, n_groups=1, oauth_clients=[{"client_id": "0oasvc1", "public_jwk": jwk, "scopes": SCOPES}])


# -- 404: the org URL or the app id -------------------------------------------------


def test_html_404_says_the_org_url_is_wrong_not_the_app_id(okta_server):
    server = okta_server(make_org(n_users=1, n_groups=0), faults=[{"service": "okta", "endpoint": APP_USERS, "kind": "html_404"}])
    with pytest.raises(OktaOrgUrlError) as info:
        list(client_for(server.url).iter_app_users(APP_ID))
    message = str(info.value)
    assert server.url in message and SOURCE in message and "org URL is wrong" in message and "HTML" in message
    assert "no app with id" not in message
    assert info.value.status == 404 and info.value.error_code is None
    assert server.counter.snapshot() == {APP_USERS: 1}  # not retried: asking again will not fix a host


def test_html_404_on_the_token_endpoint_says_the_org_url_is_wrong(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk), faults=[{"service": "okta", "endpoint": TOKEN_ENDPOINT, "kind": "html_404"}])
    with pytest.raises(OktaOrgUrlError, match="org URL is wrong"):
        list(client_for(server.url, auth=OAuthServiceAppAuth("0oasvc1", pem, SCOPES)).iter_app_users(APP_ID))


def test_404_e0000007_on_the_app_still_names_the_app_id_and_the_connection(okta_server):
    server = okta_server(make_org(n_users=1, n_groups=0))
    with pytest.raises(OktaAppNotFoundError) as info:
        list(client_for(server.url).iter_app_users("0oaNOPE"))
    message = str(info.value)
    assert "no app with id '0oaNOPE'" in message and "E0000007" in message and SOURCE in message and server.url in message


# -- 403 E0000005: an authentication failure, not a permission one ---------------------


def test_403_e0000005_for_a_bearer_token_renews_once_then_says_the_token_is_invalid(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk), faults=[{"service": "okta", "endpoint": APP_USERS, "status": 403, "error_code": "E0000005", "times": -1}])
    auth = OAuthServiceAppAuth("0oasvc1", pem, SCOPES)
    client = client_for(server.url, auth=auth)
    with pytest.raises(OktaAuthError) as info:
        list(client.iter_app_users(APP_ID))
    assert not isinstance(info.value, OktaPermissionError)
    # one renewal observed: a second token, and the read sent twice, no more
    assert auth.tokens_fetched == 2
    assert server.counter.snapshot() == {TOKEN_ENDPOINT: 2, APP_USERS: 2}
    message = str(info.value)
    assert "E0000005" in message and "Invalid session" in message and "invalid or expired" in message
    assert "'0oasvc1'" in message and SOURCE in message and server.url in message
    assert "scope" not in message.split(".")[0]  # not worded as a missing scope
    assert pem.splitlines()[1] not in message and "Bearer" not in message
    assert info.value.status == 403 and info.value.error_code == "E0000005"


def test_403_e0000005_once_is_cured_by_the_renewal(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk, n_users=3), faults=[{"service": "okta", "endpoint": APP_USERS, "status": 403, "error_code": "E0000005", "times": 1}])
    auth = OAuthServiceAppAuth("0oasvc1", pem, SCOPES)
    assert len(list(client_for(server.url, auth=auth).iter_app_users(APP_ID))) == 3
    assert auth.tokens_fetched == 2 and server.statuses.snapshot()["403"] == 1


def test_403_e0000005_for_an_api_token_says_it_is_invalid_or_expired(okta_server):
    secret = "00SECRETssws"
    server = okta_server(make_org(n_users=1, n_groups=0), faults=[{"service": "okta", "endpoint": APP_USERS, "status": 403, "error_code": "E0000005", "times": -1}])
    with pytest.raises(OktaAuthError) as info:
        list(client_for(server.url, auth=SswsAuth(secret)).iter_app_users(APP_ID))
    message = str(info.value)
    assert "SSWS API token" in message and "invalid or expired" in message and f"update {SOURCE}" in message
    assert secret not in message
    assert server.counter.snapshot() == {APP_USERS: 1}  # an API token cannot be renewed


def test_403_e0000006_is_still_a_permission_error(okta_server, rsa_key):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk), faults=[{"service": "okta", "endpoint": APP_USERS, "status": 403, "error_code": "E0000006", "times": -1}])
    auth = OAuthServiceAppAuth("0oasvc1", pem, SCOPES)
    with pytest.raises(OktaPermissionError, match="okta.apps.read okta.groups.read"):
        list(client_for(server.url, auth=auth).iter_app_users(APP_ID))
    assert auth.tokens_fetched == 1  # no renewal: the token is fine, its rights are not


# -- 401 E0000015: not about the token -------------------------------------------------


@pytest.mark.parametrize("oauth", [False, True])
def test_401_e0000015_says_the_feature_is_not_available(okta_server, rsa_key, oauth):
    pem, jwk = rsa_key
    server = okta_server(oauth_org(jwk), faults=[{"service": "okta", "endpoint": APP_USERS, "status": 401, "error_code": "E0000015", "times": -1}])
    auth = OAuthServiceAppAuth("0oasvc1", pem, SCOPES) if oauth else SswsAuth(TOKEN)
    with pytest.raises(OktaFeatureUnavailableError) as info:
        list(client_for(server.url, auth=auth).iter_app_users(APP_ID))
    message = str(info.value)
    assert "E0000015" in message and "not available" in message and SOURCE in message and APP_USERS in message
    assert "invalid or expired" not in message
    assert server.counter.snapshot().get(APP_USERS) == 1  # no renewal for it
    assert info.value.status == 401


# -- real bytes: gzip, chunked, charset, lowercase names, nulls ---------------------------


def test_gzip_chunked_lowercase_answers_read_the_same(okta_server):
    wire = [{"service": "okta", "kind": "okta_wire", "times": -1}]
    plain_server = okta_server(make_org(n_users=5, n_groups=2))
    wire_server = okta_server(make_org(n_users=5, n_groups=2), faults=wire)
    sizes = {APP_USERS: 2}
    plain = list(client_for(plain_server.url, page_sizes=sizes).iter_app_users(APP_ID))
    client = client_for(wire_server.url, page_sizes=sizes)
    got = list(client.iter_app_users(APP_ID))
    assert [u["id"] for u in got] == [u["id"] for u in plain] == [f"00u{i:05d}" for i in range(5)]
    assert got[0]["externalId"] is None and plain[0].get("externalId", "absent") == "absent"  # the nulls came through
    assert client.api_calls == {APP_USERS: 3}  # the lowercase `link` header was followed: 3 pages, not 1
    assert wire_server.faults.injected["okta_wire"] == 3
    assert len(list(client.iter_group_members("00g00001"))) == 5


def test_lowercase_rate_limit_headers_still_pace(okta_server):
    server = okta_server(make_org(n_users=4, n_groups=0), limits={"okta_per_minute": {"/api/v1/apps": 2}}, window_s=1.0,
                         faults=[{"service": "okta", "kind": "okta_wire", "times": -1}])
    client = client_for(server.url, page_sizes={APP_USERS: 1})
    started = time.monotonic()
    assert len(list(client.iter_app_users(APP_ID))) == 4
    assert "429" not in server.statuses.snapshot()  # it read x-rate-limit-remaining and waited for the reset
    assert time.monotonic() - started >= 1.0  # 5 requests at 2 per 1 s window span at least 3 windows


def test_nulls_for_absent_optional_fields_reach_the_sync_as_absent(okta_server):
    from okta_quicksight_sync.okta_reader import read_okta

    section = make_org(n_users=3, n_groups=1)
    section["users"][1]["email"] = None
    del section["app_users"][2]["saml_roles"]
    plain = okta_server(section)
    wire = okta_server(section, faults=[{"service": "okta", "kind": "okta_wire", "times": -1}])
    assert read_okta(client_for(wire.url), APP_ID) == read_okta(client_for(plain.url), APP_ID)
    assert wire.faults.injected["okta_wire"] >= 3


def test_null_optional_fields_in_a_token_answer_are_taken_as_absent(okta_server, rsa_key):
    """`token_type`/`expires_in`/`scope` null: the defaults apply (Bearer, one hour), nothing crashes."""
    pem, jwk = rsa_key
    nulls = {"access_token": "not-issued-here", "token_type": None, "expires_in": None, "scope": None}
    server = okta_server(oauth_org(jwk), faults=[{"service": "okta", "endpoint": TOKEN_ENDPOINT, "status": 200, "body": nulls}])
    auth = OAuthServiceAppAuth("0oasvc1", pem, SCOPES)
    assert len(list(client_for(server.url, auth=auth).iter_app_users(APP_ID))) == 2
    # the odd token was used as a Bearer token, refused with 401, and renewed once from the real endpoint
    assert auth.tokens_fetched == 2 and server.statuses.snapshot()["401"] == 1


# -- broken byte streams and non-API answers (a raw server: the local Okta does not send these) --


class RawServer:
    """Answers each connection with the next canned raw HTTP response, then closes it."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                conn.sendall(self.answers.pop(0))

    def close(self) -> None:
        self._sock.close()


def _answer(status: str, headers: dict, body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status}", *[f"{k}: {v}" for k, v in headers.items()], "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


def _good_gzip() -> bytes:
    body = gzip.compress(b'[{"id": "00u1", "externalId": null}]')
    return _answer("200 OK", {"content-type": "application/json;charset=UTF-8", "content-encoding": "gzip", "content-length": len(body)}, body)


@pytest.fixture
def raw_server():
    started = []

    def start(answers):
        server = RawServer(answers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def test_a_broken_gzip_body_and_a_cut_chunked_body_are_retried(raw_server):
    not_gzip = b"this is not gzip at all"
    cut_chunks = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nConnection: close\r\n\r\n40\r\n[{\"id\""
    server = raw_server([
        _answer("200 OK", {"content-type": "application/json", "content-encoding": "gzip", "content-length": len(not_gzip)}, not_gzip),
        cut_chunks,
        _good_gzip(),
    ])
    client = client_for(server.url)
    assert list(client.iter_app_users(APP_ID)) == [{"id": "00u1", "externalId": None}]
    assert client.api_calls == {APP_USERS: 3}


def test_a_200_html_page_says_the_org_url_is_wrong(raw_server):
    page = b"<!DOCTYPE html><html><body>Sign In</body></html>"
    server = raw_server([_answer("200 OK", {"Content-Type": "text/html;charset=utf-8", "Content-Length": len(page)}, page)])
    with pytest.raises(OktaOrgUrlError, match="org URL is wrong"):
        list(client_for(server.url).iter_app_users(APP_ID))
    assert len(server.requests) == 1


def test_a_redirect_says_the_org_url_is_wrong_and_is_not_followed(raw_server):
    server = raw_server([_answer("302 Found", {"Location": "https://login.example.com/signin?fromURI=%2Fapi%2Fv1", "Content-Length": 0}, b"")])
    with pytest.raises(OktaOrgUrlError) as info:
        list(client_for(server.url).iter_app_users(APP_ID))
    assert "https://login.example.com" in str(info.value) and "fromURI" not in str(info.value)
    assert len(server.requests) == 1


def test_403_without_a_body_but_an_insufficient_scope_challenge_is_a_permission_error(raw_server):
    challenge = (
        'Bearer authorization_uri="http://x/oauth2/v1/authorize", realm="http://x", scope="okta.apps.read", '
        'error="insufficient_scope", error_description="The access token provided does not contain the required scopes."'
    )
    server = raw_server([_answer("403 Forbidden", {"WWW-Authenticate": challenge, "Content-Length": 0}, b"")])
    with pytest.raises(OktaPermissionError, match="okta.apps.read"):
        list(client_for(server.url).iter_app_users(APP_ID))
