"""The run's metrics through Airflow's own Stats, configured from [metrics] as in a task process.

Each case runs a fresh Python process (Airflow configures Stats once per
process) with AIRFLOW__METRICS__* pointing at a real listener on 127.0.0.1:
a UDP socket for StatsD, an HTTP server taking OTLP for OpenTelemetry.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec

import pytest

from tests.okta_quicksight_sync.sync_builders import config, directory, okta, ou, qu, run

from okta_quicksight_airflow.metrics import run_metrics
from okta_quicksight_sync.report import build_report

R = "QuickSightReader"
DAG_ID = "sync_t1"

# What Airflow's task runner does when a task process starts (task_runner.main), then the sync's one call.
EMIT = """
import json, sys
from airflow.sdk.configuration import conf
from airflow.sdk.observability import stats
from airflow.sdk.observability.metrics import stats_utils
from okta_quicksight_airflow.metrics import emit_run_metrics

stats.initialize(factory=stats_utils.get_stats_factory(),
                 export_legacy_names=conf.getboolean("metrics", "legacy_names_on"))
print(emit_run_metrics(json.load(open(sys.argv[1])), sys.argv[2], {"quicksight": 3}))
"""


def _held_report():
    memory = directory([qu(f"{R}/gone{i}@example.com") for i in range(3)])
    cfg = config(max_deletions=2)
    planned, results = run(cfg, okta([ou("u1"), ou("u2")]), memory)
    return build_report(cfg, planned, results, {"okta": {"GET /api/v1/apps/{appId}/users": 2},
                                                "quicksight": {"ListUsers": 1, "RegisterUser": 2}}, 1.5)


def _emit(tmp_path, report, metrics_env: dict) -> str:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__METRICS__", "OTEL_"))}
    env.update(metrics_env)
    done = subprocess.run([sys.executable, "-c", EMIT, str(path), DAG_ID], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(find_spec("statsd") is None, reason=(
    "the statsd package (apache-airflow[statsd]) is not installed, so Airflow cannot send StatsD; "
    "add statsd to requirements-dev.txt and constraints.txt"))
def test_statsd_datagrams_reach_a_udp_listener_with_names_and_values(tmp_path):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    report = _held_report()
    sent = _emit(tmp_path, report, {
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
        "AIRFLOW__METRICS__STATSD_PORT": str(sock.getsockname()[1]),
        "AIRFLOW__METRICS__STATSD_PREFIX": "af",
    })
    got = []
    for _ in range(int(sent)):
        got.append(sock.recv(65535).decode())
    sock.close()
    p = f"af.okta_quicksight_sync.{DAG_ID}"
    assert f"{p}.run.held:1|c" in got
    assert f"{p}.items.deprovision_user.planned:3|c" in got and f"{p}.items.deprovision_user.held:3|c" in got
    assert f"{p}.items.register_user.done:2|c" in got
    assert f"{p}.api_calls.okta:2|c" in got and f"{p}.api_calls.quicksight:3|c" in got
    assert f"{p}.throttles.quicksight:3|c" in got
    assert f"{p}.duration:1500.000000|ms" in got
    assert f"{p}.managed_users:3|g" in got and f"{p}.desired_users:2|g" in got
    assert len(got) == len(run_metrics(report, DAG_ID, {"quicksight": 3}))


class _OtlpReceiver(BaseHTTPRequestHandler):
    """Takes OTLP/HTTP metric exports, as an OpenTelemetry collector would."""

    received: list = []

    def do_POST(self):
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportMetricsServiceRequest()
        request.ParseFromString(body)
        type(self).received.append((self.path, request))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def _otel_points(requests) -> dict[str, list[tuple[dict, float]]]:
    """Each metric's data points in the last export that has it (values are cumulative, so the last is the total)."""
    out: dict[str, list] = {}
    for _, request in requests:
        seen = set()
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name not in seen:
                        seen.add(metric.name)
                        out[metric.name] = []
                    kind = metric.WhichOneof("data")
                    for dp in getattr(metric, kind).data_points:
                        attrs = {a.key: a.value.string_value for a in dp.attributes}
                        value = dp.sum if kind in ("histogram", "exponential_histogram") else (
                            dp.as_int if dp.WhichOneof("value") == "as_int" else dp.as_double)
                        out.setdefault(metric.name, []).append((attrs, value))
    return out


