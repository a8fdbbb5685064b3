"""What starts a target's incremental DAG: its own cron, Okta's events on an SQS queue, or both.

``incremental_schedule`` returns what the DAG's ``schedule=`` takes; ``None``
means the target has no incremental entry and no incremental DAG is built.
"""

from __future__ import annotations

from okta_quicksight_sync.config import TargetConfig


def wanted(config: TargetConfig) -> bool:
    """Whether the target gets an incremental DAG (a cron for it, or an event queue)."""
    return bool(config.incremental_schedule or config.event_queue)


def incremental_schedule(dag_id: str, config: TargetConfig):
    """The incremental DAG's schedule (the event queue is not wired yet: its cron only)."""
    return config.incremental_schedule
