"""Keep each run's report where people and tools can find it after the task log is gone.

``<base>/<dag_id>/<run_id>.json`` (every item, as ``report.build_report``
made it) and ``<run_id>.md`` (the same for people, ``report_text``), written
through Airflow's ``ObjectStoragePath``, so the base may be local
(``file:///var/reports``) or any object store Airflow reaches
(``s3://aws_default@bucket/prefix``: the user part is the Airflow connection).
The base is the target's ``report_path``; by default
``$AIRFLOW_HOME/okta_quicksight_sync/reports``, on the machine that runs
the task: set ``report_path`` to shared storage when workers are many.
Reports hold user names and emails, never a credential.
"""

from __future__ import annotations

import json
import os
import re

from okta_quicksight_sync.report_text import report_markdown

DEFAULT_SUBDIR = "okta_quicksight_sync/reports"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def default_base() -> str:
    """``$AIRFLOW_HOME/okta_quicksight_sync/reports`` as a file URL."""
    from airflow.sdk.configuration import conf

    home = os.environ.get("AIRFLOW_HOME") or conf.get("core", "airflow_home", fallback=None) or "~/airflow"
    return "file://" + os.path.join(os.path.abspath(os.path.expanduser(home)), DEFAULT_SUBDIR)


def safe_name(text: str) -> str:
    """A run id as a file name: ``manual__2026-01-02T03:04:05+00:00`` -> ``manual__2026-01-02T03_04_05+00_00``."""
    return _UNSAFE.sub("_", text)


def check_report_path(value: str | None, where: str = "target") -> str | None:
    """The target's ``report_path``: None (the default) or a URL with a scheme Airflow's object storage knows."""
    if value is None:
        return None
    if not isinstance(value, str) or "://" not in value:
        raise ValueError(f"{where}: report_path must be a URL like file:///var/reports or s3://aws_default@bucket/prefix,"
                         f" got {value!r}")
    return value.rstrip("/")


def write_report(report: dict, *, dag_id: str, run_id: str, base: str | None = None,
                 approval: dict | None = None) -> dict[str, str]:
    """Write the run's report as JSON and markdown; returns {"json": url, "markdown": url}."""
    from airflow.sdk import ObjectStoragePath

    folder = ObjectStoragePath(check_report_path(base) or default_base()) / safe_name(dag_id)
    folder.mkdir(parents=True, exist_ok=True)
    stem = safe_name(run_id)
    paths = {"json": folder / f"{stem}.json", "markdown": folder / f"{stem}.md"}
    paths["json"].write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    title = f"{dag_id}, run {run_id}"
    paths["markdown"].write_text(report_markdown(report, approval, title=title))
    return {kind: str(path) for kind, path in paths.items()}
