"""The run's report in words, for people: markdown for a page or a mail, one line for the run's note.

``report.build_report`` makes the JSON report (every item); this module
only reads it, and the plan for the approval page. What an operator must act
on comes first (failures, deletions, held items), the long tail of creations
and memberships last and capped, so a first sync of 10,000 users still makes
a page one can read. Plain Python; nothing here sees a credential.
"""

from __future__ import annotations

from okta_quicksight_sync.report import STATUSES

DELETE_ACTIONS = ("deprovision_user", "recreate_user", "delete_group")
SECTION_LIMIT = 50
ASSETS_PER_USER_LIMIT = 20
DECISIONS = ("approved", "rejected", "timed_out")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _code(text: object) -> str:
    """An item name as a code span: names may hold markdown characters (``_``, ``*``, ``|``)."""
    return "`" + str(text).replace("`", "'") + "`"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _capped(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [f"- ... and {len(lines) - limit} more; the JSON report has all"]


def _deletions_done(report: dict) -> int:
    return sum(report["counts"].get(a, {}).get("done", 0) for a in DELETE_ACTIONS)


def _deletions_held(report: dict) -> int:
    return sum(report["counts"].get(a, {}).get("held", 0) for a in DELETE_ACTIONS)


def _changes(report: dict) -> int:
    """Writes that happened (or would, in a dry run): done, or planned in a dry run."""
    status = "planned" if report.get("dry_run") else "done"
    return sum(row.get(status, 0) for row in report["counts"].values())


def _checked(report: dict) -> tuple[int, int]:
    stats = report.get("stats") or {}
    return (int(stats.get("managed_users", stats.get("desired_users", 0)) or 0),
            int(stats.get("managed_groups", stats.get("desired_groups", 0)) or 0))


def _approval_by(approval: dict) -> str:
    return approval.get("by") or "an administrator"


def check_approval(approval: dict | None) -> dict | None:
    """The approval answer the DAG hands in: {"decision": approved|rejected|timed_out, "by": name or None}."""
    if approval is None:
        return None
    if approval.get("decision") not in DECISIONS:
        raise ValueError(
            f"approval decision {approval.get('decision')!r} is not one of {', '.join(DECISIONS)}; "
            "pass {'decision': 'approved'|'rejected'|'timed_out', 'by': <user name or None>}"
        )
    return approval


def mode_prefix(report: dict) -> str:
    """How the run read (contract section 8), for the note: nothing for a plain full run."""
    mode = report.get("mode")
    if mode == "incremental":
        return "incremental: "
    if mode == "only_users":
        people = len((report.get("looked_at") or {}).get("only_users") or [])
        return f"on demand ({_plural(people, 'person', 'people')}): "
    if report.get("fallback_reason"):
        return "full (incremental fell back): "
    return ""


def mode_sentence(report: dict) -> str | None:
    """What an incremental or on-demand run read, or why it read everything; None for a plain full run."""
    looked = report.get("looked_at") or {}
    mode = report.get("mode")
    if mode == "incremental":
        events = looked.get("events") or {}
        people, groups = len(events.get("user_ids") or []), len(events.get("group_ids") or [])
        return (f"Incremental run: {_plural(looked.get('log_pages', 0), 'System Log page')} read from the stored cursor; "
                f"{_plural(people, 'person', 'people')} and {_plural(groups, 'group')} touched by the events were read "
                "again and synced, nothing else.")
    if mode == "only_users":
        names = ", ".join(_code(n) for n in looked.get("only_users") or [])
        return f"On-demand run for {names}: just these people were read and synced, nobody else."
    if report.get("fallback_reason"):
        return f"Full run instead of incremental: {report['fallback_reason']}."
    return None


def run_note(report: dict, approval: dict | None = None) -> str:
    """One line for the DAG run's note: what happened, with the number that matters (and how the run read)."""
    note = _outcome_note(report, approval)
    return note if note.startswith("superseded") else mode_prefix(report) + note


def _outcome_note(report: dict, approval: dict | None) -> str:
    approval = check_approval(approval)
    if report.get("superseded"):
        return "superseded: a later run already synced"
    deletions = report["deletions"]
    failed = len(report.get("errors", []))
    if report.get("dry_run"):
        planned = deletions.get("count", 0)
        if planned:
            held = " (would be held for approval)" if deletions.get("over_limit") else ""
            return f"dry run: {_plural(planned, 'deletion')} planned{held}"
        changes = _changes(report)
        return f"dry run: {_plural(changes, 'change')} planned" if changes else "dry run: no changes"
    parts = []
    if approval and approval["decision"] in ("rejected", "timed_out"):
        who = f"rejected by {_approval_by(approval)}" if approval["decision"] == "rejected" else "approval timed out"
        parts.append(f"{who}: {_plural(deletions.get('count', 0), 'deletion')} not applied")
    elif approval and approval["decision"] == "approved":
        parts.append(f"approved by {_approval_by(approval)}: {_deletions_done(report)} deleted")
    elif _deletions_held(report):
        parts.append(f"held: {_plural(_deletions_held(report), 'deletion')} wait for approval")
    if failed:
        parts.insert(0, f"failed: {_plural(failed, 'item')}")
    if parts:
        return "; ".join(parts)
    changes = _changes(report)
    if not changes:
        return "no changes"
    deleted = _deletions_done(report)
    return f"synced: {_plural(changes, 'change')}" + (f" ({deleted} deleted)" if deleted else "")


def outcome_sentence(report: dict, approval: dict | None = None) -> str:
    """The report's first line, in words."""
    approval = check_approval(approval)
    if report.get("superseded"):
        return f"Nothing done: {report['superseded']}."
    deletions = report["deletions"]
    failed = len(report.get("errors", []))
    users, groups = _checked(report)
    if report.get("dry_run"):
        if not _changes(report) and not failed:
            return (f"Dry run, nothing to change: QuickSight already matches Okta "
                    f"({_plural(users, 'user')}, {_plural(groups, 'group')} checked).")
        held = " They would be held for approval." if deletions.get("over_limit") else ""
        return (f"Dry run: nothing was written. {_plural(_changes(report), 'change')} planned, "
                f"{_plural(deletions.get('count', 0), 'deletion')} among them.{held}")
    if failed:
        held = _deletions_held(report)
        return (f"**Failed**: {_plural(failed, 'item')} failed; see Failed below for each cause and what to do. "
                "The other items were applied"
                + (f"; {_plural(held, 'deletion')} wait for approval." if held else "."))
    if approval and approval["decision"] != "approved":
        # Said as it was decided, not "held": a person (or the clock) said no.
        why = f"rejected by {_approval_by(approval)}" if approval["decision"] == "rejected" else "not answered in time"
        head = f"Rejected by {_approval_by(approval)}" if approval["decision"] == "rejected" else "Approval timed out"
        return (f"**{head}**: the approval was {why}, so {_plural(deletions.get('count', 0), 'deletion')} "
                "were not applied; everything else was.")
    if _deletions_held(report):
        reasons = "; ".join(deletions.get("reasons") or [])
        return (f"**Held**: {_plural(_deletions_held(report), 'deletion')} wait for an administrator's approval"
                f"{f' ({reasons})' if reasons else ''}; everything else was applied.")
    if not _changes(report):
        return (f"Nothing to change: QuickSight already matches Okta "
                f"({_plural(users, 'user')}, {_plural(groups, 'group')} checked).")
    deleted = _deletions_done(report)
    by = f", approved by {_approval_by(approval)}" if approval else ""
    return (f"**Success**: QuickSight now matches Okta; {_plural(_changes(report), 'change')} applied"
            f"{f', {deleted} of them deletions{by}' if deleted else ''}.")


HELD_PREFIX = "deletions held for approval"


def _item_line(item: dict) -> str:
    """One item; a held item's reason is the hold's, said once above the list."""
    held_reason = item["status"] == "held" and str(item.get("reason", "")).startswith(HELD_PREFIX)
    reason = f": {item['reason']}" if item.get("reason") and not held_reason else ""
    return f"- {item['action']} {_code(item['item'])}{reason}"


def report_markdown(report: dict, approval: dict | None = None, *, limit: int = SECTION_LIMIT,
                    title: str | None = None) -> str:
    """The whole report for people: outcome, what needs a look first, the long tail capped, counts, API calls."""
    target = report["target"]
    account = f"{target.get('aws_account_id') or '?'}/{target.get('namespace')}"
    lines = [
        f"# {title or 'Okta -> QuickSight sync'}",
        "",
        outcome_sentence(report, approval),
        "",
        f"Okta app {_code(target.get('okta_app_id'))} -> QuickSight {_code(account)} "
        f"({target.get('identity_region') or '?'}), {report.get('duration_s', 0):.1f}s"
        f"{', dry run' if report.get('dry_run') else ''}.",
    ]
    scope = mode_sentence(report)
    if scope:
        lines += ["", scope]
    items = report.get("items", [])
    failed = [i for i in items if i["status"] == "failed"]
    deletions = [i for i in items if i["action"] in DELETE_ACTIONS and i["status"] in ("done", "planned")]
    held = [i for i in items if i["status"] == "held"]
    skipped = [i for i in items if i["status"] == "skipped"]
    rest = [i for i in items if i["status"] in ("done", "planned") and i["action"] not in DELETE_ACTIONS]
    sections = [
        ("Failed", failed),
        ("Deletions planned" if report.get("dry_run") else "Deleted", deletions),
        ("Held for approval", held),
        ("Skipped", skipped),
        ("Changes planned" if report.get("dry_run") else "Other changes", rest),
    ]
    reasons = report.get("deletions", {}).get("reasons") or []
    for heading, section in sections:
        if section:
            lines += ["", f"## {heading} ({len(section)})", ""]
            if section is held and reasons:
                lines += ["Why held: " + "; ".join(reasons) + ".", ""]
            lines += _capped([_item_line(i) for i in section], limit)
    if report["counts"]:
        lines += ["", "## Counts", "", "| action | " + " | ".join(STATUSES) + " |",
                  "|---|" + "---:|" * len(STATUSES)]
        for action in sorted(report["counts"]):
            row = report["counts"][action]
            lines.append(f"| {_cell(action)} | " + " | ".join(str(row.get(s, 0)) for s in STATUSES) + " |")
    calls = report.get("api_calls") or {}
    if any(calls.values()):
        lines += ["", "## API calls", ""]
        for service in sorted(calls):
            total = sum(calls[service].values())
            detail = ", ".join(f"{op} {n}" for op, n in sorted(calls[service].items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"- {service}: {total} ({_cell(detail)})")
    return "\n".join(lines) + "\n"


def _asset_line(asset: dict) -> str:
    name = f" \"{asset['name']}\"" if asset.get("name") else ""
    return f"{asset.get('type', 'asset')} {_code(asset.get('id'))}{name} ({asset.get('region', '?')})"


def approval_markdown(plan: dict, assets: dict[str, list[dict]] | None = None, *, limit: int = SECTION_LIMIT,
                      assets_limit: int = ASSETS_PER_USER_LIMIT, asset_totals: dict[str, int] | None = None) -> str:
    """The approval page: what would be deleted, which assets would move to whom, and why it was held.

    ``plan`` is the plan as JSON (``Plan.to_dict()``); ``assets`` maps a
    departing user to the assets it owns ({type, id, region, name?}); a user
    missing from it is shown without its assets (not read). ``asset_totals``
    gives a user's full count when ``assets`` lists only the first few.
    """
    assets = assets or {}
    asset_totals = asset_totals or {}
    recipient = plan.get("recipient") or "the asset recipient"
    users = list(plan.get("deprovision") or [])
    recreate = list(plan.get("recreate") or [])
    groups = list(plan.get("delete_groups") or [])
    count = plan.get("deletion_count") or len(users) + len(recreate) + len(groups)
    lines = [f"**{_plural(count, 'deletion')} wait for your approval.** Nothing has been deleted yet."]
    reasons = plan.get("hold_reasons") or []
    if reasons:
        lines += ["", "Why held: " + "; ".join(reasons) + "."]

    def user_block(name: str, extra: str = "") -> list[str]:
        if name not in assets:
            return [f"- {_code(name)}{extra}: owned assets not read"]
        owned = assets[name]
        total = max(asset_totals.get(name, len(owned)), len(owned))
        if not total:
            return [f"- {_code(name)}{extra}: owns no assets"]
        out = [f"- {_code(name)}{extra}: {_plural(total, 'asset')} {'moves' if total == 1 else 'move'} to {_code(recipient)}"]
        shown = owned[:assets_limit]
        out += [f"    - {_asset_line(a)}" for a in shown]
        if total > len(shown):
            out.append(f"    - ... and {total - len(shown)} more")
        return out

    def capped_blocks(blocks: list[list[str]]) -> list[str]:
        out = [line for block in blocks[:limit] for line in block]
        if len(blocks) > limit:
            out.append(f"- ... and {len(blocks) - limit} more; the plan_sync task's XCom has all")
        return out

    if users:
        lines += ["", f"## Users to delete ({len(users)})", "",
                  f"Each user's dashboards, analyses, datasets and other assets move to {_code(recipient)} first."]
        lines += [""] + capped_blocks([user_block(u) for u in users])
    if recreate:
        lines += ["", f"## Users deleted and registered again with a lower role ({len(recreate)})", ""]
        lines += capped_blocks([
            user_block(r["user_name"], f" ({r.get('from_role', '?')} -> {r.get('role', '?')})") for r in recreate
        ])
    if groups:
        lines += ["", f"## Groups to delete ({len(groups)})", ""]
        lines += _capped([f"- {_code(g)}" for g in groups], limit)
    lines += ["", "**Approve** hands the assets over and deletes these (only those a fresh read still plans to "
              "delete). **Reject**, or no answer in time, deletes nothing."]
    return "\n".join(lines) + "\n"