def test_opentelemetry_export_reaches_a_collector_with_tags(tmp_path):
    _OtlpReceiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtlpReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _emit(tmp_path, _held_report(), {
            "AIRFLOW__METRICS__OTEL_ON": "True",
            "AIRFLOW__METRICS__OTEL_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__OTEL_PORT": str(server.server_address[1]),
            "AIRFLOW__METRICS__OTEL_PREFIX": "af",
            "AIRFLOW__METRICS__OTEL_INTERVAL_MILLISECONDS": "600000",  # only the flush at exit exports
        })
    finally:
        server.shutdown()
    assert {path for path, _ in _OtlpReceiver.received} == {"/v1/metrics"}
    points = _otel_points(_OtlpReceiver.received)
    items = {(a["action"], a["status"]): v for a, v in points["af.okta_quicksight_sync.items"]}
    assert items[("deprovision_user", "held")] == 3 and items[("register_user", "done")] == 2
    assert all(a["dag_id"] == DAG_ID for a, _ in points["af.okta_quicksight_sync.items"])
    assert points["af.okta_quicksight_sync.runs"] == [({"dag_id": DAG_ID, "outcome": "held"}, 1)]
    calls = {a["service"]: v for a, v in points["af.okta_quicksight_sync.api_calls"]}
    assert calls == {"okta": 2, "quicksight": 3}
    assert points["af.okta_quicksight_sync.managed_users"] == [({"dag_id": DAG_ID}, 3)]
    assert points["af.okta_quicksight_sync.duration"][0][1] == pytest.approx(1500.0)
    assert max(len(name) for name in points) <= 63  # OpenTelemetry would cut longer names


def test_names_and_what_a_dry_run_counts():
    report = _held_report()
    names = [name for _, name, _, _ in run_metrics(report, "a.b")]
    assert "okta_quicksight_sync.a__b.items.deprovision_user.held" in names
    report["dry_run"] = True
    assert [(kind, name) for kind, name, _, _ in run_metrics(report, "t")] == [
        ("incr", "okta_quicksight_sync.t.run.dry_run"), ("timing", "okta_quicksight_sync.t.duration")]
    with pytest.raises(ValueError, match="metrics naming 'flat' is not one of names, tags"):
        run_metrics(report, "t", naming="flat")


def test_asset_extra_is_the_runs_numbers_in_small_plain_json():
    from okta_quicksight_airflow.metrics import asset_extra

    extra = asset_extra(_held_report(), "held: 3 deletions wait for approval")
    assert extra == {
        "outcome": "held", "mode": "full", "dry_run": False, "done": {"register_user": 2}, "failed": 0, "held": 3,
        "deletions_planned": 3, "duration_s": 1.5, "managed_users": 3, "managed_groups": 0, "desired_users": 2,
        "desired_groups": 0, "note": "held: 3 deletions wait for approval",
    }
    assert json.loads(json.dumps(extra)) == extra


def test_an_incremental_run_sends_no_directory_totals_it_did_not_read():
    from okta_quicksight_airflow.metrics import asset_extra

    report = {**_held_report(), "mode": "incremental"}
    kinds = {(kind, name) for kind, name, _, _ in run_metrics(report, "t")}
    assert not {name for kind, name in kinds if kind == "gauge"}
    assert ("incr", "okta_quicksight_sync.t.items.deprovision_user.held") in kinds
    extra = asset_extra(report)
    assert extra["mode"] == "incremental" and "managed_users" not in extra and extra["held"] == 3
