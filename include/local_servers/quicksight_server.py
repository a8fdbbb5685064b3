"""A local Amazon QuickSight (and STS GetCallerIdentity) on 127.0.0.1.

Speaks QuickSight's REST-JSON protocol, so the product's real boto3 clients,
built by the Amazon provider's QuickSightHook from an Airflow connection
whose ``endpoint_url`` points here, talk to it unchanged. The region of each
call is read from the SigV4 credential scope, as AWS routes by endpoint.
Any AWS credentials are accepted; none are logged or echoed.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from urllib.parse import parse_qs, urlsplit

from local_servers.common import CallCounter, FaultPlan, LocalServer, QuietHandler
from local_servers.qs_protocol import (
    ApiError,
    encode_body,
    error_body,
    error_status,
    match,
    new_request_id,
    parse_input,
    signing_scope,
    success_status,
)
from local_servers.qs_state import QuickSightState


class RateLimit:
    """At most ``per_window`` requests in any ``window_s`` seconds; refused ones do not count."""

    def __init__(self, per_window: int | None, window_s: float = 1.0) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self._lock = threading.Lock()
        self._times: deque[float] = deque()

    def allow(self) -> bool:
        if not self.per_window:
            return True
        with self._lock:
            now = time.monotonic()
            while self._times and now - self._times[0] >= self.window_s:
                self._times.popleft()
            if len(self._times) >= self.per_window:
                return False
            self._times.append(now)
            return True


class _Handler(QuietHandler):
    # Headers and body go out in two writes; without this, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every call.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.app.respond(self.command, self.path, dict(self.headers), body)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class QuickSightServer:
    """The local QuickSight, seeded from a scenario's ``quicksight`` section.

    ``limits={"quicksight_per_second": N}`` refuses calls above N per
    ``rate_window_s`` (1 s, as AWS counts; tests may shorten it) with
    ThrottlingException. ``faults`` are the scenario's QuickSight faults,
    matched on ``operation``.
    """

    def __init__(
        self,
        quicksight_section: dict,
        faults: list | None = None,
        limits: dict | None = None,
        *,
        port: int = 0,
        rate_window_s: float = 1.0,
    ) -> None:
        self.state = QuickSightState(quicksight_section)
        self.counter = CallCounter()
        self.faults = FaultPlan(faults, "quicksight")
        self.rate = RateLimit((limits or {}).get("quicksight_per_second"), rate_window_s)
        self.throttled = CallCounter()  # calls refused by the rate limit, by operation
        self._server = LocalServer(_Handler, self, port=port)
        self.url: str | None = None

    # ---- lifecycle ------------------------------------------------------------

    def start(self) -> str:
        self.url = self._server.start()
        return self.url

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> QuickSightServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def airflow_connection(self, region: str | None = None) -> str:
        """JSON for ``AIRFLOW_CONN_<ID>``: an Airflow AWS connection pointing boto3 (QuickSight and STS) here.

        The keys are dummies: the server accepts any credentials.
        """
        if self.url is None:
            raise RuntimeError("start() the server before asking for its connection")
        return json.dumps(
            {
                "conn_type": "aws",
                "login": "AKIDLOCALQUICKSIGHT",
                "password": "local-quicksight-secret",
                "extra": {"endpoint_url": self.url, "region_name": region or self.state.identity_region},
            }
        )

    def dump(self) -> dict:
        return self.state.dump()

    def load(self, section: dict) -> None:
        self.state.load(section)

    # ---- one request ----------------------------------------------------------

    def respond(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        request_id = new_request_id()
        lower = {k.lower(): v for k, v in headers.items()}
        scope = signing_scope(lower.get("authorization"))
        split = urlsplit(raw_path)
        if scope is None:
            return self._error(
                ApiError("MissingAuthenticationTokenException", "Missing Authentication Token"), request_id, 403
            )
        region, service = scope
        if service == "sts":
            return self._sts(method, body, request_id)
        found = match(method, split.path)
        if found is None:
            return self._error(
                ApiError("UnknownOperationException", f"No QuickSight operation for {method} {split.path}."),
                request_id,
                404,
            )
        operation, labels = found
        self.counter.add(operation)
        if not self.rate.allow():
            self.throttled.add(operation)
            return self._error(ApiError("ThrottlingException", "Rate exceeded"), request_id)
        fault = self.faults.take(operation=operation, method=method)
        if fault is not None:
            if fault.get("delay_s"):
                time.sleep(float(fault["delay_s"]))
            if fault.get("error") or fault.get("status"):
                code = fault.get("error") or ("InternalFailureException" if int(fault["status"]) >= 500 else
                                              "InvalidParameterValueException")
                status = int(fault.get("status") or error_status(code))
                message = fault.get("message") or f"Injected {code} for {operation}."
                return self._error(ApiError(code, message), request_id, status)
        try:
            params = parse_input(operation, labels, split.query, body)
            doc = self.state.handle(operation, params, region)
        except ApiError as err:
            return self._error(err, request_id)
        status = success_status(operation)
        doc = {**doc, "RequestId": request_id, "Status": status}
        return status, {"Content-Type": "application/json", "x-amzn-RequestId": request_id}, encode_body(doc)

    def _error(self, err: ApiError, request_id: str, status: int | None = None) -> tuple[int, dict, bytes]:
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": err.code,
        }
        return status or error_status(err.code), headers, error_body(err, request_id)

    def _sts(self, method: str, body: bytes, request_id: str) -> tuple[int, dict, bytes]:
        form = parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("Action") or [""])[0]
        self.counter.add(f"sts:{action or 'unknown'}")
        if method != "POST" or action != "GetCallerIdentity":
            xml = (
                '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                f"<Code>InvalidAction</Code><Message>The local server answers only GetCallerIdentity, not {action!r}."
                f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
            return 400, {"Content-Type": "text/xml"}, xml.encode()
        account = self.state.account_id
        xml = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<GetCallerIdentityResult>"
            f"<Arn>arn:aws:sts::{account}:assumed-role/okta-quicksight-sync/local</Arn>"
            "<UserId>AROALOCALSYNCROLE0001:local</UserId>"
            f"<Account>{account}</Account>"
            "</GetCallerIdentityResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        )
        return 200, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode()
