"""The Dockerfile: the pinned official Airflow image plus the project's requirements.

Checked by reading it (no Docker engine runs here): the base image's Airflow
and Python versions agree with constraints.txt (the tested versions) and the
project's requires-python, the requirements and the Okta provider are
installed the official image's way, and the development tools stay out.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS = ROOT / "requirements.txt"
CONSTRAINTS = ROOT / "constraints.txt"
DOCKERIGNORE = ROOT / ".dockerignore"
OFFICIAL_IMAGE = re.compile(r"^apache/airflow:(?P<airflow>\d+\.\d+\.\d+)-python(?P<python>3\.\d+)$")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined, result = "", []
    for line in text.splitlines():
        if not joined and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            joined += line.rstrip()[:-1] + " "
            continue
        joined += line
        keyword, _, arguments = joined.strip().partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        joined = ""
    return result


def expand(text: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)


def parse_env(arguments: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in shlex.split(arguments))


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def requirement_pins(path: Path = CONSTRAINTS) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def build_state(steps) -> list[dict]:
    """Each step with the ENV, USER and WORKDIR in force when it runs."""
    env, user, workdir, states = {}, "airflow", "/opt/airflow", []
    for keyword, arguments in steps:
        states.append({"keyword": keyword, "arguments": expand(arguments, env), "user": user, "workdir": workdir})
        if keyword == "ENV":
            env.update({key: expand(value, env) for key, value in parse_env(arguments).items()})
        elif keyword == "USER":
            user = arguments.split(":")[0]
        elif keyword == "WORKDIR":
            workdir = str(PurePosixPath(workdir) / expand(arguments, env))
    return states


def test_instructions_parser_joins_continuations():
    parsed = instructions("# c\nFROM x\nRUN a \\\n    && b\n\nENV A=1 B=2\n")
    assert parsed == [("FROM", "x"), ("RUN", "a      && b"), ("ENV", "A=1 B=2")]


def test_builds_from_the_pinned_official_image_with_the_required_airflow(steps):
    froms = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert len(froms) == 1, f"expected one FROM, got {froms}"
    match = OFFICIAL_IMAGE.match(froms[0])
    assert match, f"FROM {froms[0]!r} is not a pinned official image (apache/airflow:X.Y.Z-pythonA.B)"
    pins = requirement_pins()
    assert "apache-airflow" in pins, "constraints.txt should pin apache-airflow (the tested version)"
    assert match["airflow"] == pins["apache-airflow"], (
        f"the image has Airflow {match['airflow']}, constraints.txt (what the tests ran) pins {pins['apache-airflow']}"
    )
    assert pins.get("apache-airflow-core", match["airflow"]) == match["airflow"], "apache-airflow-core differs from the image"
    for distribution in ("include", "plugins"):
        project = tomllib.loads((ROOT / distribution / "pyproject.toml").read_text())["project"]
        assert SpecifierSet(project["requires-python"]).contains(match["python"]), (
            f"{distribution}/ requires Python {project['requires-python']}, the image has {match['python']}"
        )


def test_installs_requirements_as_the_airflow_user_from_the_copied_project(steps):
    states = build_state(steps)
    installs = [s for s in states if s["keyword"] == "RUN" and re.search(r"\bpip install\b.*-r requirements\.txt", s["arguments"])]
    assert len(installs) == 1, "expected one `pip install ... -r requirements.txt`"
    install = installs[0]
    assert install["user"] == "airflow", "the official image installs packages as the airflow user, not root"
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install["arguments"], (
        "pin apache-airflow to the image's own version in the same pip call, as the official docs do"
    )
    copies = {}
    for state in states[: states.index(install)]:
        if state["keyword"] == "COPY":
            words = [w for w in shlex.split(state["arguments"]) if not w.startswith("--")]
            for source in words[:-1]:
                copies[source.rstrip("/")] = PurePosixPath(words[-1])
    assert "requirements.txt" in copies, "requirements.txt is not copied before the install"
    project_dir = copies["requirements.txt"].parent
    assert PurePosixPath(install["workdir"]) == project_dir, (
        "pip resolves ./plugins from the working directory: run it where requirements.txt is"
    )
    pip_call = next(part for part in install["arguments"].split("&&") if "pip install" in part)
    words = shlex.split(pip_call)
    assert "./plugins" in words, "install the Okta provider distribution (./plugins): the `okta` connection form needs it"
    assert not {"-e", "--editable"} & set(words), "the image installs nothing editable"
    for source in ("include", "plugins", "dags"):
        assert source in copies, f"the Dockerfile does not copy {source}/"
        assert copies[source].as_posix().rstrip("/") == (project_dir / source).as_posix(), (
            f"{source}/ is copied to {copies[source]}, not beside requirements.txt in {project_dir}:"
            " the DAG file finds include/ beside dags/"
        )


def test_copied_sources_exist_and_are_not_dockerignored(steps):
    ignored = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()
               if line.strip() and not line.startswith(("#", "!"))}
    for keyword, arguments in steps:
        if keyword != "COPY":
            continue
        words = [w for w in shlex.split(arguments) if not w.startswith("--")]
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the project"
            assert source.rstrip("/") not in ignored, f"COPY {source}, but .dockerignore excludes it"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build():
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    for entry in (".env", ".venv", ".git", "**/*.egg-info", "logs", "config"):
        assert entry in ignored, f".dockerignore should exclude {entry}"


def test_dockerignore_keeps_the_development_tools_out_of_the_image():
    """The local servers, the scenario harness and the demo org are test tools, not the product."""
    ignored = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()}
    for path in ("include/local_servers", "include/scenario_harness", "include/demo_scenario.json", "tests"):
        assert (ROOT / path).exists(), f"{path} is gone: update this test"
        assert path in ignored, f".dockerignore should exclude {path}: it is not part of the production image"
    for path in ("include/okta_quicksight_sync", "include/okta_quicksight_airflow", "include/targets.json",
                 "include/pools.json"):
        assert path not in ignored, f"{path} is part of the product; .dockerignore must not exclude it"


def test_requirements_leave_the_host_airflow_alone():
    """requirements.txt is what a platform adds: no Airflow pin, no editable or local paths, no test tools."""
    lines = [line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    entries = [line for line in lines if line]
    names = {re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower().replace("_", "-") for line in entries}
    assert not any(line.startswith(("-e", "--editable", ".", "/", "-r", "-c")) for line in entries), entries
    for host_owned in ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"):
        assert host_owned not in names, f"requirements.txt must not pin {host_owned}: the host brings its own Airflow"
    dev_only = {"pytest", "pytest-timeout", "hypothesis", "openapi-core", "moto", "jsonschema", "playwright",
                "apache-airflow-providers-celery", "apache-airflow-providers-postgres", "celery"}
    assert not names & dev_only, f"test and deployment-test tools belong in requirements-dev.txt: {sorted(names & dev_only)}"
    assert not any("==" in line for line in entries), "requirements.txt gives ranges; exact pins are constraints.txt's"


def test_image_points_airflow_at_the_project_folders(steps):
    env = {}
    for state in build_state(steps):
        if state["keyword"] == "ENV":
            env.update({k: expand(v, env) for k, v in parse_env(state["arguments"]).items()})
    project_dir = env.get("PROJECT_DIR")
    assert project_dir, "expected ENV PROJECT_DIR"
    assert env.get("AIRFLOW__CORE__DAGS_FOLDER") == f"{project_dir}/dags"
    assert env.get("AIRFLOW__CORE__PLUGINS_FOLDER") == f"{project_dir}/plugins"
    assert not any("_PIP_ADDITIONAL_REQUIREMENTS" in arguments for _, arguments in steps)
