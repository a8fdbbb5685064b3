"""The Airflow hook for an `okta` connection: builds an OktaClient from it.

Connection fields: host = the org URL (https://your-org.okta.com), password =
an SSWS API token. Extra (all optional): `auth_method` (`api_token` or
`oauth`; `oauth` is assumed when `client_id` is set and there is no
password), `client_id`, `private_key` (PEM or JWK), `key_id`, `scopes`
(default `okta.apps.read okta.groups.read`), `dpop` (bool), `timeout`
(seconds per request), `max_retries`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from airflow.sdk import BaseHook

from okta_provider.auth import OAuthServiceAppAuth, SswsAuth
from okta_provider.client import OktaClient
from okta_provider.errors import OKTA_READ_SCOPES, OktaConfigError, OktaError


def _mask(secret: str | None) -> None:
    """Tell Airflow's log masker about a secret (only effective inside Airflow's processes)."""
    if not secret:
        return
    try:
        from airflow.sdk.log import mask_secret

        mask_secret(secret)
    except Exception:  # masking is a second line of defence; never fail a read over it
        pass


# The UI's Test button tests the form under a random 8-character conn id that exists only as an
# AIRFLOW_CONN_<ID> variable during the test (Airflow's connections test route, get_random_string()).
_TRANSIENT_CONN_ID = re.compile(r"[A-Za-z0-9]{8}")


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class OktaHook(BaseHook):
    """Reads Okta for the sync through the connection `okta_conn_id`."""

    conn_name_attr = "okta_conn_id"
    default_conn_name = "okta_default"
    conn_type = "okta"
    hook_name = "Okta"

    def __init__(self, okta_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.okta_conn_id = okta_conn_id
        self._client: OktaClient | None = None

    def __repr__(self) -> str:
        return f"OktaHook(okta_conn_id={self.okta_conn_id!r})"

    # -- building the client ------------------------------------------------------

    def get_conn(self) -> OktaClient:
        """The OktaClient for this connection, built once per hook."""
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self, *, testing: bool = False) -> OktaClient:
        conn = self.get_connection(self.okta_conn_id)
        source = f"Airflow connection {self.okta_conn_id!r}"
        if testing and self._is_transient():
            # The user knows the connection by its own id, which the UI does not pass: name its org instead.
            source = f"the tested connection (Okta org {(conn.host or '').strip() or 'with no host'})"
        extra = conn.extra_dejson or {}

        def opt(name: str, default: Any = None) -> Any:
            for key in (name, f"extra__okta__{name}"):
                if extra.get(key) not in (None, ""):
                    return extra[key]
            return default

        host = (conn.host or "").strip()
        if host and "://" not in host and conn.schema in ("http", "https"):
            host = f"{conn.schema}://{host}"
        if host and conn.port and f":{conn.port}" not in host:
            host = f"{host.rstrip('/')}:{conn.port}"
        if not host:
            raise OktaConfigError(f"{source} has no host: set it to the Okta org URL, e.g. https://your-org.okta.com.")

        method = opt("auth_method") or ("oauth" if opt("client_id") and not conn.password else "api_token")
        if method == "oauth":
            private_key = opt("private_key")
            _mask(private_key)
            if not private_key:
                raise OktaConfigError(f"{source} selects OAuth but has no private_key in its extra (PEM or JWK of the service app).")
            try:
                auth: Any = OAuthServiceAppAuth(
                    client_id=opt("client_id") or "",
                    private_key=private_key,
                    scopes=opt("scopes") or OKTA_READ_SCOPES,
                    key_id=opt("key_id"),
                    dpop=_as_bool(opt("dpop", False)),
                )
            except OktaConfigError as exc:
                raise OktaConfigError(f"{source}: {exc}") from None
        elif method == "api_token":
            _mask(conn.password)
            if not conn.password:
                raise OktaConfigError(f"{source} has no password: put an Okta SSWS API token there, or configure OAuth in its extra.")
            auth = SswsAuth(conn.password)
        else:
            raise OktaConfigError(f"{source} has auth_method {method!r}; use 'api_token' or 'oauth'.")

        try:
            return OktaClient(
                host,
                auth,
                timeout=float(opt("timeout", 30.0)),
                max_retries=int(opt("max_retries", 5)),
                credentials_source=source,
                allow_insecure_http=_as_bool(opt("okta_allow_insecure_http", False)),
            )
        except OktaConfigError as exc:
            raise OktaConfigError(f"{source}: {exc}") from None

    # -- the reads, by delegation ---------------------------------------------------

    def iter_app_users(self, app_id: str) -> Iterator[dict]:
        return self.get_conn().iter_app_users(app_id)

    def iter_app_groups(self, app_id: str) -> Iterator[dict]:
        return self.get_conn().iter_app_groups(app_id)

    def iter_group_members(self, group_id: str) -> Iterator[dict]:
        return self.get_conn().iter_group_members(group_id)

    def get_app_user(self, app_id: str, user_id: str) -> dict | None:
        return self.get_conn().get_app_user(app_id, user_id)

    def get_app_group(self, app_id: str, group_id: str) -> dict | None:
        return self.get_conn().get_app_group(app_id, group_id)

    def get_user(self, id_or_login: str) -> dict | None:
        return self.get_conn().get_user(id_or_login)

    def get_group(self, group_id: str) -> dict | None:
        return self.get_conn().get_group(group_id)

    def iter_user_groups(self, user_id: str) -> Iterator[dict]:
        return self.get_conn().iter_user_groups(user_id)

    def iter_log_pages(self, *, since=None, next_link: str | None = None, filter: str | None = None) -> Iterator:  # noqa: A002
        """The System Log page by page from `since` or a stored `next_link` (OktaClient.iter_log_pages)."""
        return self.get_conn().iter_log_pages(since=since, next_link=next_link, filter=filter)

    def read_log(self, *, since=None, next_link: str | None = None, filter: str | None = None):  # noqa: A002
        """Every System Log event up to now and the cursor to store (OktaClient.read_log)."""
        return self.get_conn().read_log(since=since, next_link=next_link, filter=filter)

    def lacks_scope(self, scope: str) -> bool:
        """Whether the connection's OAuth scopes leave ``scope`` out (OktaClient.lacks_scope)."""
        return self.get_conn().lacks_scope(scope)

    @property
    def api_calls(self) -> dict[str, int]:
        return self._client.api_calls if self._client is not None else {}

    def test_connection(self) -> tuple[bool, str]:
        """What the UI's Test button shows: reads one app and one group with these credentials."""
        try:
            return True, self._build_client(testing=True).check_access()
        except OktaError as exc:
            return False, str(exc)

    def _is_transient(self) -> bool:
        """Whether this conn id is the UI test's throwaway one (never shown: the user does not know it)."""
        return bool(_TRANSIENT_CONN_ID.fullmatch(self.okta_conn_id)) and (
            f"AIRFLOW_CONN_{self.okta_conn_id.upper()}" in os.environ
        )
