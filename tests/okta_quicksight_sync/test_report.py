"""The report: counts per action and status, items with reasons, errors, API calls, duration, outcome."""

import json

from tests.okta_quicksight_sync.sync_builders import config, directory, og, okta, ou, qg, qu, run

from okta_quicksight_sync.report import build_report, outcome_of, render_table

R = "QuickSightReader"


def test_report_counts_items_errors_calls_and_duration():
    memory = directory([qu(f"{R}/gone@example.com"), qu(f"{R}/u1@example.com", email="old@example.com")],
                       [qg("Okta-Old", "okta-sync:g9")])
    memory.fail("CreateGroup", "Okta-Ops")
    cfg = config()
    okta_state = okta([ou("u1"), ou("u2"), ou("u3", email=None)], [og("g1", "Fin", ["u1", "u2"]), og("g2", "Ops", ["u1"])])
    planned, results = run(cfg, okta_state, memory)
    report = build_report(cfg, planned, results, {"okta": {"GET /api/v1/apps/{appId}/users": 1},
                                                  "quicksight": dict(memory.api_calls)}, 1.23456)
    assert report["outcome"] == "failed"
    counts = report["counts"]
    assert counts["register_user"] == {"planned": 1, "done": 1, "already": 0, "failed": 0, "skipped": 0, "held": 0}
    assert counts["create_group"]["planned"] == 2 and counts["create_group"]["failed"] == 1
    assert counts["add_member"] == {"planned": 3, "done": 2, "already": 0, "failed": 0, "skipped": 1, "held": 0}
    assert counts["validate_user"]["failed"] == 1
    assert counts["deprovision_user"]["done"] == 1 and counts["delete_group"]["done"] == 1
    assert {e["action"] for e in report["errors"]} == {"create_group", "validate_user"}
    assert all(e["cause"] for e in report["errors"])
    update = next(i for i in report["items"] if i["action"] == "update_user")
    assert update["reason"] == "email old@example.com -> u1@example.com"
    assert report["api_calls"]["quicksight"]["RegisterUser"] == 1
    assert report["duration_s"] == 1.235
    assert json.loads(json.dumps(report)) == report

    table = render_table(report)
    assert "outcome: failed" in table and "register_user" in table
    assert "failed   create_group      Okta-Ops" in table
    assert "quicksight: " in table and "RegisterUser 1" in table


def test_held_outcome_and_its_reasons():
    memory = directory([qu(f"{R}/gone{i}@example.com") for i in range(3)])
    cfg = config(max_deletions=2)
    planned, results = run(cfg, okta([ou("u1")]), memory)
    report = build_report(cfg, planned, results, {}, 0.5)
    assert report["outcome"] == "held"
    assert report["deletions"] == {"count": 3, "over_limit": True, "held": True,
                                   "reasons": ["3 deletions planned, more than max_deletions 2"]}
    assert report["counts"]["deprovision_user"]["held"] == 3
    assert "deletions: 3 HELD" in render_table(report)


def test_steady_state_report_is_short_and_successful():
    memory = directory()
    cfg = config()
    run(cfg, okta([ou("u1")]), memory)
    planned, results = run(cfg, okta([ou("u1")]), memory)
    report = build_report(cfg, planned, results, {}, 0.1)
    assert report["outcome"] == "success" and report["items"] == [] and report["counts"] == {}
    assert "items:" not in render_table(report)


def test_dry_run_counts_planned_only():
    memory = directory()
    cfg = config()
    planned, results = run(cfg, okta([ou("u1")]), memory, dry_run=True)
    report = build_report(cfg, planned, results, {}, 0.1)
    assert report["dry_run"] and report["counts"]["register_user"]["planned"] == 1
    assert report["counts"]["register_user"]["done"] == 0
    assert "[DRY RUN]" in render_table(report)


def test_outcome_order():
    assert outcome_of([]) == "success"
    assert outcome_of([{"status": "done"}, {"status": "skipped"}]) == "success"
    assert outcome_of([{"status": "held"}, {"status": "done"}]) == "held"
    assert outcome_of([{"status": "held"}, {"status": "failed"}]) == "failed"


def test_report_carries_no_credentials():
    cfg = config(okta_conn_id="okta_prod", aws_conn_id="aws_prod")
    memory = directory()
    memory.fail("RegisterUser", "u1@example.com", "AccessDeniedException: not allowed")
    planned, results = run(cfg, okta([ou("u1")]), memory)
    text = json.dumps(build_report(cfg, planned, results, {"okta": {}}, 0.1))
    for secret_word in ("password", "token", "secret", "AKID", "okta_prod", "aws_prod"):
        assert secret_word not in text
