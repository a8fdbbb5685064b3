"""The OktaHook through a real Airflow connection (AIRFLOW_CONN_OKTA_DEFAULT as
JSON), the provider's discovery by Airflow, and the plugins-folder trap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local_servers.okta_org import numbered_org
from okta_provider.client import APP_GROUPS, APP_USERS, GROUP_MEMBERS
from okta_provider.errors import OktaAuthError, OktaConfigError, OktaError
from okta_provider.hooks.okta import OktaHook

APP_ID = "0oaqs1"
REPO = Path(__file__).resolve().parents[2]


def test_hook_reads_through_an_env_connection(okta_server, airflow_okta_conn):
    server = okta_server(numbered_org(n_users=7, n_groups=2))
    airflow_okta_conn(server.url)
    hook = OktaHook()
    users = list(hook.iter_app_users(APP_ID))
    groups = list(hook.iter_app_groups(APP_ID))
    members = list(hook.iter_group_members(groups[0]["id"]))
    assert len(users) == 7 and len(groups) == 2 and len(members) == 7
    assert hook.api_calls == {APP_USERS: 1, APP_GROUPS: 1, GROUP_MEMBERS: 1}
    assert hook.api_calls == server.counter.snapshot()


def test_hook_uses_its_conn_id_and_extra_settings(okta_server, airflow_okta_conn):
    server = okta_server(numbered_org(n_users=1, n_groups=0))
    airflow_okta_conn(server.url, extra={"timeout": 7, "max_retries": 4}, conn_id="okta_prod")
    client = OktaHook(okta_conn_id="okta_prod").get_conn()
    assert (client.timeout, client.max_retries) == (7.0, 4)
    assert client.credentials_source == "Airflow connection 'okta_prod'"


def test_test_connection_ok_and_failing(okta_server, airflow_okta_conn):
    server = okta_server(numbered_org(n_users=1, n_groups=1))
    airflow_okta_conn(server.url)
    ok, message = OktaHook().test_connection()
    assert ok, message
    assert "apps and groups are readable" in message
    assert server.counter.snapshot() == {"GET /api/v1/apps": 1, "GET /api/v1/groups": 1}

    airflow_okta_conn(server.url, password="expired-token")
    ok, message = OktaHook().test_connection()
    assert not ok
    assert "E0000011" in message and "Airflow connection 'okta_default'" in message
    assert "expired-token" not in message


def test_bad_token_raises_from_a_read(okta_server, airflow_okta_conn):
    server = okta_server(numbered_org(n_users=1, n_groups=0))
    airflow_okta_conn(server.url, password="nope-token")
    with pytest.raises(OktaAuthError, match="update Airflow connection 'okta_default'"):
        list(OktaHook().iter_app_users(APP_ID))


@pytest.mark.parametrize("dpop", [False, True])
def test_hook_with_oauth_extra(okta_server, airflow_okta_conn, rsa_key, dpop):
    pem, jwk = rsa_key
    org = numbered_org(n_users=3, n_groups=1, oauth_clients=[{"client_id": "0oasvc1", "public_jwk": jwk, "scopes": ["okta.apps.read", "okta.groups.read"], "dpop": dpop}])
    server = okta_server(org)
    airflow_okta_conn(server.url, password=None, extra={"client_id": "0oasvc1", "private_key": pem, "dpop": dpop})
    hook = OktaHook()
    assert len(list(hook.iter_app_users(APP_ID))) == 3
    assert hook.test_connection()[0]
    assert hook.api_calls["POST /oauth2/v1/token"] == (2 if dpop else 1)
    assert pem.splitlines()[1] not in repr(hook) + repr(hook.get_conn())


def test_plain_http_to_a_real_host_is_refused(airflow_okta_conn):
    airflow_okta_conn("http://acme.okta.com")
    with pytest.raises(OktaConfigError, match="plain http"):
        OktaHook().get_conn()


def test_missing_token_says_where_to_put_it(airflow_okta_conn):
    airflow_okta_conn("https://acme.okta.com", password=None)
    with pytest.raises(OktaConfigError, match="has no password: put an Okta SSWS API token there"):
        OktaHook().get_conn()


def _run_airflow_python(code: str, tmp_path) -> str:
    env = {"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_providers_manager_lists_the_okta_connection_type(tmp_path):
    out = _run_airflow_python(
        "import json\n"
        "from airflow.providers_manager import ProvidersManager\n"
        "pm = ProvidersManager()\n"
        "hook = pm.hooks['okta']\n"
        "print(json.dumps({'hook': hook.hook_class_name, 'name': hook.hook_name, 'testable': hook.connection_testable,\n"
        "  'widgets': sorted(k for k in pm.connection_form_widgets if k.startswith('extra__okta__')),\n"
        "  'behaviour': pm.field_behaviours['okta']}))\n",
        tmp_path,
    )
    info = json.loads(out.strip().splitlines()[-1])
    assert info["hook"] == "okta_provider.hooks.okta.OktaHook"
    assert info["testable"] is True
    assert "extra__okta__client_id" in info["widgets"] and "extra__okta__private_key" in info["widgets"]
    assert info["behaviour"]["relabeling"]["host"] == "Okta org URL"


def test_plugins_folder_does_not_reimport_the_provider(tmp_path):
    """Airflow imports every plugins/**/*.py under its bare stem unless .airflowignore excludes it."""
    code = (
        "import sys, json\n"
        "from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory\n"
        "plugins, errors = _load_plugins_from_plugin_directory('{folder}')\n"
        "print(json.dumps({{'stems': sorted(m for m in ('okta', 'client', 'auth', 'errors', 'get_provider_info') if m in sys.modules), 'errors': errors}}))\n"
    )
    with_ignore = json.loads(_run_airflow_python(code.format(folder=REPO / "plugins"), tmp_path).strip().splitlines()[-1])
    assert with_ignore == {"stems": [], "errors": {}}
    # The control: the same folder without the ignore file gets its modules imported under bare names.
    bare = tmp_path / "plugins_copy"
    (bare / "okta_provider").mkdir(parents=True)
    for f in (REPO / "plugins" / "okta_provider").rglob("*.py"):
        copy = bare / "okta_provider" / f.relative_to(REPO / "plugins" / "okta_provider")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(f.read_text())
    without = json.loads(_run_airflow_python(code.format(folder=bare), tmp_path).strip().splitlines()[-1])
    assert "okta" in without["stems"]


def test_plain_http_needs_the_explicit_opt_in_and_then_follows_its_own_next_links(airflow_okta_conn):
    """The compose `local` profile reaches its stand-in at http://okta-local:8011 with okta_allow_insecure_http."""
    airflow_okta_conn("http://okta-local:8011", extra={"okta_allow_insecure_http": True})
    client = OktaHook().get_conn()
    assert client.org_url == "http://okta-local:8011"
    nxt = "http://okta-local:8011/api/v1/apps/0oa1/users?after=x"
    assert client._next_link_of({"next": {"url": nxt}}, "GET /api/v1/apps/{appId}/users") == nxt
    with pytest.raises(OktaError, match="outside"):
        client._next_link_of({"next": {"url": "http://elsewhere:8011/x"}}, "GET /api/v1/apps/{appId}/users")


