"""The planner: (config, Okta snapshot, QuickSight snapshot, params) -> Plan.

A pure function holding every rule of docs/sync-rules.md sections 3-6; the
choices the contract leaves open are written down in docs/sync-rules.md
("Decisions"). It does set and dict work only, linear in the size of both
snapshots, so 100k users and half a million memberships plan in seconds.
"""

from __future__ import annotations

from okta_quicksight_sync import deletions
from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.desired import DesiredState, desired_state
from okta_quicksight_sync.model import ASSET_OWNER_ROLES, ROLE_RANK, OktaSnapshot, QsSnapshot
from okta_quicksight_sync.ownership import Ownership, marker_id
from okta_quicksight_sync.plan import STEP_DEPROVISION, STEP_GROUPS, STEP_USERS, Plan


def plan(config: TargetConfig, okta: OktaSnapshot, qs: QsSnapshot, params: dict | None = None) -> Plan:
    """Plan one run. ``params``: ``dry_run``, ``allow_deletions``, ``approved`` (all default false)."""
    params = params or {}
    own = Ownership(config)
    want = desired_state(config, okta)
    out = Plan(
        okta_app_id=config.okta_app_id,
        namespace=config.namespace,
        dry_run=bool(params.get("dry_run", False)),
        recipient=config.asset_recipient,
    )
    for failure in want.failures:
        step = STEP_GROUPS if failure.action == "validate_group" else STEP_USERS
        out.failed.append({"step": step, "action": failure.action, "item": failure.item, "reason": failure.reason})

    managed_users = {name for name, user in qs.users.items() if own.is_managed_user(user)}
    managed_groups = {name for name, group in qs.groups.items() if own.is_managed_group(group)}

    frozen_users = _frozen_users(want, qs, managed_users)
    synced_groups = _plan_groups(config, want, qs, managed_groups, out)
    member_names = _plan_users(config, own, want, qs, managed_users, out)
    _plan_memberships(want, qs, synced_groups, member_names, managed_users, frozen_users, out)
    _plan_deprovision(want, managed_users, frozen_users, out)
    _check_recipient(config, qs, out)
    _decide_hold(config, want, managed_users, managed_groups, params, out)
    out.stats = {
        "okta_eligible_users": want.eligible_count,
        "desired_users": len(want.users),
        "desired_groups": len(want.groups),
        "managed_users": len(managed_users),
        "managed_groups": len(managed_groups),
    }
    return out


def _frozen_users(want: DesiredState, qs: QsSnapshot, managed_users: set[str]) -> dict[str, str]:
    """Managed identities an Okta user that failed validation claims, by user name or by email -> why.

    None of them is updated, regrouped or deprovisioned in this run: a typo in
    an Okta username must not cost the person their identity and assets.
    A name a valid Okta user alone claims is that user's, not frozen.
    """
    frozen = {}
    for name in sorted(managed_users - want.users.keys()):
        email = (qs.users[name].email or "").lower()
        if name in want.frozen_user_names:
            frozen[name] = "its user name is claimed by an Okta user that failed validation"
        elif email in want.frozen_emails:
            frozen[name] = (
                f"its email {qs.users[name].email} is that of Okta user {want.frozen_emails[email]}, "
                "which failed validation"
            )
    return frozen


def _plan_groups(config, want: DesiredState, qs: QsSnapshot, managed_groups: set[str], out: Plan) -> list[str]:
    """Step 1 and step 5's group deletions; returns the desired groups whose members are synced."""
    synced = []
    conflicts = set()
    for name in sorted(want.groups):
        existing = qs.groups.get(name)
        if existing is None:
            out.create_groups.append({"name": name, "description": want.groups[name].description})
            synced.append(name)
        elif name in managed_groups:
            synced.append(name)
        else:
            conflicts.add(name)
            out.failed.append({
                "step": STEP_GROUPS, "action": "group_conflict", "item": name,
                "reason": (
                    f"QuickSight group {name!r} exists but is not managed (Description {existing.description!r}); "
                    f"not adopted: delete or rename it in QuickSight, or add its Description to adopt_descriptions"
                ),
            })
    successor_of = {group.okta_id: name for name, group in want.groups.items()}
    for name in sorted(managed_groups):
        if name in want.groups or name in want.frozen_group_names:
            continue
        okta_id = marker_id(qs.groups[name].description)
        if okta_id in want.frozen_group_ids:
            continue  # its Okta group failed validation: leave it as it is
        successor = successor_of.get(okta_id)
        if successor in conflicts:
            # A renamed Okta group whose new name cannot be ours: deleting the old group would drop
            # every permission granted to it, with nothing to replace it.
            out.failed.append({
                "step": STEP_DEPROVISION, "action": "delete_group", "item": name,
                "reason": (
                    f"kept with its members: its Okta group {okta_id} is now {successor!r}, which is an unmanaged "
                    "QuickSight group (conflict), so no successor exists; resolve the conflict and the next run "
                    "creates the successor and then deletes this group"
                ),
            })
            continue
        out.delete_groups.append(name)
        if successor is not None:
            existing = qs.groups.get(successor)
            description = existing.description if existing is not None else want.groups[successor].description
            out.successors[name] = {"name": successor, "description": description}
    return synced


