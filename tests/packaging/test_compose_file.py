"""docker-compose.yaml, checked without a Docker engine.

No Docker runs where the tests run, so the file is proven here instead: valid
against the Compose Specification's JSON schema, the official Airflow 3 layout,
an image built from ./Dockerfile, and every path, module, Airflow command and
${VAR} it names backed by something real in the project.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
# Vendored from compose-spec/compose-spec (Apache-2.0); source and checksum in its README.
COMPOSE_SCHEMA_DIR = ROOT / "tests" / "vendor" / "compose"
COMPOSE_SCHEMA = COMPOSE_SCHEMA_DIR / "compose-spec.json"

OFFICIAL_SERVICES = {
    "postgres": None,
    "redis": None,
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
    "airflow-init": None,
}
AIRFLOW_SERVICES = [name for name in OFFICIAL_SERVICES if name.startswith("airflow-")]
LOCAL_PROFILE = "local"
POOL_NAME = "okta_quicksight_sync"
# Directories Docker creates on first start and Airflow writes to; never part of a checkout.
RUNTIME_DIRS = {"logs", "config"}

VAR_PATTERN = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default} and $$ escapes, for paths and commands."""

    def replace(match: re.Match) -> str:
        name, op, default = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        if op == ":-":
            return value if value else default
        if op == "-":
            return default if value is None else value
        return value or ""

    return VAR_PATTERN.sub(replace, text).replace("$$", "$")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def env_example_values() -> dict[str, str]:
    """The active (uncommented) assignments of .env.example, quotes removed."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = _unquote(match.group(2))
    return values


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def bind_mounts(service: dict) -> list[tuple[Path, PurePosixPath]]:
    """(host path in the project, container path) of each bind mount, with compose defaults."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") != "bind":
                continue
            source, target = volume["source"], volume["target"]
        else:
            parts = interpolate(volume, {}).split(":")
            source, target = parts[0], parts[1]
            if not source.startswith(("$", ".", "/")):
                continue  # a named volume
        host = (COMPOSE_FILE.parent / interpolate(source, {})).resolve()
        mounts.append((host, PurePosixPath(target)))
    return mounts


def host_path_for(service: dict, container_path: str) -> Path | None:
    """The project file a container path resolves to through the service's bind mounts."""
    path = PurePosixPath(container_path)
    for host, target in bind_mounts(service):
        if path == target or target in path.parents:
            return host.joinpath(*path.relative_to(target).parts)
    return None


def command_words(service: dict) -> list[str]:
    command = service.get("command", [])
    if isinstance(command, str):
        return shlex.split(interpolate(command, {}))
    return [interpolate(str(word), {}) for word in command]


def init_script(services: dict) -> str:
    words = command_words(services["airflow-init"])
    assert services["airflow-init"].get("entrypoint") == "/bin/bash" and words[0] == "-c", (
        "airflow-init should run its script with `/bin/bash -c` as the official compose file does"
    )
    return words[1]


def airflow_invocations(services: dict) -> list[list[str]]:
    """Every `airflow ...` command line the deployment runs, as argv after `airflow`."""
    invocations = []
    for name in AIRFLOW_SERVICES:
        if name != "airflow-init":
            invocations.append(command_words(services[name]))
    for line in init_script(services).splitlines():
        words = shlex.split(line, comments=True) if "airflow " in line else []
        if "airflow" in words and (words[0] in ("/entrypoint", "airflow")):
            argv = words[words.index("airflow") + 1 :]
            shell = [i for i, word in enumerate(argv) if word[0] in "<>|&;" or word[:2] in ("2>", "1>")]
            invocations.append(argv[: shell[0]] if shell else argv)
    for name in AIRFLOW_SERVICES:
        test = services[name].get("healthcheck", {}).get("test", [])
        if isinstance(test, list) and test and test[0] == "CMD-SHELL" and test[1].startswith("airflow "):
            line = interpolate(test[1], {}).replace("${HOSTNAME}", "somehost")
            invocations.append(shlex.split(line)[1:])
    return invocations


