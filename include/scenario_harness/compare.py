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


READ_PREFIXES = ("List", "Describe", "Search")
CALL_BOUNDS = ("okta", "quicksight", "quicksight_writes")


def api_call_totals(report: dict) -> dict[str, int]:
    """The report's `api_calls` as the totals `expect.api_calls_at_most` bounds: every Okta request,
    every QuickSight request, and the QuickSight ones that are not List*/Describe*/Search* (writes)."""
    calls = report.get("api_calls") or {}
    okta, qs = calls.get("okta") or {}, calls.get("quicksight") or {}
    return {
        "okta": sum(okta.values()),
        "quicksight": sum(qs.values()),
        "quicksight_writes": sum(n for op, n in qs.items() if not op.startswith(READ_PREFIXES)),
    }


def api_calls_over(report: dict, bounds: dict) -> list[str]:
    """One line per bound of `expect.api_calls_at_most` the run exceeded; empty when within all."""
    if not bounds:
        return []
    unknown = sorted(set(bounds) - set(CALL_BOUNDS))
    if unknown:
        return [f"api_calls_at_most: unknown key(s) {unknown}; it bounds {list(CALL_BOUNDS)}"]
    if not report.get("api_calls"):
        return ["api_calls_at_most: the report has no api_calls to compare"]
    totals = api_call_totals(report)
    calls = report["api_calls"]
    out = []
    for key, limit in bounds.items():
        if totals[key] > limit:
            service = "okta" if key == "okta" else "quicksight"
            out.append(f"api_calls {key}: {totals[key]} > at most {limit} ({calls.get(service)})")
    return out


def expectation_problems(expect: dict, expect_report: list, result: dict) -> list[str]:
    """Everything a run (the first or a round) did that its `expect` and `expect_report` did not say."""
    out = []
    if result["outcome"] != expect.get("outcome"):
        out.append(f"outcome {result['outcome']!r}, expected {expect.get('outcome')!r}; errors: {result['report'].get('errors')}")
    if "quicksight" in expect:
        out += state_differences(expect["quicksight"], result["quicksight"])
    out += [f"report lacks {check}" for check in expect_report or [] if not report_has(result["report"], check)]
    out += api_calls_over(result["report"], expect.get("api_calls_at_most") or {})
    # The project's extension: `expect.mode` (full, incremental, only_users), the mode the report says ran
    # (a full run reports none), and `expect.fallback_contains`, words of the reason an incremental run read everything.
    if "mode" in expect and result["report"].get("mode", "full") != expect["mode"]:
        out.append(f"mode {result['report'].get('mode', 'full')!r}, expected {expect['mode']!r} "
                   f"(fallback: {result['report'].get('fallback_reason')})")
    if "fallback_contains" in expect and expect["fallback_contains"] not in (result["report"].get("fallback_reason") or ""):
        out.append(f"fallback reason {result['report'].get('fallback_reason')!r} lacks {expect['fallback_contains']!r}")
    return out
