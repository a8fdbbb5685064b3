"""QuickSight clients from a real Airflow AWS connection (AIRFLOW_CONN_AWS_DEFAULT as JSON)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from local_servers.quicksight_server import QuickSightServer
from okta_quicksight_airflow.quicksight_clients import (
    CallRateLimiter,
    account_id_from,
    quicksight_client_factory,
)

ACCOUNT = "111122223333"
NS = {"AwsAccountId": ACCOUNT, "Namespace": "default"}


@pytest.fixture
def server(monkeypatch):
    srv = QuickSightServer({"account_id": ACCOUNT, "identity_region": "us-east-1", "namespace": "default"})
    srv.start()
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", srv.airflow_connection("us-east-1"))
    yield srv
    srv.stop()


def test_one_cached_client_per_region_with_deliberate_retries(server):
    factory = quicksight_client_factory("aws_default")
    east, west = factory("us-east-1"), factory("eu-west-1")
    assert factory("us-east-1") is east and west is not east
    assert east.meta.region_name == "us-east-1" and west.meta.region_name == "eu-west-1"
    assert east.meta.endpoint_url == server.url
    assert east.meta.config.retries == {"mode": "standard", "total_max_attempts": 8}
    assert east.list_users(**NS)["UserList"] == []


def test_connection_config_kwargs_are_kept_under_our_retry_settings(server, monkeypatch):
    conn = json.loads(server.airflow_connection())
    conn["extra"]["config_kwargs"] = {"user_agent_extra": "okta-sync-test", "retries": {"max_attempts": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    client = quicksight_client_factory("aws_default", retry_mode="adaptive", max_attempts=5)("us-east-1")
    assert "okta-sync-test" in client.meta.config.user_agent_extra
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 5}


def test_retry_settings_that_cannot_absorb_three_throttles_are_refused():
    with pytest.raises(ValueError, match="at least 4"):
        quicksight_client_factory("aws_default", max_attempts=3)
    with pytest.raises(ValueError, match="retry_mode"):
        quicksight_client_factory("aws_default", retry_mode="legacy")
    with pytest.raises(ValueError, match="positive"):
        CallRateLimiter(0)


def test_the_rate_limit_paces_every_client_of_a_factory_together(server):
    factory = quicksight_client_factory("aws_default", calls_per_second=40)
    clients = [factory("us-east-1"), factory("eu-west-1")]
    for c in clients:  # build both before timing
        c.list_dashboards(AwsAccountId=ACCOUNT)
    start = time.monotonic()
    threads = [
        threading.Thread(target=lambda c=c: [c.list_dashboards(AwsAccountId=ACCOUNT) for _ in range(10)])
        for c in clients
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    # 20 calls at 40/s, shared: about half a second; two separate limiters would take half that.
    assert elapsed >= 19 / 40 - 0.02
    assert factory.rate_limiter.waited_s > 0


def test_client_side_pacing_keeps_the_server_from_throttling(server):
    server.rate.per_window, server.rate.window_s = 5, 0.25  # 20 calls per second allowed
    unpaced = quicksight_client_factory("aws_default", calls_per_second=None)("us-east-1")
    for i in range(8):
        unpaced.create_group(**NS, GroupName=f"fast-{i}")
    assert server.throttled.total() > 0  # the server does refuse a burst (and retries absorb it)
    server.throttled.reset()
    time.sleep(0.3)
    paced = quicksight_client_factory("aws_default", calls_per_second=15)("us-east-1")
    for i in range(8):
        paced.create_group(**NS, GroupName=f"paced-{i}")
    assert server.throttled.total() == 0
    assert len(server.dump()["groups"]) == 16


def test_account_id_from_config_or_sts(server):
    assert account_id_from("444455556666", "aws_default") == "444455556666"
    assert server.counter.total() == 0  # a configured id needs no call
    assert account_id_from(None, "aws_default", "us-east-1") == ACCOUNT
    assert server.counter.snapshot() == {"sts:GetCallerIdentity": 1}


def test_account_id_failure_names_the_connection_and_the_fix(server, monkeypatch):
    conn = json.loads(server.airflow_connection())
    conn["extra"]["endpoint_url"] = "http://127.0.0.1:9"  # nothing listens there
    conn["extra"]["config_kwargs"] = {"retries": {"total_max_attempts": 1}, "connect_timeout": 1}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    with pytest.raises(RuntimeError) as caught:
        account_id_from(None, "aws_default", "us-east-1")
    message = str(caught.value)
    assert "'aws_default'" in message and "Set aws_account_id" in message
    assert conn["password"] not in message and conn["login"] not in message
