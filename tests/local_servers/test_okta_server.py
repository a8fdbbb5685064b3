"""The local Okta over raw HTTP: every response it serves fits Okta's published
spec, and its paging, limits, auth, rate limits and faults behave as Okta's."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from openapi_core.validation.response.exceptions import InvalidData

from local_servers import okta_spec
from local_servers.okta_org import numbered_org
from local_servers.okta_server import OKTA_DEFAULT_LIMITS_PER_MINUTE, UNREACHED_LIMIT, OktaServer

APP_ID = "0oaqs1"
SSWS = {"Authorization": "SSWS local-test-token"}


@pytest.fixture
def serve():
    started = []

    def start(section=None, faults=None, limits=None, **kw):
        kw.setdefault("app_id", APP_ID)
        server = OktaServer(section if section is not None else numbered_org(n_users=5, n_groups=3), faults, {} if limits is None else limits, **kw)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def get(server, path, headers=SSWS, **params):
    return requests.get(server.url + path, headers=headers, params=params, timeout=5)


# -- the spec ----------------------------------------------------------------------

SERVED = [
    f"/api/v1/apps/{APP_ID}/users?expand=user",
    f"/api/v1/apps/{APP_ID}/users",
    f"/api/v1/apps/{APP_ID}/groups?expand=group",
    f"/api/v1/apps/{APP_ID}/groups",
    "/api/v1/groups/00g00001/users",
    "/api/v1/apps?limit=1",
    f"/api/v1/apps/{APP_ID}",
    "/api/v1/groups",
    "/api/v1/groups/00g00001",
    "/api/v1/users/00u00001/groups",  # the reference design's per-user read (benchmark baseline)
    f"/api/v1/apps/{APP_ID}/users/00u00001?expand=user",  # one item each: incremental runs
    f"/api/v1/apps/{APP_ID}/users/00u00001",
    f"/api/v1/apps/{APP_ID}/groups/00g00001?expand=group",
    f"/api/v1/apps/{APP_ID}/groups/00g00001",
    "/api/v1/users/00u00001",
    "/api/v1/users/user1%40example.com",  # by login
    "/api/v1/logs",  # an empty log; test_log_events_of_every_kind_fit_the_spec checks full pages
]


def test_every_route_is_checked_against_the_spec():
    from local_servers.okta_server import ROUTES

    checked = {path.split("?")[0] for path in SERVED}
    for template, regex, _, _ in ROUTES:
        if template.startswith("GET "):
            assert any(regex.match(p) for p in checked), f"{template} is served but never validated against the spec"


@pytest.mark.parametrize("path", SERVED)
def test_every_success_response_fits_the_spec(serve, path):
    server = serve()
    response = get(server, path)
    assert response.status_code == 200
    okta_spec.validate_requests_response(response)


def test_embedded_objects_fit_the_spec_of_their_own_endpoints(serve):
    server = serve()
    for app_user in get(server, f"/api/v1/apps/{APP_ID}/users", expand="user").json():
        okta_spec.validate("GET", f"/api/v1/users/{app_user['id']}", 200, app_user["_embedded"]["user"])
    for assignment in get(server, f"/api/v1/apps/{APP_ID}/groups", expand="group").json():
        okta_spec.validate("GET", f"/api/v1/groups/{assignment['id']}", 200, assignment["_embedded"]["group"])


def test_the_spec_check_rejects_a_wrong_shape(serve):
    """The control: the validator is not a rubber stamp."""
    server = serve()
    group = get(server, "/api/v1/groups/00g00001").json()
    group["type"] = "NESTED_GROUP"
    with pytest.raises(InvalidData):
        okta_spec.validate("GET", "/api/v1/groups/00g00001", 200, group)
    app_user = get(server, f"/api/v1/apps/{APP_ID}/users").json()[0]
    app_user["scope"] = "SOMETIMES"
    with pytest.raises(InvalidData):
        okta_spec.validate("GET", f"/api/v1/apps/{APP_ID}/users", 200, [app_user])


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        (f"/api/v1/apps/{APP_ID}/users", {"Authorization": "SSWS wrong"}, 401, "E0000011"),
        (f"/api/v1/apps/{APP_ID}/users", {}, 401, "E0000011"),
        ("/api/v1/apps/0oaNOPE/users", SSWS, 404, "E0000007"),
        ("/api/v1/apps/0oaNOPE/groups", SSWS, 404, "E0000007"),
        ("/api/v1/groups/00gNOPE/users", SSWS, 404, "E0000007"),
        (f"/api/v1/apps/{APP_ID}/users/00uNOPE", SSWS, 404, "E0000007"),
        (f"/api/v1/apps/{APP_ID}/groups/00gNOPE", SSWS, 404, "E0000007"),
        ("/api/v1/users/00uNOPE", SSWS, 404, "E0000007"),
        ("/api/v1/users/00uNOPE/groups", SSWS, 404, "E0000007"),
    ],
)
def test_error_responses_are_okta_error_bodies(serve, path, headers, status, code):
    server = serve()
    response = get(server, path, headers=headers)
    assert response.status_code == status
    body = response.json()
    assert body["errorCode"] == code and body["errorLink"] == code and body["errorId"].startswith("oae") and body["errorSummary"]
    if status != 401:  # the spec lists no 401 for these operations; 403/404/429 it does
        okta_spec.validate_requests_response(response)
    if status == 404:
        assert any(nope in body["errorSummary"] for nope in ("0oaNOPE", "00gNOPE", "00uNOPE"))


def test_403_and_429_bodies_fit_the_spec(serve):
    server = serve(faults=[{"service": "okta", "path": f"/api/v1/apps/{APP_ID}/users", "status": 403}], limits={"okta_per_minute": {"/api/v1/groups": 1}})
    forbidden = get(server, f"/api/v1/apps/{APP_ID}/users")
    assert forbidden.status_code == 403 and forbidden.json()["errorCode"] == "E0000006"
    okta_spec.validate_requests_response(forbidden)
    assert get(server, "/api/v1/groups/00g00001/users").status_code == 200
    limited = get(server, "/api/v1/groups/00g00001/users")
    assert limited.status_code == 429 and limited.json()["errorCode"] == "E0000047"
    okta_spec.validate_requests_response(limited)


# -- paging ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "asked", "served"),
    [
        (f"/api/v1/apps/{APP_ID}/users", 5000, 500),
        (f"/api/v1/apps/{APP_ID}/users", None, 50),
        (f"/api/v1/apps/{APP_ID}/groups", 5000, 200),
        (f"/api/v1/apps/{APP_ID}/groups", 3, 20),
        (f"/api/v1/apps/{APP_ID}/groups", None, 20),
        ("/api/v1/groups/00g00000/users", 5000, 1000),
        ("/api/v1/groups/00g00000/users", None, 1000),
    ],
)
def test_limit_is_clamped_per_endpoint(serve, path, asked, served):
    server = serve(numbered_org(n_users=1200, n_groups=250))
    params = {} if asked is None else {"limit": asked}
    response = get(server, path, **params)
    assert len(response.json()) == served
    assert f"limit={served}" in response.links["next"]["url"]


def test_pages_follow_opaque_cursors_to_the_end(serve):
    server = serve(numbered_org(n_users=45, n_groups=0))
    url, seen, pages = f"{server.url}/api/v1/apps/{APP_ID}/users?limit=20&expand=user", [], 0
    while url:
        response = requests.get(url, headers=SSWS, timeout=5)
        assert response.links["self"]["url"] == url
        pages += 1
        seen += [u["id"] for u in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen == [f"00u{i:05d}" for i in range(45)]
    assert pages == 3
    assert "00u00019" not in get(server, f"/api/v1/apps/{APP_ID}/users", limit=20).links["next"]["url"]  # opaque, not the id


def test_a_full_last_page_offers_an_empty_next_page(serve):
    server = serve(numbered_org(n_users=40, n_groups=0))
    second = requests.get(get(server, f"/api/v1/apps/{APP_ID}/users", limit=20).links["next"]["url"], headers=SSWS, timeout=5)
    third = requests.get(second.links["next"]["url"], headers=SSWS, timeout=5)
    assert (len(second.json()), len(third.json())) == (20, 0)
    assert "next" not in third.links


def test_a_bad_limit_or_cursor_is_a_400(serve):
    server = serve()
    assert get(server, f"/api/v1/apps/{APP_ID}/users", limit="ten").json()["errorCode"] == "E0000001"
    assert get(server, f"/api/v1/apps/{APP_ID}/users", after="zzzz").status_code == 400


# -- rate limits ---------------------------------------------------------------------


def test_rate_limit_headers_and_429_with_reset_in_the_future(serve):
    server = serve(limits={"okta_per_minute": {"/api/v1/apps": 2, "/api/v1/apps/0oaqs1/groups": 5}}, window_s=30)
    first = get(server, f"/api/v1/apps/{APP_ID}/users")
    assert (first.headers["X-Rate-Limit-Limit"], first.headers["X-Rate-Limit-Remaining"]) == ("2", "1")
    get(server, f"/api/v1/apps/{APP_ID}/users")
    refused = get(server, f"/api/v1/apps/{APP_ID}/users")
    assert refused.status_code == 429 and refused.json()["errorCode"] == "E0000047"
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"
    assert time.time() < int(refused.headers["X-Rate-Limit-Reset"]) <= time.time() + 31
    # the longest prefix wins: app groups have their own bucket
    assert get(server, f"/api/v1/apps/{APP_ID}/groups").headers["X-Rate-Limit-Limit"] == "5"
    # unmatched paths are never refused, but still carry the headers (as on Okta), with a limit no run reaches
    unlimited = get(server, "/api/v1/groups/00g00000/users").headers
    assert int(unlimited["X-Rate-Limit-Limit"]) == UNREACHED_LIMIT and int(unlimited["X-Rate-Limit-Remaining"]) == UNREACHED_LIMIT - 1


def test_the_window_resets(serve):
    server = serve(limits={"okta_per_minute": {"/api/v1/apps": 1}}, window_s=0.5)
    assert get(server, f"/api/v1/apps/{APP_ID}/users").status_code == 200
    refused = get(server, f"/api/v1/apps/{APP_ID}/users")
    assert refused.status_code == 429
    time.sleep(max(0.0, int(refused.headers["X-Rate-Limit-Reset"]) - time.time()) + 0.05)
    assert get(server, f"/api/v1/apps/{APP_ID}/users").status_code == 200


def test_without_limits_argument_okta_published_limits_apply():
    server = OktaServer(numbered_org(n_users=1, n_groups=1), app_id=APP_ID)
    server.start()
    try:
        response = get(server, f"/api/v1/apps/{APP_ID}/users")
        assert response.headers["X-Rate-Limit-Limit"] == str(OKTA_DEFAULT_LIMITS_PER_MINUTE["/api/v1/apps"]) == "100"
        assert get(server, "/api/v1/groups/00g00000/users").headers["X-Rate-Limit-Limit"] == "500"
    finally:
        server.stop()


# -- faults, counters, reseeding ------------------------------------------------------------


def test_faults_by_path_then_normal_answers(serve):
    server = serve(faults=[{"service": "okta", "path": "/api/v1/groups/00g00002/users", "status": 500, "times": 2},
                           {"service": "quicksight", "operation": "DeleteUser", "error": "InternalFailureException"}])
    codes = [get(server, "/api/v1/groups/00g00002/users").status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert get(server, "/api/v1/groups/00g00001/users").status_code == 200
    assert server.counter.snapshot() == {"GET /api/v1/groups/{groupId}/users": 4}
    assert server.faults.injected == {"500": 2}


def test_fault_kinds_reset_timeout_invalid_json(serve):
    path = f"/api/v1/apps/{APP_ID}/users"
    server = serve(faults=[{"service": "okta", "path": path, "kind": "reset"},
                           {"service": "okta", "path": path, "kind": "invalid_json"},
                           {"service": "okta", "path": path, "kind": "timeout", "delay_s": 0.4}])
    with pytest.raises(requests.ConnectionError):
        get(server, path)
    garbled = get(server, path)
    assert garbled.status_code == 200
    with pytest.raises(ValueError):
        garbled.json()
    with pytest.raises(requests.Timeout):
        requests.get(server.url + path, headers=SSWS, timeout=0.1)
    started = time.monotonic()
    assert get(server, path).status_code == 200
    assert time.monotonic() - started < 0.3  # the timeout fault was used up


def test_load_reseeds_the_org(serve):
    server = serve(numbered_org(n_users=2, n_groups=0))
    assert len(get(server, f"/api/v1/apps/{APP_ID}/users").json()) == 2
    server.load(numbered_org(n_users=7, n_groups=0))
    assert len(get(server, f"/api/v1/apps/{APP_ID}/users").json()) == 7


def test_scenario_api_token_and_app_user_fields(serve):
    section = {
        "api_token": "other-token",
        "users": [{"id": "00u1", "status": "SUSPENDED", "login": "ann@example.com", "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee"}],
        "groups": [{"id": "00g1", "name": "Everyone", "type": "BUILT_IN", "members": ["00u1"]}],
        "app_users": [{"id": "00u1", "scope": "GROUP", "saml_roles": ["QuickSightReader"], "user_name": "ann.lee"}],
        "app_groups": ["00g1"],
    }
    server = serve(section)
    assert get(server, f"/api/v1/apps/{APP_ID}/users").status_code == 401
    [app_user] = get(server, f"/api/v1/apps/{APP_ID}/users", headers={"Authorization": "SSWS other-token"}, expand="user").json()
    assert (app_user["scope"], app_user["credentials"]["userName"], app_user["_embedded"]["user"]["status"]) == ("GROUP", "ann.lee", "SUSPENDED")
    [group] = get(server, f"/api/v1/apps/{APP_ID}/groups", headers={"Authorization": "SSWS other-token"}, expand="group").json()
    assert group["_embedded"]["group"]["type"] == "BUILT_IN"


def test_a_seed_naming_an_unknown_user_is_refused():
    with pytest.raises(ValueError, match="00uX"):
        OktaServer({"users": [], "groups": [], "app_users": [{"id": "00uX"}], "app_groups": []})


# -- OAuth token endpoint ---------------------------------------------------------------


@pytest.fixture(scope="module")
def service_key():
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    key = ec.generate_private_key(ec.SECP256R1())
    return key, ECAlgorithm.to_jwk(key.public_key(), as_dict=True)


def _assertion(key, client_id, aud, **over):
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60, "jti": str(time.perf_counter_ns()), **over}
    return jwt.encode(claims, key, algorithm="ES256")


def test_token_endpoint_issues_bearer_tokens_and_checks_them(serve, service_key):
    key, jwk = service_key
    server = serve(numbered_org(n_users=2, n_groups=1, oauth_clients=[{"client_id": "0oasvc", "public_jwk": jwk, "scopes": ["okta.apps.read"]}]))
    token_url = server.url + "/oauth2/v1/token"
    form = {"grant_type": "client_credentials", "scope": "okta.apps.read",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    answer = requests.post(token_url, data={**form, "client_assertion": _assertion(key, "0oasvc", token_url)}, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "okta.apps.read"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert get(server, f"/api/v1/apps/{APP_ID}/users", headers=bearer).status_code == 200
    no_scope = get(server, "/api/v1/groups/00g00000/users", headers=bearer)
    assert no_scope.status_code == 403 and no_scope.json()["errorCode"] == "E0000006"
    assert 'scope="okta.groups.read"' in no_scope.headers["WWW-Authenticate"]
    assert get(server, f"/api/v1/apps/{APP_ID}/users", headers={"Authorization": "Bearer made-up"}).status_code == 401
    # a reused assertion, a wrong audience, an unknown client, a scope not granted
    reused = _assertion(key, "0oasvc", token_url)
    assert requests.post(token_url, data={**form, "client_assertion": reused}, timeout=5).status_code == 200
    assert requests.post(token_url, data={**form, "client_assertion": reused}, timeout=5).json()["error"] == "invalid_client"
    assert requests.post(token_url, data={**form, "client_assertion": _assertion(key, "0oasvc", "https://elsewhere/token")}, timeout=5).json()["error"] == "invalid_client"
    assert requests.post(token_url, data={**form, "client_assertion": _assertion(key, "0oaother", token_url)}, timeout=5).status_code == 401
    wide = requests.post(token_url, data={**form, "scope": "okta.users.manage", "client_assertion": _assertion(key, "0oasvc", token_url)}, timeout=5)
    assert (wide.status_code, wide.json()["error"]) == (400, "invalid_scope")


def test_dpop_bound_token_needs_a_matching_proof(serve, service_key):
    from okta_provider.auth import OAuthServiceAppAuth
    from okta_provider.client import OktaClient

    key, jwk = service_key
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    server = serve(numbered_org(n_users=1, n_groups=1, oauth_clients=[{"client_id": "0oasvc", "public_jwk": jwk, "scopes": ["okta.apps.read", "okta.groups.read"], "dpop": True}]))
    auth = OAuthServiceAppAuth("0oasvc", pem, dpop=True)
    client = OktaClient(server.url, auth)
    url = f"{server.url}/api/v1/apps/{APP_ID}/users"
    good = auth.headers_for(client, "GET", url)
    assert requests.get(url, headers=good, timeout=5).status_code == 200
    assert requests.get(url, headers=good, timeout=5).status_code == 401  # a proof is used once
    token = good["Authorization"].split(" ", 1)[1]
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 401  # bound token as Bearer
    other_url = auth.headers_for(client, "GET", f"{server.url}/api/v1/groups/00g00000/users")
    refused = requests.get(url, headers=other_url, timeout=5)
    assert refused.status_code == 401 and "invalid_dpop_proof" in refused.headers["WWW-Authenticate"]


# -- headers on every answer, challenges on 401s, real Okta's wire shapes ----------------


def _rate_headers_ok(response, limit=UNREACHED_LIMIT, window_s=60):
    headers = response.headers
    assert int(headers["X-Rate-Limit-Limit"]) == limit, (response.status_code, response.url)
    assert 0 <= int(headers["X-Rate-Limit-Remaining"]) <= limit
    assert time.time() < int(headers["X-Rate-Limit-Reset"]) <= time.time() + window_s + 1


def test_rate_limit_headers_on_every_answer_without_limits(serve):
    """A scenario without limits: nothing refused, yet every answer reports a limit the run never reaches."""
    path = f"/api/v1/apps/{APP_ID}/users"
    server = serve(faults=[
        {"service": "okta", "path": "/api/v1/groups/00g00001/users", "status": 500},
        {"service": "okta", "path": "/api/v1/groups/00g00002/users", "kind": "html_404"},
        {"service": "okta", "path": "/api/v1/groups/00g00002", "kind": "invalid_json"},
        {"service": "okta", "path": "/api/v1/groups", "status": 403, "error_code": "E0000005"},
    ])
    answers = [
        get(server, path),
        get(server, path, headers={"Authorization": "SSWS wrong"}),
        get(server, "/api/v1/apps/0oaNOPE/users"),
        get(server, "/api/v1/nothing/here"),
        requests.post(server.url + path, headers=SSWS, timeout=5),  # 405
        requests.post(server.url + "/oauth2/v1/token", data={"grant_type": "client_credentials"}, timeout=5),
        get(server, "/api/v1/groups/00g00001/users"),
        get(server, "/api/v1/groups/00g00002/users"),
        get(server, "/api/v1/groups/00g00002"),
        get(server, "/api/v1/groups"),
    ]
    assert [a.status_code for a in answers] == [200, 401, 404, 404, 405, 401, 500, 404, 200, 403]
    for answer in answers:
        _rate_headers_ok(answer)
    # the uncovered bucket still counts down, as Okta's does
    again = get(server, path)
    assert int(again.headers["X-Rate-Limit-Remaining"]) < int(answers[0].headers["X-Rate-Limit-Remaining"])


def test_rate_limit_headers_with_limits_on_refusals_and_faults(serve):
    server = serve(limits={"okta_per_minute": {"/api/v1/apps": 3}}, faults=[{"service": "okta", "path": f"/api/v1/apps/{APP_ID}/users", "status": 503}])
    fault = get(server, f"/api/v1/apps/{APP_ID}/users")
    refused = get(server, f"/api/v1/apps/{APP_ID}/users", headers={"Authorization": "SSWS wrong"})
    _rate_headers_ok(fault, limit=3)
    _rate_headers_ok(refused, limit=3)
    assert fault.headers["X-Rate-Limit-Remaining"] == "3"  # a fault spends nothing
    assert refused.headers["X-Rate-Limit-Remaining"] == "2"


def test_every_401_carries_a_challenge(serve, service_key):
    key, jwk = service_key
    section = numbered_org(n_users=1, n_groups=1, oauth_clients=[{"client_id": "0oasvc", "public_jwk": jwk, "scopes": ["okta.apps.read"]}])
    server = serve(section, faults=[{"service": "okta", "path": "/api/v1/groups/00g00000", "status": 401, "error_code": "E0000015"}])
    path = f"/api/v1/apps/{APP_ID}/users"
    for headers in ({"Authorization": "SSWS wrong"}, {}, {"Authorization": "Basic dXNlcjpwdw=="}):
        answer = get(server, path, headers=headers)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == f'SSWS realm="{server.url}"'
    bearer = get(server, path, headers={"Authorization": "Bearer made-up"})
    assert bearer.status_code == 401
    assert bearer.headers["WWW-Authenticate"] == (
        f'Bearer authorization_uri="{server.url}/oauth2/v1/authorize", realm="{server.url}", scope="okta.apps.read", '
        f'error="invalid_token", error_description="The access token is invalid.", resource="{path}"'
    )
    dpop = get(server, path, headers={"Authorization": "DPoP made-up"})
    assert dpop.status_code == 401 and dpop.headers["WWW-Authenticate"].startswith('DPoP algs="RS256 RS384 RS512 ES256 ES384 ES512", authorization_uri=')
    feature = get(server, "/api/v1/groups/00g00000")
    assert (feature.status_code, feature.json()["errorCode"]) == (401, "E0000015")
    assert feature.headers["WWW-Authenticate"] == f'SSWS realm="{server.url}"'
    token_url = server.url + "/oauth2/v1/token"
    form = {"grant_type": "client_credentials", "scope": "okta.apps.read",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    unknown_client = requests.post(token_url, data={**form, "client_assertion": _assertion(key, "0oaother", token_url)}, timeout=5)
    assert unknown_client.status_code == 401 and unknown_client.headers["WWW-Authenticate"]
    # and only 401s: a good answer and a 404 carry none
    assert "WWW-Authenticate" not in get(server, path).headers
    assert "WWW-Authenticate" not in get(server, "/api/v1/apps/0oaNOPE/users").headers


@pytest.mark.parametrize(
    ("status", "code", "summary"),
    [(403, "E0000005", "Invalid session"), (401, "E0000015", "You do not have permission to access the feature you are requesting")],
)
def test_a_fault_can_name_the_error_code(serve, status, code, summary):
    path = f"/api/v1/apps/{APP_ID}/users"
    server = serve(faults=[{"service": "okta", "path": path, "status": status, "error_code": code}])
    answer = get(server, path)
    body = answer.json()
    assert (answer.status_code, body["errorCode"], body["errorLink"], body["errorSummary"]) == (status, code, code, summary)
    assert get(server, path).status_code == 200  # used up
    if status == 403:
        okta_spec.validate_requests_response(answer)


def test_html_404_is_a_sign_in_page_without_an_error_code(serve):
    path = f"/api/v1/apps/{APP_ID}/users"
    server = serve(faults=[{"service": "okta", "path": path, "kind": "html_404"}])
    answer = get(server, path)
    assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("text/html")
    assert b"<html" in answer.content and b"errorCode" not in answer.content
    with pytest.raises(ValueError):
        answer.json()
    assert server.faults.injected == {"html_404": 1}


def _raw_get(server, path, accept_encoding: str | None):
    """The answer's status, header (name, value) pairs as sent, and body after de-chunking (http.client keeps name case)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("Authorization", SSWS["Authorization"])
        if accept_encoding:
            conn.putheader("Accept-Encoding", accept_encoding)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def test_okta_wire_answers_gzip_chunked_lowercase_with_nulls(serve):
    import gzip
    import json

    path = f"/api/v1/apps/{APP_ID}/users?expand=user"
    section = numbered_org(n_users=2, n_groups=0)
    del section["app_users"][1]["saml_roles"]
    server = serve(section, faults=[{"service": "okta", "path": f"/api/v1/apps/{APP_ID}/users", "kind": "okta_wire", "times": 3}])
    status, headers, body = _raw_get(server, path, "gzip, deflate")
    names = dict(headers)
    assert status == 200
    assert all(name == name.lower() for name, _ in headers if name not in ("Server", "Date")), headers
    assert names["content-type"] == "application/json;charset=UTF-8"
    assert names["content-encoding"] == "gzip" and names["transfer-encoding"] == "chunked" and "content-length" not in names
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset", "link"} <= set(names)
    users = json.loads(gzip.decompress(body))
    assert [u["id"] for u in users] == ["00u00000", "00u00001"]
    assert users[0]["externalId"] is None and users[0]["_embedded"]["user"]["lastLogin"] is None
    assert users[1]["profile"]["samlRoles"] is None and users[0]["profile"]["samlRoles"] == ["QuickSightReader"]
    # a client that does not accept gzip gets the same JSON uncompressed (still chunked)
    status, headers, plain = _raw_get(server, path, None)
    assert "content-encoding" not in dict(headers) and json.loads(plain) == users
    # requests undoes both layers
    assert get(server, f"/api/v1/apps/{APP_ID}/users", expand="user").json() == users
    assert get(server, f"/api/v1/apps/{APP_ID}/users", expand="user").headers.get("Content-Encoding") is None  # used up


