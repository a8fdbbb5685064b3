"""boto3 QuickSight clients from an Airflow AWS connection, one per region.

The clients come from the Amazon provider's ``QuickSightHook`` so that the
connection (keys, role assumption, ``endpoint_url``, region) is honoured as
everywhere else in Airflow. Two things are set deliberately here:

* botocore's ``standard`` retry mode with 8 attempts: throttling and 5xx
  answers are retried with exponential back-off and jitter (1 s, 2 s, 4 s...
  scale for throttling), so at least three failures in a row of one call are
  absorbed (docs/sync-rules.md section 6). ``adaptive`` would add a per-client
  rate limiter that only starts after throttling; the shared limiter below
  paces before throttling happens and adapts when it does.
* a client-side call rate shared by every client of one factory, applied
  to each HTTP attempt (retries included), so bulk membership work does not
  storm the API: a margin under the configured rate, lowered when QuickSight
  throttles anyway (see ``CallRateLimiter``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from botocore.config import Config

from airflow.providers.amazon.aws.hooks.quicksight import QuickSightHook

DEFAULT_CALLS_PER_SECOND = 10.0
DEFAULT_MAX_ATTEMPTS = 8
# Pace this far under the rate: a server counting calls per second refuses the call that arrives a hair
# early, and at exactly the rate the jitter between our clock and its makes that frequent. The margin
# leaves that much of a second of slack in every second's calls (30 ms at 3%).
PACING_MARGIN = 0.02
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})


class CallRateLimiter:
    """Paces HTTP attempts under ``calls_per_second``, across threads and clients, and slows down when throttled.

    The pace starts ``margin`` under the configured rate, and each attempt is
    spaced from when the one before really went, not when it was due. A
    throttle lowers the pace, as botocore's adaptive mode does (multiplicative
    decrease, slow increase):

    * to the calls QuickSight took in the second before the refused one, less
      the margin, when that is more than one call under our pace (at most
      halving it at once): the configured rate is too high, or other clients
      share the account's limit;
    * otherwise by the margin again: a refusal at about our pace is jitter at
      the server's window edge or a limit just under the pace.

    One cut a second at most: refusals right after a cut answer calls paced
    before it. The pace then climbs back by ``RECOVERY_PER_S`` of itself each
    second, up to the configured rate less the margin. A wrong configured rate
    so costs a throttle or two; a right one, with the margin, rarely throttles.
    ``calls_per_second=None`` paces nothing and adapts nothing.
    """

    WINDOW_S = 1.0  # QuickSight, like AWS generally, counts calls per second
    RECOVERY_PER_S = 0.001  # 1% of the lowered pace regained per 10 s
    MIN_SHARE = 0.05  # never below this share of the configured rate
    MIN_EVIDENCE = 2  # calls taken in the window before a refusal for it to measure the server's rate

    def __init__(self, calls_per_second: float | None, margin: float = PACING_MARGIN) -> None:
        if calls_per_second is not None and calls_per_second <= 0:
            raise ValueError(f"calls_per_second must be positive or None (unlimited), not {calls_per_second}")
        if not 0 <= margin < 0.5:
            raise ValueError(f"margin must be at least 0 and under 0.5 (a share of the rate), not {margin}")
        self.calls_per_second = calls_per_second
        self.margin = margin
        self._ceiling = calls_per_second * (1 - margin) if calls_per_second else None
        self._base = self._ceiling  # the pace right after the last cut
        self._cut_at: float | None = None
        self._accepted: deque[float] = deque()  # send times of attempts QuickSight took, the last 2 windows
        self._lock = threading.Lock()
        self._local = threading.local()  # the send time of this thread's attempt in flight
        self._next = 0.0
        self.waited_s = 0.0  # total time callers were held back, for reports and tests
        self.throttles = 0  # attempts QuickSight refused as throttled
        self.lowest_rate = self._ceiling  # the lowest pace reached, for reports and tests

    def rate(self, now: float | None = None) -> float | None:
        """The pace now, in calls per second (None: unpaced)."""
        if self._ceiling is None:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            return self._rate(now)

    def _rate(self, now: float) -> float:
        if self._cut_at is None:
            return self._ceiling
        return min(self._ceiling, self._base * (1 + self.RECOVERY_PER_S * max(0.0, now - self._cut_at)))

    def acquire(self) -> float:
        """Wait for this attempt's turn; returns its send time."""
        if not self._ceiling:
            return time.monotonic()
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            interval = 1.0 / self._rate(start)
            self._next = start + interval
            self.waited_s += start - now
        if start > now:
            time.sleep(start - now)
        sent = time.monotonic()
        if sent - start > 0.001:
            # Woken late (another thread held the interpreter): space the next call from when this one
            # really goes, or the two would reach the server closer than the pace.
            with self._lock:
                self._next = max(self._next, sent + interval)
        return sent

    def record(self, throttled: bool, sent_at: float, now: float | None = None) -> None:
        """Note QuickSight's answer to the attempt sent at ``sent_at``; a throttle lowers the pace."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._accepted and self._accepted[0] <= now - 2 * self.WINDOW_S:
                self._accepted.popleft()
            if not throttled:
                self._accepted.append(sent_at)
                return
            self.throttles += 1
            if self._ceiling is None:
                return
            if self._cut_at is not None and now - self._cut_at < self.WINDOW_S:
                return  # refusals right after a cut answer calls paced before it
            current = self._rate(now)
            taken = sum(1 for t in self._accepted if sent_at - self.WINDOW_S < t < sent_at)
            if taken >= self.MIN_EVIDENCE and taken + 1 < current * self.WINDOW_S:
                # The server allows us less than our pace: go under what it took (at most halving at once).
                pace = max(current / 2, taken / self.WINDOW_S * (1 - self.margin))
            else:  # refused at about our pace (jitter at the window's edge), or too few calls to measure
                pace = current * (1 - self.margin)
            self._base = max(pace, self.calls_per_second * self.MIN_SHARE)
            self._cut_at = now
            self.lowest_rate = min(self.lowest_rate, self._base)

    def attach(self, client) -> None:
        """Hold every HTTP attempt of ``client`` (retries included) to the pace, and let its answers set it."""

        def before_send(**_) -> None:  # must return None, or botocore treats it as the response
            self._local.sent_at = self.acquire()

        def needs_retry(response=None, **_) -> None:  # every attempt's answer; None leaves retrying to botocore
            sent_at = getattr(self._local, "sent_at", None)
            if response is None or sent_at is None:  # no answer (a connection error): says nothing of the rate
                return
            self._local.sent_at = None
            http, parsed = response
            code = (parsed or {}).get("Error", {}).get("Code")
            self.record(http.status_code == 429 or code in THROTTLING_CODES, sent_at)

        # botocore keeps one handler per unique_id across all events, so each needs its own.
        client.meta.events.register("before-send.quicksight", before_send, unique_id=f"qs-rate-send-{id(self)}")
        client.meta.events.register("needs-retry.quicksight", needs_retry, unique_id=f"qs-rate-answer-{id(self)}")


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
