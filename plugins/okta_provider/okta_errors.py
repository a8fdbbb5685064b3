"""Errors from reading Okta, each worded so that a person knows what to fix.

Callers branch on the class; the message is for people. No message ever
contains a token, a private key or a full Authorization header: errors are
built from Okta's `errorCode`/`errorSummary`/`errorId` and our own context.
"""

from __future__ import annotations

OKTA_READ_SCOPES = ("okta.apps.read", "okta.groups.read")


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


class OktaAuthError(OktaError):
    """Okta rejected the credentials: 401 E0000011, or the OAuth token request failed."""


class OktaPermissionError(OktaError):
    """403: the credentials are valid but lack a scope or admin role."""


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


class OktaTransientError(OktaError):
    """A 429, 5xx, timeout, dropped connection or unreadable body that outlived every retry."""


class OktaResponseError(OktaError):
    """Okta answered something the client cannot use (an unexpected status or shape)."""


def _okta_ref(error_code: str | None, error_id: str | None) -> str:
    parts = [p for p in (error_code, f"errorId {error_id}" if error_id else None) if p]
    return f" ({', '.join(parts)})" if parts else ""


def invalid_token(org_url: str, credentials_source: str, error_code: str | None, error_id: str | None, **kw) -> OktaAuthError:
    return OktaAuthError(
        f"Okta at {org_url} rejected the credentials as invalid or expired{_okta_ref(error_code, error_id)}. "
        f"An SSWS API token expires after 30 days unused and dies with its admin's account. "
        f"Create a new token (Okta Admin Console > Security > API > Tokens) or check the OAuth service app, "
        f"then update {credentials_source}.",
        error_code=error_code,
        error_id=error_id,
        **kw,
    )


def permission_denied(
    org_url: str, credentials_source: str, endpoint: str, error_code: str | None, error_id: str | None, **kw
) -> OktaPermissionError:
    return OktaPermissionError(
        f"Okta at {org_url} denied {endpoint}{_okta_ref(error_code, error_id)}: the credentials in "
        f"{credentials_source} lack permission. An OAuth service app needs the scopes "
        f"{' '.join(OKTA_READ_SCOPES)} granted (Okta API Scopes tab) and an admin role that can read apps "
        f"and groups (e.g. Read-Only Administrator); an API token acts with its creating admin's role, "
        f"which needs the same reads.",
        error_code=error_code,
        error_id=error_id,
        endpoint=endpoint,
        **kw,
    )


def app_not_found(org_url: str, app_id: str, error_code: str | None, error_id: str | None, **kw) -> OktaAppNotFoundError:
    return OktaAppNotFoundError(
        f"Okta at {org_url} has no app with id {app_id!r}{_okta_ref(error_code, error_id)}. "
        f"Check the target's okta_app_id: it is the id in the app's Admin Console URL "
        f"(.../admin/app/<name>/instance/<app id>/), not its label.",
        app_id=app_id,
        error_code=error_code,
        error_id=error_id,
        **kw,
    )


def group_not_found(org_url: str, group_id: str, error_code: str | None, error_id: str | None, **kw) -> OktaGroupNotFoundError:
    return OktaGroupNotFoundError(
        f"Okta at {org_url} has no group with id {group_id!r}{_okta_ref(error_code, error_id)}; "
        f"it was probably deleted while the sync was reading. Run the sync again.",
        group_id=group_id,
        error_code=error_code,
        error_id=error_id,
        **kw,
    )