def test_okta_wire_with_a_status_sends_that_error_compressed(serve):
    import gzip
    import json

    path = f"/api/v1/apps/{APP_ID}/users"
    server = serve(faults=[{"service": "okta", "path": path, "kind": "okta_wire", "status": 403, "error_code": "E0000005"}])
    status, headers, body = _raw_get(server, path, "gzip")
    assert status == 403 and dict(headers)["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(body))["errorCode"] == "E0000005"


def test_an_unknown_okta_fault_kind_is_refused():
    with pytest.raises(ValueError, match="html_404"):
        OktaServer(numbered_org(n_users=1, n_groups=0), [{"service": "okta", "path": "/x", "kind": "html404"}])


# -- the System Log ------------------------------------------------------------------------

LONG_AGO = "2026-01-01T00:00:00Z"


def since_start(server) -> str:
    """A `since` just before the server was started (its events are all later)."""
    from local_servers.okta_log import iso

    return iso(server._loaded_at - 1)  # noqa: SLF001


def org_with_changes() -> tuple[dict, dict]:
    """(before, after): one of each change the sync cares about."""
    before = numbered_org(n_users=5, n_groups=3, members_per_group=3)
    before["users"][3]["status"] = "SUSPENDED"
    before["users"][4]["status"] = "DEPROVISIONED"
    after = numbered_org(n_users=5, n_groups=3, members_per_group=3)
    after["app_users"] = [a for a in after["app_users"] if a["id"] != "00u00001"]  # unassigned from the app
    after["app_users"][0]["saml_roles"] = ["QuickSightAuthor"]  # app profile change
    after["app_users"][1]["user_name"] = "renamed@example.com"  # app username change
    after["groups"][0]["members"].remove("00u00002")
    after["groups"][1]["members"].append("00u00003")
    after["groups"][2]["name"] = "Group 2 renamed"
    after["app_groups"].remove("00g00001")
    after["users"][0]["email"] = "new0@example.com"
    after["users"][2]["status"] = "DEPROVISIONED"
    after["users"][3]["status"] = "ACTIVE"
    after["users"][4]["status"] = "ACTIVE"
    return before, after


def test_load_logs_what_okta_logs_for_the_difference(serve):
    before, after = org_with_changes()
    server = serve(before)
    assert server.log.events() == []  # the first load logs nothing: that org is the starting point
    loaded = server._loaded_at  # noqa: SLF001
    server.load(after)
    events = server.log.events()
    seen = {(e["eventType"], tuple((t["type"], t["id"]) for t in e["target"])) for e in events}
    app = ("AppInstance", APP_ID)
    assert seen == {
        ("user.account.update_profile", (("User", "00u00000"),)),
        ("user.lifecycle.deactivate", (("User", "00u00002"),)),
        ("user.lifecycle.unsuspend", (("User", "00u00003"),)),
        ("user.lifecycle.reactivate", (("User", "00u00004"),)),
        ("user.lifecycle.activate", (("User", "00u00004"),)),
        ("group.user_membership.remove", (("User", "00u00002"), ("UserGroup", "00g00000"))),
        ("group.user_membership.add", (("User", "00u00003"), ("UserGroup", "00g00001"))),
        ("group.profile.update", (("UserGroup", "00g00002"),)),
        ("group.application_assignment.remove", (app, ("UserGroup", "00g00001"))),
        ("application.user_membership.update", (("AppUser", "0ua00000"), app, ("User", "00u00000"))),
        ("application.user_membership.change_username", (("AppUser", "0ua00002"), app, ("User", "00u00002"))),
        ("application.user_membership.remove", (("AppUser", "0ua00001"), app, ("User", "00u00001"))),
    }
    renamed = next(e for e in events if e["eventType"] == "group.profile.update")
    assert renamed["target"][0]["alternateId"] == renamed["target"][0]["displayName"] == "Group 2 renamed"
    username = next(e for e in events if e["eventType"] == "application.user_membership.change_username")
    assert username["target"][0]["alternateId"] == "renamed@example.com"
    assert all(e["outcome"] == {"result": "SUCCESS"} for e in events)
    published = [e["published"] for e in events]
    assert published == sorted(published)
    from local_servers.okta_log import iso

    assert iso(loaded) <= published[0] and published[-1] <= iso(time.time())  # between the two loads


def test_log_events_of_every_kind_fit_the_spec(serve):
    before, after = org_with_changes()
    after["users"].append({"id": "00u00009", "login": "new@example.com", "email": "new@example.com"})
    after["app_users"].append({"id": "00u00009", "saml_roles": ["QuickSightReader"]})
    after["groups"].append({"id": "00g00009", "name": "New", "members": ["00u00009"]})
    after["app_groups"].append("00g00009")
    server = serve(before)
    server.load(after)
    server.load(numbered_org(n_users=1, n_groups=0))  # deletions
    server.log.record("some.unknown.type", [{"id": "00u00000", "type": "User"}], outcome="FAILURE")
    response = get(server, "/api/v1/logs", since=since_start(server), limit=1000)
    kinds = {e["eventType"] for e in response.json()}
    assert {"user.lifecycle.create", "group.lifecycle.create", "group.application_assignment.add",
            "application.user_membership.add", "group.lifecycle.delete", "user.lifecycle.delete.completed",
            "some.unknown.type"} <= kinds
    okta_spec.validate_requests_response(response)


def test_log_pages_in_order_with_a_next_link_on_every_page(serve):
    server = serve()
    for i in range(5):
        server.log.record("user.account.update_profile", [{"id": f"00u{i}", "type": "User"}])
    first = get(server, "/api/v1/logs", since=since_start(server), limit=2)
    assert [e["target"][0]["id"] for e in first.json()] == ["00u0", "00u1"]
    second = requests.get(first.links["next"]["url"], headers=SSWS, timeout=5)
    third = requests.get(second.links["next"]["url"], headers=SSWS, timeout=5)
    last = requests.get(third.links["next"]["url"], headers=SSWS, timeout=5)
    assert [e["target"][0]["id"] for e in second.json() + third.json()] == ["00u2", "00u3", "00u4"]
    assert last.json() == [] and "next" in last.links  # polling: the end still offers a next link
    server.log.record("group.user_membership.add", [{"id": "00u9", "type": "User"}])
    later = requests.get(last.links["next"]["url"], headers=SSWS, timeout=5)
    assert [e["target"][0]["id"] for e in later.json()] == ["00u9"]  # only what was logged since
    assert "next" in later.links


def test_log_limit_default_and_maximum(serve):
    server = serve()
    for i in range(1002):
        server.log.record("user.account.update_profile", [{"id": f"00u{i}", "type": "User"}])
    assert len(get(server, "/api/v1/logs", since=since_start(server)).json()) == 100
    assert len(get(server, "/api/v1/logs", since=since_start(server), limit=5000).json()) == 1000


def test_log_filter_on_event_types(serve):
    server = serve()
    for kind in ("a.one", "b.two", "c.three", "a.one"):
        server.log.record(kind, [{"id": "00u1", "type": "User"}])
    flt = 'eventType eq "a.one" or eventType eq "c.three"'
    response = get(server, "/api/v1/logs", since=since_start(server), filter=flt, limit=2)
    assert [e["eventType"] for e in response.json()] == ["a.one", "c.three"]
    rest = requests.get(response.links["next"]["url"], headers=SSWS, timeout=5)  # the filter stays in the link
    assert [e["eventType"] for e in rest.json()] == ["a.one"]
    bad = get(server, "/api/v1/logs", filter='eventType eqq "a.one"')
    assert bad.status_code == 400 and bad.json()["errorCode"] == "E0000053"


def test_log_retention_and_a_since_too_far_back(serve):
    server = serve()
    now = time.time()
    server.log.record("old.event", [], published=now - 100 * 86400)
    server.log.record("recent.event", [], published=now - 10 * 86400)
    ninety_one_days_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 91 * 86400))
    kept = get(server, "/api/v1/logs", since=ninety_one_days_ago)
    assert kept.status_code == 200 and [e["eventType"] for e in kept.json()] == ["recent.event"]
    server.log.retention_s = 5 * 86400  # a test can expire what a cursor points at
    assert get(server, "/api/v1/logs", since=ninety_one_days_ago).json() == []
    too_far = get(server, "/api/v1/logs", since=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 181 * 86400)))
    assert too_far.status_code == 400 and too_far.json()["errorCode"] == "E0000053"
    assert "180 days" in too_far.json()["errorSummary"]
    okta_spec.validate_requests_response(too_far)
    assert get(server, "/api/v1/logs", since="yesterday").json()["errorCode"] == "E0000001"


