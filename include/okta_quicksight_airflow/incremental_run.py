"""Incremental and on-demand runs: the cursor per target, and planning from it (docs/incremental.md).

``plan_incremental`` and ``plan_only_users`` return what ``sync_tasks.plan_sync``
returns (config, plan, api_calls, started_at), plus what the report says of
the run: ``mode``, ``looked_at``, ``cursor_from``, ``cursor_to`` and
``fallback_reason`` (set when the run went full instead, and why).

The cursor lives in the Airflow Variable ``<dag_id>.incremental_cursor``
(JSON: the System Log's next link, when it was saved, the app's groups and
the managed totals of the last runs), so it survives restarts and workers.
``advance_cursor`` moves it only after a run that converged for everything it
looked at; the target's pool already keeps two writing runs of a target apart.
``variables`` is Airflow's ``Variable`` (anything with ``get(key, default=)``
and ``set(key, value)``).
"""

from __future__ import annotations

import json
import time

from okta_quicksight_sync.okta_changes import DEFAULT_MAX_EVENTS, log_filter, scope_changes
from okta_quicksight_sync.plan import STEP_USERS, Plan
from okta_quicksight_sync.scoped_plan import TOTAL_KEYS, FullRunNeeded, plan_scope
from okta_quicksight_sync.scoped_read import ScopeTooLargeError, read_scope, resolve_user_ids

from okta_quicksight_airflow import sync_tasks

MODE_FULL, MODE_INCREMENTAL, MODE_ONLY_USERS = "full", "incremental", "only_users"
# Okta keeps System Log events 90 days and past that answers a cursor with what is left, without an
# error: a cursor saved longer ago than this may have lost events, so the run is full.
LOG_RETENTION_S = 90 * 86400.0
RETENTION_MARGIN_S = 86400.0


class MemoryVariables:
    """Airflow's ``Variable`` as the incremental cursor uses it (``get(key, default=)``, ``set``), kept in a dict: for runs outside Airflow (bench, soak, tests)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    def set(self, key: str, value) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def cursor_key(dag_id: str) -> str:
    return f"{dag_id}.incremental_cursor"


def load_cursor(variables, dag_id: str) -> dict | None:
    """The stored cursor, or None when there is none (or it is not the JSON this module writes)."""
    raw = variables.get(cursor_key(dag_id), default=None)
    if not raw:
        return None
    try:
        cursor = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except (TypeError, ValueError):
        return None
    return cursor if isinstance(cursor, dict) and cursor.get("next_link") else None


def cursor_problem(variables, dag_id: str) -> str | None:
    """Why the last full run could not store a cursor (e.g. the connection may not read the log), if it said."""
    raw = variables.get(cursor_key(dag_id), default=None)
    try:
        stored = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return stored.get("problem") if isinstance(stored, dict) and not stored.get("next_link") else None


def stale_reason(cursor: dict | None, now: float, problem: str | None = None) -> str | None:
    """Why this cursor cannot be read from (a full run instead), or None."""
    if cursor is None and problem:
        return f"no cursor: the last full run could not read the System Log ({problem})"
    if cursor is None:
        return "no cursor yet: the first run of a target, or its cursor was discarded, reads everything"
    saved = float(cursor.get("saved_at") or 0)
    if now - saved > LOG_RETENTION_S - RETENTION_MARGIN_S:
        days = (now - saved) / 86400
        return (
            f"the cursor was saved {days:.0f} days ago, past the System Log's 90-day retention: "
            "events since then may be gone, so everything is read"
        )
    return None


def max_events(config) -> int:
    """The bound on events an incremental run scopes: the target's ``incremental_max_events`` (default 1000)."""
    return int(getattr(config, "incremental_max_events", None) or DEFAULT_MAX_EVENTS)


