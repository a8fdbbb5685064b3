"""The DAG's graph comes from the target's settings alone, and the production default's graph runs.

The production default (``approval: ui``, two retries two minutes apart, a
24-hour approval) is parsed from the real DAG file and a run goes through
it with dag.test(); ``approval: hold`` builds the graph without the approval
step. No environment variable changes the graph.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from scenario_harness.runner import _environment, connections_env, load_dag, local_servers, target_of

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"
RUN_SETTINGS = ("approval", "task_retries", "retry_delay_s", "approval_timeout_h")


def _production_target(name: str) -> tuple[dict, dict]:
    scenario = json.loads((EXAMPLES / f"{name}.json").read_text())
    target = {k: v for k, v in target_of(scenario).items() if k not in RUN_SETTINGS}
    return scenario, {**target, "schedule": None}


def _dag(tmp_path, targets: dict):
    path = tmp_path / "targets.json"
    path.write_text(json.dumps(targets))
    with _environment({"OKTA_QS_SYNC_TARGETS": str(path)}):
        return {dag_id: load_dag(dag_id) for dag_id in targets}


def _edges(dag) -> set[tuple[str, str]]:
    return {(t.task_id, d) for t in dag.tasks for d in t.downstream_task_ids}


def test_the_production_default_waits_for_a_person_and_the_hold_setting_does_not(tmp_path):
    _, target = _production_target("first-sync")
    dags = _dag(tmp_path, {"prod": target, "held": {**target, "approval": "hold", "task_retries": 0,
                                                     "retry_delay_s": 5, "approval_timeout_h": 1}})
    prod, held = dags["prod"], dags["held"]
    assert {"approve_deletions"} == {t.task_id for t in prod.tasks} - {t.task_id for t in held.tasks}
    assert {("deletion_gate", "approve_deletions"), ("approve_deletions", "deprovision")} <= _edges(prod)
    assert {("deletion_gate", "deprovision"), ("deletion_gate", "report"), ("user_sync", "deletion_gate"),
            ("deprovision", "report")} <= _edges(held) < _edges(prod)
    approve = prod.get_task("approve_deletions")
    assert approve.response_timeout == timedelta(hours=24) and approve.defaults in (["Reject"], "Reject")
    assert "key='deletions')['text']" in approve.body
    assert prod.get_task("plan_sync").retries == 2 and prod.get_task("plan_sync").retry_delay == timedelta(seconds=120)
    assert held.get_task("plan_sync").retries == 0 and held.get_task("plan_sync").retry_delay == timedelta(seconds=5)


def test_a_run_through_the_production_default_graph_applies_what_is_not_held(tmp_path):
    scenario, target = _production_target("first-sync")
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"prod": target}))
    with local_servers(scenario) as (okta, quicksight):
        env = {**connections_env(okta, quicksight, scenario, target), "OKTA_QS_SYNC_TARGETS": str(targets)}
        with _environment(env):  # dag.test() parses the DAG file again
            dag = load_dag("prod")
            assert "approve_deletions" in dag.task_ids
            dag_run = dag.test(run_conf={})
            states = {ti.task_id: str(ti.state).split(".")[-1].lower() for ti in dag_run.get_task_instances()}
        users = {u["user_name"] for u in quicksight.dump()["users"]}
    assert states["approve_deletions"] == "skipped", states
    assert all(states[t] == "success" for t in ("plan_sync", "group_sync", "user_sync", "deletion_gate",
                                                  "deprovision", "report")), states
    assert users == {u["user_name"] for u in scenario["expect"]["quicksight"]["users"]}


def test_the_dag_starts_paused_and_its_page_is_for_the_people_who_run_it(tmp_path):
    _, target = _production_target("first-sync")
    dag = _dag(tmp_path, {"prod": {**target, "max_deletions": 3}})["prod"]
    assert dag.is_paused_upon_creation is True
    assert target["okta_app_id"] in dag.description and "QuickSight" in dag.description
    doc = dag.doc_md
    for words in (target["okta_app_id"], "Dry run", "Allow deletions", "more than 3 deletions",
                  "Required Actions", "start paused", target["asset_recipient"]):
        assert words in doc, words
    # Not notes for developers: nothing about modules, sys.path or the file's name.
    for words in ("sys.path", "okta_quicksight_airflow", "run_bookkeeping", "shadow"):
        assert words not in doc, words
