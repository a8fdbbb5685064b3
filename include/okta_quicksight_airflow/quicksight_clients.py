"""boto3 QuickSight clients from an Airflow AWS connection, one per region.

The clients come from the Amazon provider's ``QuickSightHook`` so that the
connection (keys, role assumption, ``endpoint_url``, region) is honoured as
everywhere else in Airflow. Two things are set deliberately here:

* botocore's ``standard`` retry mode with 8 attempts: throttling and 5xx
  answers are retried with exponential back-off and jitter (1 s, 2 s, 4 s...
  scale for throttling), so at least three failures in a row of one call are
  absorbed (SYNC_CONTRACT.md section 6). ``adaptive`` would add a per-client
  rate limiter that only starts after throttling; the shared limiter below
  does that job for all regions' clients before throttling happens.
* a client-side call rate shared by every client of one factory, applied
  to each HTTP attempt (retries included), so bulk membership work does not
  storm the API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from botocore.config import Config

from airflow.providers.amazon.aws.hooks.quicksight import QuickSightHook

DEFAULT_CALLS_PER_SECOND = 10.0
DEFAULT_MAX_ATTEMPTS = 8


class CallRateLimiter:
    """Spaces requests at most ``calls_per_second`` apart, across threads and clients."""

    def __init__(self, calls_per_second: float | None) -> None:
        if calls_per_second is not None and calls_per_second <= 0:
            raise ValueError(f"calls_per_second must be positive or None (unlimited), not {calls_per_second}")
        self.calls_per_second = calls_per_second
        self._lock = threading.Lock()
        self._next = 0.0
        self.waited_s = 0.0  # total time callers were held back, for reports and tests

    def acquire(self) -> None:
        if not self.calls_per_second:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + 1.0 / self.calls_per_second
            self.waited_s += start - now
        if start > now:
            time.sleep(start - now)

    def attach(self, client) -> None:
        """Hold every HTTP attempt of ``client`` (retries included) to the rate."""

        def before_send(**_) -> None:  # must return None, or botocore treats it as the response
            self.acquire()

        client.meta.events.register("before-send.quicksight", before_send, unique_id=f"qs-rate-{id(self)}")


def quicksight_client_factory(
    aws_conn_id: str | None = "aws_default",
    *,
    calls_per_second: float | None = DEFAULT_CALLS_PER_SECOND,
    retry_mode: str = "standard",
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    connect_timeout: float = 10,
    read_timeout: float = 60,
    rate_limiter: CallRateLimiter | None = None,
) -> Callable[[str], object]:
    """Return ``client_for_region(region)``: a cached QuickSight client per region from the connection.

    Settings in the connection's ``config_kwargs`` extra are kept; the retry
    and timeout settings above take precedence over them.
    """
    if retry_mode not in ("standard", "adaptive"):
        raise ValueError(f"retry_mode must be 'standard' or 'adaptive', not {retry_mode!r}")
    if max_attempts < 4:
        raise ValueError(f"max_attempts must be at least 4 so three throttles in a row are absorbed, not {max_attempts}")
    limiter = rate_limiter or CallRateLimiter(calls_per_second)
    ours = Config(
        retries={"mode": retry_mode, "total_max_attempts": max_attempts},  # attempts, first one included
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    clients: dict[str, object] = {}
    lock = threading.Lock()

    def client_for_region(region: str) -> object:
        with lock:
            client = clients.get(region)
            if client is None:
                from_connection = QuickSightHook(aws_conn_id=aws_conn_id, region_name=region).conn_config.botocore_config
                config = from_connection.merge(ours) if from_connection else ours
                client = QuickSightHook(aws_conn_id=aws_conn_id, region_name=region, config=config).conn
                limiter.attach(client)
                clients[region] = client
            return client

    client_for_region.rate_limiter = limiter  # type: ignore[attr-defined]
    return client_for_region


def account_id_from(
    configured: str | None,
    aws_conn_id: str | None = "aws_default",
    region_name: str | None = None,
) -> str:
    """The target's ``aws_account_id`` if set, else the connection's account from STS GetCallerIdentity."""
    if configured:
        return str(configured)
    try:
        return QuickSightHook(aws_conn_id=aws_conn_id, region_name=region_name).account_id
    except Exception as exc:  # noqa: BLE001 - any failure here has the same fix
        raise RuntimeError(
            f"Could not read the AWS account id through Airflow connection {aws_conn_id!r} "
            f"(STS GetCallerIdentity failed: {type(exc).__name__}: {exc}). Set aws_account_id in the target's "
            "config, or fix the connection's credentials and endpoint."
        ) from None