def plan_incremental(target: dict, params: dict, *, dag_id: str, variables, now: float | None = None) -> dict:
    """Plan from the System Log since the cursor; a full plan (sync_tasks.plan_sync) with the reason when it must."""
    from okta_provider.errors import OktaError
    from okta_provider.hooks.okta import OktaHook

    started = time.time()
    now = started if now is None else now
    cursor = load_cursor(variables, dag_id)
    reason = stale_reason(cursor, now, cursor_problem(variables, dag_id))
    if reason:
        return _full(target, params, reason, cursor_from=None, cursor_to=None)
    config = sync_tasks.resolve_config(target)
    okta = OktaHook(okta_conn_id=config.okta_conn_id)
    try:
        log = okta.read_log(next_link=cursor["next_link"])
    except OktaError as exc:
        return _full(target, params, f"a System Log page failed ({exc}): everything is read instead", cursor["next_link"], None,
                     {"okta": okta.api_calls})
    app_groups = set(cursor.get("app_group_ids") or ())
    changes = scope_changes(log.events, config.okta_app_id, max_events=max_events(config), app_group_ids=app_groups)
    if changes.fallback_reason:
        return _full(target, params, changes.fallback_reason, cursor["next_link"], log.next_link, {"okta": okta.api_calls})
    looked_at = {"events": changes.to_dict(), "log_pages": log.pages}
    if changes.nothing_changed:
        plan = Plan(okta_app_id=config.okta_app_id, namespace=config.namespace, dry_run=bool(params.get("dry_run")))
        calls = {"okta": okta.api_calls}
    else:
        qs = sync_tasks.QuickSightSide(config)
        try:
            scope = read_scope(
                okta, qs.directory, config, changes.user_ids, changes.group_ids, app_groups, names=changes.names
            )
            plan = plan_scope(config, scope, params, cursor.get("totals"))
        except (ScopeTooLargeError, FullRunNeeded) as exc:
            return _full(target, params, str(exc), cursor["next_link"], log.next_link,
                         {"okta": okta.api_calls, "quicksight": qs.api_calls})
        app_groups = set(scope.okta.app_group_ids)
        looked_at.update(_looked_at(scope))
        calls = {"okta": okta.api_calls, "quicksight": qs.api_calls}
    return {
        "config": config.to_dict(),
        "plan": plan.to_dict(),
        "api_calls": calls,
        "started_at": started,
        "mode": MODE_INCREMENTAL,
        "looked_at": looked_at,
        "cursor_from": cursor["next_link"],
        "cursor_to": log.next_link,
        "fallback_reason": None,
        "app_group_ids": sorted(app_groups),
    }


def plan_only_users(target: dict, params: dict, *, dag_id: str, variables) -> dict:
    """Plan just the people ``params['only_users']`` names (Okta logins or ids); nobody else is touched.

    An entry Okta does not know is reported failed with what to check; the cursor is not moved."""
    from okta_provider.hooks.okta import OktaHook

    started = time.time()
    entries = only_users_of(params)
    config = sync_tasks.resolve_config(target)
    okta = OktaHook(okta_conn_id=config.okta_conn_id)
    qs = sync_tasks.QuickSightSide(config)
    cursor = load_cursor(variables, dag_id) or {}
    resolved = resolve_user_ids(okta, entries)
    # The app's groups as they are now (one page per 200), not as the cursor last saw them: a group
    # assigned to the app since then is one a named person must be put into.
    app_groups = [g["id"] for g in okta.iter_app_groups(config.okta_app_id) if g.get("id")]
    ids = {entry: uid for entry, uid in resolved.items() if uid}
    names = {}
    for entry, uid in ids.items():
        names.setdefault(uid, set()).update({entry} - {uid})  # a login is a name; an id is not
    scope = read_scope(okta, qs.directory, config, set(ids.values()), (), app_groups, names=names)
    plan = plan_scope(config, scope, params, cursor.get("totals"))
    for entry in sorted(e for e, uid in resolved.items() if uid is None):
        plan.failed.append({
            "step": STEP_USERS, "action": "sync_user", "item": entry,
            "reason": "Okta has no user with this login or id: check the spelling in only_users (nothing was changed for it)",
        })
    return {
        "config": config.to_dict(),
        "plan": plan.to_dict(),
        "api_calls": {"okta": okta.api_calls, "quicksight": qs.api_calls},
        "started_at": started,
        "mode": MODE_ONLY_USERS,
        "looked_at": {"only_users": entries, "resolved": resolved, **_looked_at(scope)},
        "cursor_from": None,
        "cursor_to": None,
        "fallback_reason": None,
    }


def only_users_of(params: dict) -> list[str]:
    """The ``only_users`` param as a list: a JSON list, or logins/ids separated by commas, spaces or lines."""
    raw = params.get("only_users") or []
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    if not isinstance(raw, (list, tuple)):
        raise ValueError(f"only_users must be a list of Okta logins or user ids, got {type(raw).__name__}")
    return [str(e).strip() for e in raw if str(e).strip()]


def plan_for_mode(target: dict, params: dict, *, dag_id: str, variables) -> dict:
    """The plan for this run's params: ``only_users`` first, then ``mode`` (``full``, the default, or ``incremental``)."""
    if only_users_of(params):
        return plan_only_users(target, params, dag_id=dag_id, variables=variables)
    mode = params.get("mode") or MODE_FULL
    if mode == MODE_INCREMENTAL:
        return plan_incremental(target, params, dag_id=dag_id, variables=variables)
    if mode != MODE_FULL:
        raise ValueError(f"mode {mode!r} is not one of {MODE_FULL}, {MODE_INCREMENTAL}")
    return {**sync_tasks.plan_sync(target, params), "mode": MODE_FULL, "fallback_reason": None}


