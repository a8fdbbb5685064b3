"""A small, careful client for the Okta reads the sync needs (app users, app groups, group
members; and the System Log from a cursor, for incremental runs).

Plain `requests`, no Airflow. Each read is a generator of Okta's own dicts,
one request per page, following `Link: rel="next"` to the end; a page that
cannot be read after every retry raises, so a caller that collects the
generator never holds a partial list.

Being a good API citizen: every request has a timeout; the client paces on
`X-Rate-Limit-Remaining`/`-Reset` (it waits for the reset rather than spend
the last request of a window); after a 429 it waits until the reset; 5xx,
timeouts, dropped connections and unreadable bodies (a broken gzip or chunked
body included) are retried with bounded exponential back-off. `max_retries`
failures in a row of one request are absorbed (default 5, so at least three
always are).

Errors are decided on Okta's `errorCode`, not the status alone (Okta has
answered a rejected Bearer token with 403 E0000005, and an unavailable
feature with 401 E0000015); an answer without Okta's error body is not from
Okta's API, so the org URL is wrong.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import requests

from okta_provider import errors
from okta_provider.errors import (
    SYSTEM_LOG,
    OktaConfigError,
    OktaError,
    OktaLogCursorError,
    OktaLogStartError,
    OktaResponseError,
    OktaTransientError,
)

log = logging.getLogger(__name__)

APP_USERS = "GET /api/v1/apps/{appId}/users"
APP_GROUPS = "GET /api/v1/apps/{appId}/groups"
GROUP_MEMBERS = "GET /api/v1/groups/{groupId}/users"
# One item each, for runs that re-read only what the System Log touched (docs/incremental.md).
APP_USER = "GET /api/v1/apps/{appId}/users/{userId}"
APP_GROUP = "GET /api/v1/apps/{appId}/groups/{groupId}"
USER = "GET /api/v1/users/{userId}"
USER_GROUPS = "GET /api/v1/users/{userId}/groups"  # not paged by Okta today; the client follows a next link anyway
GROUP = "GET /api/v1/groups/{groupId}"
LIST_APPS = "GET /api/v1/apps"
LIST_GROUPS = "GET /api/v1/groups"
LOG_PATH = "/api/v1/logs"
LOG_PAGE_SIZE = 1000  # the System Log's largest page
LOG_DEFAULT_PAGE_SIZE = 100  # what Okta serves when a link names no limit

# The largest page each endpoint allows (Okta's spec; docs/api-notes.md, Okta: endpoints and page sizes).
MAX_PAGE_SIZE = {APP_USERS: 500, APP_GROUPS: 200, GROUP_MEMBERS: 1000}

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# A body that came but cannot be decoded (a cut chunked stream, broken gzip): as transient as a dropped connection.
UNREADABLE_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
# OAuth challenge errors (RFC 6750 / RFC 9449) that mean the token or its proof was refused.
AUTH_CHALLENGE_ERRORS = frozenset({"invalid_token", "invalid_dpop_proof", "use_dpop_nonce"})


def normalize_org_url(org_url: str, allow_insecure_http: bool = False) -> str:
    """`https://example.okta.com` from what a person typed; refuse what cannot be right.

    Plain http is only allowed to a loopback host (the local test server), or
    with the explicit opt-in `allow_insecure_http` (the docker-compose `local`
    profile's stand-in on another container): a token must never cross a
    real network in clear text.
    """
    raw = (org_url or "").strip()
    if not raw:
        raise OktaConfigError("The Okta org URL is empty: set the connection's host to e.g. https://your-org.okta.com.")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise OktaConfigError(f"The Okta org URL {org_url!r} is not an http(s) URL like https://your-org.okta.com.")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS and not allow_insecure_http:
        raise OktaConfigError(
            f"The Okta org URL {org_url!r} uses plain http; Okta is only reachable over https "
            f"(http is accepted for a loopback test server only). Use https://{parts.netloc}."
        )
    if "-admin." in host:
        raise OktaConfigError(
            f"The Okta org URL {org_url!r} is the Admin Console address; use the org URL without '-admin' "
            f"(https://{parts.netloc.replace('-admin.', '.')})."
        )
    if parts.username or parts.password:
        raise OktaConfigError("The Okta org URL must not carry credentials; put the token in the connection's password.")
    return f"{parts.scheme}://{parts.netloc}"


class OktaClient:
    """Reads an Okta org's app users, app groups and group members.

    `auth` is `auth.SswsAuth` or `auth.OAuthServiceAppAuth`.
    `credentials_source` names where the credentials live (e.g. "Airflow
    connection 'okta_default'") so that an auth error says what to update.
    `page_sizes` may override `MAX_PAGE_SIZE` per endpoint (tests use it to
    ask for more than Okta allows and see the server clamp it).
    """

    def __init__(
        self,
        org_url: str,
        auth: Any,
        timeout: float = 30.0,
        max_retries: int = 5,
        *,
        credentials_source: str = "the Okta credentials",
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 20.0,
        rate_limit_margin_s: float = 1.0,
        max_rate_limit_wait_s: float = 120.0,
        page_sizes: dict[str, int] | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self.org_url = normalize_org_url(org_url, allow_insecure_http)
        self.allow_insecure_http = allow_insecure_http
        self.auth = auth
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.credentials_source = credentials_source
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.rate_limit_margin_s = rate_limit_margin_s
        self.max_rate_limit_wait_s = max_rate_limit_wait_s
        self.page_sizes = {**MAX_PAGE_SIZE, **(page_sizes or {})}
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or .netrc credentials picked up behind our back
        self._calls: Counter[str] = Counter()
        self._rate: dict[str, tuple[int, float]] = {}  # endpoint -> (remaining, reset epoch s)
        self._lock = threading.Lock()
        self.waited_s = 0.0  # time spent pacing, waiting out 429s and backing off

    def __repr__(self) -> str:
        return f"OktaClient(org_url={self.org_url!r}, auth={self.auth!r})"

    # -- the reads --------------------------------------------------------------

    def iter_app_users(self, app_id: str) -> Iterator[dict]:
        """AppUser objects with the Okta user in `_embedded.user` (`expand=user`)."""
        return self._iter_pages(
            APP_USERS,
            f"/api/v1/apps/{quote(app_id, safe='')}/users",
            {"expand": "user"},
            lambda code, eid, **kw: errors.app_not_found(self.org_url, app_id, code, eid, self.credentials_source, **kw),
        )

    def iter_app_groups(self, app_id: str) -> Iterator[dict]:
        """ApplicationGroupAssignment objects with the group in `_embedded.group` (`expand=group`)."""
        return self._iter_pages(
            APP_GROUPS,
            f"/api/v1/apps/{quote(app_id, safe='')}/groups",
            {"expand": "group"},
            lambda code, eid, **kw: errors.app_not_found(self.org_url, app_id, code, eid, self.credentials_source, **kw),
        )

    def iter_group_members(self, group_id: str) -> Iterator[dict]:
        """User objects of the group's members."""
        return self._iter_pages(
            GROUP_MEMBERS,
            f"/api/v1/groups/{quote(group_id, safe='')}/users",
            {},
            lambda code, eid, **kw: errors.group_not_found(self.org_url, group_id, code, eid, **kw),
        )

    # -- one item each (incremental and on-demand runs) --------------------------

    def get_app_user(self, app_id: str, user_id: str) -> dict | None:
        """The AppUser with the Okta user in `_embedded.user`, or None when the user is not assigned
        to the app (Okta's 404 E0000007; an unknown user id reads the same)."""
        return self._get_one(
            APP_USER, f"/api/v1/apps/{quote(app_id, safe='')}/users/{quote(user_id, safe='')}", {"expand": "user"}, app_id
        )

    def get_app_group(self, app_id: str, group_id: str) -> dict | None:
        """The ApplicationGroupAssignment with the group in `_embedded.group`, or None when the group
        is not assigned to the app (404 E0000007; a deleted group reads the same)."""
        return self._get_one(
            APP_GROUP, f"/api/v1/apps/{quote(app_id, safe='')}/groups/{quote(group_id, safe='')}", {"expand": "group"}, app_id
        )

    def get_user(self, id_or_login: str) -> dict | None:
        """The Okta user by id or login (on-demand runs name logins), or None when there is none.

        Okta answers a login containing `/` only by id (its reference); such a login finds nobody.
        Needs the scope okta.users.read."""
        return self._get_one(USER, f"/api/v1/users/{quote(id_or_login, safe='')}", {}, None)

    def get_group(self, group_id: str) -> dict | None:
        """The Okta group, or None when it no longer exists."""
        return self._get_one(GROUP, f"/api/v1/groups/{quote(group_id, safe='')}", {}, None)

    def iter_user_groups(self, user_id: str) -> Iterator[dict]:
        """The Group objects of every group the user is a member of (needs okta.users.read)."""
        return self._iter_pages(
            USER_GROUPS,
            f"/api/v1/users/{quote(user_id, safe='')}/groups",
            {},
            lambda code, eid, **kw: errors.user_not_found(self.org_url, user_id, code, eid, **kw),
        )

    def _get_one(self, endpoint: str, path: str, params: dict, app_id: str | None) -> dict | None:
        """One object, or None for Okta's 404 E0000007; a 404 that names the app instance is the app missing."""
        url = f"{self.org_url}{path}{'?' + urlencode(params) if params else ''}"

        def absent(code, eid, **kw) -> OktaError:
            return _Absent(code, **kw)

        try:
            _, body = self.send("GET", url, endpoint, on_404=absent)
        except _Absent as gone:
            if app_id is not None and gone.names_app:
                raise errors.app_not_found(self.org_url, app_id, gone.error_code, None, self.credentials_source, status=404, endpoint=endpoint) from None
            return None
        if not isinstance(body, dict):
            raise OktaResponseError(f"Okta at {self.org_url} answered {endpoint} with a {type(body).__name__}, not an object.", endpoint=endpoint)
        return body

    def check_access(self) -> str:
        """One small read per scope the sync needs; raises an actionable OktaError if either fails."""
        self.send("GET", f"{self.org_url}/api/v1/apps?limit=1", LIST_APPS)
        self.send("GET", f"{self.org_url}/api/v1/groups?limit=1", LIST_GROUPS)
        return f"Connected to Okta at {self.org_url}; apps and groups are readable."

    def iter_log_pages(self, *, since: datetime | str | None = None, next_link: str | None = None,
                       filter: str | None = None) -> Iterator[LogPage]:  # noqa: A002 - Okta's parameter name
        """The System Log from a start point, one request per page, up to the last event logged.

        Start from `since` (first run: a datetime or Okta's ISO 8601 text) with an optional SCIM
        `filter`, or from `next_link`, the cursor a previous read returned (opaque; it keeps its
        filter). Okta's polling answers always carry a next link; reading stops after the first
        page that is not full, and that page's next link is the cursor to continue from later.
        A page that fails after its retries raises: never a partial read presented as whole.
        """
        if (since is None) == (next_link is None):
            raise ValueError("read the System Log from exactly one of `since` (a first read) or `next_link` (a stored cursor)")
        if next_link is not None:
            url = self._log_cursor_url(next_link)
        else:
            query = {"since": _okta_time(since), "limit": LOG_PAGE_SIZE, **({"filter": filter} if filter else {})}
            url = f"{self.org_url}{LOG_PATH}?{urlencode(query)}"
        while True:
            response, body = self.send("GET", url, SYSTEM_LOG, on_400=self._log_start_refused)
            if not isinstance(body, list):
                raise OktaResponseError(f"Okta at {self.org_url} answered {SYSTEM_LOG} with a {type(body).__name__}, not a list.", endpoint=SYSTEM_LOG)
            nxt = self._next_link_of(response.links, SYSTEM_LOG)
            if nxt is None:
                raise OktaResponseError(
                    f"Okta at {self.org_url} answered {SYSTEM_LOG} without a next link, so there is no cursor to "
                    f"continue from; a polling read (no `until`) always gets one.",
                    endpoint=SYSTEM_LOG,
                )
            limit = _page_limit(url)
            full = limit > 0 and len(body) >= limit
            yield LogPage(events=body, next_link=nxt, last=not full)
            if not full:
                return
            url = nxt

    def read_log(self, *, since: datetime | str | None = None, next_link: str | None = None,
                 filter: str | None = None) -> LogRead:  # noqa: A002
        """`iter_log_pages` collected: every event up to now and the cursor to store for the next read."""
        events: list[dict] = []
        pages = 0
        cursor = ""
        for page in self.iter_log_pages(since=since, next_link=next_link, filter=filter):
            events.extend(page.events)
            pages += 1
            cursor = page.next_link
        return LogRead(events=events, next_link=cursor, pages=pages)

    def lacks_scope(self, scope: str) -> bool:
        """Whether an OAuth service app connection was configured without ``scope`` (so asking is a sure 403).
        An API token acts with its admin's role: it never lacks a scope here."""
        scopes = getattr(self.auth, "scopes", None)
        return isinstance(scopes, str) and scope not in scopes.split()

    def _log_cursor_url(self, next_link: str) -> str:
        """A stored cursor, followed only on this org's System Log (the credentials go where it points)."""
        link = next_link.strip()
        if link.startswith("/"):
            link = self.org_url + link
        parts = urlsplit(link)
        if normalize_org_url_or_none(link, self.allow_insecure_http) != self.org_url or parts.path != LOG_PATH:
            origin = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else "something that is not a URL"
            raise OktaLogCursorError(
                f"The stored System Log cursor points at {origin}, not {self.org_url}{LOG_PATH} (the host of "
                f"{self.credentials_source}); it is not followed. If the org URL changed, discard the cursor so the "
                f"next read starts from a time instead.",
                endpoint=SYSTEM_LOG,
            )
        return link

    def _log_start_refused(self, code: str | None, eid: str | None, summary: str | None, **kw) -> OktaError:
        return OktaLogStartError(
            f"Okta at {self.org_url} refused where the System Log read starts ({code or 'HTTP 400'}"
            f"{f', errorId {eid}' if eid else ''}): {summary or 'no reason given'}. Okta keeps 90 days of events "
            f"and refuses a `since` over 180 days back; start from a full read and a recent time.",
            error_code=code,
            error_id=eid,
            **kw,
        )

    @property
    def api_calls(self) -> dict[str, int]:
        """Requests sent, by endpoint template, retries and token requests included."""
        with self._lock:
            return dict(self._calls)

    # -- paging -----------------------------------------------------------------

    def _iter_pages(self, endpoint: str, path: str, params: dict, on_404: Callable[..., OktaError]) -> Iterator[dict]:
        query = {**({"limit": self.page_sizes[endpoint]} if endpoint in self.page_sizes else {}), **params}
        url: str | None = f"{self.org_url}{path}?{urlencode(query)}"
        pages = 0
        while url:
            response, body = self.send("GET", url, endpoint, on_404=on_404)
            if not isinstance(body, list):
                raise OktaResponseError(f"Okta at {self.org_url} answered {endpoint} with a {type(body).__name__}, not a list.", endpoint=endpoint)
            pages += 1
            yield from body
            url = self._next_link_of(response.links, endpoint)
        log.debug("%s: %d page(s)", endpoint, pages)

    def _next_link_of(self, links: dict, endpoint: str) -> str | None:
        nxt = (links.get("next") or {}).get("url")
        if not nxt:
            return None
        if nxt.startswith("/"):
            nxt = self.org_url + nxt
        if normalize_org_url_or_none(nxt, self.allow_insecure_http) != self.org_url:
            # Never send the credentials to another host because a header said so.
            raise OktaResponseError(f"Okta's next link for {endpoint} points outside {self.org_url}; refusing to follow it.", endpoint=endpoint)
        return nxt

    # -- one request, with retries ---------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        data: dict | None = None,
        headers: dict | None = None,
        authenticate: bool = True,
        accept_statuses: tuple[int, ...] = (200,),
        on_404: Callable[..., OktaError] | None = None,
        on_400: Callable[..., OktaError] | None = None,
    ) -> tuple[requests.Response, Any]:
        """Send one request until it succeeds or its retries run out; returns (response, parsed JSON)."""
        failures = 0
        renewed_auth = False
        while True:
            self._pace(endpoint)
            request_headers = {"Accept": "application/json", "User-Agent": "okta-quicksight-sync/0.1", **(headers or {})}
            if authenticate:
                request_headers.update(self.auth.headers_for(self, method, url))
            with self._lock:
                self._calls[endpoint] += 1
            problem: str
            try:
                response = self._session.request(
                    method, url, data=data, headers=request_headers, timeout=self.timeout, allow_redirects=False
                )
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g} s"
            except requests.ConnectionError as exc:
                problem = f"connection failed ({type(exc).__name__})"
            except UNREADABLE_BODY_ERRORS as exc:
                problem = f"a body that could not be read ({type(exc).__name__})"
            else:
                self._remember_rate_limit(endpoint, response)
                status = response.status_code
                if status == 429:
                    failures += 1
                    self._give_up_if_exhausted(failures, endpoint, f"rate limited (429 {errors.RATE_LIMITED})")
                    self._wait_for_reset(endpoint, response, failures)
                    continue
                if status in TRANSIENT_STATUSES:
                    problem = f"HTTP {status}"
                elif status in accept_statuses:
                    try:
                        body = response.json()
                    except ValueError:
                        if _is_html(response):
                            raise errors.wrong_org_url(self.org_url, self.credentials_source, endpoint, status, "an HTML page") from None
                        problem = f"HTTP {status} with a body that is not JSON"
                    else:
                        return response, body
                else:
                    if (
                        authenticate
                        and not renewed_auth
                        and _is_auth_failure(response)
                        and self.auth.retry_after_auth_failure(response)
                    ):
                        renewed_auth = True  # once: a token that fails again fresh is reported, not retried forever
                        log.info("Okta %s: HTTP %d refused the token; renewing it once", endpoint, status)
                        continue
                    raise self._error_for(response, endpoint, on_404, on_400)
            failures += 1
            self._give_up_if_exhausted(failures, endpoint, problem)
            delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
            log.warning("Okta %s: %s; retry %d/%d in %.2f s", endpoint, problem, failures, self.max_retries, delay)
            self._sleep(delay)

    def _give_up_if_exhausted(self, failures: int, endpoint: str, problem: str) -> None:
        if failures > self.max_retries:
            raise OktaTransientError(
                f"Okta at {self.org_url} kept failing {endpoint}: {problem}, {failures} times in a row. "
                f"The read stopped without a result; run it again later, or raise max_retries/timeout in "
                f"{self.credentials_source} if Okta is slow.",
                endpoint=endpoint,
            )

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_s += seconds
            time.sleep(seconds)

    # -- rate limits ------------------------------------------------------------

    def _remember_rate_limit(self, endpoint: str, response: requests.Response) -> None:
        try:
            remaining = int(response.headers["X-Rate-Limit-Remaining"])
            reset = float(response.headers["X-Rate-Limit-Reset"])
        except (KeyError, ValueError):
            return
        with self._lock:
            self._rate[endpoint] = (remaining, reset)

    def _pace(self, endpoint: str) -> None:
        """Wait for the window's reset instead of spending a request Okta would refuse."""
        with self._lock:
            remaining, reset = self._rate.get(endpoint, (1, 0.0))
        if remaining <= 0:
            wait = min(self.max_rate_limit_wait_s, reset - time.time() + self.rate_limit_margin_s)
            if wait > 0:
                log.info("Okta %s: rate limit window spent; pacing %.2f s until it resets", endpoint, wait)
                self._sleep(wait)
            with self._lock:
                self._rate.pop(endpoint, None)

    def _wait_for_reset(self, endpoint: str, response: requests.Response, failures: int) -> None:
        try:
            wait = float(response.headers["X-Rate-Limit-Reset"]) - time.time() + self.rate_limit_margin_s
        except (KeyError, ValueError):
            wait = min(self.backoff_max_s, self.backoff_base_s * 2 ** (failures - 1))
        wait = min(self.max_rate_limit_wait_s, max(wait, 0.0))
        log.warning("Okta %s: 429 rate limited; waiting %.2f s for the reset (retry %d/%d)", endpoint, wait, failures, self.max_retries)
        with self._lock:
            self._rate.pop(endpoint, None)
        self._sleep(wait)

    # -- errors -----------------------------------------------------------------

    def _error_for(
        self, response: requests.Response, endpoint: str, on_404: Callable[..., OktaError] | None, on_400: Callable[..., OktaError] | None = None
    ) -> OktaError:
        """The error for a refused request, decided on Okta's errorCode; the status only where Okta gave none."""
        body = _error_body(response)
        code, eid, summary = body.get("errorCode"), body.get("errorId"), body.get("errorSummary")
        status = response.status_code
        kw = {"status": status, "endpoint": endpoint}
        challenge = _challenge_error(response)
        if code in errors.AUTH_FAILURE_CODES or (code is None and (status == 401 or challenge in AUTH_CHALLENGE_ERRORS)):
            return errors.invalid_token(
                self.org_url, self.credentials_source, code, eid,
                oauth_client_id=getattr(self.auth, "client_id", None), summary=summary, **kw,
            )
        if code == errors.FEATURE_UNAVAILABLE:
            return errors.feature_unavailable(self.org_url, self.credentials_source, endpoint, code, eid, summary, status=status)
        if code == errors.PERMISSION_DENIED or (code is None and challenge == "insufficient_scope"):
            return errors.permission_denied(self.org_url, self.credentials_source, endpoint, code, eid, status=status)
        if code == errors.NOT_FOUND and on_404 is not None:
            error = on_404(code, eid, **kw)
            error.summary = summary  # what Okta said was missing, e.g. "... (AppInstance)"
            return error
        if status == 400 and code is not None and on_400 is not None:
            return on_400(code, eid, summary, **kw)
        if code is None and (status == 404 or 300 <= status < 400):
            what = "an HTML page" if _is_html(response) else "no Okta error body"
            if 300 <= status < 400:
                what = f"a redirect to {_location_origin(response)}"
            return errors.wrong_org_url(self.org_url, self.credentials_source, endpoint, status, what)
        return OktaResponseError(
            f"Okta at {self.org_url} answered {endpoint} with HTTP {status}{f' {code}' if code else ''}: "
            f"{summary or response.reason} (credentials from {self.credentials_source}).",
            error_code=code,
            error_id=eid,
            **kw,
        )