def test_log_retention_from_the_scenario(serve):
    server = serve({**numbered_org(n_users=1, n_groups=0), "log_retention_days": 1})
    assert server.log.retention_s == 86400


def test_log_has_its_own_rate_limit_and_faults(serve):
    server = serve(limits={"okta_per_minute": {"/api/v1/logs": 1}},
                   faults=[{"service": "okta", "endpoint": "GET /api/v1/logs", "status": 500, "times": 1}])
    assert get(server, "/api/v1/logs").status_code == 500
    assert get(server, "/api/v1/logs").status_code == 200
    limited = get(server, "/api/v1/logs")
    assert limited.status_code == 429 and limited.json()["errorCode"] == "E0000047"
    assert get(server, f"/api/v1/apps/{APP_ID}/users").status_code == 200  # other families unaffected
    assert server.counter.snapshot()["GET /api/v1/logs"] == 3


def test_without_limits_argument_the_log_has_okta_published_bucket():
    server = OktaServer(numbered_org(n_users=1, n_groups=1), app_id=APP_ID)
    server.start()
    try:
        assert get(server, "/api/v1/logs").headers["X-Rate-Limit-Limit"] == str(OKTA_DEFAULT_LIMITS_PER_MINUTE["/api/v1/logs"])
    finally:
        server.stop()


