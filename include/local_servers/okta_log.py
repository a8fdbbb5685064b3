"""The local Okta's System Log: the events real Okta would log when the org changes, served as
`GET /api/v1/logs` serves them (docs/api-notes.md, Okta: System Log).

- `SystemLog.record` logs one event (tests log arbitrary ones, e.g. an unknown type);
  `SystemLog.record_changes(old, new)` logs what Okta logs for the difference between two
  orgs (`OktaServer.load`), published between the previous load and now.
- `SystemLog.query` answers one page: `since` (default 7 days before now) and `until` filter
  on `published`; `after` (from a next link) continues after the last event served, in the
  order events were logged (Okta's "persistence time" for polling), so a next link kept
  from an empty page later returns what was logged since.
- Retention (default 90 days, `retention_s`): older events are gone. A `since` before
  retention is answered with what is left, as Okta's System Log reference says ("Queries that
  exceed the retention period succeed, but only those results that have a published timestamp
  within the window are returned"); a `since` over 180 days ago is Okta's 400 E0000053
  "Invalid parameter: The since parameter is over 180 days prior to the current day."
- `filter`: a SCIM expression of `attr eq "value"` terms joined by `and`/`or` (`and` binds
  tighter), on `eventType`, `uuid`, `actor.id`, `target.id`, `outcome.result`, `severity`;
  anything else is Okta's 400 E0000053 "Invalid filter".

Targets per event type follow recorded Okta events: `application.user_membership.*` carries
AppUser, AppInstance and User; `group.user_membership.*` User and UserGroup;
`group.application_assignment.*` AppInstance and UserGroup; `group.profile.update` and
`group.lifecycle.*` UserGroup; `user.lifecycle.*` and `user.account.*` User.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

DEFAULT_RETENTION_S = 90 * 86400.0
MAX_SINCE_AGE_S = 180 * 86400.0  # Okta refuses a `since` further back than this
DEFAULT_SINCE_S = 7 * 86400.0  # Okta's default `since`: 7 days before `until`
ADMIN_ACTOR = {"id": "00uadmin0local", "type": "User", "alternateId": "admin@okta.local", "displayName": "Okta Admin"}
FILTER_ATTRIBUTES = {
    "eventType": lambda e: [e["eventType"]],
    "uuid": lambda e: [e["uuid"]],
    "severity": lambda e: [e.get("severity")],
    "outcome.result": lambda e: [(e.get("outcome") or {}).get("result")],
    "actor.id": lambda e: [(e.get("actor") or {}).get("id")],
    "target.id": lambda e: [t.get("id") for t in e.get("target") or []],
}
DISPLAY_MESSAGES = {
    "application.user_membership.add": "Add user to application membership",
    "application.user_membership.remove": "Remove users application membership",
    "application.user_membership.update": "Update application user",
    "application.user_membership.change_username": "Change users application username",
    "group.user_membership.add": "Add user to group membership",
    "group.user_membership.remove": "Remove user from group membership",
    "group.application_assignment.add": "Add assigned application to group",
    "group.application_assignment.remove": "Remove assigned application from group",
    "group.profile.update": "Update group profile",
    "group.lifecycle.create": "Create okta group",
    "group.lifecycle.delete": "Delete okta group",
    "user.lifecycle.create": "Create okta user",
    "user.lifecycle.activate": "Activate Okta user",
    "user.lifecycle.reactivate": "Reactivate Okta user",
    "user.lifecycle.deactivate": "Deactivate Okta user",
    "user.lifecycle.suspend": "Suspend Okta user",
    "user.lifecycle.unsuspend": "Unsuspend Okta user",
    "user.lifecycle.delete.completed": "Delete Okta user completed",
    "user.account.lock": "Max sign in attempts exceeded",
    "user.account.unlock": "Unlock user account",
    "user.account.update_profile": "Update user profile for Okta",
}


class LogQueryError(ValueError):
    """A query Okta refuses with 400: `code` is Okta's errorCode, the message its errorSummary."""

    def __init__(self, code: str, summary: str) -> None:
        super().__init__(summary)
        self.code = code


def iso(ts: float) -> str:
    """Okta's timestamp form, e.g. 2024-01-02T03:04:05.678Z."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(value: str, name: str) -> float:
    """An ISO 8601 timestamp as epoch seconds; Okta's 400 E0000001 for anything else."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise LogQueryError(
            "E0000001",
            f"Api validation failed: '{name}': The date format in your query is not recognized. "
            "Please enter dates using ISO8601 string format.",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def parse_filter(expression: str) -> list[list[tuple[str, str]]]:
    """`a eq "x" and b eq "y" or c eq "z"` as [[(a, x), (b, y)], [(c, z)]] (or of ands)."""
    term = re.compile(r'\s*([A-Za-z.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*')
    alternatives: list[list[tuple[str, str]]] = []
    for part in re.split(r"\s+or\s+", expression.strip()):
        conjunction = []
        for piece in re.split(r"\s+and\s+", part):
            m = term.fullmatch(piece)
            if not m or m.group(1) not in FILTER_ATTRIBUTES:
                raise LogQueryError("E0000053", f"Invalid filter '{expression}': cannot read '{piece.strip()}'")
            conjunction.append((m.group(1), m.group(2).replace('\\"', '"')))
        alternatives.append(conjunction)
    return alternatives


