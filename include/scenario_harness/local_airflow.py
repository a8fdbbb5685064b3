"""``make airflow``: Airflow on this machine, wired to the local Okta and QuickSight servers.

Runs the components Airflow runs in production as separate processes
(scheduler, DAG processor, API server, triggerer; a Celery worker too when
the executor is CeleryExecutor) against a private AIRFLOW_HOME, with the
connections given as ``AIRFLOW_CONN_*`` environment variables and the
pool imported from ``include/pools.json``. ``make airflow`` uses SQLite and
LocalExecutor so that it needs nothing but Python; the deployment tests use
the same :class:`AirflowProcesses` with PostgreSQL and CeleryExecutor.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
PLUGINS_FOLDER = REPO / "plugins"
POOLS_FILE = REPO / "include" / "pools.json"
DEMO_FILE = REPO / "include" / "demo_scenario.json"
DEFAULT_HOME = REPO / ".harness" / "local_airflow"
DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "admin"

# Environment a parent process may have set that must not leak into this Airflow
# (the test session's own SQLite home, the scenario harness's approval mode).
_INHERITED_PREFIXES = ("AIRFLOW_", "AIRFLOW__", "OKTA_QS_SYNC_", "_AIRFLOW")

COMPONENTS = ("scheduler", "dag-processor", "api-server", "triggerer")


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when it is free on 127.0.0.1, else any free port."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free TCP port on 127.0.0.1")


@dataclass
class AirflowProcesses:
    """One Airflow deployment: its environment, its component processes, its REST API.

    ``settings`` are extra environment variables (connections, executor,
    database); everything else is derived from ``home`` and ``api_port``.
    """

    home: Path
    sql_alchemy_conn: str
    executor: str = "LocalExecutor"
    api_port: int = 8080
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    settings: dict[str, str] = field(default_factory=dict)
    # More UI users (name -> password, role admin), e.g. the one a target names in ``approvers``.
    extra_users: dict[str, str] = field(default_factory=dict)
    dags_folder: Path = DAGS_FOLDER
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def log_dir(self) -> Path:
        return self.home / "process-logs"

    def environment(self) -> dict[str, str]:
        """The full environment of every Airflow process of this deployment."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
        secrets_file = self.home / "generated-secrets.json"
        if secrets_file.exists():
            generated = json.loads(secrets_file.read_text())
        else:
            from cryptography.fernet import Fernet

            generated = {
                "fernet_key": Fernet.generate_key().decode(),
                "jwt_secret": secrets.token_urlsafe(32),
                "api_secret_key": secrets.token_urlsafe(32),
            }
            self.home.mkdir(parents=True, exist_ok=True)
            secrets_file.write_text(json.dumps(generated))
            secrets_file.chmod(0o600)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_alchemy_conn,
                "AIRFLOW__CORE__FERNET_KEY": generated["fernet_key"],
                # Every component must sign and check the same tokens.
                "AIRFLOW__API_AUTH__JWT_SECRET": generated["jwt_secret"],
                "AIRFLOW__API__SECRET_KEY": generated["api_secret_key"],
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:admin" for u in [self.user, *self.extra_users]),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "simple_auth_manager_passwords.json"),
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.settings)
        return env

    # ---- set-up ---------------------------------------------------------------

    def prepare(self) -> None:
        """Migrate the metadata database, write the UI login, import the pool."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        passwords = self.home / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({self.user: self.password, **self.extra_users}))
        passwords.chmod(0o600)
        self.cli("db", "migrate", timeout=600)
        self.cli("pools", "import", str(POOLS_FILE))

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``airflow ARGS`` with this deployment's environment."""
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.home,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"`airflow {' '.join(args)}` failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    # ---- processes ------------------------------------------------------------

    def start(self, components: tuple[str, ...] = COMPONENTS, worker_concurrency: int = 4) -> None:
        env = self.environment()
        commands = {
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port)],
            "triggerer": ["triggerer"],
            "celery-worker": ["celery", "worker", "--concurrency", str(worker_concurrency)],
        }
        for name in components:
            log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *commands[name]],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,  # its own process group: stop() ends its children too
            )
            log.close()

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"

    def died(self) -> dict[str, int]:
        """Components that exited, with their exit codes."""
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def wait_until_healthy(self, timeout: float = 180) -> None:
        """Until the API answers and the scheduler, DAG processor and triggerer report healthy."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if dead := self.died():
                tails = "\n".join(f"--- {name}.log:\n{self.log_tail(name)}" for name in dead)
                raise RuntimeError(f"Airflow components exited: {dead}\n{tails}")
            try:
                health = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
                states = {k: (v or {}).get("status") for k, v in health.items()}
                wanted = {"metadatabase", "scheduler", "triggerer", "dag_processor"} & states.keys()
                if all(states[k] == "healthy" for k in wanted) and len(wanted) == 4:
                    return
                last = str(states)
            except (requests.RequestException, ValueError) as exc:
                last = type(exc).__name__
            time.sleep(1)
        raise TimeoutError(f"Airflow at {self.api_url} not healthy after {timeout:.0f} s ({last}); see {self.log_dir}")

    def stop(self, grace_s: float = 15) -> None:
        """SIGTERM every component's process group, then SIGKILL what is left."""
        for proc in self.processes.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace_s
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.processes.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # also children the leader left behind
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait(timeout=10)
        self.processes.clear()


