"""The core is plain Python: its tests run with no Airflow imported and no Airflow database made.

A subprocess runs ``pytest tests/okta_quicksight_sync`` with a small plugin
that, at the end of that session, lists the ``airflow`` modules loaded and
looks for the session's Airflow database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = '''
import json, os, sys
from pathlib import Path

def pytest_sessionfinish(session, exitstatus):
    home = Path(os.environ["AIRFLOW_HOME"])
    Path(os.environ["AIRFLOW_FREE_PROBE_OUT"]).write_text(json.dumps({
        "airflow_modules": sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow.")),
        "database": (home / "airflow.db").exists(),
        "collected": session.testscollected,
        "exitstatus": int(exitstatus),
    }))
'''


def test_the_core_tests_import_no_airflow_and_migrate_no_database(tmp_path):
    (tmp_path / "airflow_free_probe.py").write_text(PROBE)
    out = tmp_path / "probe.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "AIRFLOW_FREE_PROBE_OUT": str(out),
    }
    env.pop("AIRFLOW_HOME", None)  # the child session chooses its own, as a developer's would
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/okta_quicksight_sync", "-x", "-q", "-p", "no:cacheprovider",
         "-p", "airflow_free_probe"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    probe = json.loads(out.read_text())
    assert probe["exitstatus"] == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert probe["collected"] > 50
    assert probe["airflow_modules"] == [], f"the core's tests imported {probe['airflow_modules'][:10]}"
    assert probe["database"] is False, "the core's tests migrated an Airflow database"
