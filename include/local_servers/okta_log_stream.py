"""A local stand-in for Okta Log Streaming -> Amazon EventBridge -> SQS.

Real Okta pushes each System Log event to an EventBridge partner event source; a rule (docs/iam/
eventbridge-rule.json) forwards the matching ones to an SQS queue, each as one message whose
body is EventBridge's envelope around the LogEvent. Here a thread polls an Okta org's
``GET /api/v1/logs`` over HTTP (following the next link Okta always returns, as Okta advises for
polling), keeps the events whose type the rule lists, and sends each as such a message, ten to a
``SendMessageBatch`` as EventBridge's SQS target may. Timing differs from Okta's (a poll every
``interval_s`` instead of a push within seconds); what lands on the queue has the same shape.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Collection
from datetime import datetime, timezone

import requests

# Okta's partner event source: aws.partner/okta.com/<org>/<event source name>; its events' detail-type.
SOURCE_PREFIX = "aws.partner/okta.com/"
DETAIL_TYPE = "SystemLog"
SQS_BATCH = 10  # SendMessageBatch's maximum


def envelope(event: dict, *, source: str, account: str, region: str) -> dict:
    """EventBridge's event around one Okta LogEvent (``detail``), as the rule's SQS target receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": source,
        "account": account,
        "time": event.get("published") or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": event,
    }


class OktaLogStream:
    """Polls ``okta_url``'s System Log from ``since`` and puts each matching event on ``queue_url``.

    ``sqs`` is a boto3 SQS client; ``event_types`` the rule's list (None: every event). ``sent``
    counts messages sent, ``errors`` the polls or sends that failed (the stream retries)."""

    def __init__(self, okta_url: str, token: str, sqs, queue_url: str, *, event_types: Collection[str] | None = None,
                 since: datetime | None = None, interval_s: float = 2.0, org: str = "local-okta",
                 source_name: str = "okta_log_stream", account: str = "123456789012", region: str = "us-east-1") -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.event_types = frozenset(event_types) if event_types is not None else None
        self.interval_s = interval_s
        self.source = f"{SOURCE_PREFIX}{org}/{source_name}"
        self.account, self.region = account, region
        started = (since or datetime.now(timezone.utc)).astimezone(timezone.utc)
        self._link = f"{okta_url.rstrip('/')}/api/v1/logs?limit=1000&since={started.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z"
        self._session = requests.Session()
        self._session.headers.update({"Authorization": f"SSWS {token}", "Accept": "application/json"})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent = 0
        self.errors = 0

    def start(self) -> OktaLogStream:
        self._thread = threading.Thread(target=self._run, name="okta-log-stream", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __enter__(self) -> OktaLogStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                more = self.poll_once()
            except (requests.RequestException, ValueError, RuntimeError):
                with self._lock:
                    self.errors += 1
                more = False
            if not more:
                self._stop.wait(self.interval_s)

    def poll_once(self) -> bool:
        """One log page: send its events, move to its next link. True when the page was full (read on)."""
        response = self._session.get(self._link, timeout=30)
        if response.status_code == 429:
            reset = float(response.headers.get("x-rate-limit-reset", time.time() + 5))
            self._stop.wait(max(0.0, min(60.0, reset - time.time())))
            return False
        response.raise_for_status()
        events = response.json()
        kept = [e for e in events if self.event_types is None or e.get("eventType") in self.event_types]
        self.send(kept)
        following = response.links.get("next", {}).get("url")
        if following:
            self._link = following
        return bool(events) and len(events) >= 1000

    def send(self, events: list[dict]) -> None:
        """The events as EventBridge's SQS target delivers them: one message per event."""
        for start in range(0, len(events), SQS_BATCH):
            batch = events[start:start + SQS_BATCH]
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(envelope(e, source=self.source, account=self.account, region=self.region))}
                for i, e in enumerate(batch)
            ]
            answer = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"SendMessageBatch failed for {len(answer['Failed'])} of {len(entries)} messages")
            with self._lock:
                self.sent += len(entries)
