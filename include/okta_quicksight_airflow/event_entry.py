"""What starts a target's incremental DAG: its own cron, Okta's events on an SQS queue, or both.

``incremental_schedule`` returns what the DAG's ``schedule=`` takes; the target
gets an incremental DAG only when ``wanted``. A queue message only says
"something changed in Okta": the run reads the System Log from its cursor, so
the watcher takes messages in batches and deletes them, and the incremental
DAG's ``max_active_runs=1`` makes Airflow keep further asset events queued
while a run works and start one run for all of them afterwards (docs/events.md).
"""

from __future__ import annotations

import importlib.util
import re

from okta_quicksight_sync.config import TargetConfig

# What the event entry needs beyond requirements.txt (requirements-events.txt pins the ranges).
EVENT_PACKAGES = "apache-airflow-providers-common-messaging and aiobotocore (pip install -r requirements-events.txt)"

# One receive takes at most 10 messages (SQS's maximum); a poll makes up to BATCHES receives, so one
# asset event stands for up to 50 messages. Short receives keep a burst's events coming fast; between
# idle polls the trigger sleeps IDLE_S: a change waits at most about IDLE_S + BATCHES * RECEIVE_WAIT_S.
MAX_MESSAGES = 10
BATCHES = 5
RECEIVE_WAIT_S = 1
IDLE_S = 10

_AWS_QUEUE = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/\d{12}/[^/]+$")


def wanted(config: TargetConfig) -> bool:
    """Whether the target gets an incremental DAG (a cron for it, or an event queue)."""
    return bool(config.incremental_schedule or config.event_queue)


def events_asset_name(dag_id: str) -> str:
    return f"okta_events/{dag_id}"


def events_asset_uri(dag_id: str) -> str:
    return f"okta-quicksight-sync://{dag_id}/okta-events"


def queue_region(queue_url: str) -> str | None:
    """The region an AWS queue URL names; None for another endpoint (the connection's region applies)."""
    match = _AWS_QUEUE.match(queue_url)
    return match.group(1) if match else None


def missing_packages() -> list[str]:
    """The event entry's modules that are not importable here (the DAG processor's and triggerer's image)."""
    modules = {
        "apache-airflow-providers-common-messaging": "airflow.providers.common.messaging.triggers.msg_queue",
        "aiobotocore": "aiobotocore",
    }
    missing = []
    for package, module in modules.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(package)
    return missing


def queue_trigger(config: TargetConfig):
    """Airflow's MessageQueueTrigger on the target's queue, through the Amazon provider's SQS trigger.

    Imported here, not at the top: a deployment without the messaging provider still parses
    every target that has no ``event_queue``."""
    missing = missing_packages()
    if missing:
        raise ValueError(f"event_queue is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: install "
                         f"{EVENT_PACKAGES} where the DAG processor and the triggerer run, or remove event_queue")
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

    return MessageQueueTrigger(
        scheme="sqs",
        sqs_queue=config.event_queue,
        aws_conn_id=config.aws_conn_id,
        region_name=queue_region(config.event_queue),
        max_messages=MAX_MESSAGES,
        num_batches=BATCHES,
        wait_time_seconds=RECEIVE_WAIT_S,
        waiter_delay=IDLE_S,
        delete_message_on_reception=True,
    )


def events_asset(dag_id: str, config: TargetConfig):
    """The target's Okta events as an asset watched on its queue.

    Name and URI depend on the DAG id alone (as ``directory_asset``'s): Airflow deactivates an asset
    whose name comes back with another URI, so a URI built from the queue would break after a change."""
    from airflow.sdk import Asset, AssetWatcher

    watcher = AssetWatcher(name=f"okta_events_queue_{dag_id}", trigger=queue_trigger(config))
    return Asset(name=events_asset_name(dag_id), uri=events_asset_uri(dag_id), group="okta_quicksight_sync",
                 watchers=[watcher])


def incremental_schedule(dag_id: str, config: TargetConfig):
    """The incremental DAG's schedule: the cron, the queue's asset, or either of them (cron in UTC).

    Raises ValueError (the DAG file builds a broken-target DAG with the message) when the queue's
    packages are missing."""
    if not config.event_queue:
        return config.incremental_schedule
    asset = events_asset(dag_id, config)
    if not config.incremental_schedule:
        return asset
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(config.incremental_schedule, timezone="UTC"),
                               assets=asset)
