"""The report in words: outcome first, what needs a look before the long tail, caps with totals, the run note, the approval page.

Every report here comes from a real plan-and-apply of the core on the memory directory, as the DAG builds it.
"""

import pytest
from tests.okta_quicksight_sync.sync_builders import config, directory, og, okta, ou, qg, qu, run

from okta_quicksight_sync.report import build_report
from okta_quicksight_sync.report_text import approval_markdown, outcome_sentence, report_markdown, run_note

R = "QuickSightReader"


def _report(cfg, okta_state, memory, **params):
    planned, results = run(cfg, okta_state, memory, **params)
    return planned, build_report(cfg, planned, results, {"okta": {"GET /api/v1/apps/{appId}/users": 2},
                                                         "quicksight": dict(memory.api_calls)}, 2.5)


def test_nothing_to_change_says_so_in_words():
    memory = directory()
    cfg = config()
    state = okta([ou("u1"), ou("u2")], [og("g1", "Fin", ["u1"])])
    run(cfg, state, memory)
    _, report = _report(cfg, state, memory)
    text = report_markdown(report)
    first = text.splitlines()[2]
    assert first == "Nothing to change: QuickSight already matches Okta (2 users, 1 group checked)."
    assert [line for line in text.splitlines() if line.startswith("## ")] == ["## API calls"]
    assert run_note(report) == "no changes"


def test_held_deletions_come_before_the_long_tail_and_the_tail_is_capped_with_its_total():
    memory = directory([qu(f"{R}/gone{i}@example.com") for i in range(3)])
    cfg = config(max_deletions=2)
    users = [ou(f"u{i:03}") for i in range(70)]
    _, report = _report(cfg, okta(users, [og("g1", "Fin", [u.id for u in users])]), memory)
    text = report_markdown(report, limit=50)
    assert text.splitlines()[2].startswith("**Held**: 3 deletions wait for an administrator's approval "
                                           "(3 deletions planned, more than max_deletions 2)")
    held_at, tail_at = text.index("## Held for approval (3)"), text.index("## Other changes (141)")
    assert held_at < tail_at
    for i in range(3):
        assert f"deprovision_user `{R}/gone{i}@example.com`" in text[held_at:tail_at]
    assert "- ... and 91 more; the JSON report has all" in text[tail_at:]
    assert text[tail_at:text.index("## Counts")].count("\n- ") == 51
    assert "| register_user | 70 | 70 | 0 | 0 | 0 | 0 |" in text
    assert "- quicksight: " in text and "RegisterUser 70" in text
    assert run_note(report) == "held: 3 deletions wait for approval"


def test_failures_are_listed_first_in_full_with_their_cause():
    memory = directory([qu(f"{R}/gone@example.com")])
    memory.fail("CreateGroup", "Okta-Ops")
    cfg = config()
    _, report = _report(cfg, okta([ou("u1"), ou("u3", email=None)], [og("g2", "Ops", ["u1"])]), memory)
    text = report_markdown(report)
    assert text.splitlines()[2].startswith("**Failed**: 2 items failed")
    failed_at = text.index("## Failed (2)")
    assert failed_at < text.index("## Deleted (1)") < text.index("## Other changes")
    assert "create_group `Okta-Ops`: " in text and "validate_user" in text[failed_at:text.index("## Deleted")]
    assert run_note(report) == "failed: 2 items"


def test_dry_run_note_and_sentence():
    memory = directory([qu(f"{R}/gone@example.com")])
    cfg = config()
    _, report = _report(cfg, okta([ou("u1")]), memory, dry_run=True)
    assert run_note(report) == "dry run: 1 deletion planned"
    assert outcome_sentence(report).startswith("Dry run: nothing was written. 2 changes planned, 1 deletion")
    assert "## Deletions planned (1)" in report_markdown(report)

    _, quiet = _report(cfg, okta([ou("u1")]), directory([qu(f"{R}/u1@example.com")]), dry_run=True)
    assert run_note(quiet) == "dry run: no changes"


