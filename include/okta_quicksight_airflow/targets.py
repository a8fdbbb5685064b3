"""Where the DAG file finds its sync targets: one DAG per target.

A targets file is a JSON object ``{"<dag_id>": {<contract keys>}, ...}``.
It can live outside the code, since platforms deploy code and settings
apart: the environment variable ``OKTA_QS_SYNC_TARGETS`` names it (the
scenario harness points it at a scenario's target), else the Airflow
Variable ``okta_qs_sync_targets`` (any secrets backend, or
``AIRFLOW_VAR_OKTA_QS_SYNC_TARGETS``), else ``include/targets.json``.
Every target is validated at parse time, so a bad key shows up as a DAG
import error that names the target, the key and the fix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from okta_quicksight_sync.config import ConfigError, TargetConfig

DEFAULT_TARGETS_FILE = Path(__file__).resolve().parents[1] / "targets.json"
_DAG_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")


TARGETS_ENV = "OKTA_QS_SYNC_TARGETS"
TARGETS_VARIABLE = "okta_qs_sync_targets"


def targets_file() -> Path:
    """The env variable, else the Airflow Variable (looked up only when the env variable is unset), else the default."""
    named = os.environ.get(TARGETS_ENV) or _targets_variable()
    return Path(named) if named else DEFAULT_TARGETS_FILE


def _targets_variable() -> str | None:
    from airflow.sdk import Variable

    value = Variable.get(TARGETS_VARIABLE, default=None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def check_reporting(target: dict) -> None:
    """The target's ``notify``, ``approvers`` and ``report_path`` as the run will use them (notifier classes
    imported, addresses checked), so a mistake stops this target now, not at the first held run."""
    from okta_quicksight_airflow import notifications, report_store

    try:
        notifications.settings_from(target, "target")
        notifications.approvers_from(target, "target")
        report_store.check_report_path(target.get("report_path"), "target")
    except ValueError as exc:
        raise ConfigError(str(exc).removeprefix("target: ")) from None


def load_targets(path: Path | None = None) -> dict[str, TargetConfig]:
    """Read and validate every target; raises ConfigError naming the file, target and key."""
    targets, broken = load_targets_leniently(path)
    if broken:
        raise ConfigError(next(iter(broken.values())))
    return targets


def load_targets_leniently(path: Path | None = None) -> tuple[dict[str, TargetConfig], dict[str, str]]:
    """(valid targets, {dag_id: error} for the invalid ones), so one target's typo stops only that target.

    A file that cannot be read at all still raises: no target is known then.
    """
    path = path or targets_file()
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no targets file; create it, or name one in the environment variable {TARGETS_ENV}"
            f" or the Airflow Variable {TARGETS_VARIABLE}"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f'{path}: expected a JSON object {{"<dag_id>": {{...target keys...}}}} with at least one target')
    targets, broken = {}, {}
    for dag_id, target in raw.items():
        if not _DAG_ID.fullmatch(dag_id):
            raise ConfigError(f"{path}: {dag_id!r} is not a valid DAG id (letters, digits, _ . -)")
        try:
            config = TargetConfig.from_dict(target)
            check_reporting(target)
            targets[dag_id] = config
        except ConfigError as exc:
            broken[dag_id] = f"{path}: target {dag_id!r}: {exc}"
    return targets, broken