# ---- the specification --------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification(compose):
    assert COMPOSE_SCHEMA.is_file(), f"the Compose JSON schema is missing at {COMPOSE_SCHEMA}: restore it from git"
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda error: list(error.absolute_path))
    assert not errors, "docker-compose.yaml breaks the Compose specification:\n" + "\n".join(
        f"  at {'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}" for error in errors
    )


# ---- the official Airflow 3 layout ---------------------------------------------------------------


def test_has_the_official_airflow_services_with_their_commands(services):
    missing = sorted(set(OFFICIAL_SERVICES) - set(services))
    assert not missing, f"docker-compose.yaml lacks the official services {missing}"
    for name, command in OFFICIAL_SERVICES.items():
        if command:
            assert " ".join(command_words(services[name])) == command, f"{name} should run `airflow {command}`"


def test_runs_celery_with_redis_and_postgres(services):
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:") or env[
            "AIRFLOW__CELERY__BROKER_URL"
        ].startswith("redis://:@redis:"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        assert "@postgres/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert depends["airflow-init"]["condition"] == "service_completed_successfully", name


def test_airflow_services_use_the_image_built_from_the_dockerfile(services):
    images = set()
    for name in AIRFLOW_SERVICES + ["local-servers"]:
        build = services[name].get("build")
        assert build, f"{name} should be built from ./Dockerfile, not pulled"
        context = (COMPOSE_FILE.parent / interpolate(build["context"], {})).resolve()
        assert context == ROOT, f"{name} builds from {context}, not the project root"
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), f"{name}: no Dockerfile in {context}"
        images.add(interpolate(services[name]["image"], {}))
    assert len(images) == 1, f"all services should run one image, found {images}"
    installing_at_start = sorted(name for name, service in services.items()
                                 if "_PIP_ADDITIONAL_REQUIREMENTS" in (service.get("environment") or {}))
    assert not installing_at_start, (
        f"{installing_at_start}: requirements belong in the image (Dockerfile), not in _PIP_ADDITIONAL_REQUIREMENTS"
    )


# ---- paths, modules and commands ------------------------------------------------------------------


def test_every_mounted_host_path_exists_in_the_project(services):
    for name, service in services.items():
        for host, target in bind_mounts(service):
            assert ROOT in host.parents, f"{name} mounts {host}, outside the project"
            relative = host.relative_to(ROOT)
            if relative.parts[0] in RUNTIME_DIRS:
                continue  # created by Docker on start; test_runtime_dirs_are_not_committed covers them
            assert host.exists(), f"{name} mounts {relative} at {target}, but the project has no {relative}"


def test_runtime_dirs_are_not_committed(services):
    mounted = {host.relative_to(ROOT).parts[0] for service in services.values() for host, _ in bind_mounts(service)}
    runtime = sorted(mounted & RUNTIME_DIRS)
    assert runtime, "expected ./logs and ./config mounts as in the official layout"
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *[f"{name}/x" for name in runtime]],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )
    ignored = {line.split("/")[0] for line in result.stdout.split()}
    not_ignored = sorted(set(runtime) - ignored)
    assert not not_ignored, f"add {[f'/{name}/' for name in not_ignored]} to .gitignore: Airflow writes logs and secrets there"


def test_code_is_mounted_where_the_image_installed_it(services):
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name in AIRFLOW_SERVICES:
        targets = {host.relative_to(ROOT).parts[0]: str(target) for host, target in bind_mounts(services[name])}
        for package in ("dags", "include", "plugins"):
            assert package in targets, f"{name} does not mount ./{package}"
            project_dir = str(PurePosixPath(targets[package]).parent)
            assert f"PROJECT_DIR={project_dir}" in dockerfile, (
                f"{name} mounts ./{package} at {targets[package]}, but the Dockerfile installs the project elsewhere"
            )
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == targets["dags"], name
        assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == targets["plugins"], name


