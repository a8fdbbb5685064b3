"""The DAG file offers incremental and on-demand runs: the trigger form, the target's incremental DAG, the cursor.

A target with ``incremental_schedule`` gets a second DAG, ``<dag_id>_incremental``; both read and store the
System Log cursor under the main DAG's id. Runs go through the real DAG file with dag.test() against the
local servers.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from scenario_harness.runner import _environment, _report_of, connections_env, load_dag, local_servers, target_of

FILES = Path(__file__).resolve().parents[1] / "scenarios" / "files" / "incremental"


def _scenario(name: str) -> dict:
    return json.loads((FILES / f"{name}.json").read_text())


def _targets_file(tmp_path, targets: dict) -> str:
    path = tmp_path / "targets.json"
    path.write_text(json.dumps(targets))
    return str(path)


@contextmanager
def _deployed(tmp_path, scenario: dict, dag_id: str, target: dict):
    """The local servers, the target's connections and targets file, and no cursor stored yet for ``dag_id``:
    yields (okta server, Airflow's Variable)."""
    with local_servers(scenario) as (okta, quicksight):
        env = {**connections_env(okta, quicksight, scenario, target),
               "OKTA_QS_SYNC_TARGETS": _targets_file(tmp_path, {dag_id: target}),
               "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": "0"}
        with _environment(env):
            from airflow.models.variable import Variable

            Variable.delete(f"{dag_id}.incremental_cursor")
            yield okta, Variable


def _run_note(dag_id: str, run_id: str) -> str | None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id,
                                              XComModel.task_id == "report", XComModel.key == "run_note").first()
        value = row.value if row else None
    try:
        return json.loads(value)
    except (TypeError, ValueError):  # stored as the plain string
        return value


def test_the_trigger_form_offers_mode_and_only_users_with_titles(tmp_path):
    target = target_of(_scenario("incremental-nothing-changed"))
    with _environment({"OKTA_QS_SYNC_TARGETS": _targets_file(tmp_path, {"main": target})}):
        dag = load_dag("main")
    params = dag.params.dump()
    assert params["mode"] == "full" and params["only_users"] == []
    mode, only = dag.params.get_param("mode"), dag.params.get_param("only_users")
    assert mode.schema["enum"] == ["full", "incremental"] and mode.schema["title"] == "Mode"
    assert only.schema["type"] == "array" and only.schema["items"] == {"type": "string"}
    assert only.schema["title"] == "Only these people" and "Okta logins or user ids" in only.description
    assert "*Only these people*" in dag.doc_md and "*Mode*" in dag.doc_md


def test_an_incremental_schedule_adds_the_targets_incremental_dag_and_nothing_else_does(tmp_path):
    target = target_of(_scenario("incremental-nothing-changed"))
    targets = {"plain": target, "often": {**target, "incremental_schedule": "*/10 * * * *"}}
    with _environment({"OKTA_QS_SYNC_TARGETS": _targets_file(tmp_path, targets)}):
        often, incremental = load_dag("often"), load_dag("often_incremental")
        with pytest.raises(AttributeError):
            load_dag("plain_incremental")
    assert incremental.params.dump()["mode"] == "incremental" and often.params.dump()["mode"] == "full"
    assert incremental.schedule == "*/10 * * * *" and incremental.max_active_runs == 1
    assert incremental.is_paused_upon_creation is True and "incremental" in incremental.tags
    assert {t.task_id for t in incremental.tasks} == {t.task_id for t in often.tasks}
    assert {t.pool for t in incremental.tasks} == {t.pool for t in often.tasks}  # never two writers at once
    # Both DAGs update the same asset: the target's QuickSight directory.
    outlets = [o.name for d in (often, incremental) for o in d.get_task("report").outlets]
    assert outlets == ["quicksight_directory/often", "quicksight_directory/often"]
    assert "`often`" in incremental.doc_md and "`often_incremental`" in often.doc_md


def test_a_full_run_stores_the_cursor_the_incremental_dag_reads_one_page_from(tmp_path):
    scenario = _scenario("incremental-nothing-changed")
    target = {**target_of(scenario), "incremental_schedule": "*/10 * * * *", "schedule": None}
    with _deployed(tmp_path, scenario, "tgt", target) as (okta, Variable):
        full = load_dag("tgt").test(run_conf={})
        full_report = _report_of(full)
        cursor = json.loads(Variable.get("tgt.incremental_cursor"))
        incremental = load_dag("tgt_incremental").test(run_conf={})
        report = _report_of(incremental)
        note = _run_note("tgt_incremental", incremental.run_id)
        assert Variable.get("tgt_incremental.incremental_cursor", default_var=None) is None
    # The full run's own read gave the app's groups; storing the cursor cost one System Log read.
    assert cursor["next_link"].startswith(okta.url) and cursor["app_group_ids"] == sorted(scenario["okta"]["app_groups"])
    assert full_report["api_calls"]["okta"]["GET /api/v1/logs"] == 1
    assert "mode" not in full_report or full_report["mode"] == "full"
    # Nothing changed since: one log page, no QuickSight call, said so in the note.
    assert report["mode"] == "incremental" and report["cursor_from"] == cursor["next_link"]
    assert report["api_calls"]["okta"] == {"GET /api/v1/logs": 1}
    assert not report["api_calls"].get("quicksight")
    assert note == "incremental: no changes"


def test_an_on_demand_run_says_so_and_does_not_move_the_cursor(tmp_path):
    scenario = _scenario("on-demand-joiner-others-untouched")
    target = {**target_of(scenario), "schedule": None}
    with _deployed(tmp_path, scenario, "od", target) as (okta, Variable):
        load_dag("od").test(run_conf={})
        before = Variable.get("od.incremental_cursor")
        okta.load(scenario["rounds"][0]["okta"])
        run = load_dag("od").test(run_conf={"only_users": ["eve@example.com"]})
        report, note = _report_of(run), _run_note("od", run.run_id)
        assert Variable.get("od.incremental_cursor") == before
    assert report["mode"] == "only_users" and report["looked_at"]["only_users"] == ["eve@example.com"]
    assert note.startswith("on demand (1 person): synced: "), note
    assert "GET /api/v1/apps/{appId}/users" not in report["api_calls"]["okta"]  # nobody else was read
