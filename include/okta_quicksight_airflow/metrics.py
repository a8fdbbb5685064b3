"""A run's numbers, through Airflow's own metrics (StatsD, Datadog or OpenTelemetry, as ``[metrics]`` says).

Emitted once per run from the report, through the ``Stats`` object Airflow
configures in every task process from ``[metrics]`` (``statsd_on``,
``statsd_host``, ``statsd_port``, ``statsd_prefix``; or ``otel_on``, ...), so
the sync's metrics go where the deployment's Airflow metrics already go, and
nowhere when metrics are off. Under Airflow's own prefix (``statsd_prefix``
/ ``otel_prefix``, ``airflow`` by default), two namings:

*names* (plain StatsD, whose metrics have no tags), ``P`` = ``okta_quicksight_sync.<dag_id>``:

- ``P.items.<action>.<status>`` counter: items per action (``register_user``,
  ``deprovision_user``...) and status (``planned``, ``done``, ``already``,
  ``failed``, ``skipped``, ``held``); only non-zero ones
- ``P.api_calls.<service>`` counter: requests sent to ``okta`` / ``quicksight``, retries included
- ``P.throttles.<service>`` counter: throttled answers (429 / ThrottlingException), when the run counted them
- ``P.run.<outcome>`` counter, 1 per run: ``success``, ``failed``, ``held``, ``superseded`` or ``dry_run``
- ``P.duration`` timer: the run's duration, read to report
- ``P.managed_users``, ``P.managed_groups``, ``P.desired_users``, ``P.desired_groups`` gauges, from full
  runs only (an incremental or on-demand run counts just what it looked at)

*tags* (OpenTelemetry, Datadog: backends that keep tags, and OpenTelemetry
cuts names at 63 characters): the same metrics named
``okta_quicksight_sync.items``, ``.api_calls``, ``.throttles``, ``.runs``,
``.duration`` and the four gauges, with what the names above hold as tags
(``dag_id``, ``action``, ``status``, ``service``, ``outcome``). The names
style also passes the tags, for StatsD with ``statsd_influxdb_enabled``.

A dry run writes nothing, so it counts only the run (``dry_run``) and its duration.
``asset_extra`` gives the same numbers as the extra of the run's asset event.
"""

from __future__ import annotations

from datetime import timedelta

PREFIX = "okta_quicksight_sync"
GAUGES = ("managed_users", "managed_groups", "desired_users", "desired_groups")
NAMINGS = ("names", "tags")


def metric_prefix(dag_id: str) -> str:
    """``okta_quicksight_sync.<dag_id>``; a dot in the DAG id becomes ``__``, as Airflow does, to keep the hierarchy."""
    return f"{PREFIX}.{dag_id.replace('.', '__')}"


def naming_for_airflow() -> str:
    """``tags`` when Airflow's metrics backend keeps tags (OpenTelemetry, Datadog), else ``names``."""
    from airflow.sdk.configuration import conf

    if conf.getboolean("metrics", "statsd_datadog_enabled", fallback=False):
        return "tags"
    if conf.getboolean("metrics", "statsd_on", fallback=False):
        return "names"
    return "tags" if conf.getboolean("metrics", "otel_on", fallback=False) else "names"


def run_metrics(report: dict, dag_id: str, throttles: dict[str, int] | None = None,
                naming: str = "names") -> list[tuple[str, str, object, dict]]:
    """What one run emits: (kind, name, value, tags) with kind ``incr``, ``gauge`` or ``timing``."""
    if naming not in NAMINGS:
        raise ValueError(f"metrics naming {naming!r} is not one of {', '.join(NAMINGS)}")
    tags = {"dag_id": dag_id}
    return [(kind, _name(naming, dag_id, name, parts), value, {**tags, **extra})
            for kind, name, parts, value, extra in _measures(report, throttles)]


def _name(naming: str, dag_id: str, name: str, parts: tuple[str, ...]) -> str:
    if naming == "tags":
        return f"{PREFIX}.{'runs' if name == 'run' else name}"
    return ".".join([metric_prefix(dag_id), name, *parts])


def _measures(report: dict, throttles: dict[str, int] | None):
    """(kind, base name, name parts for the names style, value, tags) of one run."""
    if report.get("superseded"):
        outcome = "superseded"
    elif report.get("dry_run"):
        outcome = "dry_run"
    else:
        outcome = report["outcome"]
    yield "incr", "run", (outcome,), 1, {"outcome": outcome}
    yield "timing", "duration", (), timedelta(seconds=float(report.get("duration_s") or 0)), {}
    if outcome in ("dry_run", "superseded"):
        return
    for action in sorted(report.get("counts", {})):
        for status, n in report["counts"][action].items():
            if n:
                yield "incr", "items", (action, status), n, {"action": action, "status": status}
    for service, calls in sorted((report.get("api_calls") or {}).items()):
        total = sum(calls.values())
        if total:
            yield "incr", "api_calls", (service,), total, {"service": service}
    for service, n in sorted({**(report.get("throttles") or {}), **(throttles or {})}.items()):
        if n:
            yield "incr", "throttles", (service,), n, {"service": service}
    for key, value in _gauges(report).items():
        yield "gauge", key, (), value, {}


def _gauges(report: dict) -> dict:
    """The directory's totals, when the run read all of it (a full run)."""
    if report.get("mode", "full") != "full":
        return {}
    stats = report.get("stats") or {}
    return {key: stats[key] for key in GAUGES if key in stats}


def emit_run_metrics(report: dict, dag_id: str, throttles: dict[str, int] | None = None, *,
                     naming: str | None = None, stats=None) -> int:
    """Send the run's metrics through Airflow's Stats (one line in the DAG's report task); returns how many."""
    if stats is None:
        from airflow.sdk.observability import stats
    sent = run_metrics(report, dag_id, throttles, naming or naming_for_airflow())
    for kind, name, value, tags in sent:
        if kind == "incr":
            stats.incr(name, count=value, tags=tags)
        elif kind == "gauge":
            stats.gauge(name, value, tags=tags)
        else:
            stats.timing(name, value, tags=tags)
    return len(sent)


def asset_extra(report: dict, note: str | None = None) -> dict:
    """The run's numbers for the asset event's ``extra`` (``outlet_events[asset].extra``): small, plain JSON.

    Downstream DAGs scheduled on the asset read what changed without the report's items.
    """
    counts = report.get("counts") or {}
    totals = report.get("totals") or {}
    extra = {
        "outcome": report.get("outcome"),
        "mode": report.get("mode", "full"),
        "dry_run": bool(report.get("dry_run")),
        "done": {action: row["done"] for action, row in sorted(counts.items()) if row.get("done")},
        "failed": totals.get("failed", 0),
        "held": totals.get("held", 0),
        "deletions_planned": (report.get("deletions") or {}).get("count", 0),
        "duration_s": report.get("duration_s", 0),
    }
    extra.update(_gauges(report))
    if note:
        extra["note"] = note
    return extra