def test_the_rounds_scenario_logs_the_unassignment_between_its_runs(serve):
    """tests/scenarios/files/rounds-leaver-then-idle.json, Okta side: what the local Okta logs
    before each round (the harness loads each round's `okta` as here)."""
    import json
    from pathlib import Path

    path = Path(__file__).parents[1] / "scenarios" / "files" / "rounds-leaver-then-idle.json"
    scenario = json.loads(path.read_text())
    server = serve(scenario["okta"], app_id=scenario["target"]["okta_app_id"])
    round_2, round_3 = scenario["rounds"]
    server.load(round_2["okta"])
    events = get(server, "/api/v1/logs", since=since_start(server)).json()
    assert [(e["eventType"], [(t["type"], t["id"], t["alternateId"]) for t in e["target"]]) for e in events] == [
        ("application.user_membership.remove",
         [("AppUser", "0ua2", "bob@example.com"), ("AppInstance", "0oaqs1", "AWS Account Federation"), ("User", "00u2", "bob@example.com")]),
    ]
    assert "okta" not in round_3  # Okta unchanged: nothing more is logged
    assert server.log.events() == events


def test_a_caught_up_cursor_skips_what_the_since_query_left_out(serve):
    server = serve()
    now = time.time()
    server.log.record("recent.event", [], published=now - 60)
    server.log.record("backdated.event", [], published=now - 3 * 86400)  # logged late, published before `since`
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86400))
    first = get(server, "/api/v1/logs", since=since)
    assert [e["eventType"] for e in first.json()] == ["recent.event"]
    assert requests.get(first.links["next"]["url"], headers=SSWS, timeout=5).json() == []