def _matches(event: dict, alternatives: list[list[tuple[str, str]]] | None) -> bool:
    if not alternatives:
        return True
    return any(all(value in FILTER_ATTRIBUTES[attr](event) for attr, value in conj) for conj in alternatives)


@dataclass
class _Logged:
    seq: int
    published: float
    event: dict


@dataclass
class SystemLog:
    """The org's log: events in the order they were logged, each with its `published` time."""

    retention_s: float = DEFAULT_RETENTION_S
    _events: list[_Logged] = field(default_factory=list)
    _seq: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self,
        event_type: str,
        targets: list[dict],
        *,
        published: float | None = None,
        actor: dict | None = None,
        outcome: str = "SUCCESS",
        display_message: str | None = None,
        severity: str = "INFO",
    ) -> dict:
        """Log one event (published now unless given); returns it as `GET /api/v1/logs` serves it."""
        published = time.time() if published is None else float(published)
        event = {
            "uuid": str(uuid.uuid1()),
            "published": iso(published),
            "eventType": event_type,
            "version": "0",
            "severity": severity,
            "displayMessage": display_message or DISPLAY_MESSAGES.get(event_type, event_type),
            "actor": dict(actor or ADMIN_ACTOR),
            "outcome": {"result": outcome},
            "target": [dict(t) for t in targets],
            "transaction": {"type": "WEB", "id": uuid.uuid4().hex[:27], "detail": {}},
            "debugContext": {"debugData": {}},
            "request": {"ipChain": []},
        }
        with self._lock:
            self._seq += 1
            self._events.append(_Logged(self._seq, published, event))
        return event

    def events(self) -> list[dict]:
        """Every event still retained, in the order logged (tests)."""
        cutoff = time.time() - self.retention_s
        with self._lock:
            return [e.event for e in self._events if e.published >= cutoff]

    def record_changes(self, old, new, start: float, end: float) -> list[dict]:
        """Log what Okta logs for going from org `old` to org `new` (okta_org.OktaOrg), spread
        evenly over (start, end): assignments, memberships, app groups, renames, statuses, profiles."""
        found = changes(old, new)
        step = (end - start) / (len(found) + 1)
        return [self.record(kind, targets, published=start + step * (i + 1)) for i, (kind, targets) in enumerate(found)]

    def query(self, query: dict, now: float | None = None) -> tuple[list[dict], int]:
        """(events of one page, the cursor to continue after) for the request's query parameters."""
        now = time.time() if now is None else now
        limit = _limit(query.get("limit"))
        alternatives = parse_filter(query["filter"]) if query.get("filter") else None
        until = parse_time(query["until"], "until") if query.get("until") else None
        after = query.get("after")
        cutoff = now - self.retention_s
        with self._lock:
            logged = list(self._events)
            last_seq = self._seq
        if after:
            start_seq = decode_cursor(after)
            since = None
        else:
            since = parse_time(query["since"], "since") if query.get("since") else (until or now) - DEFAULT_SINCE_S
            if since < now - MAX_SINCE_AGE_S:
                raise LogQueryError("E0000053", "Invalid parameter: The since parameter is over 180 days prior to the current day.")
            start_seq = 0
        page: list[_Logged] = []
        for e in logged:
            if e.seq <= start_seq or e.published < cutoff:
                continue
            if since is not None and e.published < since:
                continue
            if until is not None and e.published >= until:
                continue
            if _matches(e.event, alternatives):
                page.append(e)
                if len(page) == limit:
                    break
        # A full page: continue after its last event. Otherwise every event logged so far was looked
        # at: continue after all of them (polling returns what is logged from now on).
        cursor = page[-1].seq if page and len(page) == limit else max(start_seq, last_seq)
        return [dict(e.event) for e in page], cursor


def _limit(raw: str | None) -> int:
    """Okta's `limit`: 0 to 1000, default 100 (clamped, as the other routes clamp)."""
    if raw in (None, ""):
        return 100
    try:
        return max(0, min(1000, int(raw)))
    except ValueError:
        raise LogQueryError("E0000001", "Api validation failed: 'limit': must be an integer between 0 and 1000.") from None


def encode_cursor(seq: int) -> str:
    """An opaque `after` value (Okta's are opaque too; clients must follow the link, not build one)."""
    return f"{uuid.uuid4().hex[:8]}-{seq:012x}"


def decode_cursor(cursor: str) -> int:
    try:
        return int(cursor.rsplit("-", 1)[1], 16)
    except (IndexError, ValueError):
        raise LogQueryError("E0000001", "Api validation failed: 'after': not a cursor this org issued.") from None


# -- what changed between two orgs -----------------------------------------------------


def _name(u: dict) -> str:
    return f"{u.get('first_name') or ''} {u.get('last_name') or ''}".strip() or (u.get("login") or u["id"])


