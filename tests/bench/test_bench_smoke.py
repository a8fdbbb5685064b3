"""The benchmark at its smallest size, so that `make bench` keeps working.

Asserts what must hold whatever the machine: structure, and call counts
read from the local servers' counters. Never timings.
"""

from __future__ import annotations

import json
import os

import pytest

from bench import __main__ as bench_main
from bench import doc, measure


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, migrated_home):
    out = tmp_path_factory.mktemp("bench")
    # A copy of the session's migrated database (tests/conftest.py), so the runs need not migrate another.
    home = migrated_home(out / "airflow")
    results = bench_main.main(["--smoke", "--out", str(out / "benchmarks.md"), "--json", str(out / "results.json"),
                               "--airflow-home", str(home)])
    return results, out


def _workload(results, name):
    found = [w for w in results["workloads"] if w["name"] == name and w["size"] == "1k"]
    assert len(found) == 1, [(w["name"], w["size"]) for w in results["workloads"]]
    return found[0]


def test_steady_state_writes_nothing_and_reads_at_the_page_minimum(smoke):
    results, _ = smoke
    steady = _workload(results, "steady state")
    calls = measure.split_quicksight(steady["ours"]["quicksight_calls"])
    assert calls["writes"] == {}
    assert steady["ours"]["okta_calls"] == steady["minimum"]["okta"]
    # the DAG stores the incremental cursor after a converged full run: one System Log page, counted here too
    assert steady["ours"]["cursor_stored"] and steady["ours"]["cursor_okta_calls"] == {measure.OKTA_LOGS: 1}
    assert steady["minimum"]["okta"][measure.OKTA_LOGS] == 1
    assert {op: calls["reads"].get(op, 0) for op in steady["minimum"]["quicksight_reads"]} == \
        steady["minimum"]["quicksight_reads"]
    assert steady["ours"]["outcome"] == "success"


def test_baseline_makes_more_okta_calls_than_the_sync(smoke):
    results, _ = smoke
    for name in ("steady state", "churn"):
        w = _workload(results, name)
        f = doc.figures(w)
        assert f["base_okta"] > f["okta"]
        # one request per app user for its groups, as the reference design does
        assert w["baseline"]["okta_calls"][measure.OKTA_USER_GROUPS] == w["app_users"]


def test_churn_registers_and_deletes_exactly_the_changes(smoke):
    results, _ = smoke
    churn = _workload(results, "churn")
    calls, expected = churn["ours"]["quicksight_calls"], churn["expected_writes"]
    assert churn["ours"]["outcome"] == "success"
    for op in ("RegisterUser", "DeleteUser", "CreateGroupMembership"):
        assert calls.get(op, 0) == expected[op], op
    assert calls.get("DeleteGroupMembership", 0) >= expected["DeleteGroupMembership"]
    assert churn["ours"]["okta_calls"] == churn["minimum"]["okta"]
    # the baseline converges to the same QuickSight identities from the same start
    assert churn["baseline"]["writes"].get("RegisterUser", 0) == expected["RegisterUser"]


def test_rate_limited_run_reports_its_floor(smoke):
    results, _ = smoke
    rl = results["rate_limited"]
    assert rl["floor_s"] == max(rl["buckets_s"].values()) > 0
    assert set(rl["buckets_s"]) >= {"okta /api/v1/apps", "okta /api/v1/groups", "quicksight"}
    assert rl["ours"]["outcome"] == "success"


def test_report_and_json_are_written(smoke):
    results, out = smoke
    text = (out / "benchmarks.md").read_text()
    for heading in ("## Machine and versions", "## Targets", "## Steady state", "## Churn", "## Incremental runs",
                    "## Under rate limits", "## Summary"):
        assert heading in text
    assert results["summary"] in text
    assert json.loads((out / "results.json").read_text())["summary"] == results["summary"]
    assert len(results["targets"]) == 8  # five for full runs, three for incremental runs
    assert all(t["met"] in (True, False, None) for t in results["targets"])


