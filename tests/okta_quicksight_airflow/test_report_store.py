"""Reports written through Airflow's ObjectStoragePath: JSON with every item, markdown for people, at known paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.okta_quicksight_sync.sync_builders import config, directory, okta, ou, qu, run

from okta_quicksight_airflow.report_store import check_report_path, write_report
from okta_quicksight_sync.report import build_report

R = "QuickSightReader"
RUN_ID = "scheduled__2026-12-02T12:00:00+00:00"


def _held_report():
    memory = directory([qu(f"{R}/gone{i}@example.com") for i in range(3)])
    cfg = config(max_deletions=2)
    planned, results = run(cfg, okta([ou(f"u{i}") for i in range(5)]), memory)
    return build_report(cfg, planned, results, {"quicksight": dict(memory.api_calls)}, 1.5)


def test_json_and_markdown_land_under_the_base_per_dag_and_run(tmp_path):
    report = _held_report()
    paths = write_report(report, dag_id="okta_quicksight_sync", run_id=RUN_ID, base=f"file://{tmp_path}/reports/")
    stem = tmp_path / "reports" / "okta_quicksight_sync" / "scheduled__2026-12-02T12_00_00+00_00"
    assert paths == {"json": f"file://{stem}.json", "markdown": f"file://{stem}.md"}
    assert json.loads(Path(f"{stem}.json").read_text()) == report
    text = Path(f"{stem}.md").read_text()
    assert text.startswith(f"# okta_quicksight_sync, run {RUN_ID}\n\n**Held**: 3 deletions wait")
    assert f"deprovision_user `{R}/gone2@example.com`" in text and "## Counts" in text

    # a rerun of the same run id replaces its report, it does not pile up
    report["outcome"] = "success"
    write_report(report, dag_id="okta_quicksight_sync", run_id=RUN_ID, base=f"file://{tmp_path}/reports")
    assert json.loads(Path(f"{stem}.json").read_text())["outcome"] == "success"
    assert len(list((tmp_path / "reports" / "okta_quicksight_sync").iterdir())) == 2


def test_default_base_is_under_airflow_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    paths = write_report(_held_report(), dag_id="t1", run_id="manual__1")
    expected = tmp_path / "home" / "okta_quicksight_sync" / "reports" / "t1" / "manual__1.json"
    assert paths["json"] == f"file://{expected}" and expected.is_file()


@pytest.mark.parametrize("value", ["/var/reports", "reports", 7])
def test_a_report_path_that_is_not_a_url_is_refused_with_the_fix(value):
    with pytest.raises(ValueError, match=r"t1: report_path must be a URL like file:///var/reports or s3://"):
        check_report_path(value, "t1")
    assert check_report_path(None) is None
