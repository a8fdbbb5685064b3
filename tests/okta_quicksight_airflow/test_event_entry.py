"""What starts a target's incremental DAG (event_entry): the cron, the SQS queue's watched asset, or both.

The queue's trigger is the one Airflow's triggerer runs (the Amazon provider's SQS trigger behind
MessageQueueTrigger), run here against the local SQS (moto's server) through an Airflow AWS
connection, as the triggerer would; a deployment without the messaging provider is a real
interpreter where those modules cannot be imported.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local_servers.sqs_server import SqsServer
from okta_quicksight_airflow import event_entry
from okta_quicksight_sync.config import TargetConfig
from scenario_harness.runner import _environment, load_dag

ROOT = Path(__file__).resolve().parents[2]
AWS_QUEUE = "https://sqs.eu-west-1.amazonaws.com/111122223333/okta-events"


def config(**keys) -> TargetConfig:
    return TargetConfig(okta_app_id="0oaqs1", **keys)


def test_cron_only_is_the_cron_and_nothing_is_wanted_without_either():
    assert event_entry.incremental_schedule("t", config(incremental_schedule="*/10 * * * *")) == "*/10 * * * *"
    assert event_entry.wanted(config(incremental_schedule="*/10 * * * *"))
    assert event_entry.wanted(config(event_queue=AWS_QUEUE))
    assert not event_entry.wanted(config())


def test_queue_only_is_an_asset_watched_on_the_queue_by_the_sqs_trigger():
    from airflow.sdk import Asset

    asset = event_entry.incremental_schedule("okta_quicksight_sync", config(event_queue=AWS_QUEUE, aws_conn_id="aws_prod"))
    assert isinstance(asset, Asset)
    assert (asset.name, asset.uri) == ("okta_events/okta_quicksight_sync", "okta-quicksight-sync://okta_quicksight_sync/okta-events")
    [watcher] = asset.watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
    assert kwargs["sqs_queue"] == AWS_QUEUE
    assert kwargs["aws_conn_id"] == "aws_prod"
    assert kwargs["region_name"] == "eu-west-1"
    assert (kwargs["max_messages"], kwargs["num_batches"]) == (10, event_entry.BATCHES)
    assert kwargs["delete_message_on_reception"] is True


def test_both_is_asset_or_utc_cron():
    from airflow.sdk import AssetOrTimeSchedule

    schedule = event_entry.incremental_schedule("t", config(event_queue=AWS_QUEUE, incremental_schedule="*/30 * * * *"))
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert schedule.timetable.expression == "*/30 * * * *"
    assert str(schedule.timetable.timezone) in ("UTC", "Timezone('UTC')")
    assert schedule.asset_condition.name == "okta_events/t"


def test_the_asset_depends_on_the_dag_id_alone():
    """Another queue, connection or region: same name and URI (Airflow deactivates a renamed URI)."""
    one = event_entry.incremental_schedule("a", config(event_queue=AWS_QUEUE))
    other = event_entry.incremental_schedule("a", config(event_queue="http://127.0.0.1:5000/123456789012/q2", aws_conn_id="x"))
    third = event_entry.incremental_schedule("b", config(event_queue=AWS_QUEUE))
    assert (one.name, one.uri) == (other.name, other.uri)
    assert (one.name, one.uri) != (third.name, third.uri)
    assert other.watchers[0].trigger.serialize()[1]["region_name"] is None  # not AWS: the connection's region


def test_queue_region():
    assert event_entry.queue_region("https://sqs.us-gov-west-1.amazonaws.com/111122223333/q") == "us-gov-west-1"
    assert event_entry.queue_region("https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q") == "cn-north-1"
    assert event_entry.queue_region("http://localhost:4566/000000000000/q") is None


def run_until_first_event(trigger, timeout_s: float = 60):
    async def first():
        async for event in trigger.run():
            return event

    return asyncio.run(asyncio.wait_for(first(), timeout_s))


def test_the_trigger_takes_a_burst_in_one_event_and_deletes_it():
    """35 messages waiting: one trigger event carries them all (10 a receive, several receives) and the
    queue is empty after; Airflow makes one asset event of it, not 35."""
    with SqsServer() as sqs:
        url = sqs.create_queue("okta-events")
        client = sqs.client()
        for batch in range(4):
            client.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": json.dumps({"n": batch * 10 + i})} for i in range(10 if batch < 3 else 5)])
        connection = {"conn_type": "aws", "login": "AKIDLOCAL", "password": "local-secret",
                      "extra": {"region_name": "us-east-1", **sqs.airflow_connection_extra()}}
        with _environment({"AIRFLOW_CONN_AWS_EVENTS": json.dumps(connection)}):
            asset = event_entry.incremental_schedule("t", config(event_queue=url, aws_conn_id="aws_events"))
            event = run_until_first_event(asset.watchers[0].trigger)
        bodies = sorted(json.loads(m["Body"])["n"] for m in event.payload["message_batch"])
        assert bodies == list(range(35))
        assert sqs.depth(url) == 0
        calls = sqs.calls.snapshot()
        assert calls["ReceiveMessage"] == event_entry.BATCHES
        assert calls["DeleteMessageBatch"] == 4


def test_the_dag_file_builds_the_incremental_dag_on_the_queue(tmp_path):
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"evt": {"okta_app_id": "0oaqs1", "event_queue": AWS_QUEUE,
                                                "saml_roles": {"QuickSightReader": "READER"}}}))
    with _environment({"OKTA_QS_SYNC_TARGETS": str(targets)}):
        dag = load_dag("evt_incremental")
    asset = dag.timetable.asset_condition
    assert asset.name == "okta_events/evt"
    assert asset.watchers[0].trigger.serialize()[1]["sqs_queue"] == AWS_QUEUE
    assert dag.max_active_runs == 1  # later events wait in Airflow's queue for one run after this one
    assert dag.params["mode"] == "incremental"


HIDE_EVENT_PACKAGES = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        # The messaging provider's trigger module (what event_entry imports; its provider-info entry
        # point stays, which Airflow's provider discovery loads) and aiobotocore.
        if name == "aiobotocore" or name.startswith(("aiobotocore.", "airflow.providers.common.messaging.triggers")):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Hide())
"""


def test_without_the_packages_the_queue_is_a_clear_error_and_others_parse(tmp_path):
    """Where the messaging provider and aiobotocore cannot be imported, a target without a queue still
    gets its DAGs, and one with a queue gets a ValueError naming what to install."""
    script = HIDE_EVENT_PACKAGES + """
import json
from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_airflow import event_entry
print(json.dumps({"missing": event_entry.missing_packages(),
                  "cron": event_entry.incremental_schedule("t", TargetConfig(okta_app_id="x", incremental_schedule="*/5 * * * *"))}))
try:
    event_entry.incremental_schedule("t", TargetConfig(okta_app_id="x", event_queue=%r))
except ValueError as exc:
    print(json.dumps({"error": str(exc)}))
""" % AWS_QUEUE
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("include", "plugins"))}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = [json.loads(line) for line in done.stdout.strip().splitlines()[-2:]]
    assert first == {"missing": ["apache-airflow-providers-common-messaging", "aiobotocore"], "cron": "*/5 * * * *"}
    assert "requirements-events.txt" in second["error"]
    assert "apache-airflow-providers-common-messaging" in second["error"]


def test_with_the_packages_nothing_is_missing():
    assert event_entry.missing_packages() == []
