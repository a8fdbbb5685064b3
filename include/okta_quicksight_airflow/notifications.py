"""Tell the operators what a run needs from them: failures, held deletions, a rejected or unanswered approval.

A target opts in with a ``notify`` block (off by default)::

    "notify": {
      "email": ["idm@example.com"],
      "on": ["failed", "held", "approval_timeout", "rejected"],
      "smtp_conn_id": "smtp_default",
      "from_email": null,
      "notifiers": [
        {"class": "airflow.providers.slack.notifications.slack.SlackNotifier",
         "kwargs": {"slack_conn_id": "slack_idm", "channel": "#idm",
                    "text": "{{ okta_qs_sync.subject }}\\n{{ okta_qs_sync.text }}"}}
      ]
    }

Every message goes through Airflow's notifier interface (``BaseNotifier``):
mail through the SMTP provider's ``SmtpNotifier`` and an Airflow SMTP
connection, anything else through any notifier class named by import path,
whose templated kwargs see ``okta_qs_sync.subject``/``.text``/``.html``/
``.event``. The message text is handed to the templates as a value, never
rendered as a template itself, so a user name with ``{{`` in it stays text.
The messages are built from the report and the plan only: no credential.
A target's ``approvers`` name who may answer the approval (its assigned users).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from importlib import import_module

from okta_quicksight_sync.report_text import approval_markdown, check_approval, report_markdown, run_note

log = logging.getLogger(__name__)

EVENTS = ("failed", "held", "approval_timeout", "rejected", "approved")
DEFAULT_EVENTS = ("failed", "held", "approval_timeout", "rejected")
KEYS = ("email", "on", "smtp_conn_id", "from_email", "notifiers")
CONTEXT_KEY = "okta_qs_sync"


class NotifyConfigError(ValueError):
    """A target's ``notify`` block is invalid; the message names the key and the fix."""


@dataclass(frozen=True)
class NotifySettings:
    email: tuple[str, ...] = ()
    on: tuple[str, ...] = DEFAULT_EVENTS
    smtp_conn_id: str = "smtp_default"
    from_email: str | None = None
    notifiers: tuple[dict, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.email or self.notifiers)


@dataclass(frozen=True)
class Message:
    event: str
    subject: str
    text: str  # markdown
    html: str = field(default="")