def advance_cursor(dag_id: str, planned: dict, converged: bool, variables, calls: dict | None = None) -> dict | None:
    """Store where the next incremental run starts, after a run that converged (returns the cursor stored).

    An incremental run moves it to where its log read ended; a full run to where the log stood
    when it started reading (its fallback's log read, or a read from its start time), with its
    managed totals and the app's groups. An on-demand run, a dry run or a run that did not converge
    leaves it where it was, and so does a full run whose log read fails (the old cursor is still safe).
    A full run's own read gave the app's groups (``planned["app_group_ids"]``); only the log is read here,
    and the Okta calls that takes are added to ``calls`` (by endpoint) when given."""
    from okta_provider.errors import LOG_READ_SCOPE, OktaError
    from okta_provider.hooks.okta import OktaHook

    plan = planned.get("plan") or {}
    if not converged or plan.get("dry_run") or planned.get("superseded") or planned.get("mode") == MODE_ONLY_USERS:
        return None
    previous = load_cursor(variables, dag_id) or {}
    stats = plan.get("stats") or {}
    if planned.get("mode") == MODE_INCREMENTAL:
        totals = _adjusted(previous.get("totals"), Plan.from_dict(plan))
        next_link, app_groups = planned["cursor_to"], planned.get("app_group_ids") or []
    else:
        okta = OktaHook(okta_conn_id=planned["config"].get("okta_conn_id") or "okta_default")
        next_link = planned.get("cursor_to")
        try:
            if not next_link and okta.lacks_scope(LOG_READ_SCOPE):
                # A sure 403 on every full run: say once why there is no cursor, and ask nothing.
                if not previous.get("next_link"):
                    problem = (f"the Okta connection's OAuth scopes leave out {LOG_READ_SCOPE}; grant it to the "
                               f"service app and add it to the connection's scopes (docs/okta.md)")
                    variables.set(cursor_key(dag_id), json.dumps({"problem": problem, "saved_at": float(planned["started_at"])}))
                return None
            if not next_link:
                since = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(float(planned["started_at"]) - 1))
                next_link = okta.read_log(since=since, filter=log_filter()).next_link
            app_groups = planned.get("app_group_ids")
            if app_groups is None:
                app_groups = [g["id"] for g in okta.iter_app_groups(planned["config"]["okta_app_id"]) if g.get("id")]
        except OktaError as exc:
            _count(calls, okta.api_calls)
            # A stored cursor stays (the next incremental run re-reads from there); without one, the
            # next incremental run's fallback says why there is none (e.g. no okta.logs.read scope).
            if not previous.get("next_link"):
                variables.set(cursor_key(dag_id), json.dumps({"problem": str(exc), "saved_at": float(planned["started_at"])}))
            return None
        _count(calls, okta.api_calls)
        totals = {k: int(stats.get(k) or 0) for k in TOTAL_KEYS} if stats else None
    cursor = {
        "next_link": next_link,
        "saved_at": float(planned["started_at"]),
        "app_group_ids": sorted(app_groups),
        "totals": totals,
    }
    variables.set(cursor_key(dag_id), json.dumps(cursor))
    return cursor


def _count(calls: dict | None, made: dict[str, int]) -> None:
    if calls is not None:
        for endpoint, n in made.items():
            calls[endpoint] = calls.get(endpoint, 0) + n


def _adjusted(totals: dict | None, plan: Plan) -> dict | None:
    """The last totals moved by what an incremental run applied (registered, deprovisioned, created, deleted)."""
    if not totals:
        return None
    return {
        **totals,
        "managed_users": max(0, totals["managed_users"] + len(plan.register) - len(plan.deprovision)),
        "managed_groups": max(0, totals["managed_groups"] + len(plan.create_groups) - len(plan.delete_groups)),
    }


def _looked_at(scope) -> dict:
    """What a scoped run read, for the report: Okta users and groups, QuickSight identities and groups."""
    return {
        "okta_users": sorted(scope.okta.read_user_ids),
        "okta_groups": sorted(scope.okta.read_group_ids),
        "quicksight_users": sorted(scope.qs.read_user_names),
        "quicksight_groups": sorted(scope.qs.read_group_names),
    }


def _full(target: dict, params: dict, reason: str, cursor_from: str | None, cursor_to: str | None,
          attempt_calls: dict[str, dict[str, int]] | None = None) -> dict:
    """A full plan, saying why the incremental run could not be one; the calls the attempt made count too."""
    planned = sync_tasks.plan_sync(target, params)
    calls = {service: dict(counts) for service, counts in (planned.get("api_calls") or {}).items()}
    for service, counts in (attempt_calls or {}).items():
        for key, n in counts.items():
            calls.setdefault(service, {})[key] = calls.get(service, {}).get(key, 0) + n
    return {**planned, "api_calls": calls, "mode": MODE_FULL, "fallback_reason": reason,
            "cursor_from": cursor_from, "cursor_to": cursor_to}
