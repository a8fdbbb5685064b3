"""An item's result, ``{action, item, status, reason}``, and the statuses it may have.

Every step reports its items in this one shape, and the report counts them
by these statuses (docs/sync-rules.md section 7).
"""

from __future__ import annotations

PLANNED, DONE, ALREADY, FAILED, SKIPPED, HELD = "planned", "done", "already", "failed", "skipped", "held"
# The report's column order.
STATUSES = (PLANNED, DONE, ALREADY, FAILED, SKIPPED, HELD)


def result(action: str, item: str, status: str, reason: str = "") -> dict:
    return {"action": action, "item": item, "status": status, "reason": reason}