def _strings(value, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise NotifyConfigError(f"{where}: notify.{key} must be a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def settings_from(target: dict, where: str = "target") -> NotifySettings | None:
    """The target's notification settings, or None when it has no ``notify`` block (the default: off).

    Checks every key and imports each notifier class, so a typo fails the
    target's configuration, not the first mail months later.
    """
    block = target.get("notify")
    if block is None:
        return None
    if not isinstance(block, dict):
        raise NotifyConfigError(f"{where}: notify must be an object like {{\"email\": [\"idm@example.com\"]}}, got {block!r}")
    unknown = sorted(set(block) - set(KEYS))
    if unknown:
        raise NotifyConfigError(f"{where}: unknown key(s) notify.{', notify.'.join(unknown)}; the keys are {', '.join(KEYS)}")
    email = _strings(block.get("email", []), "email", where)
    for address in email:
        if "@" not in address:
            raise NotifyConfigError(f"{where}: notify.email {address!r} is not an email address")
    on = _strings(block.get("on", list(DEFAULT_EVENTS)), "on", where)
    bad = [e for e in on if e not in EVENTS]
    if bad:
        raise NotifyConfigError(f"{where}: notify.on has {', '.join(map(repr, bad))}; the events are {', '.join(EVENTS)}")
    smtp_conn_id = block.get("smtp_conn_id", "smtp_default")
    if not isinstance(smtp_conn_id, str) or not smtp_conn_id:
        raise NotifyConfigError(f"{where}: notify.smtp_conn_id must be an Airflow connection id, got {smtp_conn_id!r}")
    from_email = block.get("from_email")
    if from_email is not None and (not isinstance(from_email, str) or "@" not in from_email):
        raise NotifyConfigError(f"{where}: notify.from_email must be an email address or null, got {from_email!r}")
    notifiers = block.get("notifiers", [])
    if not isinstance(notifiers, list):
        raise NotifyConfigError(f"{where}: notify.notifiers must be a list of {{\"class\": ..., \"kwargs\": {{...}}}}")
    for i, spec in enumerate(notifiers):
        _notifier_class(spec, f"{where}: notify.notifiers[{i}]")
    settings = NotifySettings(email, on, smtp_conn_id, from_email, tuple(notifiers))
    if not settings.enabled:
        raise NotifyConfigError(f"{where}: notify has neither email nor notifiers; add \"email\": [\"you@example.com\"] "
                                "or remove the notify block")
    return settings


def _notifier_class(spec, where: str):
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str) or set(spec) - {"class", "kwargs"}:
        raise NotifyConfigError(f"{where} must be {{\"class\": \"package.module.NotifierClass\", \"kwargs\": {{...}}}}, "
                                f"got {spec!r}")
    if not isinstance(spec.get("kwargs", {}), dict):
        raise NotifyConfigError(f"{where}.kwargs must be an object, got {spec['kwargs']!r}")
    from airflow.sdk import BaseNotifier

    module_name, _, class_name = spec["class"].rpartition(".")
    try:
        cls = getattr(import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise NotifyConfigError(f"{where}.class {spec['class']!r} cannot be imported ({exc}); install its provider "
                                "or fix the import path") from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseNotifier)):
        raise NotifyConfigError(f"{where}.class {spec['class']!r} is not an Airflow notifier (BaseNotifier subclass)")
    return cls


# ------------------------------------------------------------------ messages
def _html(text: str) -> str:
    """Markdown shown as it is: monospace keeps the lists and the counts table readable in any mail client."""
    return ("<pre style=\"font-family: monospace; white-space: pre-wrap\">" + html.escape(text) + "</pre>")


def _message(event: str, subject: str, text: str) -> Message:
    return Message(event, subject, text, _html(text))


def _where(dag_id: str, run_id: str, url: str | None) -> str:
    return f"DAG `{dag_id}`, run `{run_id}`" + (f": {url}" if url else "")


def held_message(plan: dict, *, dag_id: str, run_id: str, assets: dict | None = None, url: str | None = None,
                 asset_totals: dict | None = None) -> Message:
    """Deletions wait for approval: the full approval page, so the reader can decide from the mail."""
    count = plan.get("deletion_count", 0)
    text = (f"{_where(dag_id, run_id, url)}\n\n" + approval_markdown(plan, assets, asset_totals=asset_totals)
            + "\nAnswer under Browse -> Required Actions in the Airflow UI.\n")
    return _message("held", f"[{dag_id}] {count} deletions wait for approval", text)


def run_messages(report: dict, *, dag_id: str, run_id: str, approval: dict | None = None,
                 url: str | None = None) -> list[Message]:
    """The messages a finished run calls for: failed, and the approval's answer when there was one."""
    approval = check_approval(approval)
    body = f"{_where(dag_id, run_id, url)}\n\n" + report_markdown(report, approval)
    note = run_note(report, approval)
    out = []
    if report.get("outcome") == "failed":
        out.append(_message("failed", f"[{dag_id}] sync failed: {note}", body))
    if approval:
        event = {"timed_out": "approval_timeout", "rejected": "rejected", "approved": "approved"}[approval["decision"]]
        out.append(_message(event, f"[{dag_id}] {note}", body))
    return out


