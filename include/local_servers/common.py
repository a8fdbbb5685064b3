"""What both local servers share: a threaded HTTP server on loopback, request
counters for benchmarks, and the scenario's injected faults."""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Where the servers listen. Loopback only, unless `python -m local_servers --host`
# says otherwise (the docker-compose `local` profile serves other containers).
BIND_HOST = "127.0.0.1"

# Keys of a fault that say what to do; every other key must match the call.
# `error_code`: the Okta errorCode of a `status` fault (e.g. 403 with "E0000005").
FAULT_ACTION_KEYS = frozenset({"service", "status", "error", "error_code", "message", "times", "kind", "delay_s", "body"})
# Keys a fault may match a call on.
FAULT_MATCH_KEYS = frozenset({"path", "method", "endpoint", "operation"})


def read_scenario(path) -> dict | None:
    """A scenario file's JSON, or None after telling stderr why it cannot be read (the CLIs exit 2)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"cannot read scenario {path}: {exc}", file=sys.stderr)
        return None


class CallCounter:
    """Thread-safe count of requests served, keyed by endpoint or operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class FaultPlan:
    """The scenario's faults for one service, consumed as matching calls arrive.

    A fault matches a call when every one of its non-action keys equals the
    call's attribute of that name (``path`` for Okta, ``operation`` for
    QuickSight, optionally ``method``). The first ``times`` matching calls
    get it; ``times: -1`` means every call.
    """

    def __init__(self, faults: list[dict] | None, service: str) -> None:
        self._lock = threading.Lock()
        self._faults = [_checked(f) for f in (faults or []) if f.get("service", service) == service]
        self.injected: Counter[str] = Counter()

    def add(self, fault: dict) -> None:
        with self._lock:
            self._faults.append(_checked(fault))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, **call: str) -> dict | None:
        """Return the fault to inject into this call, or None."""
        with self._lock:
            for fault in self._faults:
                times = fault.get("times", 1)
                if times == 0:
                    continue
                wanted = {k: v for k, v in fault.items() if k not in FAULT_ACTION_KEYS}
                if all(call.get(k) == v for k, v in wanted.items()):
                    if times > 0:
                        fault["times"] = times - 1
                    self.injected[fault.get("kind") or str(fault.get("status") or fault.get("error"))] += 1
                    return fault
        return None


def _checked(fault: dict) -> dict:
    """A copy of the fault; an unknown key is an error, not a fault that silently never fires."""
    unknown = sorted(set(fault) - FAULT_ACTION_KEYS - FAULT_MATCH_KEYS)
    if unknown:
        raise ValueError(
            f"fault {fault}: unknown key(s) {unknown}; a fault matches on {sorted(FAULT_MATCH_KEYS)} "
            f"and says what to do with {sorted(FAULT_ACTION_KEYS)}"
        )
    return dict(fault)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that speaks HTTP/1.1 and keeps stderr clean."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this each response waits ~40 ms on Nagle.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (a killed task, a timed-out request) is no server error worth a traceback."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class LocalServer:
    """Serve ``handler_cls`` on 127.0.0.1 in a daemon thread.

    The handler reaches the owning object as ``self.server.app``.
    """

    def __init__(self, handler_cls: type[BaseHTTPRequestHandler], app: object, port: int = 0, host: str | None = None) -> None:
        self._httpd = _Httpd((host or BIND_HOST, port), handler_cls)
        self._httpd.app = app  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="local-server", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
