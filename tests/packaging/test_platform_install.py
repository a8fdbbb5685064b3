"""The project added to an Airflow a platform team already runs, as docs/deploy.md tells them to.

A virtualenv is built from scratch the way a platform has one: Airflow 3.3 and the Amazon
provider at the versions the project supports, installed with constraints.txt. Then:
requirements.txt goes in and must change none of the packages already there (`pip check` clean);
the real DAG runs a scenario with the repository's dags/ and plugins/ as that Airflow's folders,
with no install of the project at all (the DAG file finds include/ beside dags/); and the Okta
provider distribution adds itself and the `okta` connection type, nothing else.

The local Okta and QuickSight servers run in this test's process: they are development tools and
have no business in the platform's environment. pip's cache keeps the installs to about a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scenario_harness.compare import state_differences
from scenario_harness.runner import connections_env, local_servers, target_of

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints.txt"
SCENARIO = ROOT / "tests" / "scenarios" / "examples" / "leaver-assets.json"
DAG_ID = "platform_sync"
# What a platform team has before adding the project (the Amazon provider: QuickSightHook's home).
PLATFORM_PACKAGES = ("apache-airflow", "apache-airflow-providers-amazon")
PROJECT_MODULES = ("okta_quicksight_sync", "okta_quicksight_airflow", "okta_provider", "local_servers", "scenario_harness")


def constraint_pin(name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)$", CONSTRAINTS.read_text(), re.MULTILINE | re.IGNORECASE)
    assert match, f"constraints.txt pins no {name}"
    return match.group(1)


def clean_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH, no virtualenv and no Airflow settings of this test session leak into the platform."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL")}
    return {**keep, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1", **extra}


class Platform:
    def __init__(self, venv: Path):
        self.venv = venv
        self.python = str(venv / "bin" / "python")

    def run(self, *args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("env", clean_env())
        done = subprocess.run([*args], capture_output=True, text=True, timeout=timeout, **kwargs)
        assert done.returncode == 0, f"`{' '.join(args)}` failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        return done

    def pip(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return self.run(self.python, "-m", "pip", *args, cwd=cwd or self.venv)

    def freeze(self) -> dict[str, str]:
        """{distribution: version} of everything installed (pip list also names local-path installs' versions)."""
        listed = json.loads(self.pip("list", "--format=json").stdout)
        return {entry["name"].lower().replace("_", "-"): entry["version"] for entry in listed}


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    venv = tmp_path_factory.mktemp("platform") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    platform = Platform(venv)
    platform.pip("install", "-q", *[f"{name}=={constraint_pin(name)}" for name in PLATFORM_PACKAGES], "-c", str(CONSTRAINTS))
    return platform


@pytest.fixture(scope="module")
def after_requirements(platform) -> tuple[dict, dict]:
    """(installed before, installed after) installing requirements.txt as a platform does: no constraints of ours."""
    before = platform.freeze()
    platform.pip("install", "-q", "-r", str(ROOT / "requirements.txt"))
    return before, platform.freeze()


def test_requirements_change_none_of_the_platforms_packages(platform, after_requirements):
    before, after = after_requirements
    for name in PLATFORM_PACKAGES:
        assert before.get(name) == constraint_pin(name), f"the platform venv should have {name} {constraint_pin(name)}"
    changed = {name: (before.get(name), after.get(name)) for name in set(before) | set(after) if before.get(name) != after.get(name)}
    assert not changed, f"installing requirements.txt changed the platform's packages (before, after): {changed}"
    platform.pip("check")


def test_the_project_is_not_installed_in_the_platform(platform, after_requirements):
    """The control for the scenario below: nothing of the project is importable before Airflow loads the DAG file."""
    probe = "import importlib.util, json; print(json.dumps({m: importlib.util.find_spec(m) is not None for m in %r}))"
    done = platform.run(platform.python, "-c", probe % (PROJECT_MODULES,), cwd=platform.venv)
    importable = json.loads(done.stdout)
    assert not any(importable.values()), f"importable without Airflow's folders: {importable}"


def test_a_scenario_runs_through_the_dag_with_the_repository_as_airflow_folders(
    platform, after_requirements, migrated_home, tmp_path
):
    scenario = json.loads(SCENARIO.read_text())
    target = target_of(scenario)
    home = migrated_home(tmp_path / "airflow")
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({DAG_ID: {**target, "schedule": None}}))
    with local_servers(scenario) as (okta, quicksight):
        env = clean_env(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
            AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
            AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
            OKTA_QS_SYNC_TARGETS=str(targets),
            OKTA_QS_SYNC_QS_CALLS_PER_SECOND="0",
            **connections_env(okta, quicksight, scenario, target),
        )
        airflow = str(platform.venv / "bin" / "airflow")
        done = subprocess.run([airflow, "dags", "test", DAG_ID], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)
        output = done.stdout[-3000:] + done.stderr[-3000:]
        assert done.returncode == 0, f"`airflow dags test` failed in the platform venv:\n{output}"
        state = quicksight.dump()
    with sqlite3.connect(home / "airflow.db") as db:
        runs = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (DAG_ID,)).fetchall()
        report_rows = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND task_id = 'report' AND key = 'return_value'", (DAG_ID,)
        ).fetchall()
    assert len(runs) == 1 and runs[0][1] == scenario["expect"]["outcome"], f"dag runs {runs}:\n{output}"
    assert state_differences(scenario["expect"]["quicksight"], state) == []
    assert len(report_rows) == 1, f"no report XCom:\n{output}"
    report = json.loads(report_rows[0][0])
    report = json.loads(report) if isinstance(report, str) else report
    assert report["outcome"] == "success" and report["api_calls"]["quicksight"]["ListUsers"] >= 1, report
    for secret in ("local-test-token", "local-quicksight-secret"):
        assert secret not in output and secret not in report_rows[0][0]


def test_the_okta_provider_adds_itself_and_the_connection_form(platform, after_requirements, tmp_path):
    """A wheel of plugins/ (built from a copy: pip builds in the source tree) for the `okta` connection form."""
    source = tmp_path / "plugins"
    shutil.copytree(ROOT / "plugins", source, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
    before = platform.freeze()
    platform.pip("install", "-q", str(source))
    after = platform.freeze()
    changed = {name: (before.get(name), after.get(name)) for name in set(before) | set(after) if before.get(name) != after.get(name)}
    assert changed == {"airflow-provider-okta-sync": (None, "0.1.0")}, changed
    platform.pip("check")
    probe = (
        "import json\nfrom airflow.providers_manager import ProvidersManager\n"
        "pm = ProvidersManager()\nprint(json.dumps({'hook': pm.hooks['okta'].hook_class_name,"
        " 'fields': sorted(k for k in pm.connection_form_widgets if k.startswith('extra__okta__'))}))\n"
    )
    done = platform.run(platform.python, "-W", "ignore", "-c", probe, cwd=tmp_path,
                        env=clean_env(AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False"))
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["hook"] == "okta_provider.hooks.okta.OktaHook"
    assert "extra__okta__client_id" in info["fields"], info