def user_target(u: dict) -> dict:
    return {"id": u["id"], "type": "User", "alternateId": u.get("login") or u.get("email") or u["id"], "displayName": _name(u)}


def app_user_target(u: dict, entry: dict) -> dict:
    # An AppUser has an id of its own (0ua...); the local org derives it from the user's.
    user_name = entry.get("user_name") or u.get("login") or u["id"]
    return {"id": "0ua" + u["id"][3:], "type": "AppUser", "alternateId": user_name, "displayName": _name(u)}


def app_target(org) -> dict:
    return {
        "id": org.app_id or "0oaqs1",
        "type": "AppInstance",
        "alternateId": org.app_label,
        "displayName": org.app_label,
        "detailEntry": {"signOnModeType": "SAML_2_0"},
    }


def group_target(g: dict) -> dict:
    return {"id": g["id"], "type": "UserGroup", "alternateId": g["name"], "displayName": g["name"]}


def _status_events(before: str, after: str) -> list[str]:
    """Okta's lifecycle events for a user status change."""
    if before == after:
        return []
    if after == "DEPROVISIONED":
        return ["user.lifecycle.deactivate"]
    if after == "SUSPENDED":
        return ["user.lifecycle.suspend"]
    if after == "LOCKED_OUT":
        return ["user.account.lock"]
    out = []
    if before == "DEPROVISIONED":
        out.append("user.lifecycle.reactivate")
    elif before == "SUSPENDED":
        out.append("user.lifecycle.unsuspend")
    elif before == "LOCKED_OUT":
        out.append("user.account.unlock")
    if after == "ACTIVE" and before in ("STAGED", "PROVISIONED", "DEPROVISIONED"):
        out.append("user.lifecycle.activate")
    return out


PROFILE_KEYS = ("login", "email", "first_name", "last_name")


def changes(old, new) -> list[tuple[str, list[dict]]]:
    """(eventType, targets) for each change from org `old` to org `new`, in a plausible order:
    users first (created, status, profile), then groups, memberships, app groups, app users,
    deletions last."""
    out: list[tuple[str, list[dict]]] = []
    ou, nu = old.users, new.users
    for uid, u in nu.items():
        if uid not in ou:
            out.append(("user.lifecycle.create", [user_target(u)]))
            for kind in _status_events("STAGED", u.get("status", "ACTIVE")):
                out.append((kind, [user_target(u)]))
            continue
        before = ou[uid]
        for kind in _status_events(before.get("status", "ACTIVE"), u.get("status", "ACTIVE")):
            out.append((kind, [user_target(u)]))
        if any(before.get(k) != u.get(k) for k in PROFILE_KEYS):
            out.append(("user.account.update_profile", [user_target(u)]))

    og, ng = old.groups, new.groups
    for gid, g in ng.items():
        if gid not in og:
            out.append(("group.lifecycle.create", [group_target(g)]))
        elif (og[gid].get("name"), og[gid].get("description")) != (g.get("name"), g.get("description")):
            out.append(("group.profile.update", [group_target(g)]))
        was, now = set(og.get(gid, {}).get("members", [])), set(g.get("members", []))
        for uid in g.get("members", []):
            if uid not in was:
                out.append(("group.user_membership.add", [user_target(nu[uid]), group_target(g)]))
        for uid in og.get(gid, {}).get("members", []):
            if uid not in now:
                out.append(("group.user_membership.remove", [user_target(nu.get(uid) or ou[uid]), group_target(g)]))

    app_old, app_new = app_target(old), app_target(new)
    for gid in new.app_groups:
        if gid not in old.app_groups:
            out.append(("group.application_assignment.add", [app_new, group_target(ng[gid])]))
    for gid in old.app_groups:
        if gid not in new.app_groups:
            out.append(("group.application_assignment.remove", [app_old, group_target(ng.get(gid) or og[gid])]))

    old_entries = {e["id"]: e for e in old.app_users}
    new_entries = {e["id"]: e for e in new.app_users}
    for uid, entry in new_entries.items():
        u = nu[uid]
        targets = [app_user_target(u, entry), app_new, user_target(u)]
        if uid not in old_entries:
            out.append(("application.user_membership.add", targets))
            continue
        prev = old_entries[uid]
        prev_name = prev.get("user_name") or ou[uid].get("login") or uid
        if prev_name != (entry.get("user_name") or u.get("login") or uid):
            out.append(("application.user_membership.change_username", targets))
        if any(prev.get(k) != entry.get(k) for k in ("saml_roles", "scope", "app_status")):
            out.append(("application.user_membership.update", targets))
    for uid, entry in old_entries.items():
        if uid not in new_entries:
            u = nu.get(uid) or ou[uid]
            out.append(("application.user_membership.remove", [app_user_target(u, entry), app_old, user_target(u)]))

    for gid, g in og.items():
        if gid not in ng:
            out.append(("group.lifecycle.delete", [group_target(g)]))
    for uid, u in ou.items():
        if uid not in nu:
            out.append(("user.lifecycle.delete.completed", [user_target(u)]))
    return out
