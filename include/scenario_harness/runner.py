"""Run one scenario file (docs/scenario-format.md) through the real DAG.

Local Okta and QuickSight servers are seeded from the file; Airflow
connections (environment variables, as in production) point the hook and
QuickSightHook at them; the DAG file is imported from dags/ and run with
``dag.test()``; the result is QuickSight's state afterwards and the run's
report. A scenario's ``rounds`` run after it, each one more run against the same
servers (docs/scenario-format.md, *rounds*). Call :func:`scenario_harness.airflow_env.prepare` before this module
imports Airflow (the CLI does).
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from local_servers.common import FaultPlan
from local_servers.okta_org import OktaOrg
from local_servers.okta_server import OktaServer
from local_servers.quicksight_server import QuickSightServer

from scenario_harness.airflow_env import DAGS_FOLDER

DAG_FILE = DAGS_FOLDER / "okta_quicksight_sync_dag.py"
DEFAULT_TOKEN = "local-test-token"
# What a round may say (docs/scenario-format.md); `expect_report` is read by the project's tests.
# `cursor_age_days` (the project's extension) makes the stored System Log cursor that many days older first.
ROUND_KEYS = frozenset({"okta", "params", "faults", "expect", "expect_report", "name", "description", "cursor_age_days"})


class ScenarioError(ValueError):
    """A scenario the harness cannot run as written; the message names the item and the fix."""


def check_rounds(scenario: dict) -> list[dict]:
    """The scenario's rounds, each checked before anything runs (a bad round 3 must not cost two runs)."""
    rounds = scenario.get("rounds") or []
    if not isinstance(rounds, list):
        raise ScenarioError(f"`rounds` must be a list of rounds, got {type(rounds).__name__}")
    app_id = scenario["target"]["okta_app_id"]
    for n, one in enumerate(rounds, start=1):
        where = f"rounds[{n - 1}] (round {n + 1} of the scenario)"
        if not isinstance(one, dict):
            raise ScenarioError(f"{where} must be an object with okta, params, faults and expect")
        unknown = sorted(set(one) - ROUND_KEYS)
        if unknown:
            raise ScenarioError(
                f"{where}: unknown key(s) {unknown}; a round may have {sorted(ROUND_KEYS)} "
                f"(target and limits stay those of the first run)"
            )
        try:
            if "okta" in one:
                OktaOrg.from_section(one["okta"], app_id=app_id)
            FaultPlan(one.get("faults"), "okta")
            FaultPlan(one.get("faults"), "quicksight")
            OktaServer.check_faults(one.get("faults"))
        except (ValueError, KeyError, TypeError) as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        age = one.get("cursor_age_days", 0)
        if isinstance(age, bool) or not isinstance(age, (int, float)) or age < 0:
            raise ScenarioError(f"{where}: cursor_age_days must be a number of days >= 0, got {age!r}")
    return rounds


def target_of(scenario: dict) -> dict:
    """The scenario's target, with the account, region and namespace from its QuickSight section.

    dag.test() has no person to answer an approval, and a failed task should show at once: unless
    the scenario names them, held deletions end the run as held (``approval: hold``) and tasks are
    not retried (``task_retries: 0``).
    """
    qs = scenario.get("quicksight", {})
    target = dict(scenario["target"])
    target.setdefault("aws_account_id", qs.get("account_id", "111122223333"))
    target.setdefault("identity_region", qs.get("identity_region", "us-east-1"))
    target.setdefault("namespace", qs.get("namespace", "default"))
    target.setdefault("approval", "hold")
    target.setdefault("task_retries", 0)
    return target


def okta_window(limits: dict) -> dict:
    """``limits.okta_window_s`` (the project's extension, docs/scenario-format.md): a shorter Okta
    rate-limit window than Okta's 60 s, so a scenario can wait for several resets in seconds."""
    return {"window_s": float(limits["okta_window_s"])} if limits.get("okta_window_s") else {}


@contextmanager
def local_servers(scenario: dict):
    """Both servers, seeded from the scenario, for as long as the block runs."""
    faults = scenario.get("faults") or []
    limits = scenario.get("limits") or {}
    okta = OktaServer(
        scenario.get("okta", {}), faults, limits, app_id=scenario["target"]["okta_app_id"], **okta_window(limits)
    )
    quicksight = QuickSightServer(scenario.get("quicksight", {}), faults, limits)
    okta.start()
    quicksight.start()
    try:
        yield okta, quicksight
    finally:
        okta.stop()
        quicksight.stop()


@contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def connections_env(okta: OktaServer, quicksight: QuickSightServer, scenario: dict, target: dict) -> dict[str, str]:
    """AIRFLOW_CONN_* values pointing the target's connection ids at the local servers."""
    token = scenario.get("okta", {}).get("api_token", DEFAULT_TOKEN)
    okta_conn = {"conn_type": "okta", "host": okta.url, "password": token}
    okta_id = target.get("okta_conn_id", "okta_default")
    aws_id = target.get("aws_conn_id", "aws_default")
    return {
        f"AIRFLOW_CONN_{okta_id.upper()}": json.dumps(okta_conn),
        f"AIRFLOW_CONN_{aws_id.upper()}": quicksight.airflow_connection(target["identity_region"]),
    }


