"""Errors from reading Okta, each worded so that a person knows what to fix.

Callers branch on the class; the message is for people. No message ever
contains a token, a private key or a full Authorization header: errors are
built from Okta's `errorCode`/`errorSummary`/`errorId` and our own context.
"""

from __future__ import annotations

OKTA_READ_SCOPES = ("okta.apps.read", "okta.groups.read")
USER_READ_SCOPE = "okta.users.read"  # a user by id or login and its groups (incremental and on-demand runs)
LOG_READ_SCOPE = "okta.logs.read"  # the System Log (GET /api/v1/logs); not among the defaults: a full run never reads it
SYSTEM_LOG = "GET /api/v1/logs"
USER_ENDPOINTS = frozenset({"GET /api/v1/users/{userId}", "GET /api/v1/users/{userId}/groups"})  # okta.users.read

# Okta's errorCodes the client decides on (the HTTP status alone can mislead: Okta has
# answered a rejected Bearer token with 403 E0000005, and an unavailable feature with 401).
INVALID_SESSION = "E0000005"  # authentication failed (seen as 403 for a rejected Bearer token)
PERMISSION_DENIED = "E0000006"  # authenticated, but without the scope or admin role
NOT_FOUND = "E0000007"
INVALID_TOKEN = "E0000011"
FEATURE_UNAVAILABLE = "E0000015"  # a 401 that is not about the token
RATE_LIMITED = "E0000047"
AUTH_FAILURE_CODES = frozenset({INVALID_TOKEN, INVALID_SESSION})


class OktaError(Exception):
    """Any failure to complete an Okta read. Nothing partial is returned with it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        error_id: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.error_id = error_id
        self.endpoint = endpoint  # path template, e.g. "GET /api/v1/apps/{appId}/users"


class OktaConfigError(OktaError):
    """The connection's settings cannot work (bad org URL, missing token or key)."""


class OktaOrgUrlError(OktaConfigError):
    """The connection's host answered, but not as an Okta org's API (e.g. a 404 sign-in page)."""


class OktaAuthError(OktaError):
    """Okta rejected the credentials (E0000011, E0000005), or the OAuth token request failed."""


class OktaPermissionError(OktaError):
    """403: the credentials are valid but lack a scope or admin role."""


class OktaFeatureUnavailableError(OktaPermissionError):
    """401 E0000015: the org does not offer this API to these credentials; the token itself is fine."""


class OktaNotFoundError(OktaError):
    """404 for an id the caller asked for."""


class OktaAppNotFoundError(OktaNotFoundError):
    def __init__(self, message: str, *, app_id: str, **kw) -> None:
        super().__init__(message, **kw)
        self.app_id = app_id


class OktaGroupNotFoundError(OktaNotFoundError):
    def __init__(self, message: str, *, group_id: str, **kw) -> None:
        super().__init__(message, **kw)
        self.group_id = group_id


class OktaUserNotFoundError(OktaNotFoundError):
    def __init__(self, message: str, *, user_id: str, **kw) -> None:
        super().__init__(message, **kw)
        self.user_id = user_id


class OktaTransientError(OktaError):
    """A 429, 5xx, timeout, dropped connection or unreadable body that outlived every retry."""


class OktaResponseError(OktaError):
    """Okta answered something the client cannot use (an unexpected status or shape)."""


class OktaLogStartError(OktaResponseError):
    """Okta's System Log refused where the read was asked to start (400: a `since` over 180 days back,
    a malformed one, or a cursor it does not know); a caller falls back to a full read."""


class OktaLogCursorError(OktaConfigError):
    """A stored System Log cursor that is not this org's log: it is never followed (it would carry the credentials elsewhere)."""


def _okta_ref(error_code: str | None, error_id: str | None) -> str:
    parts = [p for p in (error_code, f"errorId {error_id}" if error_id else None) if p]
    return f" ({', '.join(parts)})" if parts else ""


def invalid_token(
    org_url: str,
    credentials_source: str,
    error_code: str | None,
    error_id: str | None,
    *,
    oauth_client_id: str | None = None,
    summary: str | None = None,
    **kw,
) -> OktaAuthError:
    """The token was refused as not valid (E0000011, E0000005), after the one renewal an OAuth token gets."""
    said = f' "{summary}"' if summary else ""
    if oauth_client_id:
        advice = (
            f"The OAuth access token of service app {oauth_client_id!r} was refused as invalid or expired, also "
            f"after a freshly issued one. Check that the service app is active and belongs to this org (the host "
            f"of {credentials_source}), that `dpop` in {credentials_source} matches the app's 'Require DPoP' "
            f"setting, and that the app's admin role was not revoked; then update {credentials_source}."
        )
    else:
        advice = (
            f"The SSWS API token in {credentials_source} is invalid or expired: a token expires after 30 days "
            f"unused and dies with its admin's account. Create a new token (Okta Admin Console > Security > API > "
            f"Tokens) and update {credentials_source} with it (its password)."
        )
    return OktaAuthError(
        f"Okta at {org_url} rejected the credentials{_okta_ref(error_code, error_id)}{said}. {advice}",
        error_code=error_code,
        error_id=error_id,
        **kw,
    )


