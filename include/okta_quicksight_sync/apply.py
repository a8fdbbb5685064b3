"""Apply a plan through the QuickSight directory, in the contract's order.

One function per DAG task. Every write goes through the directory's
idempotent calls (``"done"`` or ``"already"``), so a retried task converges.
Each item is tried on its own: one failure is recorded with its cause and
the rest go on. ``dry_run`` writes nothing and reports every write as
``planned``. Results are plain dicts ``{action, item, status, reason}``.
"""

from __future__ import annotations

import logging

from okta_quicksight_sync.plan import STEP_DEPROVISION, STEP_GROUPS, STEP_USERS, Plan
from okta_quicksight_sync.ports import Directory, Handover
from okta_quicksight_sync.progress import Progress
from okta_quicksight_sync.results import ALREADY, DONE, FAILED, HELD, PLANNED, SKIPPED, result

log = logging.getLogger(__name__)


def _planned_items(plan: Plan, step: str) -> list[dict]:
    out = []
    for entry in plan.failed:
        if entry["step"] == step:
            out.append(result(entry["action"], entry["item"], FAILED, entry["reason"]))
    for entry in plan.skipped:
        if entry["step"] == step:
            out.append(result(entry["action"], entry["item"], SKIPPED, entry["reason"]))
    return out


def _write(action: str, item: str, reason: str, call, dry_run: bool) -> dict:
    """One idempotent write; its failure becomes a result, never an exception."""
    if dry_run:
        return result(action, item, PLANNED, reason)
    try:
        status = call()
    except Exception as exc:  # one item's failure never stops the others
        log.warning("%s %s failed: %s", action, item, exc)
        return result(action, item, FAILED, _cause(exc))
    return result(action, item, ALREADY if status == ALREADY else DONE, reason)


