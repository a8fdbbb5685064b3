"""State equality as the scenario format defines it (docs/scenario-format.md, *Result*).

Two states are equal when they hold the same users (user name, email, role,
identity type), the same groups with the same members, and the same assets
with the same owners; order and group descriptions do not count.
"""

from __future__ import annotations


def _users(state: dict) -> dict[str, tuple]:
    return {
        u["user_name"]: (u.get("email"), u.get("role"), u.get("identity_type", "IAM"))
        for u in state.get("users", [])
    }


def _groups(state: dict) -> dict[str, frozenset]:
    return {g["name"]: frozenset(g.get("members", [])) for g in state.get("groups", [])}


def _assets(state: dict) -> dict[tuple, frozenset]:
    return {
        (a["type"], a["id"], a.get("region")): frozenset(a.get("owners", []))
        for a in state.get("assets", [])
    }


def _diff(kind: str, want: dict, got: dict) -> list[str]:
    out = []
    for key in sorted(set(want) | set(got), key=str):
        if key not in got:
            out.append(f"{kind} {key}: expected {_show(want[key])}, missing")
        elif key not in want:
            out.append(f"{kind} {key}: unexpected {_show(got[key])}")
        elif want[key] != got[key]:
            out.append(f"{kind} {key}: expected {_show(want[key])}, got {_show(got[key])}")
    return out


def _show(value) -> str:
    return str(sorted(value)) if isinstance(value, frozenset) else str(value)


def state_differences(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences; empty when the states are equal."""
    return (
        _diff("user", _users(expected), _users(actual))
        + _diff("group", _groups(expected), _groups(actual))
        + _diff("asset", _assets(expected), _assets(actual))
    )


def report_has(report: dict, check: dict) -> bool:
    """Whether the report has an item matching an ``expect_report`` entry of a scenario file:
    ``{"action", "item", "status"}`` compared exactly, and optionally ``"reason_contains"``."""
    for item in report.get("items", []):
        if all(item.get(k) == v for k, v in check.items() if k != "reason_contains"):
            if check.get("reason_contains", "") in item.get("reason", ""):
                return True
    return False