# -- one item each (incremental runs) ----------------------------------------------------


def test_single_items_answer_what_the_lists_answer(serve):
    section = numbered_org(n_users=4, n_groups=3)
    section["app_users"] = section["app_users"][:2]  # 00u00002 and 00u00003 are not assigned
    section["app_groups"] = ["00g00000", "00g00002"]
    server = serve(section)
    listed = {u["id"]: u for u in get(server, f"/api/v1/apps/{APP_ID}/users", expand="user").json()}
    one = get(server, f"/api/v1/apps/{APP_ID}/users/00u00001", expand="user")
    assert one.status_code == 200 and one.json() == listed["00u00001"] and one.json()["_embedded"]["user"]["id"] == "00u00001"
    assert "_embedded" not in get(server, f"/api/v1/apps/{APP_ID}/users/00u00001").json()
    unassigned = get(server, f"/api/v1/apps/{APP_ID}/users/00u00002", expand="user")
    assert unassigned.status_code == 404 and unassigned.json()["errorCode"] == "E0000007"
    okta_spec.validate_requests_response(unassigned)

    assignments = {a["id"]: a for a in get(server, f"/api/v1/apps/{APP_ID}/groups", expand="group").json()}
    group = get(server, f"/api/v1/apps/{APP_ID}/groups/00g00002", expand="group")
    assert group.status_code == 200 and group.json() == assignments["00g00002"]
    assert get(server, f"/api/v1/apps/{APP_ID}/groups/00g00001", expand="group").status_code == 404  # a group, not an app group
    assert get(server, "/api/v1/apps/0oaNOPE/groups/00g00002").json()["errorSummary"].endswith("(AppInstance)")

    by_id = get(server, "/api/v1/users/00u00003").json()
    assert by_id == get(server, "/api/v1/users/USER3@example.com").json()  # a login, matched as Okta matches logins
    assert by_id["profile"]["login"] == "user3@example.com" and by_id["id"] == "00u00003"
    groups = get(server, "/api/v1/users/00u00003/groups").json()
    assert [g["id"] for g in groups] == ["00g00000", "00g00001", "00g00002"]
    assert server.counter.snapshot()["GET /api/v1/users/{userId}"] == 2


