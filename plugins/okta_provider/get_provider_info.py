"""Provider metadata for Airflow's ProvidersManager: the `okta` connection type.

Declarative form fields (`conn-fields`, `ui-field-behaviour`) are what
Airflow 3.2+ reads to draw the connection form without importing the hook.
Extra fields are stored in the connection's extra JSON under these names.
"""

from __future__ import annotations

CONNECTION_TYPE = "okta"
HOOK_CLASS_NAME = "okta_provider.hooks.okta.OktaHook"


def get_provider_info() -> dict:
    return {
        "package-name": "airflow-provider-okta-sync",
        "name": "Okta (sync)",
        "description": "Reads Okta app users, app groups and group members for the Okta to QuickSight sync.",
        "versions": ["0.1.0"],
        "hooks": [
            {"integration-name": "Okta", "python-modules": ["okta_provider.hooks.okta"]},
        ],
        "connection-types": [
            {
                "hook-class-name": HOOK_CLASS_NAME,
                "hook-name": "Okta",
                "connection-type": CONNECTION_TYPE,
                "conn-fields": {
                    "auth_method": {
                        "label": "Auth method",
                        "description": "api_token: the password is an SSWS API token. "
                        "oauth: an OAuth 2.0 service app with private_key_jwt (fill the fields below).",
                        "schema": {"type": ["string", "null"], "enum": ["api_token", "oauth", None], "default": "api_token"},
                    },
                    "client_id": {
                        "label": "OAuth client ID",
                        "description": "Client ID of the Okta API service app (auth method oauth).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "private_key": {
                        "label": "OAuth private key (PEM or JWK)",
                        "description": "The service app's private key for private_key_jwt, as PEM or a JWK JSON object.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "key_id": {
                        "label": "OAuth key ID (kid)",
                        "description": "The kid of the public key registered on the service app, if it has several.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "scopes": {
                        "label": "OAuth scopes",
                        "description": "Space-separated; the sync needs okta.apps.read okta.groups.read.",
                        "schema": {"type": ["string", "null"], "default": "okta.apps.read okta.groups.read"},
                    },
                    "dpop": {
                        "label": "Use DPoP",
                        "description": "Tick when the service app requires DPoP-bound tokens (Okta's default for new service apps).",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                    "max_retries": {
                        "label": "Retries per request",
                        "description": "Transient failures (429, 5xx, timeouts) absorbed per request before the read fails.",
                        "schema": {"type": ["integer", "null"], "default": 5},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {"host": "Okta org URL", "password": "API token (SSWS)"},
                    "placeholders": {
                        "host": "https://your-org.okta.com",
                        "password": "SSWS API token (leave empty for OAuth)",
                    },
                },
            }
        ],
    }
