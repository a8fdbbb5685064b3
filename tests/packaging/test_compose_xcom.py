"""docker-compose.yaml's XCom settings, exercised: a value over the threshold goes through the
common-io object-storage backend and back.

The settings are read from docker-compose.yaml itself (backend class, threshold, compression); only
the storage path is a local file:// folder instead of the container's volume. The backend reads its
configuration once per process, so the round trip runs in a fresh interpreter with those settings.
A compression name fsspec does not know (compose once said `gz`) fails every XCom over the threshold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
XCOM_SETTINGS = (
    "AIRFLOW__CORE__XCOM_BACKEND",
    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH",
    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD",
    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION",
)

ROUND_TRIP = r"""
import json, sys
from pathlib import Path
from airflow.sdk.execution_time.xcom import resolve_xcom_backend

backend = resolve_xcom_backend()
value = json.loads(Path(sys.argv[1]).read_text())
stored = backend.serialize_value(value, key="return_value", task_id="plan_sync", dag_id="okta_quicksight_sync", run_id="r1")
back = backend.deserialize_value(type("Row", (), {"value": stored})())
print(json.dumps({"backend": f"{backend.__module__}.{backend.__qualname__}",
                  "stored": stored if isinstance(stored, str) else stored.decode(), "equal": back == value}))
"""


@pytest.fixture(scope="module")
def compose_xcom_env() -> dict[str, str]:
    env = yaml.safe_load(COMPOSE_FILE.read_text())["x-airflow-common"]["environment"]
    missing = [name for name in XCOM_SETTINGS if name not in env]
    assert not missing, f"docker-compose.yaml no longer sets {missing}: update this test with the file"
    return {name: str(env[name]) for name in XCOM_SETTINGS}


def _round_trip(settings: dict[str, str], storage: Path, value, tmp_path: Path) -> subprocess.CompletedProcess:
    value_file = tmp_path / "value.json"
    value_file.write_text(json.dumps(value))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__COMMON_IO__")}
    env.update(settings)
    env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"] = storage.as_uri()
    return subprocess.run([sys.executable, "-c", ROUND_TRIP, str(value_file)], env=env, capture_output=True,
                          text=True, timeout=180)


def _big_value(threshold: int) -> dict:
    """A plan-shaped value whose JSON is over the threshold."""
    value = {"plan": {"changes": [{"action": "add_membership", "user": f"user{i}@example.com", "group": f"Okta-g{i % 37}"}
                                  for i in range(threshold // 40 + 100)]}}
    assert len(json.dumps(value)) > threshold
    return value


def test_a_value_over_the_threshold_round_trips_through_object_storage(compose_xcom_env, tmp_path):
    threshold = int(compose_xcom_env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"])
    storage = tmp_path / "xcom"
    storage.mkdir()
    proc = _round_trip(compose_xcom_env, storage, _big_value(threshold), tmp_path)
    assert proc.returncode == 0, (
        "an XCom over the threshold fails with docker-compose.yaml's settings "
        f"{ {k: v for k, v in compose_xcom_env.items() if 'PATH' not in k} }:\n{proc.stderr[-2500:]}"
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["backend"] == compose_xcom_env["AIRFLOW__CORE__XCOM_BACKEND"]
    assert result["equal"], "the value read back differs from the value pushed"
    written = [path for path in storage.rglob("*") if path.is_file()]
    assert len(written) == 1, f"expected the value in one object under {storage}, found {written}"
    assert storage.as_uri().split("://", 1)[1] in result["stored"], "the metadata DB should keep only a reference"
    compression = compose_xcom_env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION"]
    if compression:
        import fsspec.utils

        with fsspec.open(written[0].as_uri(), "rb", compression=compression) as f:
            assert json.loads(f.read()) == json.loads((tmp_path / "value.json").read_text())
        assert written[0].stat().st_size < len((tmp_path / "value.json").read_bytes()), "the object is not compressed"
        assert written[0].suffix.lstrip(".") in fsspec.utils.compressions, written[0].name


def test_a_compression_name_fsspec_does_not_know_fails_the_push(compose_xcom_env, tmp_path):
    """The control: the round trip above would have caught compose's old `gz`."""
    threshold = int(compose_xcom_env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"])
    storage = tmp_path / "xcom"
    storage.mkdir()
    settings = {**compose_xcom_env, "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION": "gz"}
    proc = _round_trip(settings, storage, _big_value(threshold), tmp_path)
    assert proc.returncode != 0 and "Compression gz is not supported" in proc.stderr, proc.stderr[-1500:]