def test_local_servers_command_names_a_real_module_and_scenario(services):
    service = services["local-servers"]
    assert service.get("profiles") == [LOCAL_PROFILE], "the local stand-ins run only with --profile local"
    words = command_words(service)
    assert words[:2] == ["python", "-m"], f"expected `python -m <module> ...`, got {words}"
    module = words[2]
    package = ROOT / "include" / module
    assert (package / "__main__.py").is_file(), f"`python -m {module}` needs include/{module}/__main__.py"
    scenario = words[3]
    host = host_path_for(service, scenario)
    assert host is not None, f"{scenario} is not under any of local-servers' mounts"
    assert host.is_file(), f"local-servers reads {scenario}, but the project has no {host.relative_to(ROOT)}"
    json.loads(host.read_text())


def test_local_servers_cli_accepts_the_options_compose_passes(services):
    words = command_words(services["local-servers"])
    options = [word for word in words if word.startswith("--")]
    assert options, "expected --host and port options"
    # This checkout's include/ first, as in the container where it is mounted over the installed copy.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", words[2], "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 0, f"`python -m {words[2]} --help` failed:\n{result.stderr[-2000:]}"
    unknown = [option for option in options if not re.search(rf"{re.escape(option)}(?![\w-])", result.stdout)]
    assert not unknown, f"`python -m {words[2]}` does not accept {unknown}"