def test_approval_answers_in_the_note_and_the_first_line():
    memory = directory([qu(f"{R}/gone{i}@example.com") for i in range(3)])
    cfg = config(max_deletions=2)
    _, held = _report(cfg, okta([ou("u1")]), memory)
    assert run_note(held, {"decision": "rejected", "by": "alice"}) == "rejected by alice: 3 deletions not applied"
    assert run_note(held, {"decision": "timed_out", "by": None}) == "approval timed out: 3 deletions not applied"
    assert "rejected by alice" in outcome_sentence(held, {"decision": "rejected", "by": "alice"})
    assert outcome_sentence(held, {"decision": "rejected", "by": "alice"}).startswith("**Rejected by alice**: ")
    assert outcome_sentence(held, {"decision": "timed_out", "by": None}).startswith("**Approval timed out**: ")

    _, approved = _report(cfg, okta([ou("u1")]), memory, deletions_allowed=True)
    assert run_note(approved, {"decision": "approved", "by": "bob"}) == "approved by bob: 3 deleted"
    assert run_note(approved) == "synced: 3 changes (3 deleted)"
    with pytest.raises(ValueError, match="'maybe' is not one of approved, rejected, timed_out"):
        run_note(approved, {"decision": "maybe"})


def test_markdown_characters_in_names_stay_inside_code_spans():
    memory = directory([qu(f"{R}/a_b*c|d@example.com")])
    _, report = _report(config(), okta([]), memory, deletions_allowed=True)
    assert f"deprovision_user `{R}/a_b*c|d@example.com`" in report_markdown(report)


def test_approval_page_lists_users_their_assets_groups_and_why():
    users = [qu(f"{R}/gone{i}@example.com") for i in range(4)]
    memory = directory(users, [qg("Okta-Old", "okta-sync:g9")])
    planned, _ = run(config(max_deletions=2), okta([ou("u1")]), memory)
    assets = {
        f"{R}/gone0@example.com": [{"type": "dashboard", "id": f"d{i}", "region": "us-east-1", "name": f"Sales {i}"}
                                  for i in range(25)],
        f"{R}/gone1@example.com": [],
    }
    text = approval_markdown(planned.to_dict(), assets, limit=3, assets_limit=20)
    assert text.startswith("**5 deletions wait for your approval.** Nothing has been deleted yet.")
    assert "Why held: 5 deletions planned, more than max_deletions 2." in text
    assert "## Users to delete (4)" in text and "## Groups to delete (1)" in text and "- `Okta-Old`" in text
    assert f"- `{R}/gone0@example.com`: 25 assets move to `QuickSightAdmin/admin@example.com`" in text
    assert '    - dashboard `d19` "Sales 19" (us-east-1)' in text and "`d20`" not in text
    assert "    - ... and 5 more" in text
    assert f"- `{R}/gone1@example.com`: owns no assets" in text
    assert f"- `{R}/gone2@example.com`: owned assets not read" in text
    assert f"gone3@example.com" not in text and "- ... and 1 more; the plan_sync task's XCom has all" in text
    assert text.rstrip().endswith("deletes nothing.")


def test_the_note_and_the_report_say_how_the_run_read():
    memory = directory()
    cfg = config()
    state = okta([ou("u1"), ou("u2")], [og("g1", "Fin", ["u1"])])
    run(cfg, state, memory)
    _, report = _report(cfg, state, memory)
    incremental = {**report, "mode": "incremental",
                   "looked_at": {"log_pages": 1, "events": {"user_ids": ["u1", "u2"], "group_ids": ["g1"]}}}
    on_demand = {**report, "mode": "only_users", "looked_at": {"only_users": ["ann@example.com", "00u9"]}}
    fell_back = {**report, "mode": "full", "fallback_reason": "no cursor yet"}
    assert run_note(report) == "no changes" and "Incremental" not in report_markdown(report)
    assert run_note(incremental) == "incremental: no changes"
    assert ("Incremental run: 1 System Log page read from the stored cursor; 2 people and 1 group touched by the "
            "events were read again and synced, nothing else.") in report_markdown(incremental).splitlines()
    assert run_note(on_demand) == "on demand (2 people): no changes"
    assert "On-demand run for `ann@example.com`, `00u9`: just these people" in report_markdown(on_demand)
    assert run_note(fell_back) == "full (incremental fell back): no changes"
    assert "Full run instead of incremental: no cursor yet." in report_markdown(fell_back).splitlines()