class _Absent(OktaError):
    """Okta's 404 E0000007 for one item: the caller answers None (never leaves `_get_one`)."""

    def __init__(self, code: str | None, **kw) -> None:
        super().__init__("not found", error_code=code, **kw)

    @property
    def names_app(self) -> bool:
        return "(AppInstance)" in (getattr(self, "summary", None) or "")


@dataclass(frozen=True)
class LogPage:
    """One page of the System Log: its events and the next link Okta sent with it (the cursor after it)."""

    events: list[dict]
    next_link: str
    last: bool  # not full: the read is caught up, and `next_link` is where the next read continues


@dataclass(frozen=True)
class LogRead:
    """A whole read of the System Log: every event up to now, the cursor to store, the pages it took."""

    events: list[dict]
    next_link: str
    pages: int


def _okta_time(value: datetime | str) -> str:
    """A `since` in Okta's form (UTC, ISO 8601 with Z); a naive datetime is taken as UTC."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return str(value)


def _page_limit(url: str) -> int:
    """The page size a log URL asks for (Okta's default when it names none)."""
    try:
        return int(dict(parse_qsl(urlsplit(url).query)).get("limit", LOG_DEFAULT_PAGE_SIZE))
    except ValueError:
        return LOG_DEFAULT_PAGE_SIZE


def _error_body(response: requests.Response) -> dict:
    """Okta's error object, or {} for an answer without one (HTML, empty, not JSON); null fields count as absent."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return {k: v for k, v in body.items() if v is not None} if isinstance(body, dict) else {}


def _is_auth_failure(response: requests.Response) -> bool:
    """Whether Okta refused the token itself (worth one renewal): by errorCode, else by the challenge or a bare 401."""
    code = _error_body(response).get("errorCode")
    if code is not None:
        return code in errors.AUTH_FAILURE_CODES
    return response.status_code == 401 or _challenge_error(response) in AUTH_CHALLENGE_ERRORS


def _challenge_error(response: requests.Response) -> str | None:
    """The `error` parameter of a WWW-Authenticate challenge (e.g. insufficient_scope), if any."""
    match = re.search(r'\berror="([^"]*)"', response.headers.get("WWW-Authenticate") or "")
    return match.group(1) if match else None


def _is_html(response: requests.Response) -> bool:
    return "html" in (response.headers.get("Content-Type") or "").lower()


def _location_origin(response: requests.Response) -> str:
    """Where a redirect points, scheme and host only (a query string could carry anything)."""
    parts = urlsplit(response.headers.get("Location") or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "another page"


def normalize_org_url_or_none(url: str, allow_insecure_http: bool = False) -> str | None:
    try:
        return normalize_org_url(url, allow_insecure_http)
    except OktaConfigError:
        return None