def test_every_airflow_command_it_runs_exists_with_these_arguments(services, tmp_path):
    """Each `airflow ...` line is parsed by the installed Airflow's own CLI parser (Celery commands included)."""
    invocations = airflow_invocations(services)
    assert len(invocations) >= len(AIRFLOW_SERVICES) + 2, invocations
    checker = r"""
import argparse, json, sys
from airflow.cli.cli_parser import get_parser
problems = []
for argv in json.loads(sys.argv[1]):
    parser, rest, found = get_parser(), list(argv), True
    while True:
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subparsers:
            break
        if not rest or rest[0] not in subparsers[0].choices:
            problems.append(f"airflow {' '.join(argv)}: no such command")
            found = False
            break
        parser = subparsers[0].choices[rest.pop(0)]
    if found:
        try:
            parser.parse_args(rest)
        except SystemExit:
            problems.append(f"airflow {' '.join(argv)}: arguments rejected")
print(json.dumps(problems))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [sys.executable, "-c", checker, json.dumps(invocations)], capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    problems = json.loads(result.stdout.strip().splitlines()[-1])
    assert not problems, "\n".join(problems)


# ---- the pool and the environment ----------------------------------------------------------------


def test_airflow_init_creates_the_pool_the_dag_uses(services):
    pool_commands = [
        shlex.split(line)
        for line in init_script(services).splitlines()
        if "airflow pools set" in line
    ]
    assert pool_commands, "airflow-init should run `airflow pools set ...` so the DAG's pool exists"
    words = pool_commands[0]
    name, slots = words[words.index("set") + 1], words[words.index("set") + 2]
    assert name == POOL_NAME, f"airflow-init creates pool {name!r}, the DAG uses {POOL_NAME!r}"
    assert int(slots) >= 1
    sources = [
        path
        for folder in (ROOT / "dags", ROOT / "include")
        for pattern in ("*.py", "*.json")
        for path in folder.rglob(pattern)
        if ".egg-info" not in str(path)
    ]
    # e.g. pool="okta_quicksight_sync", SYNC_POOL = "...", or "pool": "..." in a JSON config
    assignment = re.compile(rf"pool\w*[\"']?\s*[=:]\s*[\"']{POOL_NAME}[\"']", re.IGNORECASE)
    assert any(assignment.search(path.read_text()) for path in sources), (
        f"no DAG code names the pool {POOL_NAME!r}: airflow-init would create a pool nothing uses"
    )


def test_env_example_lists_every_variable_the_compose_file_reads(compose_text):
    used = set(VAR_PATTERN.findall(compose_text))
    used = {name for name, _, _ in used}
    assert "AIRFLOW_UID" in used, "expected the compose file to read AIRFLOW_UID"
    listed = env_example_values()
    missing = sorted(used - set(listed))
    assert not missing, f".env.example lacks {missing}, which docker-compose.yaml reads"


def test_services_read_the_optional_env_file(services):
    for name in AIRFLOW_SERVICES:
        env_files = services[name].get("env_file")
        assert env_files == [{"path": ".env", "required": False}], (
            f"{name} should take connections from an optional .env, got {env_files}"
        )


def test_connection_examples_are_valid_json(compose_text):
    examples = []
    for line in ENV_EXAMPLE.read_text().splitlines() + compose_text.splitlines():
        match = re.match(r"^[#\s]*(AIRFLOW_CONN_[A-Z0-9_]+)=(.*)$", line)
        if match:
            examples.append((match.group(1), _unquote(match.group(2))))
    assert len(examples) >= 4, examples
    for name, value in examples:
        try:
            connection = json.loads(value)
        except ValueError as error:
            pytest.fail(f"{name}={value[:60]}... is not JSON: {error}")
        assert connection.get("conn_type") in ("okta", "aws"), name


def test_local_connections_point_at_the_local_servers(services):
    """The active .env.example connections reach the local-servers service on the ports it listens on."""
    service = services["local-servers"]
    words = command_words(service)
    okta_port = words[words.index("--okta-port") + 1]
    quicksight_port = words[words.index("--quicksight-port") + 1]
    hostnames = {"local-servers", *service["networks"]["default"]["aliases"]}
    values = env_example_values()
    okta = json.loads(values["AIRFLOW_CONN_OKTA_DEFAULT"])
    aws = json.loads(values["AIRFLOW_CONN_AWS_DEFAULT"])
    okta_host = re.match(r"^http://([^:/]+):(\d+)$", okta["host"])
    assert okta_host and okta_host.group(1) in hostnames and okta_host.group(2) == okta_port, okta["host"]
    assert okta["password"] == "local-test-token"
    assert okta["extra"]["okta_allow_insecure_http"] is True, "plain http to a non-loopback host needs the opt-in"
    endpoint = re.match(r"^http://([^:/]+):(\d+)$", aws["extra"]["endpoint_url"])
    assert endpoint and endpoint.group(1) in hostnames and endpoint.group(2) == quicksight_port, aws["extra"]
    assert aws["extra"]["region_name"] == "us-east-1"


def test_vendored_schema_is_the_one_its_readme_names():
    readme = (COMPOSE_SCHEMA_DIR / "README.md").read_text()
    named = re.search(r"sha256 \| `([0-9a-f]{64})`", readme)
    assert named, "tests/vendor/compose/README.md should give the schema's sha256"
    assert hashlib.sha256(COMPOSE_SCHEMA.read_bytes()).hexdigest() == named.group(1), (
        "compose-spec.json is not the file its README names: update the README's source and sha256 with the file"
    )
    assert "Apache" in readme and (COMPOSE_SCHEMA_DIR / "LICENSE-2.0.txt").is_file(), "note the schema's licence beside it"


def test_local_servers_run_from_the_mounted_checkout(services):
    """The image does not ship the local servers: the service imports them from the mounted include/."""
    service = services["local-servers"]
    mounts = {host.relative_to(ROOT).parts[0]: str(target) for host, target in bind_mounts(service)}
    assert "include" in mounts, "local-servers should mount ./include, where the local servers live"
    module = command_words(service)[2]
    search_path = [service.get("working_dir", "")] + str(service.get("environment", {}).get("PYTHONPATH", "")).split(":")
    assert mounts["include"] in search_path, (
        f"`python -m {module}` needs {mounts['include']} on PYTHONPATH (or as working_dir): the image has no {module}"
    )


def test_interpolate_follows_compose_rules():
    assert interpolate("${A:-x}/${B-y}/${C}/$${D}", {"A": "", "B": "", "C": "c"}) == "x//c/${D}"
    assert interpolate("${A:-x}", {"A": "a"}) == "a"


def test_airflow_init_script_is_valid_bash(services):
    result = subprocess.run(["bash", "-n"], input=init_script(services), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"airflow-init's script does not parse: {result.stderr}"
