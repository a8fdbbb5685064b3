"""Test-session setup shared by every test directory.

Airflow reads its configuration when first imported, so a private Airflow
home with a migrated SQLite database is prepared here, before any test module
imports Airflow. Tests get their connections from AIRFLOW_CONN_* variables, as
production can.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from scenario_harness import airflow_env

_root = Path(tempfile.mkdtemp(prefix="okta-qs-test-airflow-"))
atexit.register(shutil.rmtree, _root, ignore_errors=True)
_home = _root / "session"
airflow_env.prepare(_home)
# A pristine copy of the migrated database, taken before this process opens it: tests that start
# other processes give them a home of their own (migrated_home()) rather than share this one's SQLite.
_template = _root / "template"
_template.mkdir()
shutil.copy2(_home / "airflow.db", _template / "airflow.db")


def _migrated_home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_template / "airflow.db", path / "airflow.db")
    return path


@pytest.fixture(scope="session")
def migrated_home():
    """``migrated_home(path)``: make ``path`` an Airflow home with a migrated SQLite database, fast."""
    return _migrated_home


def pytest_configure(config):
    """Subprocesses the tests start (the scenario CLI, Airflow components) find the project's code the
    way this process does: pytest.ini's ``pythonpath`` entries go into their PYTHONPATH too, since the
    dev venv does not install include/ (docs/deploy.md: how each platform imports it)."""
    entries = [str(path) for path in config.getini("pythonpath")]
    inherited = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry and entry not in entries]
    os.environ["PYTHONPATH"] = os.pathsep.join(entries + inherited)
