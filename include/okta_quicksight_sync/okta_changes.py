"""Which Okta users and groups a run of System Log events touched (docs/incremental.md).

An incremental run reads Okta's System Log from a stored cursor and re-reads
only what the events touch. Events say *what* changed, never *what is*: this
module only picks ids (and the names the events carry), the scoped read then
asks Okta for the current state of each. When it cannot be sure which items a
change reaches, it says so in ``fallback_reason`` and the caller runs in full.

Plain Python over LogEvent dicts as ``GET /api/v1/logs`` serves them
(docs/api-notes.md, "Okta: System Log").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

# Event types that change what the sync wants (docs/api-notes.md, "Okta: System Log").
APP_USER_EVENTS = frozenset({
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.change_username",
    "application.user_membership.update",
})
GROUP_MEMBERSHIP_EVENTS = frozenset({"group.user_membership.add", "group.user_membership.remove"})
APP_GROUP_EVENTS = frozenset({
    "group.application_assignment.add",
    "group.application_assignment.remove",
    "group.application_assignment.update",
})
GROUP_EVENTS = frozenset({"group.profile.update", "group.lifecycle.delete"})
USER_EVENTS = frozenset({
    "user.lifecycle.activate",
    "user.lifecycle.reactivate",
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.delete.initiated",
    "user.lifecycle.delete.completed",
    "user.account.update_profile",
    "user.account.lock",  # LOCKED_OUT is a status `eligible_statuses` may name
    "user.account.unlock",
})
SYNC_EVENT_TYPES = APP_USER_EVENTS | GROUP_MEMBERSHIP_EVENTS | APP_GROUP_EVENTS | GROUP_EVENTS | USER_EVENTS

# Events that change nothing the sync reads: sign-ins, credentials, and creations (a new user or
# group is not in the app until an assignment, which logs its own event).
NOT_SYNC_RELEVANT_PREFIXES = (
    "user.session.",
    "user.authentication.",
    "user.mfa.",
    "user.credential.",
    "user.account.update_password",
    "user.account.reset_password",
    "user.lifecycle.create",
    "group.lifecycle.create",
    "application.user_membership.change_password",
    "application.user_membership.show_password",
    "application.user_membership.restore_password",
    "policy.evaluate_sign_on",
    "app.oauth2.",
    "system.api_token.",
)
# Outcomes of an action that did not happen.
NOT_DONE_OUTCOMES = frozenset({"FAILURE", "DENY"})
# Where a target names a person (Okta's LogTarget.changeDetails `from`/`to`, when Okta sends it).
NAME_KEYS = ("userName", "login", "email")
DEFAULT_MAX_EVENTS = 1000  # one full page of the log; past it a full run is cheaper than item reads


@dataclass(frozen=True)
class ChangeScope:
    """What a list of System Log events touched, and whether the caller must run in full instead.

    - ``user_ids``: Okta users to re-read (app assignment, status, profile, username, group membership).
    - ``group_ids``: Okta groups to re-read with all their members (app assignment, rename, deletion,
      an unknown event): the whole group is planned again.
    - ``membership_group_ids``: groups a member joined or left; only that member is re-read (its
      groups come with it), not the whole group.
    - ``assignment_group_ids``: those of ``group_ids`` whose assignment to the app changed: each of
      their members' app assignment may have come or gone with it, so the caller re-reads them as users too.
    - ``app_groups_changed``: the app's set of groups changed.
    - ``names``: per user id, every username, login and email the events name (old and new): the
      QuickSight identities to look at are ``<role>/<name>`` for each; an old name is the identity a
      rename leaves behind.
    - ``events_read``; ``events_counted`` (those that touched something); ``ignored`` (count per reason).
    - ``fallback_reason``: set when events cannot be scoped (an app-level change, a rename whose old
      name no event gives, more events than the bound): the caller runs ``full`` and reports this.
    """

    user_ids: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    membership_group_ids: frozenset[str] = frozenset()
    assignment_group_ids: frozenset[str] = frozenset()
    app_groups_changed: bool = False
    names: Mapping[str, frozenset[str]] = field(default_factory=dict)
    events_read: int = 0
    events_counted: int = 0
    ignored: Mapping[str, int] = field(default_factory=dict)
    fallback_reason: str | None = None

    @property
    def nothing_changed(self) -> bool:
        return not (self.user_ids or self.group_ids or self.membership_group_ids or self.fallback_reason)

    def to_dict(self) -> dict:
        """Plain JSON for XCom and the report."""
        return {
            "user_ids": sorted(self.user_ids),
            "group_ids": sorted(self.group_ids),
            "membership_group_ids": sorted(self.membership_group_ids),
            "assignment_group_ids": sorted(self.assignment_group_ids),
            "app_groups_changed": self.app_groups_changed,
            "names": {uid: sorted(names) for uid, names in sorted(self.names.items())},
            "events_read": self.events_read,
            "events_counted": self.events_counted,
            "ignored": dict(sorted(self.ignored.items())),
            "fallback_reason": self.fallback_reason,
        }


def log_filter(event_types: Iterable[str] = SYNC_EVENT_TYPES) -> str:
    """The System Log `filter` that asks only for these event types (Okta's `eventType eq ... or ...`)."""
    return " or ".join(f'eventType eq "{kind}"' for kind in sorted(event_types))


def scope_changes(
    events: Iterable[dict],
    app_id: str,
    *,
    max_events: int = DEFAULT_MAX_EVENTS,
    app_group_ids: Collection[str] | None = None,
    known_user_ids: Collection[str] | None = None,
) -> ChangeScope:
    """The users and groups `events` touched for the app `app_id`.

    ``app_group_ids``, when given, are the app's groups as the caller last knew them: a membership
    change, rename or deletion of any other group (not assigned to the app in these events either)
    changes nothing the sync wants and is ignored. ``known_user_ids``, when given, limits what an
    event of a type not listed here may touch to those users; without it, any user it names counts.
    """
    events = list(events)
    assigned_here = _groups_assigned_here(events, app_id)
    relevant_groups = None if app_group_ids is None else set(app_group_ids) | assigned_here
    users: set[str] = set()
    groups: set[str] = set()
    membership_groups: set[str] = set()
    assignment_groups: set[str] = set()
    names: dict[str, set[str]] = {}
    app_name: dict[str, str] = {}  # user id -> the app username the latest event so far gave
    lost_old_name: dict[str, str] = {}  # user id -> a new app username whose old one no event gave
    ignored: Counter[str] = Counter()
    counted = 0
    fallback: str | None = None

    for event in events:
        kind = str(event.get("eventType") or "")
        outcome = ((event.get("outcome") or {}).get("result") or "").upper()
        targets = [t for t in event.get("target") or [] if isinstance(t, dict)]
        by_type = _targets_by_type(targets)
        apps = [t.get("id") for t in by_type.get("AppInstance", [])]
        if outcome in NOT_DONE_OUTCOMES:
            ignored["not done (outcome " + outcome + ")"] += 1
            continue
        if apps and app_id not in apps:
            ignored["another app"] += 1
            continue
        if kind.startswith(NOT_SYNC_RELEVANT_PREFIXES):
            ignored["not sync relevant"] += 1
            continue
        user_targets = by_type.get("User", [])
        group_targets = by_type.get("UserGroup", [])
        touched_users: list[dict] = []
        touched_groups: list[dict] = []
        problem = None

        if kind in APP_USER_EVENTS:
            touched_users = user_targets
            problem = None if user_targets else "names no User"
        elif kind in GROUP_MEMBERSHIP_EVENTS:
            touched_users, touched_groups = user_targets, group_targets
            problem = None if user_targets and group_targets else "names no User and UserGroup"
        elif kind in APP_GROUP_EVENTS:
            touched_groups = group_targets
            problem = None if group_targets else "names no UserGroup"
        elif kind in GROUP_EVENTS:
            touched_groups = group_targets
            problem = None if group_targets else "names no UserGroup"
        elif kind in USER_EVENTS:
            touched_users = user_targets
            problem = None if user_targets else "names no User"
        else:  # a type this module does not know: re-read any known user or group it touches
            touched_users = [t for t in user_targets if known_user_ids is None or t.get("id") in known_user_ids]
            touched_groups = group_targets
            if not user_targets and not group_targets:
                if apps:  # this app, and nobody in particular: its settings may change everyone
                    problem = "changes the app itself, not a user or group"
                else:
                    ignored["touches no user or group"] += 1
                    continue

        if problem is not None:
            fallback = fallback or f"event {event.get('uuid') or '?'} ({kind}) {problem}: the sync cannot tell what it changed"
            counted += 1
            continue
        if relevant_groups is not None and kind not in APP_GROUP_EVENTS:
            touched_groups = [g for g in touched_groups if g.get("id") in relevant_groups]
            if kind in GROUP_MEMBERSHIP_EVENTS and not touched_groups:
                ignored["not an app group"] += 1
                continue
        if not touched_users and not touched_groups:
            ignored["touches no known user or group"] += 1
            continue

        counted += 1
        for target in touched_users:
            uid = str(target["id"])
            users.add(uid)
            names.setdefault(uid, set()).update(_names_of(target))
        for target in by_type.get("AppUser", []):  # the app username; belongs to the event's User
            for uid in (str(t["id"]) for t in touched_users):
                names.setdefault(uid, set()).update(_names_of(target))
                new_name = str(target.get("alternateId") or "")
                if kind == "application.user_membership.change_username" and new_name:
                    old_names = _old_user_names(target) | ({app_name[uid]} if uid in app_name else set())
                    if not old_names - {new_name}:
                        lost_old_name[uid] = new_name
                if new_name:
                    app_name[uid] = new_name
        for target in touched_groups:
            (membership_groups if kind in GROUP_MEMBERSHIP_EVENTS else groups).add(str(target["id"]))
        if kind in APP_GROUP_EVENTS:
            assignment_groups.update(str(t["id"]) for t in touched_groups)

    for uid, new_name in sorted(lost_old_name.items()):
        fallback = fallback or (
            f"the app username of Okta user {uid} changed to {new_name!r} and no event says the old one: "
            f"only a full run finds the QuickSight identity left under the old name"
        )
    if counted > max_events:
        fallback = (
            f"{counted} System Log events changed users or groups since the cursor, more than the bound of "
            f"{max_events}: a full run reads less than re-reading each"
        )
    return ChangeScope(
        user_ids=frozenset(users),
        group_ids=frozenset(groups),
        membership_group_ids=frozenset(membership_groups - groups),
        assignment_group_ids=frozenset(assignment_groups),
        app_groups_changed=bool(assignment_groups),
        names={uid: frozenset(n) for uid, n in names.items() if uid in users},
        events_read=len(events),
        events_counted=counted,
        ignored=dict(ignored),
        fallback_reason=fallback,
    )


def _targets_by_type(targets: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for target in targets:
        if target.get("id"):
            out.setdefault(str(target.get("type") or ""), []).append(target)
    return out


def _groups_assigned_here(events: list[dict], app_id: str) -> set[str]:
    """Groups assigned to (or removed from) the app by these events: app groups whatever the caller knew."""
    out: set[str] = set()
    for event in events:
        if event.get("eventType") not in APP_GROUP_EVENTS:
            continue
        if ((event.get("outcome") or {}).get("result") or "").upper() in NOT_DONE_OUTCOMES:
            continue
        by_type = _targets_by_type([t for t in event.get("target") or [] if isinstance(t, dict)])
        apps = [t.get("id") for t in by_type.get("AppInstance", [])]
        if not apps or app_id in apps:
            out.update(str(t["id"]) for t in by_type.get("UserGroup", []))
    return out


def _names_of(target: dict) -> set[str]:
    """The alternateId and any username, login or email in changeDetails (old and new values)."""
    out = set()
    if target.get("alternateId"):
        out.add(str(target["alternateId"]))
    details = target.get("changeDetails") or {}
    for side in ("from", "to"):
        values = details.get(side) if isinstance(details, dict) else None
        if isinstance(values, dict):
            out.update(str(values[k]) for k in NAME_KEYS if isinstance(values.get(k), str) and values[k])
    return out


def _old_user_names(target: dict) -> set[str]:
    """The app username before the change, where Okta's changeDetails gives it."""
    details = target.get("changeDetails") or {}
    before = details.get("from") if isinstance(details, dict) else None
    if not isinstance(before, dict):
        return set()
    return {str(before[k]) for k in ("userName",) if isinstance(before.get(k), str) and before[k]}