def _plan_users(config, own: Ownership, want: DesiredState, qs: QsSnapshot, managed_users: set[str], out: Plan) -> set[str]:
    """Step 2; returns the desired user names the sync may put into groups."""
    members = set()
    for name in sorted(want.users):
        desired = want.users[name]
        current = qs.users.get(name)
        if name in own.protected:
            # Protected: registered when Okta wants it and QuickSight lacks it (the recipient on a
            # first sync), otherwise never changed; being unmanaged, it is put into no group.
            if current is None:
                out.register.append(_registration(desired))
            continue
        if current is None:
            out.register.append(_registration(desired))
            members.add(name)
            continue
        if name not in managed_users:
            out.failed.append({
                "step": STEP_USERS, "action": "user_conflict", "item": name,
                "reason": (
                    f"QuickSight user {name!r} exists with IdentityType {current.identity_type}, not IAM; "
                    "not managed: delete it in QuickSight or change the Okta userName"
                ),
            })
            continue
        members.add(name)
        have_rank = ROLE_RANK.get(current.role)
        want_rank = ROLE_RANK[desired.role]
        if have_rank is None:
            out.skipped.append({
                "step": STEP_USERS, "action": "update_user", "item": name,
                "reason": f"current role {current.role!r} is outside {'/'.join(ROLE_RANK)}; left as is",
            })
            continue
        email_differs = current.email != desired.email
        if want_rank > have_rank:
            reason = f"role {current.role} -> {desired.role}"
            if email_differs:
                reason += f"; email {current.email} -> {desired.email}"
            out.update.append({"user_name": name, "email": desired.email, "role": desired.role, "reason": reason})
            continue
        if email_differs:
            out.update.append({
                "user_name": name, "email": desired.email, "role": current.role,
                "reason": f"email {current.email} -> {desired.email}",
            })
        if want_rank < have_rank:
            if config.downgrade_policy == "recreate":
                out.recreate.append({**_registration(desired), "from_role": current.role, "groups": []})
            else:
                out.skipped.append({
                    "step": STEP_USERS, "action": "downgrade", "item": name,
                    "reason": (
                        f"Okta asks for {desired.role}, QuickSight has {current.role}; left higher "
                        "(downgrade_policy report: QuickSight refuses downgrades; set downgrade_policy recreate to "
                        "re-register it, or change the role by hand)"
                    ),
                })
    return members


def _registration(desired) -> dict:
    return {
        "user_name": desired.user_name, "iam_arn": desired.iam_arn, "session_name": desired.session_name,
        "email": desired.email, "role": desired.role,
    }


def _plan_memberships(want: DesiredState, qs: QsSnapshot, synced_groups: list[str], member_names: set[str],
                      managed_users: set[str], frozen_users: dict[str, str], out: Plan) -> None:
    """Step 3: in managed groups, only managed users are added or removed; failed users are not touched."""
    recreated = {r["user_name"]: r for r in out.recreate}
    for name in synced_groups:
        existing = qs.groups.get(name)
        have = set(existing.members or ()) if existing is not None else set()
        wanted = want.groups[name].members & member_names
        adds = wanted - have
        removes = {m for m in have - wanted if m in managed_users and m not in frozen_users}
        if adds:
            out.add_members[name] = sorted(adds)
        if removes:
            out.remove_members[name] = sorted(removes)
        for user_name in wanted & recreated.keys():
            recreated[user_name]["groups"].append(name)
    # Groups planned for deletion keep their members (deletion takes them; held, they stay whole).


def _plan_deprovision(want: DesiredState, managed_users: set[str], frozen_users: dict[str, str], out: Plan) -> None:
    """Step 4: managed users with no desired identity, unless a failed Okta user freezes them (reported skipped)."""
    out.deprovision = sorted(name for name in managed_users if name not in want.users and name not in frozen_users)
    for name, why in frozen_users.items():
        out.skipped.append({
            "step": STEP_DEPROVISION, "action": "deprovision_user", "item": name,
            "reason": f"kept as it is: {why}; fix that Okta user and the next run syncs it",
        })


def _check_recipient(config: TargetConfig, qs: QsSnapshot, out: Plan) -> None:
    """Without a recipient that exists and may own assets, no user is deprovisioned (or recreated)."""
    if not out.deprovision and not out.recreate:
        return
    recipient = config.asset_recipient
    registered = {r["user_name"]: r["role"] for r in out.register}
    if not recipient:
        problem = "no asset_recipient is configured: set it to a QuickSight ADMIN or AUTHOR user name"
    elif recipient not in qs.users and registered.get(recipient) in ASSET_OWNER_ROLES:
        return  # registered in step 2, before any hand-over; apply checks it again before the first one
    elif recipient not in qs.users:
        problem = (
            f"asset_recipient {recipient!r} does not exist in QuickSight namespace {config.namespace!r}: "
            "register it or set asset_recipient to an existing ADMIN or AUTHOR"
        )
    elif qs.users[recipient].role not in ASSET_OWNER_ROLES:
        problem = (
            f"asset_recipient {recipient!r} has role {qs.users[recipient].role}, which may not own assets: "
            "make it an ADMIN or AUTHOR or choose another asset_recipient"
        )
    else:
        return
    for name in out.deprovision:
        out.failed.append({"step": STEP_DEPROVISION, "action": "deprovision_user", "item": name, "reason": problem})
    for item in out.recreate:
        out.failed.append({"step": STEP_DEPROVISION, "action": "recreate_user", "item": item["user_name"], "reason": problem})
    # They still count as planned deletions for the hold decision below.
    out.deletion_count = len(out.deprovision) + len(out.recreate)
    out.deprovision = []
    out.recreate = []


def _decide_hold(config: TargetConfig, want: DesiredState, managed_users: set[str], managed_groups: set[str],
                 params: dict, out: Plan) -> None:
    count = (out.deletion_count or len(out.deprovision) + len(out.recreate)) + len(out.delete_groups)
    out.deletion_count = count
    out.hold_reasons = deletions.hold_reasons(
        config, count, len(managed_users) + len(managed_groups), len(managed_users), want.eligible_count
    )
    out.deletions_over_limit = bool(out.hold_reasons)
    out.deletions_held = deletions.held(out.deletions_over_limit, params)
