"""Fixtures for the Okta client and hook tests: a local Okta org over HTTP,
orgs of any size, OAuth service-app keys, and an Airflow connection to it."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from local_servers.okta_org import numbered_org
from local_servers.okta_server import OktaServer

APP_ID = "0oaqs1"  # the app id every server here is started with
TOKEN = "local-test-token"


@pytest.fixture
def okta_server():
    """Factory: start a local Okta (stopped after the test). Unlimited unless `limits` is given."""
    started: list[OktaServer] = []

    def start(okta_section: dict | None = None, faults=None, limits=None, **kw) -> OktaServer:
        kw.setdefault("app_id", APP_ID)
        server = OktaServer(okta_section if okta_section is not None else numbered_org(), faults, limits if limits is not None else {}, **kw)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def rsa_key():
    """(private PEM, public JWK with kid) of a service app's key pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk["kid"] = "kid-1"
    return pem, jwk


@pytest.fixture
def airflow_okta_conn(monkeypatch):
    """Point the Airflow connection `okta_default` at a URL, as JSON in AIRFLOW_CONN_OKTA_DEFAULT."""

    def set_conn(host: str, password: str | None = TOKEN, extra: dict | None = None, conn_id: str = "okta_default") -> None:
        conn = {"conn_type": "okta", "host": host, "password": password, "extra": extra or {}}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))

    return set_conn