def load_dag(dag_id: str):
    """Import the real DAG file (as the DAG processor would) and return one of its DAGs."""
    spec = importlib.util.spec_from_file_location(f"okta_quicksight_sync_dag_{time.monotonic_ns()}", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, dag_id)


def _report_of(dag_run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(XComModel)
            .filter(XComModel.dag_id == dag_run.dag_id, XComModel.run_id == dag_run.run_id, XComModel.task_id == "report")
            .all()
        )
        by_key = {row.key: row.value for row in rows}
    value = by_key.get("return_value") or by_key.get("report")
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    return value or {}


def forget_stored_state(dag_id: str) -> None:
    """A scenario starts with nothing its DAG stored before: an earlier scenario's System Log cursor (of another
    local Okta) or converged-at mark in this Airflow database is not its own."""
    from airflow.models.variable import Variable

    from okta_quicksight_airflow.incremental_run import cursor_key
    from okta_quicksight_airflow.run_bookkeeping import last_converged_key

    for key in (cursor_key(dag_id), last_converged_key(dag_id)):
        Variable.delete(key)


def age_cursor(dag_id: str, days: float) -> None:
    """Make the stored System Log cursor ``days`` older (a round's ``cursor_age_days``), as if saved back then."""
    from airflow.models.variable import Variable

    from okta_quicksight_airflow.incremental_run import cursor_key

    raw = Variable.get(cursor_key(dag_id), default_var=None)
    if not raw:
        raise ScenarioError("cursor_age_days: no System Log cursor is stored yet (an earlier run must converge first)")
    cursor = json.loads(raw)
    cursor["saved_at"] = float(cursor.get("saved_at") or time.time()) - days * 86400
    Variable.set(cursor_key(dag_id), json.dumps(cursor))


def run_dag(dag_id: str, params: dict):
    """One run of the DAG with ``params``; returns (state, report)."""
    dag = load_dag(dag_id)
    dag_run = dag.test(run_conf=params)
    return str(dag_run.state), _report_of(dag_run)


def outcome_of(state: str, report: dict) -> str:
    if state.endswith("failed") or not report:
        return "failed"
    return "held" if report.get("outcome") == "held" else report.get("outcome", "success")


def run_scenario(scenario: dict, *, dag_id: str = "scenario_sync", runs: int = 1, between_runs=None, before_round=None) -> dict:
    """Run a scenario; returns ``{"outcome", "quicksight", "report"}`` (and ``"runs"`` when runs > 1,
    ``"rounds"`` when the scenario has rounds). ``before_round(n, okta, quicksight)`` is called
    after round n (1-based) has set up the servers, just before its run (tests look at Okta's log)."""
    target = target_of(scenario)
    rounds = check_rounds(scenario)
    with ExitStack() as stack:
        okta, quicksight = stack.enter_context(local_servers(scenario))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="okta-qs-scenario-")))
        targets = workdir / "targets.json"
        targets.write_text(json.dumps({dag_id: {**target, "schedule": None}}))
        env = connections_env(okta, quicksight, scenario, target)
        env["OKTA_QS_SYNC_TARGETS"] = str(targets)
        # The client paces itself to the scenario's QuickSight rate; without one, it does not wait.
        env["OKTA_QS_SYNC_QS_CALLS_PER_SECOND"] = str((scenario.get("limits") or {}).get("quicksight_per_second") or 0)
        stack.enter_context(_environment(env))
        forget_stored_state(dag_id)
        history = []
        for i in range(runs):
            if i and between_runs:
                between_runs(okta, quicksight)
            state, report = run_dag(dag_id, scenario.get("params") or {})
            history.append({"outcome": outcome_of(state, report), "report": report})
        result = {"outcome": history[-1]["outcome"], "quicksight": quicksight.dump(), "report": history[-1]["report"]}
        if runs > 1:
            result["runs"] = history
        if rounds:
            result["rounds"] = [
                run_round(n, one, dag_id, okta, quicksight, before_round) for n, one in enumerate(rounds, start=1)
            ]
        return result


def run_round(n: int, one: dict, dag_id: str, okta: OktaServer, quicksight: QuickSightServer, before_round=None) -> dict:
    """One round: Okta replaced (its System Log gets the difference), the round's own faults, the DAG again."""
    if "okta" in one:
        okta.load(one["okta"])
    faults = one.get("faults") or []
    okta.set_faults(faults)
    quicksight.faults = FaultPlan(faults, "quicksight")
    if one.get("cursor_age_days"):
        age_cursor(dag_id, float(one["cursor_age_days"]))
    if before_round is not None:
        before_round(n, okta, quicksight)
    state, report = run_dag(dag_id, one.get("params") or {})
    return {"outcome": outcome_of(state, report), "quicksight": quicksight.dump(), "report": report}
