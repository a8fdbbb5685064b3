"""Test-session setup shared by every test directory.

Airflow reads its configuration when first imported, so every session points
it at a private Airflow home before any test module can import Airflow. The
home's SQLite database is migrated only when a test outside the Airflow-free
directories runs (the core's tests, tests/okta_quicksight_sync, import no
Airflow and need no database). Tests get their connections from
AIRFLOW_CONN_* variables, as production can.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from scenario_harness import airflow_env

# Test directories whose tests neither import Airflow nor use its database.
AIRFLOW_FREE = ("okta_quicksight_sync",)

_root = Path(tempfile.mkdtemp(prefix="okta-qs-test-airflow-"))
atexit.register(shutil.rmtree, _root, ignore_errors=True)
_home = airflow_env.prepare(_root / "session", migrate=False)
_template = _root / "template"


def _migrated_template() -> Path:
    """Migrate the session's database once, and keep a pristine copy of it taken before any test opens it:
    tests that start other processes give them a home of their own (migrated_home()) rather than share
    this one's SQLite."""
    if not (_template / "airflow.db").exists():
        airflow_env.migrate_database(_home)
        _template.mkdir(exist_ok=True)
        shutil.copy2(_home / "airflow.db", _template / "airflow.db")
    return _template


def pytest_collection_modifyitems(session, config, items):
    """Once collected, before any test runs: a session with a test outside the Airflow-free directories
    gets the session's Airflow database migrated."""
    if any(Path(str(item.path)).resolve().parent.name not in AIRFLOW_FREE for item in items):
        _migrated_template()


def _migrated_home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_migrated_template() / "airflow.db", path / "airflow.db")
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
