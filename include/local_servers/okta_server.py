"""A local Okta org over real HTTP on loopback, seeded from a scenario's `okta` section.

It speaks Okta's management API as far as the sync reads it:

- `GET /api/v1/apps/{appId}/users` (limit 1-500, default 50; `expand=user`),
  `GET /api/v1/apps/{appId}/groups` (limit 20-200, default 20; `expand=group`),
  `GET /api/v1/groups/{groupId}/users` (limit 1-1000, default 1000),
  and for connection tests `GET /api/v1/apps` (max 200), `GET /api/v1/apps/{appId}`,
  `GET /api/v1/groups` (max 10000), `GET /api/v1/groups/{groupId}`;
  one item each, for incremental runs: `GET /api/v1/apps/{appId}/users/{userId}`
  (`expand=user`) and `GET /api/v1/apps/{appId}/groups/{groupId}` (`expand=group`), 404
  E0000007 when not assigned; `GET /api/v1/users/{id}` (by id or login) and
  `GET /api/v1/users/{id}/groups` (not paged; scope `okta.users.read`, as in Okta's spec);
  `POST /oauth2/v1/token` (client credentials, private_key_jwt, DPoP);
  `GET /api/v1/logs` (the System Log, okta_log.py: `since`, `until`, `filter`,
  `limit` 0-1000, `after`; a `rel="next"` link on every page, as Okta's polling
  answers; `.log.record(...)` logs any event, `load()` logs the org's changes).
- Paging as Okta pages: `limit` clamped to the endpoint's range, an opaque
  `after` cursor, `Link` headers `rel="self"` and, when the page is full,
  `rel="next"` (so N items at page size P take ceil(N/P) requests, one more
  when P divides N: the last page is then empty, as on Okta).
- Okta's error bodies `{errorCode, errorSummary, errorLink, errorId, errorCauses}`:
  401 E0000011 (missing, unknown or expired token), 403 E0000006 (a token
  without the endpoint's scope), 404 E0000007, 429 E0000047, 500 E0000009.
  Every 401 carries a `WWW-Authenticate` challenge (`okta_oauth.challenge`:
  Okta's published form for Bearer and DPoP, `SSWS realm="<org>"` otherwise).
- Auth: `SSWS <okta.api_token>` (default `local-test-token`), `Bearer` and
  `DPoP` access tokens from the token endpoint.
- Rate limits per endpoint family with Okta's headers `X-Rate-Limit-Limit`,
  `-Remaining`, `-Reset` (epoch seconds) and 429 E0000047 past the limit.
  Families are path prefixes, the longest match wins; windows are aligned to
  the clock and `window_s` long (60 as on Okta; tests shorten it).
  `limits=None` means Okta's published per-minute limits
  (`OKTA_DEFAULT_LIMITS_PER_MINUTE`); a scenario's `limits` dict replaces
  them with its `okta_per_minute` (absent or `{}`: nothing is limited, as
  docs/scenario-format.md says for a scenario without `limits`). The three headers come
  on EVERY response, as on Okta: a path no limit covers reports
  `UNREACHED_LIMIT` per window, counting down, which no run reaches.
- The scenario's faults for service `okta` (common.FaultPlan), matched on
  `path` (e.g. "/api/v1/groups/00g2/users"), `method` or `endpoint` (e.g.
  "GET /api/v1/apps/{appId}/users"): `"status": N` answers Okta's error body
  for N, with `"error_code"` (e.g. "E0000005") and `"message"` replacing the
  default errorCode and errorSummary; `"kind": "reset"` drops the connection
  without an answer; `"kind": "timeout"` waits `delay_s` (default 5) before
  answering normally; `"kind": "invalid_json"` answers 200 with a body that
  is not JSON; `"kind": "html_404"` answers 404 with an HTML sign-in page and
  no errorCode (what a host that is not an Okta org answers);
  `"kind": "okta_wire"` answers as usual (or with `status`, that error) in
  the bytes real Okta sends: gzip when the client accepts it, chunked,
  lowercase header names, `application/json;charset=UTF-8`, and `null` for
  absent optional fields (`okta_org.with_okta_nulls`).

The `okta` section is docs/scenario-format.md's, plus these optional keys:

- `app_id`: the one app's id (also the `app_id=` argument); without it every
  app id names the app, so only a server given an app id answers 404 for
  an unknown app.
- `oauth_clients`: OAuth 2.0 service apps allowed to get tokens, each
  `{"client_id": "0oasvc1", "public_jwk": {...} | "public_key_pem": "-----BEGIN PUBLIC KEY-----...",
  "scopes": ["okta.apps.read", "okta.groups.read"], "dpop": true}`
  (`dpop: true`: the app requires DPoP-bound tokens, as new Okta service apps do).
- `users[].status`, `app_users[].app_status` (the AppUser status, default ACTIVE),
  `groups[].description`.

`.counter` counts requests received by endpoint template ("GET
/api/v1/apps/{appId}/users", "POST /oauth2/v1/token", ...), faults and
refusals included; `.statuses` counts answers by HTTP status ("0" for a
dropped connection).
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import socket
import struct
import threading
import time
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from local_servers.common import CallCounter, FaultPlan, LocalServer, QuietHandler
from local_servers.okta_log import DEFAULT_RETENTION_S, LogQueryError, SystemLog, encode_cursor
from local_servers.okta_oauth import DPoPFailure, OAuthAuthority, OAuthFailure, challenge
from local_servers.okta_org import OktaOrg, with_okta_nulls

# Okta's published per-minute limits for the endpoint families the sync touches
# (Enterprise/Workforce column; /api/v1/apps* is about 100 per org, docs/api-notes.md).
OKTA_DEFAULT_LIMITS_PER_MINUTE = {
    "/api/v1/apps": 100,
    "/api/v1/groups": 500,
    "/api/v1/logs": 60,  # its own, small bucket (about 60 a minute in small orgs)
    "/api/v1/users": 600,
    "/oauth2/v1/token": 600,
}
OKTA_FAULT_KINDS = frozenset({"reset", "timeout", "invalid_json", "html_404", "okta_wire"})
# What a path no limit covers reports per window: a limit no run reaches (Okta sends the headers on every answer).
UNREACHED_LIMIT = 1_000_000

# endpoint template -> (regex, scope needed with OAuth, (min, default, max) page size or None)
ROUTES: list[tuple[str, re.Pattern, str | None, tuple[int, int, int] | None]] = [
    ("POST /oauth2/v1/token", re.compile(r"^/oauth2/v1/token$"), None, None),
    ("GET /api/v1/apps", re.compile(r"^/api/v1/apps$"), "okta.apps.read", (1, 20, 200)),
    ("GET /api/v1/apps/{appId}", re.compile(r"^/api/v1/apps/(?P<appId>[^/]+)$"), "okta.apps.read", None),
    ("GET /api/v1/apps/{appId}/users", re.compile(r"^/api/v1/apps/(?P<appId>[^/]+)/users$"), "okta.apps.read", (1, 50, 500)),
    ("GET /api/v1/apps/{appId}/groups", re.compile(r"^/api/v1/apps/(?P<appId>[^/]+)/groups$"), "okta.apps.read", (20, 20, 200)),
    # One assignment each (incremental runs re-read just what the System Log touched): 404 when not assigned.
    ("GET /api/v1/apps/{appId}/users/{userId}", re.compile(r"^/api/v1/apps/(?P<appId>[^/]+)/users/(?P<userId>[^/]+)$"), "okta.apps.read", None),
    ("GET /api/v1/apps/{appId}/groups/{groupId}", re.compile(r"^/api/v1/apps/(?P<appId>[^/]+)/groups/(?P<groupId>[^/]+)$"), "okta.apps.read", None),
    ("GET /api/v1/groups", re.compile(r"^/api/v1/groups$"), "okta.groups.read", (1, 10000, 10000)),
    ("GET /api/v1/groups/{groupId}", re.compile(r"^/api/v1/groups/(?P<groupId>[^/]+)$"), "okta.groups.read", None),
    ("GET /api/v1/groups/{groupId}/users", re.compile(r"^/api/v1/groups/(?P<groupId>[^/]+)/users$"), "okta.groups.read", (1, 1000, 1000)),
    # A user by id or login, and the user's groups (Okta does not page them): a full run never reads
    # these; the benchmark's baseline (the reference design) reads the groups once per user, an
    # incremental run once per changed user. The spec's scope for both is okta.users.read.
    ("GET /api/v1/users/{userId}", re.compile(r"^/api/v1/users/(?P<userId>[^/]+)$"), "okta.users.read", None),
    ("GET /api/v1/users/{userId}/groups", re.compile(r"^/api/v1/users/(?P<userId>[^/]+)/groups$"), "okta.users.read", None),
    # The System Log (okta_log.py): paged by its own rules (limit 0-1000, default 100; a next link always).
    ("GET /api/v1/logs", re.compile(r"^/api/v1/logs$"), "okta.logs.read", None),
]

ERROR_SUMMARIES = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
    502: ("E0000009", "Internal Server Error"),
    503: ("E0000009", "Internal Server Error"),
    504: ("E0000009", "Internal Server Error"),
}


# Okta's summaries for codes a fault may name with `error_code` (Okta's error code reference).
CODE_SUMMARIES = {
    "E0000005": "Invalid session",
    "E0000015": "You do not have permission to access the feature you are requesting",
    **{code: text for code, text in ERROR_SUMMARIES.values()},
}

SIGN_IN_PAGE = (
    b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign In</title></head>\n"
    b"<body><div id=\"signin-container\"><h1>Sign In</h1><p>The page you are looking for can't be found.</p>"
    b"</div></body></html>\n"
)


def okta_error_body(status: int, summary: str | None = None, code: str | None = None) -> dict:
    default_code, default_summary = ERROR_SUMMARIES.get(status, ("E0000009", "Internal Server Error"))
    if code and code != default_code:
        default_summary = CODE_SUMMARIES.get(code, default_summary)
    code = code or default_code
    return {
        "errorCode": code,
        "errorSummary": summary or default_summary,
        "errorLink": code,
        "errorId": "oae" + secrets.token_hex(10),
        "errorCauses": [],
    }


class RateLimiter:
    """Fixed, clock-aligned windows per endpoint family, as Okta counts them."""

    def __init__(self, per_window: dict[str, int], window_s: float) -> None:
        self.per_window = dict(per_window)
        self.window_s = float(window_s)
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def family(self, path: str) -> str | None:
        matches = [p for p in self.per_window if path.startswith(p)]
        return max(matches, key=len) if matches else None

    def _reset(self, now: float) -> int:
        return int(-(-((now // self.window_s) + 1) * self.window_s // 1))  # next window start, epoch s rounded up

    def _bucket(self, path: str) -> tuple[str, int, bool]:
        """(bucket key, limit per window, enforced) for `path`; uncovered paths share one unenforced bucket."""
        fam = self.family(path)
        if fam is None:
            return "", UNREACHED_LIMIT, False
        return fam, self.per_window[fam], True

    def headers_for(self, path: str) -> dict[str, str]:
        """The headers for an answer that spends nothing (a fault, an unknown route): the window as it stands."""
        fam, limit, _ = self._bucket(path)
        now = time.time()
        with self._lock:
            used = self._counts.get((fam, int(now // self.window_s)), 0)
        return {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(max(0, limit - used)),
            "X-Rate-Limit-Reset": str(self._reset(now)),
        }

    def take(self, path: str) -> tuple[bool, dict[str, str]]:
        """(allowed, headers) for one request to `path`."""
        fam, limit, enforced = self._bucket(path)
        now = time.time()
        window = int(now // self.window_s)
        with self._lock:
            used = self._counts.get((fam, window), 0)
            allowed = used < limit or not enforced
            if allowed:
                used += 1
                self._counts[(fam, window)] = used
        headers = {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(max(0, limit - used)),
            "X-Rate-Limit-Reset": str(self._reset(now)),
        }
        return allowed, headers


class OktaServer:
    """The local Okta. `start()` returns its URL (the org URL for the hook)."""

    def __init__(
        self,
        okta_section: dict,
        faults: list | None = None,
        limits: dict | None = None,
        *,
        app_id: str | None = None,
        window_s: float = 60.0,
        token_ttl_s: float = 3600.0,
        port: int = 0,
        log_retention_s: float = DEFAULT_RETENTION_S,
    ) -> None:
        self.counter = CallCounter()
        self.statuses = CallCounter()
        self.set_faults(faults)
        per_minute = OKTA_DEFAULT_LIMITS_PER_MINUTE if limits is None else (limits.get("okta_per_minute") or {})
        self.rate_limiter = RateLimiter(per_minute, window_s)
        self._app_id_arg = app_id
        self._token_ttl_s = token_ttl_s
        self.log = SystemLog(retention_s=log_retention_s)
        self.load(okta_section)
        self._server = LocalServer(_OktaHandler, self, port=port)
        self.url = self._server.url

    @staticmethod
    def check_faults(faults: list | None) -> None:
        """Refuse an Okta fault of a kind the local Okta does not know (it would never fire)."""
        for fault in faults or []:
            kind = fault.get("kind")
            if fault.get("service", "okta") == "okta" and kind is not None and kind not in OKTA_FAULT_KINDS:
                raise ValueError(f"okta fault {fault}: unknown kind {kind!r}; the local Okta knows {sorted(OKTA_FAULT_KINDS)}")

    def set_faults(self, faults: list | None) -> None:
        """Replace the injected faults (a scenario round brings its own)."""
        self.check_faults(faults)
        self.faults = FaultPlan(faults, "okta")

    def load(self, okta_section: dict) -> None:
        """Replace the org's contents (tests that change Okta between runs). Issued tokens stay valid.

        On a reload the System Log gets the events real Okta would have logged for the
        difference, published between the previous load and now (okta_log.changes).
        `okta.log_retention_days` sets the log's retention (default 90 days)."""
        org = OktaOrg.from_section(okta_section, app_id=self._app_id_arg)
        authority = OAuthAuthority(org.oauth_clients, token_ttl_s=self._token_ttl_s)
        old = getattr(self, "oauth", None)
        if old is not None:
            authority._tokens = old._tokens  # noqa: SLF001 - keep sessions across a reseed
        if okta_section.get("log_retention_days") is not None:
            self.log.retention_s = float(okta_section["log_retention_days"]) * 86400.0
        now = time.time()
        previous = getattr(self, "org", None)
        if previous is not None:
            self.log.record_changes(previous, org, self._loaded_at, now)
        self.org, self.oauth, self._loaded_at = org, authority, now

    def start(self) -> str:
        return self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> OktaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _OktaHandler(QuietHandler):
    server_version = "okta-local/1.0"
    _path = ""  # the request's path, for the rate-limit headers of whatever answer it gets
    _wire = False  # answer in real Okta's bytes (the okta_wire fault kind)

    @property
    def app(self) -> OktaServer:
        return self.server.app  # type: ignore[attr-defined]

    # -- plumbing -----------------------------------------------------------------

    def _send(
        self, status: int, body: object, headers: dict | None = None, raw: bytes | None = None, content_type: str = "application/json"
    ) -> None:
        """One answer; every one carries the rate-limit headers, every 401 a challenge (as on Okta)."""
        headers = dict(headers or {})
        if not any(k.lower() == "x-rate-limit-limit" for k in headers):
            headers.update(self.app.rate_limiter.headers_for(self._path))
        if status == 401 and not any(k.lower() == "www-authenticate" for k in headers):
            headers["WWW-Authenticate"] = challenge(self._scheme(), self.app.url, self._path, "invalid_token", "The access token is invalid.")
        wire = self._wire
        if wire:
            body = with_okta_nulls(body)
            if content_type == "application/json":
                content_type = "application/json;charset=UTF-8"
        data = raw if raw is not None else json.dumps(body).encode()
        if wire and "gzip" in (self.headers.get("Accept-Encoding") or "").lower():
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        self.app.statuses.add(str(status))  # before the answer leaves, so a client never sees it uncounted
        self.send_response(status)
        name = str.lower if wire else (lambda k: k)  # real Okta's answers arrive with lowercase names
        self.send_header(name("Content-Type"), content_type)
        if wire:
            self.send_header("transfer-encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            for one in v if isinstance(v, list) else [v]:  # Okta sends one Link header per relation
                self.send_header(name(k), one)
        self.end_headers()
        if wire:
            half = len(data) // 2  # two chunks and the terminator, as a streamed answer comes
            for chunk in (data[:half], data[half:]):
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(data)

    def _scheme(self) -> str:
        return (self.headers.get("Authorization") or "").partition(" ")[0]

    def _error(self, status: int, summary: str | None = None, headers: dict | None = None, code: str | None = None) -> None:
        self._send(status, okta_error_body(status, summary, code), headers)

    def _drop_connection(self) -> None:
        self.app.statuses.add("0")
        self.close_connection = True
        try:  # RST rather than FIN: what a proxy or load balancer dropping the call looks like
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    # -- one request ----------------------------------------------------------------

    def _handle(self, method: str) -> None:
        try:
            self._handle_request(method)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout): nothing to answer
            self.close_connection = True

    def _handle_request(self, method: str) -> None:
        app = self.app
        parts = urlsplit(self.path)
        path = parts.path
        self._path, self._wire = path, False
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""

        route = None
        for template, regex, scope, paging in ROUTES:
            m = regex.match(path)
            if m and template.split(" ", 1)[0] == method:
                route = (template, m.groupdict(), scope, paging)
                break
        endpoint = route[0] if route else f"{method} {path}"
        app.counter.add(endpoint)

        fault = app.faults.take(path=path, method=method, endpoint=endpoint)
        if fault is not None:
            kind = fault.get("kind")
            if kind == "reset":
                self._drop_connection()
                return
            if kind == "timeout":
                time.sleep(float(fault.get("delay_s", 5)))
            elif kind == "invalid_json":
                self._send(200, None, raw=b'[{"id": "00u1", "status": ')
                return
            elif kind == "html_404":
                self._send(404, None, raw=SIGN_IN_PAGE, content_type="text/html;charset=utf-8")
                return
            elif kind == "okta_wire":
                self._wire = True  # then answered as below, in real Okta's bytes
            if fault.get("status"):
                status = int(fault["status"])
                headers = {}
                if status == 429:
                    headers = {**app.rate_limiter.headers_for(path), "X-Rate-Limit-Remaining": "0"}
                if "body" in fault:
                    self._send(status, fault["body"], headers)
                else:
                    self._error(status, fault.get("message"), headers, fault.get("error_code"))
                return

        if route is None:
            known_path = any(regex.match(path) for _, regex, _, _ in ROUTES)
            if known_path:
                self._error(405)
            else:
                self._error(404, f"Not found: Resource not found: {path}")
            return

        allowed, rate_headers = app.rate_limiter.take(path)
        if not allowed:
            self._error(429, headers=rate_headers)
            return

        template, params, scope, paging = route
        if template == "POST /oauth2/v1/token":
            self._token(body, rate_headers)
            return

        denial = self._authorize(method, path, scope)
        if denial is not None:
            status, summary, extra_headers = denial
            self._error(status, summary, {**rate_headers, **extra_headers})
            return
        self._serve(template, params, query, paging, rate_headers)

    # -- auth -----------------------------------------------------------------------

    def _authorize(self, method: str, path: str, scope: str | None) -> tuple[int, str, dict] | None:
        app = self.app
        header = self.headers.get("Authorization") or ""
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme == "SSWS":
            if credential and secrets.compare_digest(credential.encode(), app.org.api_token.encode()):
                return None
            return 401, "Invalid token provided", {}
        if scheme in ("Bearer", "DPoP"):
            try:
                grant = app.oauth.check_access(scheme, credential, self.headers.get("DPoP"), method, app.url + path)
            except DPoPFailure as exc:
                return 401, f"Invalid token provided ({exc})", {"WWW-Authenticate": challenge("DPoP", app.url, path, "invalid_dpop_proof", str(exc), scope)}
            if grant is None:
                return 401, "Invalid token provided", {"WWW-Authenticate": challenge(scheme, app.url, path, "invalid_token", "The access token is invalid.", scope)}
            if scope and scope not in grant.scopes:
                described = "The access token provided does not contain the required scopes."
                return (
                    403,
                    "You do not have permission to perform the requested action",
                    {"WWW-Authenticate": challenge(scheme, app.url, path, "insufficient_scope", described, scope)},
                )
            return None
        return 401, "Invalid token provided", {}

    def _token(self, body: bytes, rate_headers: dict) -> None:
        form = {k: v[-1] for k, v in parse_qs(body.decode(errors="replace")).items()}
        try:
            answer = self.app.oauth.issue(form, self.app.url + "/oauth2/v1/token", self.headers.get("DPoP"))
        except OAuthFailure as exc:
            self._send(exc.status, {"error": exc.error, "error_description": exc.description}, {**rate_headers, **exc.headers})
            return
        self._send(200, answer, {**rate_headers, "Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- resources ------------------------------------------------------------------

    def _serve(self, template: str, params: dict, query: dict, paging: tuple | None, rate_headers: dict) -> None:
        org, base = self.app.org, self.app.url
        app_id, group_id = params.get("appId"), params.get("groupId")
        if app_id is not None and not org.has_app(app_id):
            self._error(404, f"Not found: Resource not found: {app_id} (AppInstance)", rate_headers)
            return
        if group_id is not None and group_id not in org.groups:
            self._error(404, f"Not found: Resource not found: {group_id} (UserGroup)", rate_headers)
            return

        if template in ("GET /api/v1/users/{userId}", "GET /api/v1/users/{userId}/groups"):
            user_id = org.find_user(unquote(params["userId"]))
            if user_id is None:
                self._error(404, f"Not found: Resource not found: {unquote(params['userId'])} (User)", rate_headers)
                return
            if template == "GET /api/v1/users/{userId}":
                self._send(200, org.user(user_id, base), rate_headers)
                return
            groups = [org.group(gid, base) for gid in org.group_ids_of(user_id)]
            self._send(200, groups, rate_headers)
            return
        if template == "GET /api/v1/apps/{appId}/users/{userId}":
            user_id = unquote(params["userId"])
            entry = org.app_user_entry(user_id)
            if entry is None:  # Okta answers an unassigned (or unknown) user as a missing AppUser
                self._error(404, f"Not found: Resource not found: {user_id} (AppUser)", rate_headers)
                return
            self._send(200, org.app_user(entry, app_id, base, query.get("expand") == "user"), rate_headers)
            return
        if template == "GET /api/v1/apps/{appId}/groups/{groupId}":
            if group_id not in org.app_groups:
                self._error(404, f"Not found: Resource not found: {group_id} (ApplicationGroupAssignment)", rate_headers)
                return
            priority = org.app_groups.index(group_id)
            self._send(200, org.group_assignment(group_id, app_id, base, query.get("expand") == "group", priority), rate_headers)
            return
        if template == "GET /api/v1/apps/{appId}":
            self._send(200, org.app(app_id, base), rate_headers)
            return
        if template == "GET /api/v1/logs":
            self._logs(query, rate_headers)
            return
        if template == "GET /api/v1/groups/{groupId}":
            self._send(200, org.group(group_id, base), rate_headers)
            return

        if template == "GET /api/v1/apps/{appId}/users":
            expand = query.get("expand") == "user"
            items = [(e["id"], lambda e=e: org.app_user(e, app_id, base, expand)) for e in org.app_users]
        elif template == "GET /api/v1/apps/{appId}/groups":
            expand = query.get("expand") == "group"
            items = [
                (gid, lambda gid=gid, i=i: org.group_assignment(gid, app_id, base, expand, i)) for i, gid in enumerate(org.app_groups)
            ]
        elif template == "GET /api/v1/groups/{groupId}/users":
            items = [(uid, lambda uid=uid: org.user(uid, base)) for uid in org.groups[group_id].get("members", [])]
        elif template == "GET /api/v1/apps":
            the_app = org.app_id or "0oaqs1"
            items = [(the_app, lambda: org.app(the_app, base))]
        else:  # GET /api/v1/groups
            items = [(gid, lambda gid=gid: org.group(gid, base)) for gid in org.groups]
        self._page(items, query, paging, rate_headers)

    def _page(self, items: list, query: dict, paging: tuple, rate_headers: dict) -> None:
        low, default, high = paging
        raw_limit = query.get("limit")
        try:
            limit = default if raw_limit in (None, "") else int(raw_limit)
        except ValueError:
            self._error(400, "Api validation failed: limit", rate_headers)
            return
        limit = max(low, min(high, limit))
        start = 0
        after = query.get("after")
        if after:
            cursor = _decode_cursor(after)
            start = next((i + 1 for i, (item_id, _) in enumerate(items) if item_id == cursor), None)
            if start is None:
                self._error(400, "Api validation failed: after", rate_headers)
                return
        page = items[start : start + limit]
        base_url = self.app.url + urlsplit(self.path).path
        links = [f'<{self.app.url}{self.path}>; rel="self"']
        if len(page) == limit:  # like Okta: a full page always offers a next one, maybe empty
            nxt = {k: v for k, v in query.items() if k != "after"}
            nxt["limit"] = str(limit)
            nxt["after"] = _encode_cursor(page[-1][0])
            links.append(f'<{base_url}?{urlencode(nxt)}>; rel="next"')
        self._send(200, [make() for _, make in page], {**rate_headers, "Link": links})


    def _logs(self, query: dict, rate_headers: dict) -> None:
        """One page of the System Log; a next link ALWAYS (Okta's polling: continue from it later)."""
        try:
            events, cursor = self.app.log.query(query)
        except LogQueryError as exc:
            self._error(400, str(exc), rate_headers, exc.code)
            return
        base_url = self.app.url + urlsplit(self.path).path
        nxt = {k: v for k, v in query.items() if k not in ("after", "since")}
        nxt["after"] = encode_cursor(cursor)
        links = [f'<{self.app.url}{self.path}>; rel="self"', f'<{base_url}?{urlencode(nxt)}>; rel="next"']
        self._send(200, events, {**rate_headers, "Link": links})


def _encode_cursor(item_id: str) -> str:
    return secrets.token_hex(2) + item_id.encode().hex()


def _decode_cursor(cursor: str) -> str | None:
    try:
        return bytes.fromhex(cursor[4:]).decode()
    except ValueError:
        return None
