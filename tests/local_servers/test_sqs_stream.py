"""The local SQS (moto's server) and the local Okta Log Streaming -> EventBridge -> SQS stand-in,
over HTTP: changes in the local Okta arrive on the queue as EventBridge events, one per log event."""

from __future__ import annotations

import copy
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from local_servers.okta_log_stream import DETAIL_TYPE, SOURCE_PREFIX, OktaLogStream
from local_servers.okta_org import numbered_org
from local_servers.okta_server import OktaServer
from local_servers.sqs_server import SqsServer

TOKEN = "local-test-token"


@pytest.fixture
def sqs():
    with SqsServer() as server:
        yield server


@pytest.fixture
def okta():
    server = OktaServer(numbered_org(n_users=6, n_groups=2), limits={}, app_id="0oaqs1")
    server.start()
    yield server
    server.stop()


def drain(client, queue_url: str, expected: int, timeout_s: float = 20.0, *, raw: bool = False) -> list:
    bodies: list = []
    deadline = time.monotonic() + timeout_s
    while len(bodies) < expected and time.monotonic() < deadline:
        answer = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            bodies.append(message["Body"] if raw else json.loads(message["Body"]))
            client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_queue_round_trip_and_actions_counted(sqs):
    url = sqs.create_queue("okta-events")
    assert url.startswith(sqs.url) and url.endswith("/123456789012/okta-events")
    client = sqs.client()
    client.send_message(QueueUrl=url, MessageBody="hello")
    assert sqs.depth(url) == 1
    assert drain(client, url, 1, raw=True) == ["hello"]
    sqs.calls.reset()
    client.send_message(QueueUrl=url, MessageBody="again")
    got = client.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["again"]
    assert sqs.calls.snapshot() == {"SendMessage": 1, "ReceiveMessage": 1}


def test_leaver_lands_on_the_queue_as_eventbridge_events(okta, sqs):
    url = sqs.create_queue("okta-events")
    stream = OktaLogStream(okta.url, TOKEN, sqs.client(), url, since=datetime.now(timezone.utc) - timedelta(seconds=5),
                           interval_s=0.2, event_types={"application.user_membership.remove"})
    with stream:
        section = numbered_org(n_users=6, n_groups=2)
        section["app_users"] = [a for a in section["app_users"] if a["id"] != "00u00003"]
        okta.load(section)
        bodies = drain(sqs.client(), url, 1)
        time.sleep(1)  # nothing else arrives: the other logged events are not in event_types
        bodies += drain(sqs.client(), url, 1, timeout_s=1.5)
    assert len(bodies) == 1, bodies
    event = bodies[0]
    assert event["detail-type"] == DETAIL_TYPE
    assert event["source"].startswith(SOURCE_PREFIX)
    assert event["detail"]["eventType"] == "application.user_membership.remove"
    assert "00u00003" in [t["id"] for t in event["detail"]["target"]]
    assert stream.errors == 0 and stream.sent == 1


def test_a_burst_is_sent_in_batches_every_event_once(sqs):
    url = sqs.create_queue("burst")
    before = numbered_org(n_users=60, n_groups=1)
    # The local Okta publishes a reload's events between the previous load and the reload: the stream
    # reads from before the first load, as Okta's stream delivers everything logged after it was set up.
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    with OktaServer(before, limits={}, app_id="0oaqs1") as okta:
        stream = OktaLogStream(okta.url, TOKEN, sqs.client(), url, since=started, interval_s=0.2,
                               event_types={"application.user_membership.remove"})
        with stream:
            after = copy.deepcopy(before)
            after["app_users"] = after["app_users"][:10]  # 50 leave the app
            sqs.calls.reset()
            okta.load(after)
            bodies = drain(sqs.client(), url, 50)
            bodies += drain(sqs.client(), url, 1, timeout_s=1.5)  # and no more
    ids = [b["detail"]["uuid"] for b in bodies]
    assert len(ids) == 50 and len(set(ids)) == 50
    removed = {t["id"] for b in bodies for t in b["detail"]["target"] if t["type"] == "User"}
    assert removed == {f"00u{i:05d}" for i in range(10, 60)}
    assert stream.sent == 50
    # Ten to a SendMessageBatch (five batches, or one more where a log page ended mid-burst).
    assert 5 <= sqs.calls.snapshot().get("SendMessageBatch", 0) <= 7, sqs.calls.snapshot()


def test_a_failing_log_read_is_counted_and_retried(sqs):
    url = sqs.create_queue("nowhere")
    stream = OktaLogStream("http://127.0.0.1:9", TOKEN, sqs.client(), url, interval_s=0.1)
    with stream:
        time.sleep(0.5)
    assert stream.errors >= 2 and stream.sent == 0
