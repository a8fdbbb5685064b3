"""Where the DAG file finds its targets file on a platform that deploys code and settings apart.

OKTA_QS_SYNC_TARGETS wins; else the Airflow Variable okta_qs_sync_targets (given here the way any
deployment can, as AIRFLOW_VAR_OKTA_QS_SYNC_TARGETS); else include/targets.json. Each case loads
real targets from the file it names.
"""

from __future__ import annotations

import json

import pytest

from okta_quicksight_airflow import targets
from okta_quicksight_sync.config import ConfigError

VARIABLE_ENV = "AIRFLOW_VAR_" + targets.TARGETS_VARIABLE.upper()


@pytest.fixture
def target_files(tmp_path):
    default = json.loads(targets.DEFAULT_TARGETS_FILE.read_text())
    (_, config), = list(default.items())[:1]
    files = {}
    for name in ("from_env", "from_variable"):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({f"sync_{name}": config}))
        files[name] = path
    return files


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(targets.TARGETS_ENV, raising=False)
    monkeypatch.delenv(VARIABLE_ENV, raising=False)
    return monkeypatch


def test_default_is_the_repository_file(clean_env):
    assert targets.targets_file() == targets.DEFAULT_TARGETS_FILE
    assert set(targets.load_targets()) == set(json.loads(targets.DEFAULT_TARGETS_FILE.read_text()))


def test_the_airflow_variable_names_the_file(clean_env, target_files):
    clean_env.setenv(VARIABLE_ENV, str(target_files["from_variable"]))
    assert targets.targets_file() == target_files["from_variable"]
    assert set(targets.load_targets()) == {"sync_from_variable"}


def test_the_environment_variable_wins_over_the_airflow_variable(clean_env, target_files):
    clean_env.setenv(VARIABLE_ENV, str(target_files["from_variable"]))
    clean_env.setenv(targets.TARGETS_ENV, str(target_files["from_env"]))
    assert set(targets.load_targets()) == {"sync_from_env"}


def test_a_missing_file_names_both_ways_to_point_at_one(clean_env, tmp_path):
    clean_env.setenv(VARIABLE_ENV, str(tmp_path / "nowhere.json"))
    with pytest.raises(ConfigError, match=rf"nowhere\.json: no targets file.*{targets.TARGETS_ENV}.*{targets.TARGETS_VARIABLE}"):
        targets.load_targets()