def test_rate_limited_section_shows_quicksight_calls_and_throttles_per_operation(smoke):
    results, out = smoke
    rl = results["rate_limited"]
    calls, throttled = rl["ours"]["quicksight_calls"], rl["ours"]["quicksight_throttled"]
    # the QuickSight bucket counts only the calls the server took: refusals are not work the sync needs
    assert rl["buckets_s"]["quicksight"] == (sum(calls.values()) - sum(throttled.values())) / rl["qs_per_second_scaled"]
    text = (out / "benchmarks.md").read_text()
    assert "| operation | calls | throttled |" in text
    for op, n in calls.items():
        assert f"| `{op}` | {n:,} | {throttled.get(op, 0):,} |" in text
    assert f"| all | {sum(calls.values()):,} | {sum(throttled.values()):,} |" in text


def test_the_rate_limited_run_alone(tmp_path, migrated_home, capsys):
    home = migrated_home(tmp_path / "airflow")
    results = bench_main.main(["--rate-limited-only", "--rate-limited-size", "1k", "--time-scale", "60",
                               "--json", str(tmp_path / "rl.json"), "--airflow-home", str(home)])
    assert "workloads" not in results  # nothing else ran
    rl = results["rate_limited"]
    assert rl["size"] == "1k" and rl["ours"]["outcome"] == "success"
    assert rl["ours"]["quicksight_calls"].get("ListGroupMemberships", 0) > 0
    assert "| operation | calls | throttled |" in capsys.readouterr().out
    assert json.loads((tmp_path / "rl.json").read_text())["rate_limited"]["floor_s"] == rl["floor_s"]
    with pytest.raises(SystemExit):
        bench_main.main(["--rate-limited-only", "--rate-limited-size", "none"])


def test_incremental_nothing_changed_reads_one_log_page_and_no_quicksight(smoke):
    results, _ = smoke
    [row] = results["incremental"]
    assert row["size"] == "1k" and row["full"]["cursor_stored"]
    nothing = row["nothing"]
    assert nothing["mode"] == "incremental" and nothing["fallback_reason"] is None
    assert nothing["okta_calls"] == {"GET /api/v1/logs": 1}
    assert nothing["quicksight_calls"] == {}
    assert row["baseline"]["okta_calls"][measure.OKTA_USER_GROUPS] == row["app_users"]


def test_incremental_churn_makes_the_days_changes_within_the_budget_and_converges(smoke):
    results, _ = smoke
    [row] = results["incremental"]
    churn = row["churn"]
    assert churn["modes"] == {"incremental": row["slices"]} and churn["fallbacks"] == []
    assert churn["outcomes"] == {"success": row["slices"]}
    changes = churn["changes"]
    assert churn["changed_people"] == changes["joiners"] + changes["leavers"] + changes["movers"]
    for op in ("RegisterUser", "DeleteUser", "CreateGroupMembership"):
        assert churn["quicksight_calls"].get(op, 0) == churn["expected_writes"][op], op
    assert churn["calls"]["okta"] <= 5 * churn["changed_people"]
    assert churn["calls"]["qs_reads"] <= 10 * churn["changed_people"]
    # the full run after the day finds nothing to write: the incremental runs converged
    after = row["full_after"]
    assert after["mode"] == "full" and after["outcome"] == "success"
    assert measure.split_quicksight(after["quicksight_calls"])["writes"] == {}
    assert {t["target"][:40]: t["met"] for t in results["targets"] if t["target"].startswith("Incremental")} == {
        "Incremental, nothing changed: at most 2 ": True,
        "Incremental, per changed person: at most": True,
        "Incremental at 10k, nothing changed: at ": None,  # judged at 10k only
    }


def test_the_incremental_rows_alone(tmp_path, migrated_home, capsys):
    home = migrated_home(tmp_path / "airflow")
    results = bench_main.main(["--incremental-only", "--incremental-sizes", "1k", "--slices", "3", "--no-baseline",
                               "--json", str(tmp_path / "inc.json"), "--airflow-home", str(home)])
    assert "workloads" not in results  # nothing else ran
    [row] = results["incremental"]
    assert row["slices"] == 3 and row["churn"]["modes"] == {"incremental": 3}
    assert "baseline" not in row
    out = capsys.readouterr().out
    assert "| 1k | a day's churn in 3 runs | 3 |" in out and "| target | measured | met |" in out
    assert json.loads((tmp_path / "inc.json").read_text())["incremental"][0]["slices"] == 3
    with pytest.raises(SystemExit):
        bench_main.main(["--incremental-only", "--incremental-sizes", "2k"])


