"""The local Okta and QuickSight servers in a process of their own.

The sync under test runs in another process, so its CPU time and peak RSS
are its own and not the servers'. The parent drives the servers through a
pipe: read their counters, reseed them, dump QuickSight's state.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import traceback


def _serve(conn, okta_section: dict, qs_section: dict, app_id: str, limits: dict | None,
           okta_window_s: float, qs_window_s: float) -> None:
    from local_servers.okta_server import OktaServer
    from local_servers.quicksight_server import QuickSightServer

    started = time.process_time()
    okta = OktaServer(okta_section, [], limits or {}, app_id=app_id, window_s=okta_window_s)
    qs = QuickSightServer(qs_section, [], limits or {}, rate_window_s=qs_window_s)
    okta.start()
    qs.start()
    conn.send({"okta_url": okta.url, "qs_connection": qs.airflow_connection(), "seed_cpu_s": time.process_time() - started})
    while True:
        cmd, arg = conn.recv()
        try:
            if cmd == "stop":
                okta.stop()
                qs.stop()
                conn.send(None)
                return
            if cmd == "counters":
                conn.send({"okta": okta.counter.snapshot(), "okta_statuses": okta.statuses.snapshot(),
                           "quicksight": qs.counter.snapshot(), "quicksight_throttled": qs.throttled.snapshot(),
                           "cpu_s": time.process_time()})
            elif cmd == "reset":
                for c in (okta.counter, okta.statuses, qs.counter, qs.throttled):
                    c.reset()
                conn.send(None)
            elif cmd == "load_okta":
                okta.load(arg)
                conn.send(None)
            elif cmd == "load_quicksight":
                qs.load(arg)
                conn.send(None)
            elif cmd == "dump":
                conn.send(qs.dump())
            else:
                conn.send(RuntimeError(f"unknown command {cmd!r}"))
        except Exception:  # noqa: BLE001 - the parent gets the trace instead of a hung pipe
            conn.send(RuntimeError(traceback.format_exc()))


class ServerProcess:
    """Both servers seeded from sections, with optional rate limits (docs/scenario-format.md's ``limits``)."""

    def __init__(self, okta_section: dict, qs_section: dict, app_id: str, limits: dict | None = None,
                 okta_window_s: float = 60.0, qs_window_s: float = 1.0) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        started = time.monotonic()
        self._proc = ctx.Process(target=_serve, args=(child, okta_section, qs_section, app_id, limits,
                                                      okta_window_s, qs_window_s), daemon=True)
        self._proc.start()
        hello = self._receive()
        self.seed_s = time.monotonic() - started
        self.okta_url = hello["okta_url"]
        self.qs_connection = hello["qs_connection"]
        self.seed_cpu_s = hello["seed_cpu_s"]

    def _receive(self):
        while not self._conn.poll(0.5):
            if not self._proc.is_alive():
                raise RuntimeError(f"the local servers' process ended (exit code {self._proc.exitcode}); see its stderr")
        return self._conn.recv()

    def _ask(self, cmd: str, arg=None):
        self._conn.send((cmd, arg))
        answer = self._receive()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def counters(self) -> dict:
        return self._ask("counters")

    def reset(self) -> None:
        self._ask("reset")

    def load_okta(self, section: dict) -> None:
        self._ask("load_okta", section)

    def load_quicksight(self, section: dict) -> None:
        self._ask("load_quicksight", section)

    def dump(self) -> dict:
        return self._ask("dump")

    def stop(self) -> None:
        try:
            self._ask("stop")
        finally:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.terminate()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
