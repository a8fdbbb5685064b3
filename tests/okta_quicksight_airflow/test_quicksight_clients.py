"""QuickSight clients from a real Airflow AWS connection (AIRFLOW_CONN_AWS_DEFAULT as JSON)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from local_servers.quicksight_server import QuickSightServer
from okta_quicksight_airflow.quicksight_clients import (
    PACING_MARGIN,
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


def _timed_reads(client, n: int) -> float:
    started = time.monotonic()
    for _ in range(n):
        client.list_groups(**NS)
    return time.monotonic() - started


def _limited(server, factory) -> object:
    """A client of ``factory`` against ``server`` refusing more than 20 calls in any second, from an empty window."""
    server.rate.per_window, server.rate.window_s = 20, 1.0  # as the bench's server counts
    client = factory("us-east-1")
    client.list_groups(**NS)
    time.sleep(1.1)
    server.throttled.reset()
    return client


def test_paced_at_the_servers_rate_a_read_is_rarely_throttled_and_keeps_its_pace(server):
    # Pacing at exactly the rate was refused 4 times in 100 calls here, and took 1.3 to 1.7 × the floor.
    factory = quicksight_client_factory("aws_default", calls_per_second=20)
    client = _limited(server, factory)
    n = 100
    elapsed = _timed_reads(client, n)
    throttled = server.throttled.total()
    assert throttled <= 2, server.throttled.snapshot()
    assert factory.rate_limiter.throttles == throttled  # the client sees every refusal
    assert elapsed >= (n - 1) / 20  # never faster than the rate
    # Not slower than it need be: each refusal cuts the pace by the margin at most (wall time against the
    # floor is measured by `make bench --rate-limited-only`, not asserted here: it depends on the machine).
    assert factory.rate_limiter.rate() >= 20 * (1 - PACING_MARGIN) ** (throttled + 1) - 1e-9


def test_a_configured_rate_far_above_the_servers_converges_after_few_throttles(server):
    factory = quicksight_client_factory("aws_default", calls_per_second=60)
    client = _limited(server, factory)
    limiter = factory.rate_limiter
    _timed_reads(client, 60)  # three seconds' worth at the server's rate: refused, then learned
    converging = server.throttled.total()
    assert 1 <= converging <= 6, server.throttled.snapshot()
    assert limiter.throttles == converging  # the client sees every refusal
    assert limiter.rate() <= 20  # learned from what the server took
    server.throttled.reset()
    n = 60
    elapsed = _timed_reads(client, n)
    throttled = server.throttled.total()
    assert throttled <= 1, server.throttled.snapshot()
    assert elapsed >= (n - 1) / 20 * (1 - PACING_MARGIN)  # paced, never a burst
    assert limiter.rate() <= 20.1  # recovery is slow: still about the server's rate


def test_three_throttles_in_a_row_are_absorbed_and_slow_the_pace_by_the_margin_only(server):
    factory = quicksight_client_factory("aws_default", calls_per_second=10)
    client = factory("us-east-1")
    server.faults.add({"operation": "ListGroups", "error": "ThrottlingException", "times": 3})
    assert client.list_groups(**NS)["GroupList"] == []
    assert server.throttled.total() == 0 and server.faults.injected["ThrottlingException"] == 3
    limiter = factory.rate_limiter
    assert limiter.throttles == 3
    # Nothing was taken before them, so they measure no rate: a cut by the margin a second at most.
    assert 10 * (1 - PACING_MARGIN) ** 4 <= limiter.lowest_rate <= 10 * (1 - PACING_MARGIN) ** 2 + 1e-9


def test_a_throttle_at_about_the_pace_cuts_it_by_the_margin_once_a_second_then_it_recovers_slowly():
    keep = 1 - PACING_MARGIN
    limiter = CallRateLimiter(10)
    assert limiter.rate(0.0) == pytest.approx(10 * keep)
    for i in range(10):
        limiter.record(False, sent_at=i / 10, now=i / 10 + 0.01)
    limiter.record(True, sent_at=1.0, now=1.01)  # ten taken in the second before: refused at about our pace
    assert limiter.rate(1.01) == pytest.approx(10 * keep * keep)
    limiter.record(True, sent_at=1.5, now=1.51)  # within the second after a cut: no second cut
    assert limiter.rate(1.51) == pytest.approx(10 * keep * keep * (1 + 0.5 * CallRateLimiter.RECOVERY_PER_S))
    assert limiter.rate(11.01) == pytest.approx(10 * keep * keep * 1.01)  # 1% regained in 10 s
    assert limiter.rate(1000.0) == pytest.approx(10 * keep)  # never above the configured rate less the margin
    assert limiter.throttles == 2


def test_a_throttle_well_under_the_pace_sets_it_under_what_the_server_took():
    keep = 1 - PACING_MARGIN
    limiter = CallRateLimiter(30)
    for i in range(10):
        limiter.record(False, sent_at=i / 40, now=i / 40 + 0.01)
    limiter.record(True, sent_at=0.25, now=0.26)  # ten taken in the second before, at a pace of about 30
    assert limiter.rate(0.26) == pytest.approx(30 * keep / 2)  # at most halved at once
    for i in range(10):
        limiter.record(False, sent_at=0.5 + i / 20, now=0.5 + i / 20 + 0.01)
    limiter.record(True, sent_at=1.4, now=1.41)  # ten taken again, at a pace of about 15
    assert limiter.rate(1.41) == pytest.approx(10 * keep)
    assert limiter.lowest_rate == pytest.approx(10 * keep)


def test_the_pace_never_falls_under_its_floor_and_no_limit_means_no_pacing():
    limiter = CallRateLimiter(10)
    for k in range(40):  # refused again and again with nothing taken
        limiter.record(True, sent_at=2.0 * k, now=2.0 * k)
    assert limiter.rate(80.0) >= 10 * CallRateLimiter.MIN_SHARE
    unlimited = CallRateLimiter(None)
    unlimited.record(True, sent_at=0.0, now=0.0)
    assert unlimited.rate() is None and unlimited.throttles == 1
    with pytest.raises(ValueError, match="margin"):
        CallRateLimiter(10, margin=0.5)


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
