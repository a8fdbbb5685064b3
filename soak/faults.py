"""Faults the plain scenario format cannot say: "let N calls through first" and
"someone else changes the org or the account right now".

``ScriptedFaults`` is a drop-in for ``local_servers.common.FaultPlan`` (the
servers only call ``take(**call)`` and read ``injected``), installed with
:func:`install`. On top of FaultPlan's keys a fault may carry:

- ``"skip": N`` - the first N matching calls pass untouched (fail page 2, not page 1);
- ``"race": {...}`` - before the matching call is served, another actor changes
  the server's state, then the call proceeds (unless the fault also has a
  status/error/kind). QuickSight races are one operation applied to the
  account as an administrator's call would be, e.g.
  ``{"operation": "DeleteUser", "params": {"UserName": "..."}}``; Okta races
  are ``{"delete_group": "00g2"}``, ``{"remove_app_user": "00u1"}``.

A fault's ``kind`` (or status/error) names it in ``injected`` for the soak's counts.
"""

from __future__ import annotations

import threading
from collections import Counter

from local_servers.common import FAULT_ACTION_KEYS

SCRIPT_KEYS = frozenset({"skip", "race"})


class ScriptedFaults:
    """One service's faults, consumed as matching calls arrive (thread-safe)."""

    def __init__(self, faults: list[dict] | None, service: str, on_race=None) -> None:
        self._lock = threading.Lock()
        self.service = service
        self._faults = [dict(f) for f in (faults or []) if f.get("service", service) == service]
        self._on_race = on_race
        self.injected: Counter[str] = Counter()
        self.races: list[dict] = []

    def add(self, fault: dict) -> None:
        with self._lock:
            self._faults.append(dict(fault))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, **call: str) -> dict | None:
        race = None
        chosen = None
        with self._lock:
            for fault in self._faults:
                if fault.get("times", 1) == 0:
                    continue
                wanted = {k: v for k, v in fault.items() if k not in FAULT_ACTION_KEYS | SCRIPT_KEYS}
                if not all(call.get(k) == v for k, v in wanted.items()):
                    continue
                if fault.get("skip", 0) > 0:
                    fault["skip"] -= 1
                    continue
                if fault.get("times", 1) > 0:
                    fault["times"] = fault.get("times", 1) - 1
                if fault.get("race"):
                    race = fault["race"]
                    self.races.append({"call": dict(call), "race": race})
                    self.injected["race"] += 1
                if fault.get("kind") or fault.get("status") or fault.get("error"):
                    self.injected[label_of(fault)] += 1
                    chosen = fault
                break
        if race is not None and self._on_race is not None:
            self._on_race(race)  # outside the lock: it may call back into the server's state
        return chosen


def label_of(fault: dict) -> str:
    """The kind a fault counts as: ``reset``, ``timeout``, ``invalid_json``, ``okta 503``, ``ThrottlingException``..."""
    if fault.get("kind"):
        return str(fault["kind"])
    if fault.get("error"):
        return str(fault["error"])
    return f"HTTP {fault.get('status')}"


def okta_race(server):
    """A race handler for the local Okta: another admin edits the org mid-read."""

    def apply(race: dict) -> None:
        org = server.org
        if "delete_group" in race:
            org.remove_group(race["delete_group"])
        if "remove_app_user" in race:
            org.remove_app_user(race["remove_app_user"])
        unknown = set(race) - {"delete_group", "remove_app_user"}
        if unknown:
            raise ValueError(f"unknown Okta race {sorted(unknown)}; use delete_group or remove_app_user")

    return apply


def quicksight_race(server):
    """A race handler for the local QuickSight: one administrator call, served as the API would serve it."""

    def apply(race: dict) -> None:
        params = {"AwsAccountId": server.state.account_id, "Namespace": server.state.namespace, **race.get("params", {})}
        server.state.handle(race["operation"], params, race.get("region") or server.state.identity_region)

    return apply


def install(okta_server, quicksight_server, faults: list[dict] | None) -> tuple[ScriptedFaults, ScriptedFaults]:
    """Replace both servers' fault plans with scripted ones holding ``faults``."""
    okta_server.faults = ScriptedFaults(faults, "okta", okta_race(okta_server))
    quicksight_server.faults = ScriptedFaults(faults, "quicksight", quicksight_race(quicksight_server))
    return okta_server.faults, quicksight_server.faults