def _cause(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


def _failed_creations(earlier_results: list[dict] | None) -> dict[str, str]:
    """Groups whose creation failed in group_sync's results -> why."""
    return {
        r["item"]: r["reason"] for r in earlier_results or () if r["action"] == "create_group" and r["status"] == FAILED
    }


def member_item(group: str, user: str) -> str:
    return f"{user} in {group}"


# --------------------------------------------------------------- step 1
def apply_group_sync(plan: Plan, directory: Directory, dry_run: bool = False) -> list[dict]:
    """Create missing managed groups, with the marker in their Description."""
    results = _planned_items(plan, STEP_GROUPS)
    for group in plan.create_groups:
        results.append(_write(
            "create_group", group["name"], group["description"],
            lambda g=group: directory.create_group(g["name"], g["description"]), dry_run,
        ))
    return results


# ------------------------------------------------------------ steps 2-3
def apply_user_sync(plan: Plan, directory: Directory, dry_run: bool = False, earlier_results: list[dict] | None = None) -> list[dict]:
    """Register and update identities, then add and remove memberships.

    ``earlier_results`` (group_sync's) lets memberships of a group whose
    creation failed be skipped with that reason instead of failing again.
    """
    results = _planned_items(plan, STEP_USERS)
    failed_groups = _failed_creations(earlier_results)
    failed_users: dict[str, str] = {}
    # A first sync registers thousands: a line every 1,000 writes or 30 s with rate and time left.
    total = (len(plan.register) + len(plan.update) + sum(len(u) for u in plan.add_members.values())
             + sum(len(u) for u in plan.remove_members.values()))
    progress = Progress("QuickSight user and membership writes" + (" (dry run)" if dry_run else ""), total)
    for reg in plan.register:
        res = _write(
            "register_user", reg["user_name"], f"new {reg['role']}",
            lambda r=reg: directory.register_user(r["iam_arn"], r["session_name"], r["email"], r["role"]), dry_run,
        )
        if res["status"] == FAILED:
            failed_users[reg["user_name"]] = res["reason"]
        results.append(res)
        progress.step()
    for upd in plan.update:
        results.append(_write(
            "update_user", upd["user_name"], upd["reason"],
            lambda u=upd: directory.update_user(u["user_name"], u["email"], u["role"]), dry_run,
        ))
        progress.step()
    for group, users in plan.add_members.items():
        for user in users:
            progress.step()
            item = member_item(group, user)
            if group in failed_groups:
                results.append(result("add_member", item, SKIPPED, f"group {group!r} was not created: {failed_groups[group]}"))
            elif user in failed_users:
                results.append(result("add_member", item, SKIPPED, f"user {user!r} failed to register: {failed_users[user]}"))
            else:
                results.append(_write(
                    "add_member", item, "member in Okta",
                    lambda g=group, u=user: directory.add_member(g, u), dry_run,
                ))
    for group, users in plan.remove_members.items():
        for user in users:
            progress.step()
            results.append(_write(
                "remove_member", member_item(group, user), "not a member in Okta",
                lambda g=group, u=user: directory.remove_member(g, u), dry_run,
            ))
    if total:
        progress.finish()
    return results


# ------------------------------------------------------------ steps 4-5
def apply_deprovision(plan: Plan, directory: Directory, handover: Handover, dry_run: bool = False,
                      earlier_results: list[dict] | None = None) -> list[dict]:
    """Hand over and delete departing users, recreate downgrades, delete groups.

    A renamed Okta group's old group is deleted only once its successor
    exists: ``earlier_results`` (group_sync's, when given)
    tell a failed creation at once; otherwise the directory is asked.

    Deletions the plan holds (``plan.deletions_held``) are reported ``held``
    and nothing is deleted, in a dry run too: only a plan a person approved
    (``deletions.released``) or a run that allowed them has them unheld.
    """
    if plan.deletions_held:
        return not_run(plan, "")
    results = _planned_items(plan, STEP_DEPROVISION)
    if dry_run:
        return results + [result(action, name, PLANNED, why) for action, name, why in _deletions(plan)]
    recipient_problem = None
    if plan.deprovision or plan.recreate:
        try:
            handover.check_recipient(plan.recipient)
        except Exception as exc:
            recipient_problem = f"asset_recipient {plan.recipient!r} cannot take assets: {_cause(exc)}"
    for name in plan.deprovision:
        if recipient_problem:
            results.append(result("deprovision_user", name, FAILED, recipient_problem))
            continue
        results.append(_deprovision(directory, handover, plan.recipient, name))
    for item in plan.recreate:
        if recipient_problem:
            results.append(result("recreate_user", item["user_name"], FAILED, recipient_problem))
            continue
        results += _recreate(directory, handover, plan.recipient, item)
    failed_creates = _failed_creations(earlier_results)
    for name in plan.delete_groups:
        successor = plan.successors.get(name)
        if successor is None:
            results.append(_write("delete_group", name, "no Okta group", lambda n=name: directory.delete_group(n), False))
            continue
        missing = _successor_missing(directory, successor, failed_creates)
        if missing:
            results.append(result("delete_group", name, FAILED, f"kept with its members: {missing}"))
            continue
        results.append(_write("delete_group", name, f"renamed in Okta; replaced by {successor['name']}",
                              lambda n=name: directory.delete_group(n), False))
    return results


def not_run(plan: Plan, why: str) -> list[dict]:
    """Steps 4-5's results when they did not run: the one place that says why for each planned deletion.

    Deletions the plan holds are ``held`` with the plan's reasons (a run that
    held them, or a person who rejected them or did not answer); any other is
    ``skipped`` with ``why`` (e.g. an earlier task failed). The plan's own
    failures and skips of these steps are reported as planned.
    """
    if plan.deletions_held:
        status, why = HELD, "deletions held for approval: " + "; ".join(plan.hold_reasons)
    else:
        status = SKIPPED
    return _planned_items(plan, STEP_DEPROVISION) + [result(a, name, status, why) for a, name, _ in _deletions(plan)]


def _deletions(plan: Plan) -> list[tuple[str, str, str]]:
    """(action, item, why it is planned) of every deletion in the plan, in the order they run."""
    out = [("deprovision_user", name, "no desired identity") for name in plan.deprovision]
    out += [("recreate_user", r["user_name"], "downgrade") for r in plan.recreate]
    return out + [("delete_group", name, "no Okta group") for name in plan.delete_groups]


def _successor_missing(directory, successor: dict, failed_creates: dict[str, str]) -> str | None:
    """Why a renamed group's successor is not there to replace it, or None when it is (with its Description)."""
    name = successor["name"]
    if name in failed_creates:
        return f"its successor {name!r} was not created: {failed_creates[name]}"
    try:
        found = directory.describe_group(name)
    except Exception as exc:
        return f"could not check that its successor {name!r} exists: {_cause(exc)}"
    if found is None:
        return f"its successor {name!r} does not exist"
    if found.description != successor["description"]:
        return (f"its successor {name!r} has Description {found.description!r}, not {successor['description']!r}: "
                "it is not this sync's group")
    return None


def _handover(handover, user_name: str, recipient: str) -> str | None:
    """Move every asset to the recipient; the reason it is not clean, or None."""
    try:
        outcome = handover.handover(user_name, recipient)
    except Exception as exc:
        return f"asset hand-over failed, user kept: {_cause(exc)}"
    if outcome.clean:
        return None
    failed = list(outcome.failed or ())
    remaining = list(outcome.remaining or ())
    detail = "; ".join(_failure_text(f) for f in failed[:3])
    return (
        f"asset hand-over not clean ({len(failed)} failed, {len(remaining)} still owned), user kept"
        + (f": {detail}" if detail else "")
    )


def _failure_text(failure) -> str:
    """A HandoverFailure (type, region, asset_id, reason) as one short phrase."""
    reason = getattr(failure, "reason", None)
    if reason is None:
        return str(failure)
    asset = getattr(failure, "asset_id", None) or "(all)"
    return f"{getattr(failure, 'type', 'asset')} {asset} ({getattr(failure, 'region', '?')}): {reason}"


def _deprovision(directory, handover, recipient: str, name: str) -> dict:
    problem = _handover(handover, name, recipient)
    if problem:
        return result("deprovision_user", name, FAILED, problem)
    return _write("deprovision_user", name, f"no desired identity; assets to {recipient}",
                  lambda: directory.delete_user(name), False)


def _recreate(directory, handover, recipient: str, item: dict) -> list[dict]:
    """Hand over, delete, re-register with the lower role, then give back its memberships.

    Its groups are read first (after step 3, so managed groups already hold
    exactly what Okta asks): the desired managed ones are re-added, and every
    other group it was in - unmanaged groups, managed groups left as they are
    because their item failed - gets it back as it was.
    """
    name = item["user_name"]
    try:
        before = directory.list_user_groups(name)
    except Exception as exc:
        return [result("recreate_user", name, FAILED, f"could not read its groups, user kept: {_cause(exc)}")]
    problem = _handover(handover, name, recipient)
    if problem:
        return [result("recreate_user", name, FAILED, problem)]
    try:
        directory.delete_user(name)
        directory.register_user(item["iam_arn"], item["session_name"], item["email"], item["role"])
    except Exception as exc:
        lost = sorted(set(before) | set(item["groups"]))
        return [result("recreate_user", name, FAILED,
                       f"recreate stopped: {_cause(exc)}; its groups before: {', '.join(lost) or 'none'}")]
    results = [result("recreate_user", name, DONE, f"role {item['from_role']} -> {item['role']}; assets to {recipient}")]
    for group in item["groups"]:
        results.append(_write("add_member", member_item(group, name), "re-added after recreate",
                              lambda g=group: directory.add_member(g, name), False))
    for group in sorted(set(before) - set(item["groups"])):
        results.append(_write("add_member", member_item(group, name), "restored after recreate (member before it)",
                              lambda g=group: directory.add_member(g, name), False))
    return results
