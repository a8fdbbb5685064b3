"""The run's report (docs/sync-rules.md section 7), as JSON and as a log table.

Built only from the plan, the per-item results, call counters and the
config's non-secret keys: nothing here ever sees a credential.
"""

from __future__ import annotations

from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.plan import Plan
from okta_quicksight_sync.results import ALREADY, FAILED, HELD, PLANNED, STATUSES
OUTCOMES = ("success", "failed", "held")
TABLE_ITEM_LIMIT = 200


def outcome_of(results: list[dict]) -> str:
    """failed when any item failed; held when deletions wait (none applied); else success."""
    statuses = {r["status"] for r in results}
    if FAILED in statuses:
        return "failed"
    if HELD in statuses:
        return "held"
    return "success"


def build_report(config: TargetConfig | dict, plan: Plan, results: list[dict], api_calls: dict | None = None,
                 duration_s: float = 0.0, outcome: str | None = None) -> dict:
    cfg = config.to_dict() if isinstance(config, TargetConfig) else dict(config)
    planned = plan.planned_counts()
    counts: dict[str, dict[str, int]] = {}
    for action, n in planned.items():
        if n:
            counts.setdefault(action, dict.fromkeys(STATUSES, 0))["planned"] = n
    for r in results:
        row = counts.setdefault(r["action"], dict.fromkeys(STATUSES, 0))
        if r["status"] != PLANNED:
            row[r["status"]] += 1
    changed = [r for r in results if r["status"] != ALREADY]
    return {
        "target": {
            "okta_app_id": cfg.get("okta_app_id"),
            "aws_account_id": cfg.get("aws_account_id"),
            "identity_region": cfg.get("identity_region"),
            "namespace": cfg.get("namespace"),
        },
        "outcome": outcome or outcome_of(results),
        "dry_run": plan.dry_run,
        "counts": counts,
        "totals": {s: sum(row[s] for row in counts.values()) for s in STATUSES},
        "deletions": {
            "count": plan.deletion_count,
            "over_limit": plan.deletions_over_limit,
            "held": any(r["status"] == HELD for r in results),
            "reasons": list(plan.hold_reasons),
        },
        "items": changed,
        "errors": [{"action": r["action"], "item": r["item"], "cause": r["reason"]} for r in results if r["status"] == FAILED],
        "api_calls": {service: dict(calls) for service, calls in (api_calls or {}).items()},
        "duration_s": round(float(duration_s), 3),
        "stats": dict(plan.stats),
    }


def render_table(report: dict, item_limit: int = TABLE_ITEM_LIMIT) -> str:
    """A fixed-width summary for the task log."""
    target = report["target"]
    lines = [
        f"Okta app {target['okta_app_id']} -> QuickSight {target.get('aws_account_id') or '?'}"
        f"/{target.get('namespace')} ({target.get('identity_region') or '?'})"
        f"{'  [DRY RUN]' if report.get('dry_run') else ''}",
        f"outcome: {report['outcome']}   duration: {report['duration_s']:.1f}s",
    ]
    deletions = report["deletions"]
    if deletions["over_limit"]:
        state = "HELD" if deletions["held"] else "released"
        lines.append(f"deletions: {deletions['count']} {state} - " + "; ".join(deletions["reasons"]))
    header = f"{'action':<18}" + "".join(f"{s:>9}" for s in STATUSES)
    lines += ["", header, "-" * len(header)]
    for action in sorted(report["counts"]):
        row = report["counts"][action]
        lines.append(f"{action:<18}" + "".join(f"{row[s]:>9}" for s in STATUSES))
    items = report["items"]
    if items:
        lines += ["", "items:"]
        for r in items[:item_limit]:
            lines.append(f"  {r['status']:<8} {r['action']:<17} {r['item']}" + (f"  ({r['reason']})" if r["reason"] else ""))
        if len(items) > item_limit:
            lines.append(f"  ... {len(items) - item_limit} more in the JSON report")
    if report["errors"]:
        lines += ["", f"errors: {len(report['errors'])} (see items above)"]
    calls = report["api_calls"]
    if calls:
        lines += ["", "api calls:"]
        for service in sorted(calls):
            total = sum(calls[service].values())
            detail = ", ".join(f"{op} {n}" for op, n in sorted(calls[service].items()))
            lines.append(f"  {service}: {total} ({detail})")
    return "\n".join(lines)
