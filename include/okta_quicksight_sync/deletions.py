"""May deletions run now? The one place that decides (docs/sync-rules.md section 6).

Three answers, in this order:

- the planner holds deletions over a limit unless the run's params release
  them (``allow_deletions``, or ``approved`` after a person said yes):
  :func:`hold_reasons` and :func:`held`;
- the run then takes a route (:func:`route`): ``apply`` (nothing held, or a
  dry run, which only reports), ``approve`` (a person answers in the Airflow
  UI) or ``hold`` (reported held, nothing deleted), from a small
  :func:`summary` of the plan, the params and the target's ``approval``;
- a plan a person approved is :func:`released`: only then does step 4-5 apply
  what the plan held.
"""

from __future__ import annotations

from dataclasses import replace

APPLY, APPROVE, HOLD = "apply", "approve", "hold"
# The target's ``approval`` setting: what a run does with held deletions.
APPROVAL_MODES = ("ui", "hold")


def hold_reasons(config, count: int, managed: int, managed_users: int, eligible: int) -> list[str]:
    """Why ``count`` planned deletions are over the target's limits (empty: they are not).

    ``managed``: managed users and groups; ``managed_users``: of which users;
    ``eligible``: Okta users eligible for an identity.
    """
    reasons = []
    if count > config.max_deletions:
        reasons.append(f"{count} deletions planned, more than max_deletions {config.max_deletions}")
    pct = config.max_deletion_percent
    if pct is not None and count > pct / 100 * managed:
        reasons.append(
            f"{count} deletions planned of {managed} managed users and groups, more than max_deletion_percent {pct:g}%"
        )
    if eligible == 0 and managed_users and count:
        reasons.append(
            f"Okta shows no eligible user while QuickSight has {managed_users} managed users: treated as a mass deletion"
        )
    return reasons


def held(over_limit: bool, params: dict) -> bool:
    """Deletions over a limit wait, unless this run's params release them."""
    return over_limit and not (bool(params.get("allow_deletions")) or bool(params.get("approved")))


def summary(plan) -> dict:
    """What the gate and the approval text need of a plan (a ``Plan`` or its dict), small enough for XCom."""
    get = plan.get if isinstance(plan, dict) else lambda key: getattr(plan, key)
    reasons = list(get("hold_reasons") or [])
    count = get("deletion_count") or 0
    return {
        "held": bool(get("deletions_held")),
        "count": count,
        "reasons": reasons,
        "text": f"{count} deletions were held: {'; '.join(reasons)}." if reasons else f"{count} deletions planned.",
    }


def route(deletions: dict, params: dict, approval: str) -> str:
    """APPLY, APPROVE or HOLD for a run whose plan's :func:`summary` is ``deletions``."""
    if approval not in APPROVAL_MODES:
        raise ValueError(f"approval {approval!r} is not one of {', '.join(APPROVAL_MODES)}")
    if not deletions["held"] or params.get("dry_run"):
        return APPLY  # a dry run reports held deletions as held; it never asks anyone
    return APPROVE if approval == "ui" else HOLD


def released(plan):
    """The plan after a person approved its held deletions: step 4-5 applies them."""
    return replace(plan, deletions_held=False)