def feature_unavailable(
    org_url: str, credentials_source: str, endpoint: str, error_code: str | None, error_id: str | None, summary: str | None, **kw
) -> OktaFeatureUnavailableError:
    said = f' "{summary}"' if summary else ""
    return OktaFeatureUnavailableError(
        f"Okta at {org_url} answered {endpoint}{_okta_ref(error_code, error_id)}{said}: this feature is not "
        f"available to the credentials in {credentials_source}. The token itself was accepted, so a new token "
        f"will not help: the org's plan or feature settings do not offer this API to this caller. Ask an Okta "
        f"admin to enable it for the org, or use credentials that may call it.",
        error_code=error_code,
        error_id=error_id,
        endpoint=endpoint,
        **kw,
    )


def wrong_org_url(org_url: str, credentials_source: str, endpoint: str, status: int, what: str, **kw) -> OktaOrgUrlError:
    """The host answered without Okta's error body: it is not the org's API, whatever the ids asked for."""
    return OktaOrgUrlError(
        f"{org_url} answered {endpoint} with HTTP {status} and {what} instead of Okta's JSON API: this host is "
        f"not an Okta org, so the org URL is wrong (the host of {credentials_source}), not the app or group id. "
        f"Set that host to your Okta org URL, e.g. https://your-org.okta.com (no -admin, no path).",
        status=status,
        endpoint=endpoint,
        **kw,
    )


def permission_denied(
    org_url: str, credentials_source: str, endpoint: str, error_code: str | None, error_id: str | None, **kw
) -> OktaPermissionError:
    if endpoint == SYSTEM_LOG:
        scopes, reads = LOG_READ_SCOPE, "the System Log"
    elif endpoint in USER_ENDPOINTS:
        scopes, reads = USER_READ_SCOPE, "users"
    else:
        scopes, reads = " ".join(OKTA_READ_SCOPES), "apps and groups"
    return OktaPermissionError(
        f"Okta at {org_url} denied {endpoint}{_okta_ref(error_code, error_id)}: the credentials in "
        f"{credentials_source} lack permission. An OAuth service app needs the scopes "
        f"{scopes} granted (Okta API Scopes tab; add it to the connection's `scopes` too) and an admin role "
        f"that can read {reads} (e.g. Read-Only Administrator); an API token acts with its creating admin's "
        f"role, which needs the same reads.",
        error_code=error_code,
        error_id=error_id,
        endpoint=endpoint,
        **kw,
    )


def app_not_found(
    org_url: str, app_id: str, error_code: str | None, error_id: str | None, credentials_source: str = "the Okta connection", **kw
) -> OktaAppNotFoundError:
    return OktaAppNotFoundError(
        f"Okta at {org_url} (the host of {credentials_source}) has no app with id {app_id!r}"
        f"{_okta_ref(error_code, error_id)}. Check the target's okta_app_id: it is the id in the app's Admin "
        f"Console URL (.../admin/app/<name>/instance/<app id>/), not its label.",
        app_id=app_id,
        error_code=error_code,
        error_id=error_id,
        **kw,
    )


def group_not_found(org_url: str, group_id: str, error_code: str | None, error_id: str | None, **kw) -> OktaGroupNotFoundError:
    return OktaGroupNotFoundError(_gone_mid_read(org_url, "group", group_id, error_code, error_id), group_id=group_id,
                                  error_code=error_code, error_id=error_id, **kw)


def user_not_found(org_url: str, user_id: str, error_code: str | None, error_id: str | None, **kw) -> OktaUserNotFoundError:
    return OktaUserNotFoundError(_gone_mid_read(org_url, "user", user_id, error_code, error_id), user_id=user_id,
                                 error_code=error_code, error_id=error_id, **kw)


def _gone_mid_read(org_url: str, kind: str, item_id: str, error_code: str | None, error_id: str | None) -> str:
    return (f"Okta at {org_url} has no {kind} with id {item_id!r}{_okta_ref(error_code, error_id)}; "
            "it was probably deleted while the sync was reading. Run the sync again.")
