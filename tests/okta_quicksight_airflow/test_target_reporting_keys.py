"""A target's notify, approvers and report_path are checked when the DAG file is read: a bad one makes
that target's broken-config DAG naming the key and the fix; the others keep their sync DAG."""

from __future__ import annotations

import json

import pytest

from okta_quicksight_airflow.targets import load_targets_leniently
from okta_quicksight_sync.config import TargetConfig
from scenario_harness.runner import _environment, load_dag

TARGET = {"okta_app_id": "0oaqs1", "saml_roles": {"QuickSightReader": "READER"}, "schedule": None}
GOOD = {**TARGET, "notify": {"email": ["idm@example.com"], "on": ["failed", "held"]},
        "approvers": ["alice", {"id": "7", "name": "bob"}], "report_path": "file:///tmp/okta-qs-reports"}


def _load(tmp_path, targets: dict):
    path = tmp_path / "targets.json"
    path.write_text(json.dumps(targets))
    return load_targets_leniently(path)


def test_good_reporting_keys_parse_and_travel_in_the_config(tmp_path):
    targets, broken = _load(tmp_path, {"t": GOOD})
    assert broken == {}
    out = targets["t"].to_dict()
    assert out["notify"] == GOOD["notify"] and out["report_path"] == "file:///tmp/okta-qs-reports"
    assert out["approvers"] == ["alice", {"id": "7", "name": "bob"}]
    assert TargetConfig.from_dict(json.loads(json.dumps(out))) == targets["t"]


@pytest.mark.parametrize(("change", "needles"), [
    ({"notify": {"email": ["idm.example.com"]}}, ["notify.email", "is not an email address"]),
    ({"notify": {"email": ["a@example.com"], "on": ["deleted"]}}, ["notify.on", "the events are"]),
    ({"notify": {"notifiers": [{"class": "no.such.Notifier"}]}}, ["notify.notifiers[0].class", "install its provider"]),
    ({"notify": "idm@example.com"}, ["notify must be an object"]),
    ({"approvers": []}, ["approvers must be a non-empty list"]),
    ({"approvers": ["alice", {"id": 7}]}, ["approvers[1]", "must be a user name or"]),
    ({"report_path": "/var/reports"}, ["report_path must be a URL", "file://"]),
])
def test_a_bad_reporting_key_stops_only_its_target(tmp_path, change, needles):
    targets, broken = _load(tmp_path, {"good": GOOD, "bad": {**TARGET, **change}})
    assert set(targets) == {"good"} and set(broken) == {"bad"}
    for needle in needles:
        assert needle in broken["bad"], (needle, broken["bad"])


def test_the_broken_target_dag_names_the_key(tmp_path):
    path = tmp_path / "targets.json"
    path.write_text(json.dumps({"good": GOOD, "bad": {**TARGET, "approvers": "alice"}}))
    with _environment({"OKTA_QS_SYNC_TARGETS": str(path)}):
        bad, good = load_dag("bad"), load_dag("good")
    assert bad.task_ids == ["config_error"] and "approvers" in bad.description
    assert "approve_deletions" in good.task_ids