def test_single_item_reads_follow_changes_made_to_the_org_between_reads(serve):
    """The item reads are indexed (100k-people benchmarks); a change by another admin (the soak's races,
    or a direct edit of the org's lists) shows on the next read, never a stale answer."""
    section = numbered_org(n_users=4, n_groups=2, members_per_group=3)
    server = serve(section)
    assert get(server, f"/api/v1/apps/{APP_ID}/users/00u00001").status_code == 200
    assert [g["id"] for g in get(server, "/api/v1/users/00u00001/groups").json()] == ["00g00000", "00g00001"]
    server.org.remove_app_user("00u00001")
    server.org.remove_group("00g00000")
    assert get(server, f"/api/v1/apps/{APP_ID}/users/00u00001").status_code == 404
    assert [g["id"] for g in get(server, "/api/v1/users/00u00001/groups").json()] == ["00g00001"]
    assert get(server, f"/api/v1/apps/{APP_ID}/groups/00g00000").status_code == 404
    # Edited directly, without the org's methods: the size changed, so the index is rebuilt.
    server.org.groups["00g00001"]["members"].remove("00u00001")
    assert get(server, f"/api/v1/apps/{APP_ID}/users/00u00002").status_code == 200
    server.org.app_users[:] = [a for a in server.org.app_users if a["id"] != "00u00002"]
    assert get(server, "/api/v1/users/00u00001/groups").json() == []
    assert get(server, f"/api/v1/apps/{APP_ID}/users/00u00002").status_code == 404
    # A login changes through a reload (as the harness changes Okta between runs).
    server.load({**section, "users": [dict(u, login="renamed@example.com") if u["id"] == "00u00003" else u for u in section["users"]]})
    assert get(server, "/api/v1/users/renamed@example.com").json()["id"] == "00u00003"
    assert get(server, "/api/v1/users/user3@example.com").status_code == 404


def test_user_reads_need_the_users_scope_with_oauth(serve, service_key):
    key, jwk = service_key
    server = serve(numbered_org(n_users=1, n_groups=1, oauth_clients=[{"client_id": "0oasvc", "public_jwk": jwk, "scopes": ["okta.apps.read", "okta.groups.read"]}]))
    token_url = server.url + "/oauth2/v1/token"
    form = {"grant_type": "client_credentials", "scope": "okta.apps.read okta.groups.read",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _assertion(key, "0oasvc", token_url)}
    bearer = {"Authorization": f"Bearer {requests.post(token_url, data=form, timeout=5).json()['access_token']}"}
    assert get(server, f"/api/v1/apps/{APP_ID}/users/00u00000", headers=bearer).status_code == 200
    refused = get(server, "/api/v1/users/00u00000/groups", headers=bearer)
    assert refused.status_code == 403 and 'scope="okta.users.read"' in refused.headers["WWW-Authenticate"]