# ------------------------------------------------------------------ sending
def _notifiers(settings: NotifySettings) -> list:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    out = []
    if settings.email:
        out.append(SmtpNotifier(
            to=list(settings.email),
            from_email=settings.from_email,
            smtp_conn_id=settings.smtp_conn_id,
            subject="{{ okta_qs_sync.subject }}",
            html_content="{{ okta_qs_sync.html }}",
        ))
    for i, spec in enumerate(settings.notifiers):
        cls = _notifier_class(spec, f"notify.notifiers[{i}]")
        out.append(cls(**spec.get("kwargs", {})))
    return out


def send(settings: NotifySettings | None, messages: list[Message], context: dict | None = None) -> list[str]:
    """Send each message whose event the target listens to; returns what went wrong (empty when all went).

    A notifier that fails is logged and reported, never raised: a mail
    server being down must not turn a good sync red or stop the others.
    """
    if settings is None:
        return []
    errors = []
    for message in messages:
        if message.event not in settings.on:
            continue
        for notifier in _notifiers(settings):
            ctx = dict(context or {})
            ctx[CONTEXT_KEY] = {"event": message.event, "subject": message.subject, "text": message.text,
                                "html": message.html}
            name = type(notifier).__name__
            try:
                notifier(ctx)
                log.info("Sent %s notification through %s: %s", message.event, name, message.subject)
            except Exception as exc:  # one channel down must not stop the others or the run
                log.warning("Could not send %s notification through %s: %s", message.event, name, exc)
                errors.append(f"{message.event} via {name}: {type(exc).__name__}: {exc}")
    return errors


def notify_held(target: dict, plan: dict, *, dag_id: str, run_id: str, assets: dict | None = None,
                url: str | None = None, context: dict | None = None, asset_totals: dict | None = None) -> list[str]:
    """Deletions were held: tell the approvers (from the DAG's plan step, with the approval page's assets)."""
    settings = settings_from(target, dag_id)
    message = held_message(plan, dag_id=dag_id, run_id=run_id, assets=assets, url=url, asset_totals=asset_totals)
    return send(settings, [message], context)


def notify_run(target: dict, report: dict, *, dag_id: str, run_id: str, approval: dict | None = None,
               url: str | None = None, context: dict | None = None) -> list[str]:
    """A run finished: tell of a failure or the approval's answer (one line in the DAG's report task)."""
    settings = settings_from(target, dag_id)
    return send(settings, run_messages(report, dag_id=dag_id, run_id=run_id, approval=approval, url=url), context)


def approvers_from(target: dict, where: str = "target") -> list[dict] | None:
    """The target's ``approvers`` as the approval step's ``assigned_users``; None (anyone may answer) by default.

    Each approver is a user of Airflow's auth manager: ``{"id": ..., "name": ...}``,
    or a string used as both (the user name with the simple auth manager;
    with FAB the id is the user's numeric id).
    """
    value = target.get("approvers")
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise NotifyConfigError(f"{where}: approvers must be a non-empty list like [\"alice\"] or "
                                f"[{{\"id\": \"7\", \"name\": \"alice\"}}], got {value!r}")
    out = []
    for i, entry in enumerate(value):
        if isinstance(entry, str) and entry.strip():
            out.append({"id": entry.strip(), "name": entry.strip()})
        elif (isinstance(entry, dict) and set(entry) == {"id", "name"}
              and all(isinstance(v, str) and v for v in entry.values())):
            out.append(dict(entry))
        else:
            raise NotifyConfigError(f"{where}: approvers[{i}] must be a user name or {{\"id\": ..., \"name\": ...}}, "
                                    f"got {entry!r}")
    return out


def approval_from_hitl(result: dict | None) -> dict | None:
    """The ApprovalOperator's XCom as the answer report_text takes; None when no one was asked.

    Airflow records a time-out's default answer with no responding user.
    """
    if not result:
        return None
    user = result.get("responded_by_user")
    if user is None:
        return {"decision": "timed_out", "by": None}
    chosen = result.get("chosen_options") or []
    decision = "approved" if chosen == ["Approve"] else "rejected"
    return {"decision": decision, "by": user.get("name") or user.get("id")}
