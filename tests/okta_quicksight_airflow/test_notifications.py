"""Notifications through Airflow's notifier interface: a real local SMTP server (aiosmtpd) catches each mail.

The mail goes out through the SMTP provider's SmtpNotifier and an Airflow
connection in AIRFLOW_CONN_SMTP_DEFAULT (login and password included, which the
server checks), as production sends it. Reports and plans come from real core runs.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.okta_quicksight_sync.sync_builders import config, directory, og, okta, ou, qg, qu, run

from okta_quicksight_airflow import notifications
from okta_quicksight_airflow.notifications import NotifyConfigError, notify_held, notify_run, settings_from
from okta_quicksight_sync.report import build_report

R = "QuickSightReader"
PASSWORD = "smtp-S3cret-pw"
LOGIN = "airflow-mailer"


class Catcher:
    """aiosmtpd handler: keeps every mail it is given, with its envelope."""

    def __init__(self):
        self.mails = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.mails.append({"to": list(envelope.rcpt_tos), "from": envelope.mail_from, "msg": msg,
                           "raw": envelope.original_content.decode("utf-8", "replace")})
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    catcher = Catcher()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == LOGIN.encode() and auth_data.password == PASSWORD.encode()
        if ok:
            catcher.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    port = _free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": LOGIN, "password": PASSWORD,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com", "retry_limit": 1,
                  "timeout": 10},
    }))
    yield catcher
    controller.stop()


def _body(mail) -> str:
    part = mail["msg"].get_body(preferencelist=("html", "plain"))
    return part.get_content()


def _held_plan(n_users=4):
    memory = directory([qu(f"{R}/gone{i}@example.com") for i in range(n_users)], [qg("Okta-Old", "okta-sync:g9")])
    cfg = config(max_deletions=2)
    planned, results = run(cfg, okta([ou("u1")]), memory)
    return cfg, planned, results


TARGET = {"notify": {"email": ["idm@example.com", "oncall@example.com"]}}


def test_held_deletions_mail_lists_them_and_carries_no_credential(smtp):
    _, planned, _ = _held_plan()
    assets = {f"{R}/gone0@example.com": [{"type": "dashboard", "id": "d-1", "region": "us-east-1",
                                          "name": "Sales & {{ Margins }}"}]}
    errors = notify_held(TARGET, planned.to_dict(), dag_id="okta_quicksight_sync", run_id="manual__1",
                         assets=assets, url="http://airflow.example.com/required_actions")
    assert errors == []
    assert len(smtp.mails) == 1 and smtp.logins == [LOGIN]
    mail = smtp.mails[0]
    assert sorted(mail["to"]) == ["idm@example.com", "oncall@example.com"]
    assert mail["from"] == "airflow@example.com"
    assert mail["msg"]["Subject"] == "[okta_quicksight_sync] 5 deletions wait for approval"
    body = _body(mail)
    for i in range(4):
        assert f"QuickSightReader/gone{i}@example.com" in body
    assert "Okta-Old" in body and "Why held: 5 deletions planned, more than max_deletions 2." in body
    # a name with template syntax is shown as it is, not rendered (html-escaped in the mail's HTML)
    assert "dashboard `d-1` &quot;Sales &amp; {{ Margins }}&quot; (us-east-1)" in body
    assert "http://airflow.example.com/required_actions" in body
    assert PASSWORD not in mail["raw"] and LOGIN not in mail["raw"]


def test_failed_run_mail_and_events_not_listened_to_send_nothing(smtp):
    memory = directory([qu(f"{R}/gone@example.com")])
    memory.fail("CreateGroup", "Okta-Ops")
    cfg = config()
    planned, results = run(cfg, okta([ou("u1")], [og("g2", "Ops", ["u1"])]), memory)
    report = build_report(cfg, planned, results, {}, 1.0)
    assert notify_run(TARGET, report, dag_id="d", run_id="r1") == []
    assert len(smtp.mails) == 1
    mail = smtp.mails[0]
    assert mail["msg"]["Subject"] == "[d] sync failed: failed: 1 item"
    assert "create_group `Okta-Ops`" in _body(mail)

    only_failed = {"notify": {"email": ["idm@example.com"], "on": ["failed"]}}
    cfg2, planned2, results2 = _held_plan()
    held = build_report(cfg2, planned2, results2, {}, 1.0)
    assert notify_run(only_failed, held, dag_id="d", run_id="r2", approval={"decision": "rejected", "by": "alice"}) == []
    assert len(smtp.mails) == 1  # rejected is not in "on"
    assert notify_run({}, report, dag_id="d", run_id="r3") == []  # no notify block: off
    assert len(smtp.mails) == 1


def test_rejected_and_timed_out_approvals_are_mailed(smtp):
    cfg, planned, results = _held_plan()
    report = build_report(cfg, planned, results, {}, 1.0)
    notify_run(TARGET, report, dag_id="d", run_id="r", approval={"decision": "rejected", "by": "alice"})
    notify_run(TARGET, report, dag_id="d", run_id="r", approval=notifications.approval_from_hitl(
        {"chosen_options": ["Reject"], "responded_by_user": None}))
    subjects = [m["msg"]["Subject"] for m in smtp.mails]
    assert subjects == ["[d] rejected by alice: 5 deletions not applied",
                        "[d] approval timed out: 5 deletions not applied"]
    assert "the approval was not answered in time" in _body(smtp.mails[1])


def test_a_mail_server_that_is_down_is_reported_not_raised(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": _free_port(), "login": LOGIN, "password": PASSWORD,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com", "retry_limit": 0,
                  "timeout": 5},
    }))
    _, planned, _ = _held_plan()
    errors = notify_held(TARGET, planned.to_dict(), dag_id="d", run_id="r")
    assert len(errors) == 1 and errors[0].startswith("held via SmtpNotifier: ")
    assert PASSWORD not in errors[0]


def test_any_airflow_notifier_by_import_path_gets_the_message_as_template_values(smtp):
    """Slack and the others plug in the same way; here the SMTP notifier itself, named by path with kwargs."""
    target = {"notify": {"on": ["held"], "notifiers": [{
        "class": "airflow.providers.smtp.notifications.smtp.SmtpNotifier",
        "kwargs": {"to": "chat-bridge@example.com", "subject": "held in {{ okta_qs_sync.event }}",
                   "html_content": "{{ okta_qs_sync.text }}"},
    }]}}
    _, planned, _ = _held_plan()
    assert notify_held(target, planned.to_dict(), dag_id="d", run_id="r") == []
    assert [m["to"] for m in smtp.mails] == [["chat-bridge@example.com"]]
    assert smtp.mails[0]["msg"]["Subject"] == "held in held"
    assert "QuickSightReader/gone3@example.com" in _body(smtp.mails[0])


@pytest.mark.parametrize("block, message", [
    ("idm@example.com", "notify must be an object"),
    ({"email": ["idm@example.com"], "channel": "#x"}, "unknown key(s) notify.channel"),
    ({"email": ["not-an-address"]}, "notify.email 'not-an-address' is not an email address"),
    ({"email": ["a@example.com"], "on": ["failed", "deleted"]}, "notify.on has 'deleted'; the events are"),
    ({"on": ["failed"]}, "notify has neither email nor notifiers"),
    ({"notifiers": [{"class": "airflow.providers.nope.Notifier"}]}, "cannot be imported"),
    ({"notifiers": [{"class": "json.JSONDecoder"}]}, "is not an Airflow notifier"),
    ({"notifiers": ["slack"]}, "notify.notifiers[0] must be"),
])
def test_bad_settings_name_the_key_and_the_fix(block, message):
    with pytest.raises(NotifyConfigError) as err:
        settings_from({"notify": block}, "targets.json target 't1'")
    assert message in str(err.value) and str(err.value).startswith("targets.json target 't1': ")


def test_defaults():
    assert settings_from({}) is None
    s = settings_from({"notify": {"email": "idm@example.com"}})
    assert s.email == ("idm@example.com",) and s.on == ("failed", "held", "approval_timeout", "rejected")
    assert s.smtp_conn_id == "smtp_default" and s.from_email is None
    assert notifications.approval_from_hitl(None) is None
    assert notifications.approval_from_hitl(
        {"chosen_options": ["Approve"], "responded_by_user": {"id": "7", "name": "bob"}}) == {"decision": "approved",
                                                                                           "by": "bob"}


def test_approvers_become_the_approval_steps_assigned_users():
    assert notifications.approvers_from({}) is None
    assert notifications.approvers_from({"approvers": ["alice", {"id": "7", "name": "bob"}]}) == [
        {"id": "alice", "name": "alice"}, {"id": "7", "name": "bob"}]
    with pytest.raises(NotifyConfigError, match=r"^t1: approvers\[1\] must be a user name or"):
        notifications.approvers_from({"approvers": ["alice", {"name": "bob"}]}, "t1")
    with pytest.raises(NotifyConfigError, match="^t1: approvers must be a non-empty list"):
        notifications.approvers_from({"approvers": []}, "t1")
