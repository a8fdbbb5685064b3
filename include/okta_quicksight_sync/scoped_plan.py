"""Plan from a scoped read: every rule of the full planner, only for what was looked at.

An incremental or on-demand run reads a few users and groups (scoped_read);
the full planner's rules (planner.plan, docs/sync-rules.md sections 3-7) are
applied to them unchanged, then the plan is limited to what those facts
decide (docs/incremental.md, "Planning a scope"):

- users: only the people looked at (``Scope.people``) are registered,
  updated, regrouped or deprovisioned; nobody else's identity is touched;
- groups: a group is created only where QuickSight was asked about its name,
  and deleted only when its Okta group was read whole and is no longer an app
  group (or was renamed: the successor rule applies as in a full run); a
  managed group whose Okta group is still an app group but was not read is
  kept, and the people read leave it when Okta no longer has them in it (a
  group adopted by its Description, with no marker, likewise: it is never
  deleted by a scoped run, the next full run decides);
- thresholds: the percentage base is the managed totals of the last full run
  (stored with the cursor), not the scope, so one leaver out of 10,000 is not
  "100% of what was looked at"; without totals the scope's own counts are
  the base, which holds more, never less.
"""

from __future__ import annotations

from okta_quicksight_sync import deletions, planner
from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.model import OktaGroup, OktaSnapshot
from okta_quicksight_sync.ownership import Ownership, marker_id
from okta_quicksight_sync.plan import STEP_DEPROVISION, Plan
from okta_quicksight_sync.scoped_read import Scope

class FullRunNeeded(Exception):
    """The scoped facts cannot decide a change a full run would make; the caller runs in full and reports this."""


# Keys of the managed totals a full run's plan stats give (Plan.stats) and the cursor stores.
TOTAL_KEYS = ("managed_users", "managed_groups", "okta_eligible_users")


def plan_scope(config: TargetConfig, scope: Scope, params: dict | None = None, totals: dict | None = None) -> Plan:
    """Plan one incremental or on-demand run. ``totals``: the last full run's managed counts (TOTAL_KEYS)."""
    params = params or {}
    okta, qs, people = scope.okta, scope.qs, scope.people
    _check_adopted(config, scope)
    view = OktaSnapshot(users=dict(okta.users), groups={**okta.groups, **_groups_not_read(config, scope)})
    out = planner.plan(config, view, qs, params)
    _limit_to_scope(out, scope)
    _decide_hold(config, out, people, params, totals)
    out.stats = {**out.stats, "scoped": True, "people_looked_at": len(people)}
    return out


def _check_adopted(config: TargetConfig, scope: Scope) -> None:
    """A group re-read whole (renamed, unassigned, deleted) may have been synced into a QuickSight group
    adopted by its Description, which names no Okta group: only a full run can tell which one."""
    if not scope.okta.read_group_ids:
        return
    own = Ownership(config)
    wanted = {f"{config.group_prefix}{g.name}" for g in scope.okta.groups.values()}
    for name, group in sorted(scope.qs.groups.items()):
        if own.is_managed_group(group) and marker_id(group.description) is None and name not in wanted:
            raise FullRunNeeded(
                f"QuickSight group {name!r} is adopted by its Description ({group.description!r}, no okta-sync: "
                f"marker), and an Okta group this run re-read may be its own under an old name: a full run decides"
            )


def _groups_not_read(config: TargetConfig, scope: Scope) -> dict[str, OktaGroup]:
    """Managed QuickSight groups of Okta groups this read did not reach, as Okta groups none of the
    people read is in: they stay, and a read person Okta no longer has in them leaves them."""
    own = Ownership(config)
    out = {}
    okta_names = {g.name for g in scope.okta.groups.values()}
    for name, group in scope.qs.groups.items():
        if not own.is_managed_group(group) or not name.startswith(config.group_prefix):
            continue
        okta_id = marker_id(group.description)
        if okta_id is None:  # adopted by its Description: its Okta group is known by name only
            if name[len(config.group_prefix):] not in okta_names:
                out[f"adopted:{name}"] = OktaGroup(f"adopted:{name}", name[len(config.group_prefix):], "OKTA_GROUP", ())
            continue
        if okta_id in scope.okta.groups or okta_id in scope.okta.read_group_ids:
            continue
        # Still an app group, or one that left the app (a full run deletes it): either way the people read
        # leave it unless Okta has them in it; the group itself is deleted only by a run that read it whole.
        out[okta_id] = OktaGroup(okta_id, name[len(config.group_prefix):], "OKTA_GROUP", ())
    return out


def _limit_to_scope(out: Plan, scope: Scope) -> None:
    """Drop every planned change the scoped facts do not decide."""
    qs, people = scope.qs, scope.people
    read_groups = scope.okta.read_group_ids

    def deletable(name: str) -> bool:
        group = qs.groups.get(name)
        return group is not None and marker_id(group.description) in read_groups

    out.create_groups = [g for g in out.create_groups if g["name"] in qs.read_group_names]
    out.register = [r for r in out.register if r["user_name"] in qs.read_user_names]
    out.update = [u for u in out.update if u["user_name"] in people]
    out.recreate = [r for r in out.recreate if r["user_name"] in people]
    out.deprovision = [n for n in out.deprovision if n in people]
    out.add_members = _only(out.add_members, people)
    out.remove_members = _only(out.remove_members, people)
    out.delete_groups = [n for n in out.delete_groups if deletable(n)]
    out.successors = {n: s for n, s in out.successors.items() if n in out.delete_groups}

    def in_scope(item: dict) -> bool:
        if item["step"] == STEP_DEPROVISION and item["action"] in ("deprovision_user", "recreate_user"):
            return item["item"] in people
        if item["action"] == "delete_group":
            return deletable(item["item"])
        return True

    out.failed = [i for i in out.failed if in_scope(i)]
    out.skipped = [i for i in out.skipped if in_scope(i)]


def _only(members: dict[str, list[str]], people: frozenset[str]) -> dict[str, list[str]]:
    kept = {group: [m for m in names if m in people] for group, names in members.items()}
    return {group: names for group, names in kept.items() if names}


def _decide_hold(config: TargetConfig, out: Plan, people: frozenset[str], params: dict, totals: dict | None) -> None:
    """The full planner's hold rule (deletions.hold_reasons) on the scoped deletions, against the totals."""
    refused = sum(
        1 for i in out.failed
        if i["step"] == STEP_DEPROVISION and i["action"] in ("deprovision_user", "recreate_user")
    )  # deletions the recipient check stopped still count, as in a full run
    count = len(out.deprovision) + len(out.recreate) + len(out.delete_groups) + refused
    base = totals if totals and all(isinstance(totals.get(k), int) for k in TOTAL_KEYS) else out.stats
    out.deletion_count = count
    out.hold_reasons = deletions.hold_reasons(
        config, count, base["managed_users"] + base["managed_groups"], base["managed_users"], base["okta_eligible_users"]
    )
    out.deletions_over_limit = bool(out.hold_reasons)
    out.deletions_held = deletions.held(out.deletions_over_limit, params)
