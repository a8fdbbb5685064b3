"""A self-contained Airflow for running the sync DAG in-process with ``dag.test()``.

It must be set up before ``airflow`` is first imported: Airflow reads its
configuration (home, DAGs folder, database) at import time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
PLUGINS_FOLDER = REPO / "plugins"  # the run-notes listener acts under dag.test() as in the scheduler


def prepare(home: Path | None = None, *, migrate: bool = True) -> Path:
    """Point Airflow at a private home with a migrated SQLite database; return the home.

    ``migrate=False`` only points Airflow there: :func:`migrate_database` makes the database when it is needed.
    """
    home = Path(home or os.environ.get("OKTA_QS_SYNC_HARNESS_HOME") or REPO / ".harness" / "airflow")
    home.mkdir(parents=True, exist_ok=True)
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != str(home):
        raise RuntimeError("scenario_harness.airflow_env.prepare() must run before airflow is imported")
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        }
    )
    if migrate:
        migrate_database(home)
    return home


def migrate_database(home: Path) -> None:
    """Create ``home``'s SQLite database with Airflow's schema, unless it exists."""
    if not (home / "airflow.db").exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            stdout=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