class AirflowApi:
    """The deployment's public REST API (``/api/v2``), logged in as a UI user would be."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.base_url = base_url
        self._session = requests.Session()
        answer = self._session.post(f"{base_url}/auth/token", json={"username": user, "password": password}, timeout=30)
        answer.raise_for_status()
        self._session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs):
        answer = self._session.request(method, f"{self.base_url}/api/v2{path}", timeout=60, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} /api/v2{path} -> {answer.status_code}: {answer.text[:2000]}")
        return answer.json() if answer.content else None

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.call("GET", "/dags", params={"limit": 1000})["dags"]}

    def import_errors(self) -> list[dict]:
        return self.call("GET", "/importErrors")["import_errors"]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict) -> str:
        """A manual run with the body the UI's trigger form sends (Airflow 3.3); returns the run id."""
        from datetime import datetime, timezone

        body = {
            "conf": conf,
            "data_interval_end": None,
            "data_interval_start": None,
            "logical_date": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "partition_key": None,
        }
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "run_after"})["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        tis = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        return {ti["task_id"]: ti for ti in tis["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
        entry = self.call(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}", params={"deserialize": True}
        )
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) else value

    def answer_approval(self, dag_id: str, run_id: str, task_id: str, option: str) -> dict:
        """Answer a human-in-the-loop task as the UI's Approve / Reject buttons do."""
        return self.call(
            "PATCH",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails",
            json={"chosen_options": [option], "params_input": {}},
        )

    def clear_run(self, dag_id: str, run_id: str) -> None:
        """Clear every task of a run, as the UI's Clear button on a run does, so it runs again."""
        self.call(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            json={"dag_run_id": run_id, "dry_run": False, "only_failed": False, "reset_dag_runs": True},
        )

    def wait_for_run(self, dag_id: str, run_id: str, states=("success", "failed"), timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in states:
                return run
            if time.monotonic() > deadline:
                tis = {t: ti["state"] for t, ti in self.task_instances(dag_id, run_id).items()}
                raise TimeoutError(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s; tasks {tis}")
            time.sleep(1)

    def wait_for_task(self, dag_id: str, run_id: str, task_id: str, states, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            ti = self.task_instances(dag_id, run_id).get(task_id) or {}
            if ti.get("state") in states:
                return ti
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} {task_id} is {ti.get('state')}, not {states}, after {timeout:.0f} s")
            time.sleep(0.5)


def demo_connections(okta_url: str, quicksight, target: dict, token: str) -> dict[str, str]:
    """AIRFLOW_CONN_* for the target's connection ids, pointing at the local servers."""
    okta_id = target.get("okta_conn_id", "okta_default")
    aws_id = target.get("aws_conn_id", "aws_default")
    return {
        f"AIRFLOW_CONN_{okta_id.upper()}": json.dumps({"conn_type": "okta", "host": okta_url, "password": token}),
        f"AIRFLOW_CONN_{aws_id.upper()}": quicksight.airflow_connection(target["identity_region"]),
    }


def _unpause_when_parsed(airflow: AirflowProcesses, dag_id: str, timeout: float = 120) -> None:
    """The DAG starts paused (is_paused_upon_creation); the local demo unpauses it for you once it is parsed."""
    api = AirflowApi(airflow.api_url, airflow.user, airflow.password)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dag_id in api.dag_ids():
            api.set_paused(dag_id, False)
            return
        time.sleep(2)
    print(f"{dag_id} was not parsed within {timeout:.0f} s: unpause it in the UI once it appears", file=sys.stderr)


def main() -> int:
    from local_servers.okta_server import OktaServer
    from local_servers.quicksight_server import QuickSightServer

    from scenario_harness.runner import target_of

    home = Path(os.environ.get("OKTA_QS_LOCAL_AIRFLOW_HOME") or DEFAULT_HOME)
    scenario = json.loads(DEMO_FILE.read_text())
    # The real approval step: held deletions wait for you in the UI (unless the demo names its own).
    target = {**target_of(scenario), "approval": scenario["target"].get("approval", "ui")}
    okta = OktaServer(scenario["okta"], app_id=target["okta_app_id"])
    quicksight = QuickSightServer(scenario["quicksight"])
    okta_url, _ = okta.start(), quicksight.start()
    home.mkdir(parents=True, exist_ok=True)
    targets_file = home / "targets.json"
    targets_file.write_text(json.dumps({"okta_quicksight_sync": target}, indent=2))

    port = free_port(int(os.environ.get("AIRFLOW_API_PORT") or 8080))
    airflow = AirflowProcesses(
        home=home,
        sql_alchemy_conn=f"sqlite:///{home}/airflow.db",
        api_port=port,
        password=os.environ.get("OKTA_QS_LOCAL_AIRFLOW_PASSWORD") or DEFAULT_PASSWORD,
        settings={
            **demo_connections(okta_url, quicksight, target, scenario["okta"].get("api_token", "local-test-token")),
            "OKTA_QS_SYNC_TARGETS": str(targets_file),
            "OKTA_QS_SYNC_QS_CALLS_PER_SECOND": "0",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        },
    )
    stop = False

    def _stop(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        print(f"Preparing Airflow in {home} (database migration takes a minute the first time)...", flush=True)
        airflow.prepare()
        airflow.start()
        airflow.wait_until_healthy()
        _unpause_when_parsed(airflow, "okta_quicksight_sync")
        print(
            f"\nAirflow UI:  {airflow.api_url}\nLogin:       {airflow.user} / {airflow.password}\n"
            f"DAG:         okta_quicksight_sync (Dags -> okta_quicksight_sync -> Trigger: set dry_run / allow_deletions)\n"
            f"Okta (local):       {okta_url}  (SSWS token {scenario['okta'].get('api_token', 'local-test-token')})\n"
            f"QuickSight (local): {quicksight.url}\n"
            f"Component logs:     {airflow.log_dir}\nCtrl-C stops everything.\n",
            flush=True,
        )
        while not stop:
            if dead := airflow.died():
                print(f"Airflow components exited: {dead}; see {airflow.log_dir}", file=sys.stderr)
                return 1
            time.sleep(1)
        return 0
    finally:
        print("Stopping Airflow and the local servers...", flush=True)
        airflow.stop()
        okta.stop()
        quicksight.stop()


if __name__ == "__main__":
    sys.exit(main())
