"""Test-session setup shared by every test directory.

Airflow reads its configuration when first imported, so a private Airflow
home with a migrated SQLite database is prepared here, before any test module
imports Airflow. Tests get their connections from AIRFLOW_CONN_* variables, as
production can.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from scenario_harness import airflow_env

_home = Path(tempfile.mkdtemp(prefix="okta-qs-test-airflow-"))
atexit.register(shutil.rmtree, _home, ignore_errors=True)
airflow_env.prepare(_home)