def test_the_document_is_rendered_again_from_the_stored_results(smoke, tmp_path):
    """--doc-only measures nothing: the same figures, with the event section from its file when it exists."""
    results, out = smoke
    again = bench_main.main(["--doc-only", "--results", str(out / "results.json"), "--out", str(tmp_path / "a.md"),
                             "--events", str(tmp_path / "none.json")])
    assert again["summary"] == results["summary"]
    text = (tmp_path / "a.md").read_text()
    assert "## Event-driven runs" in text and "not measured yet" in text
    assert "5 minutes on average and 10 at most" in text
    events = {"measured_at": "2026-12-02 20:00 UTC", "change_to_quicksight_s": 41.25, "burst_messages": 50,
              "burst_runs": 2, "end_state_ok": True, "notes": "a note"}
    (tmp_path / "events.json").write_text(json.dumps(events))
    bench_main.main(["--doc-only", "--results", str(out / "results.json"), "--out", str(tmp_path / "b.md"),
                     "--events", str(tmp_path / "events.json")])
    text = (tmp_path / "b.md").read_text()
    assert "| Okta's events (queue) | 41.2 s | 50 → 2 | yes |" in text and "not measured yet" not in text
    assert "Measured 2026-12-02 20:00 UTC" in text and "a note" in text


def test_incremental_rows_of_another_run_are_merged_and_named(smoke, tmp_path):
    results, out = smoke
    stored = tmp_path / "bench.json"
    stored.write_text((out / "results.json").read_text())
    inc = {"args": "--incremental-only --incremental-sizes 1k", "date": "2026-12-02 19:00 UTC", "duration_s": 60.0,
           "incremental": [{**results["incremental"][0], "slices": 7}]}
    (tmp_path / "inc.json").write_text(json.dumps(inc))
    rl = {"args": "--rate-limited-only --rate-limited-size 1k", "date": "2026-12-02 19:30 UTC", "duration_s": 30.0,
          "rate_limited": {**results["rate_limited"], "wall_s": 123.0}}
    (tmp_path / "rl.json").write_text(json.dumps(rl))
    bench_main.main(["--doc-only", "--results", str(stored), "--incremental-from", str(tmp_path / "inc.json"),
                     "--rate-limited-from", str(tmp_path / "rl.json"), "--note", "Measured on a shared machine.",
                     "--out", str(tmp_path / "c.md"), "--events", str(tmp_path / "none.json")])
    text = (tmp_path / "c.md").read_text()
    assert "- incremental rows (1k): `python -m bench --incremental-only --incremental-sizes 1k` on 2026-12-02 19:00 UTC" in text
    assert "- rate-limited run (1k): `python -m bench --rate-limited-only --rate-limited-size 1k` on 2026-12-02 19:30 UTC" in text
    assert "wall time 123.0 s" in text and "\nMeasured on a shared machine.\n" in text
    steady = _workload(results, "steady state")
    assert json.loads(stored.read_text())["rate_limited"]["baseline_okta_users_calls"] == steady["app_users"]
    assert "- every other row: `python -m bench --smoke" in text
    assert json.loads(stored.read_text())["incremental"][0]["slices"] == 7
    # Another size measured apart joins the stored rows instead of replacing them.
    big = {"args": "--incremental-only --incremental-sizes 10k", "date": "2026-12-03 08:00 UTC", "duration_s": 90.0,
           "incremental": [{**results["incremental"][0], "size": "10k", "slices": 9}]}
    (tmp_path / "big.json").write_text(json.dumps(big))
    bench_main.main(["--doc-only", "--results", str(stored), "--incremental-from", str(tmp_path / "big.json"),
                     "--out", str(tmp_path / "d.md"), "--events", str(tmp_path / "none.json")])
    merged = json.loads(stored.read_text())
    assert [(r["size"], r["slices"]) for r in merged["incremental"]] == [("1k", 7), ("10k", 9)]
    text = (tmp_path / "d.md").read_text()
    assert "- incremental rows (1k): `python -m bench --incremental-only --incremental-sizes 1k`" in text
    assert "- incremental rows (10k): `python -m bench --incremental-only --incremental-sizes 10k` on 2026-12-03 08:00 UTC" in text
    with pytest.raises(SystemExit):
        bench_main.main(["--doc-only", "--results", str(tmp_path / "missing.json"), "--out", "-"])
