"""Credentials never leave their connection: whole syncs with known secret strings,
then every place a secret could leak is searched for them.

Searched: everything the process printed (stdout/stderr: dag.test's task logs
go there), every Python log record (at DEBUG), log files under AIRFLOW_HOME,
every XCom row and the metadata database's bytes, the run reports, and the
text and repr of every error. Also: TLS verification stays on, and Okta over
plain http is refused unless the host is loopback.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

REPO = Path(__file__).resolve().parents[2]

from okta_provider.auth import SswsAuth  # noqa: E402
from okta_provider.client import OktaClient  # noqa: E402
from okta_provider.errors import OktaConfigError  # noqa: E402

from soak.driver import LocalSync  # noqa: E402

ADMIN = "QuickSightAdmin/admin@example.com"
OKTA_TOKEN = "00okta-" + secrets.token_hex(16)
WRONG_TOKEN = "00wrong-" + secrets.token_hex(16)
AWS_KEY_ID = "AKIA" + secrets.token_hex(8).upper()
AWS_SECRET = "awsSecret/" + secrets.token_urlsafe(30)


@pytest.fixture(scope="module")
def private_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk["kid"] = "kid-secret-test"
    private_jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    return pem, jwk, private_jwk


def scenario(jwk: dict) -> dict:
    people = [("00uadmin", "admin@example.com", "QuickSightAdmin"), ("00u1", "ann@example.com", "QuickSightReader")]
    return {
        "target": {"okta_app_id": "0oaqs1", "saml_roles": {"QuickSightAdmin": "ADMIN", "QuickSightReader": "READER"},
                   "asset_recipient": ADMIN},
        "okta": {
            "api_token": OKTA_TOKEN,
            "oauth_clients": [{"client_id": "0oasvc1", "public_jwk": jwk, "scopes": ["okta.apps.read", "okta.groups.read"], "dpop": True}],
            "users": [{"id": i, "status": "ACTIVE", "login": login, "email": login, "first_name": "A", "last_name": "B"} for i, login, _ in people],
            "groups": [{"id": "00g1", "name": "Finance", "type": "OKTA_GROUP", "members": ["00u1"]}],
            "app_users": [{"id": i, "scope": "USER", "saml_roles": [role]} for i, _, role in people],
            "app_groups": ["00g1"],
        },
        "quicksight": {
            "account_id": "111122223333", "identity_region": "us-east-1", "namespace": "default",
            "users": [{"user_name": ADMIN, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"},
                      {"user_name": "QuickSightReader/gone@example.com", "email": "g@example.com", "role": "READER", "identity_type": "IAM"}],
            "groups": [{"name": "Okta-Old", "description": "okta-sync:00g9", "members": []}],
            "assets": [{"type": "dashboard", "id": "d1", "region": "us-east-1", "owners": ["QuickSightReader/gone@example.com"]}],
        },
        # Errors and retries get logged too: a retried Okta page and a QuickSight call that fails for good.
        "faults": [{"service": "okta", "endpoint": "GET /api/v1/apps/{appId}/groups", "status": 503, "times": 1},
                   {"service": "quicksight", "operation": "DeleteGroup", "error": "AccessDeniedException", "times": -1}],
    }


def aws_connection(sync_qs_url: str) -> dict:
    return {"conn_type": "aws", "login": AWS_KEY_ID, "password": AWS_SECRET,
            "extra": {"endpoint_url": sync_qs_url, "region_name": "us-east-1"}}


def _secret_forms(pem: str, private_jwk: dict) -> list[str]:
    body = [line for line in pem.strip().splitlines() if not line.startswith("-----")]
    return [OKTA_TOKEN, WRONG_TOKEN, AWS_SECRET, AWS_KEY_ID, pem.strip(), pem.strip().replace("\n", "\\n"),
            *body[1:-1], private_jwk["d"], private_jwk["p"]]


def _airflow_db_and_logs_text() -> str:
    home = Path(os.environ["AIRFLOW_HOME"])
    chunks = []
    for path in home.rglob("*"):
        if path.is_file() and (path.suffix in (".log", ".json") or path.name.startswith("airflow.db")):
            chunks.append(path.read_bytes().decode("latin-1"))
    return "\n".join(chunks)


def _xcom_text(dag_id: str) -> str:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_id).all()
        assert rows, "no XCom rows to search"
        return "\n".join(f"{row.task_id} {row.key} {json.dumps(row.value, default=str)}" for row in rows)


def _leaks(text: str, forms: list[str]) -> list[str]:
    return [form[:12] + "..." for form in forms if form and form in text]


def test_no_secret_anywhere_after_whole_syncs(private_key, capfd, caplog):
    pem, jwk, private_jwk = private_key
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")  # the wire log too, whatever logging config is active
    sc = scenario(jwk)
    seen: list[str] = []
    tokens: list[str] = []

    def run(okta_connection, dag_id, via="dag"):
        sync = LocalSync(sc, dag_id=dag_id, okta_connection=okta_connection, aws_connection={})
        sync._aws_connection = None  # filled once the server's URL is known (below)
        with sync:
            os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(aws_connection(sync.quicksight.url))
            okta_connection["host"] = sync.okta.url
            os.environ["AIRFLOW_CONN_OKTA_DEFAULT"] = json.dumps(okta_connection)
            result = sync.run_dag() if via == "dag" else sync.run_tasks()
            tokens.extend(sync.okta.oauth._tokens)  # noqa: SLF001 - the access tokens Okta issued are secrets too
            seen.extend([json.dumps(result.report), result.text(), repr(result.errors)])
            return result

    ssws = run({"conn_type": "okta", "host": "", "password": OKTA_TOKEN}, "secrets_ssws")
    oauth = run({"conn_type": "okta", "host": "", "extra": {"auth_method": "oauth", "client_id": "0oasvc1",
                                                            "private_key": pem, "key_id": "kid-secret-test", "dpop": True}},
                "secrets_oauth")
    rejected = run({"conn_type": "okta", "host": "", "password": WRONG_TOKEN}, "secrets_wrong", via="tasks")

    # The syncs really ran, with every credential in use and errors to report.
    assert ssws.report["outcome"] == "failed" and oauth.report["outcome"] == "failed"  # DeleteGroup was denied
    assert any("deprovision_user" == i["action"] and i["status"] == "done" for i in ssws.report["items"])
    assert any("deprovision_user" == i["action"] and i["status"] == "done" for i in oauth.report["items"])
    assert tokens, "the OAuth run got no access token"
    assert rejected.outcome == "failed" and "rejected the credentials" in rejected.text()

    out, err = capfd.readouterr()
    forms = _secret_forms(pem, private_jwk) + tokens
    places = {
        "stdout/stderr": out + err,
        "python logging": "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records),
        "reports and errors": "\n".join(seen),
        "xcom": _xcom_text("secrets_ssws") + _xcom_text("secrets_oauth"),
        "AIRFLOW_HOME files and metadata DB": _airflow_db_and_logs_text(),
    }
    # The task logs were captured: the denied DeleteGroup is logged with its cause.
    assert "delete_group Okta-Old failed" in places["stdout/stderr"] + places["python logging"]
    wire_log = [r for r in caplog.records if r.name.startswith("botocore") and r.levelno == logging.DEBUG]
    for record in caplog.records:
        line = f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        # Known and accepted: botocore's DEBUG wire log prints the signed Authorization header, whose
        # Credential= names the access key *id* (AWS's identifier, not the secret). Airflow logs at INFO;
        # the secret access key, tokens and private key may not appear even at DEBUG.
        allowed = {AWS_KEY_ID} if record in wire_log else set()
        assert _leaks(line, [f for f in forms if f not in allowed]) == [], (
            f"secret in a log record of {record.name} at {record.levelname}: {line[:300]}"
        )
    places["python logging"] = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records if r not in wire_log
    )
    for place, text in places.items():
        assert _leaks(text, forms) == [], f"secret found in {place}"


def test_reprs_hide_credentials(private_key):
    from okta_provider.auth import OAuthServiceAppAuth

    pem, _, _ = private_key
    client = OktaClient("https://example.okta.com", SswsAuth(OKTA_TOKEN))
    oauth = OAuthServiceAppAuth(client_id="0oasvc1", private_key=pem, scopes=["okta.apps.read"], dpop=True)
    for obj in (client, client.auth, oauth):
        text = repr(obj) + str(vars(obj).keys())
        assert OKTA_TOKEN not in text and "PRIVATE KEY" not in repr(obj)


# ---- TLS -------------------------------------------------------------------------

def test_okta_client_never_turns_tls_verification_off():
    client = OktaClient("https://example.okta.com", SswsAuth("t"))
    assert client._session.verify is True  # noqa: SLF001
    for path in (REPO / "plugins" / "okta_provider").glob("*.py"):
        assert "verify=False" not in path.read_text().replace(" ", ""), path
        assert ".verify = False" not in path.read_text(), path


def test_quicksight_clients_verify_tls(monkeypatch):
    from okta_quicksight_airflow.quicksight_clients import quicksight_client_factory

    monkeypatch.setenv("AIRFLOW_CONN_AWS_TLS", json.dumps({"conn_type": "aws", "login": "AKIDX", "password": "x",
                                                            "extra": {"region_name": "us-east-1"}}))
    client = quicksight_client_factory("aws_tls", calls_per_second=None)("us-east-1")
    assert client.meta.endpoint_url.startswith("https://")
    verify = client._endpoint.http_session._verify  # noqa: SLF001 - botocore's session keeps it here
    assert verify is True or (isinstance(verify, str) and Path(verify).exists())  # on: default CAs or a CA bundle
    for path in list((REPO / "include").rglob("*.py")) + list((REPO / "dags").glob("*.py")):
        if "local_servers" in path.parts:
            continue
        text = path.read_text().replace(" ", "")
        assert "verify=False" not in text and '"verify":False' not in text, path


@pytest.mark.parametrize("url", ["http://example.okta.com", "http://127.0.0.1.evil.example", "http://localhost.example.com:8080"])
def test_plain_http_okta_url_is_refused(url):
    with pytest.raises(OktaConfigError) as info:
        OktaClient(url, SswsAuth("t"))
    assert "https" in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1234", "http://[::1]:8080", "https://example.okta.com"])
def test_loopback_http_and_https_are_accepted(url):
    assert OktaClient(url, SswsAuth("t")).org_url == url


def test_http_okta_connection_is_refused_through_the_hook(monkeypatch):
    from okta_provider.hooks.okta import OktaHook

    monkeypatch.setenv("AIRFLOW_CONN_OKTA_PLAIN", json.dumps({"conn_type": "okta", "host": "http://example.okta.com", "password": OKTA_TOKEN}))
    with pytest.raises(OktaConfigError) as info:
        OktaHook(okta_conn_id="okta_plain").get_conn()
    assert "okta_plain" in str(info.value) and "https://example.okta.com" in str(info.value)
    assert OKTA_TOKEN not in str(info.value)