def test_ui_test_button_message_never_names_the_temporary_conn_id(okta_server, monkeypatch):
    """As Airflow's connections test route does: the form under a random conn id, set only as AIRFLOW_CONN_<ID>."""
    from airflow.models.connection import Connection
    from airflow.utils.strings import get_random_string

    server = okta_server(numbered_org(n_users=1, n_groups=1))
    for password, ok_expected in (("local-test-token", True), ("expired-token", False)):
        transient = get_random_string()
        conn = Connection(conn_id=transient, conn_type="okta", host=server.url, password=password)
        monkeypatch.setenv(f"AIRFLOW_CONN_{transient.upper()}", conn.get_uri())
        ok, message = conn.test_connection()
        assert ok is ok_expected, message
        assert transient not in message and transient.upper() not in message
        assert server.url in message
        if not ok:
            assert "E0000011" in message and "the tested connection (Okta org" in message


def test_a_connection_without_the_log_scope_stores_why_and_never_asks_for_the_log(okta_server, airflow_okta_conn, rsa_key):
    """An OAuth connection with the default scopes cannot read the System Log: a full run does not send
    a sure 403 each time to store the incremental cursor; it says once which scope to grant."""
    import json
    import time

    from okta_quicksight_airflow import incremental_run

    pem, jwk = rsa_key
    org = numbered_org(n_users=2, n_groups=1, oauth_clients=[{"client_id": "0oasvc1", "public_jwk": jwk, "scopes": ["okta.apps.read", "okta.groups.read"]}])
    server = okta_server(org)
    airflow_okta_conn(server.url, password=None, extra={"client_id": "0oasvc1", "private_key": pem})
    assert OktaHook().lacks_scope("okta.logs.read") and not OktaHook().lacks_scope("okta.apps.read")
    stored: dict = {}

    class Variables:
        get = staticmethod(lambda key, default=None: stored.get(key, default))
        set = staticmethod(stored.__setitem__)

    planned = {"config": {"okta_conn_id": "okta_default", "okta_app_id": APP_ID}, "plan": {"dry_run": False},
               "started_at": time.time(), "mode": "full", "app_group_ids": ["00g1"]}
    calls: dict = {}
    assert incremental_run.advance_cursor("t", planned, True, Variables, calls) is None
    assert calls == {} and server.counter.snapshot().get("GET /api/v1/logs") is None
    assert "leave out okta.logs.read" in json.loads(stored["t.incremental_cursor"])["problem"]

    airflow_okta_conn(server.url)  # an API token acts with its admin's role: the log is read
    assert not OktaHook().lacks_scope("okta.logs.read")
    cursor = incremental_run.advance_cursor("t", planned, True, Variables, calls)
    assert cursor["next_link"].startswith(server.url) and calls == {"GET /api/v1/logs": 1}
