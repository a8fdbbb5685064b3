"""What QuickSight must hold, computed from the Okta section without the sync's
planner, and the invariants a run must keep, checked on the servers' dumps.

Covers ``role_source: saml_roles`` targets (the reference solution's model);
that is what the soak and the fault matrix configure. Written from
docs/sync-rules.md sections 3-4 directly, so a planner bug shows up as a
difference instead of being copied into the expectation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

ALL_BUT_DEPROVISIONED = ("STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED", "SUSPENDED")
ROLE_ORDER = ("READER", "READER_PRO", "AUTHOR", "AUTHOR_PRO", "ADMIN", "ADMIN_PRO")  # low to high (section 3)
MARKER = re.compile(r"okta-sync:(\S+)")  # the Description of a group the sync made: okta-sync:<Okta group id>


@dataclass
class Desired:
    users: dict[str, dict] = field(default_factory=dict)  # user name -> {"email", "role"}
    groups: dict[str, set[str]] = field(default_factory=dict)  # group name -> member user names
    group_names: dict[str, str] = field(default_factory=dict)  # Okta group id -> its QuickSight group name


def desired_of(target: dict, okta: dict) -> Desired:
    """The contract's desired state for a saml_roles target and a scenario ``okta`` section."""
    if target.get("role_source", "saml_roles") != "saml_roles":
        raise ValueError("the oracle covers role_source saml_roles only")
    saml_roles = target["saml_roles"]
    eligible = set(target.get("eligible_statuses") or ALL_BUT_DEPROVISIONED)
    prefix = target.get("group_prefix", "Okta-")
    people = {u["id"]: u for u in okta.get("users", [])}
    out = Desired()
    names_of: dict[str, list[str]] = {}
    for app_user in okta.get("app_users", []):
        person = people[app_user["id"]]
        if person.get("status", "ACTIVE") not in eligible:
            continue
        session = app_user.get("user_name") or person["login"]
        names = []
        for iam_role in dict.fromkeys(app_user.get("saml_roles", [])):
            if iam_role in saml_roles:
                name = f"{iam_role}/{session}"
                out.users[name] = {"email": person.get("email"), "role": saml_roles[iam_role]}
                names.append(name)
        names_of[app_user["id"]] = names
    groups = {g["id"]: g for g in okta.get("groups", [])}
    for gid in okta.get("app_groups", []):
        group = groups[gid]
        if group.get("type") == "BUILT_IN" and not target.get("sync_builtin_groups"):
            continue
        members = set()
        for uid in group.get("members", []):
            members.update(names_of.get(uid, ()))
        out.groups[prefix + group["name"]] = members
        out.group_names[gid] = prefix + group["name"]
    return out


def protected_of(target: dict) -> set[str]:
    names = set(target.get("protected_users", []))
    if target.get("asset_recipient"):
        names.add(target["asset_recipient"])
    return names


def is_managed_user(target: dict, user: dict) -> bool:
    roles = tuple(f"{r}/" for r in target["saml_roles"])
    return (
        user.get("identity_type", "IAM") == "IAM"
        and user["user_name"].startswith(roles)
        and user["user_name"] not in protected_of(target)
    )


def is_managed_group(target: dict, group: dict) -> bool:
    description = group.get("description") or ""
    return "okta-sync:" in description or description in target.get("adopt_descriptions", ["Okta"])


def _role_as_wanted(target: dict, have: str | None, want: str) -> bool:
    if have == want:
        return True
    left_higher = target.get("downgrade_policy", "report") == "report"
    return left_higher and have in ROLE_ORDER and ROLE_ORDER.index(have) > ROLE_ORDER.index(want)


def marker_of(group: dict) -> str | None:
    """The Okta group id a QuickSight group's marker names, if it has one."""
    match = MARKER.search(group.get("description") or "")
    return match.group(1) if match else None


def _users(state: dict) -> dict[str, dict]:
    return {u["user_name"]: u for u in state.get("users", [])}


def _groups(state: dict) -> dict[str, dict]:
    return {g["name"]: g for g in state.get("groups", [])}


def invariant_violations(target: dict, okta: dict, before: dict, after: dict) -> list[str]:
    """What a run (faulty or not) must never do, judged from QuickSight before and after it.

    - no desired identity that existed is deleted;
    - every asset a deleted user owned is owned by the recipient, and no asset loses its last owner;
    - unmanaged users are unchanged, and unmanaged groups too (but for members QuickSight
      itself drops when a user is deleted);
    - a managed group whose Okta group is still wanted is never deleted before its successor
      (a group with the same ``okta-sync:`` marker) exists: deleting it drops every permission
      granted to it (contract 5.5);
    - no membership in a group the sync does not change is lost by a user who is still there:
      unmanaged groups, and managed groups kept because their successor could not be created
      (contract 5.2: a ``recreate`` restores them; 5.5: the kept group stays as it is).
    """
    out: list[str] = []
    want = desired_of(target, okta)
    b_users, a_users = _users(before), _users(after)
    deleted = set(b_users) - set(a_users)
    for name in sorted(deleted & set(want.users)):
        out.append(f"desired identity {name} was deleted")

    recipient = target.get("asset_recipient")
    a_assets = {(a["type"], a["id"], a.get("region")): set(a.get("owners", [])) for a in after.get("assets", [])}
    for asset in before.get("assets", []):
        key = (asset["type"], asset["id"], asset.get("region"))
        owners_before = set(asset.get("owners", []))
        owners_after = a_assets.get(key)
        if owners_after is None:
            out.append(f"asset {key} disappeared")
            continue
        if owners_before & deleted and recipient not in owners_after:
            out.append(f"asset {key} of deleted {sorted(owners_before & deleted)} is not owned by {recipient} (owners {sorted(owners_after)})")
        if owners_before and not owners_after:
            out.append(f"asset {key} lost every owner (had {sorted(owners_before)})")

    for name, user in b_users.items():
        if is_managed_user(target, user):
            continue
        now = a_users.get(name)
        if now is None:
            out.append(f"unmanaged user {name} was deleted")
        elif (now.get("email"), now.get("role"), now.get("identity_type")) != (
            user.get("email"), user.get("role"), user.get("identity_type")
        ):
            out.append(f"unmanaged user {name} changed: {user} -> {now}")
    for name, user in a_users.items():
        if name not in b_users and not is_managed_user(target, user):
            out.append(f"unmanaged user {name} appeared")

    b_groups, a_groups = _groups(before), _groups(after)
    for name, group in b_groups.items():
        if is_managed_group(target, group):
            continue
        now = a_groups.get(name)
        if now is None:
            out.append(f"unmanaged group {name} was deleted")
            continue
        if now.get("description") != group.get("description"):
            out.append(f"unmanaged group {name}: description changed to {now.get('description')!r}")
        expected = set(group.get("members", [])) - deleted
        members = set(now.get("members", []))
        for user_name in sorted(expected - members):
            out.append(f"membership lost: {user_name} left unmanaged group {name}, which the sync never changes")
        if members - expected:
            out.append(f"unmanaged group {name}: members {sorted(members)}, expected {sorted(expected)}")
    for name, group in a_groups.items():
        if name not in b_groups and not is_managed_group(target, group):
            out.append(f"unmanaged group {name} appeared")
    out += _managed_group_losses(target, want, b_groups, a_groups, a_users)
    return out


def _by_marker(target: dict, groups: dict) -> dict[str, set[str]]:
    """Managed group names by the Okta group id their marker names."""
    out: dict[str, set[str]] = {}
    for name, group in groups.items():
        if is_managed_group(target, group) and marker_of(group):
            out.setdefault(marker_of(group), set()).add(name)
    return out


def _kept(target: dict, want: Desired, b_groups: dict, a_groups: dict) -> dict[str, str]:
    """Managed groups the run had to leave as they are: old name -> the successor name that does not exist.

    Their Okta group is still wanted under another name and no group with their marker holds it after
    the run (CreateGroup refused, the new name held by an unmanaged group).
    """
    by_marker = _by_marker(target, a_groups)
    out = {}
    for name, group in b_groups.items():
        gid = marker_of(group)
        if (is_managed_group(target, group) and gid in want.group_names and want.group_names[gid] != name
                and name in a_groups and not by_marker.get(gid, set()) - {name}):
            out[name] = want.group_names[gid]
    return out


def kept_groups(target: dict, okta: dict, before: dict, after: dict) -> dict[str, str]:
    """:func:`_kept` on two dumps (the soak counts what the membership invariant watched)."""
    return _kept(target, desired_of(target, okta), _groups(before), _groups(after))


def _managed_group_losses(target: dict, want: Desired, b_groups: dict, a_groups: dict, a_users: dict) -> list[str]:
    """A managed group of a still-wanted Okta group deleted with no successor, or kept but stripped of members.

    Its successor is a group after the run with the same marker under another name. When there is none
    (CreateGroup refused, the new name held by an unmanaged group), the old group is what carries the
    permissions: it must still exist, with every member who is still there and not leaving.
    """
    out: list[str] = []
    by_marker = _by_marker(target, a_groups)
    for name, group in sorted(b_groups.items()):
        gid = marker_of(group)
        if is_managed_group(target, group) and gid in want.group_names and name not in a_groups \
                and not by_marker.get(gid, set()) - {name}:
            out.append(
                f"managed group {name} (okta-sync:{gid}) was deleted before its successor "
                f"{want.group_names[gid]} exists; Okta group {gid} is still an app group"
            )
    for name, successor in sorted(_kept(target, want, b_groups, a_groups).items()):
        members = set(a_groups[name].get("members", []))
        for user_name in sorted(set(b_groups[name].get("members", [])) - members):
            user = a_users.get(user_name)
            if user is None or (is_managed_user(target, user) and user_name not in want.users):
                continue  # gone, or leaving: not the kept group's loss
            out.append(
                f"membership lost: {user_name} left managed group {name}, kept because its successor "
                f"{successor} could not be created"
            )
    return out


def convergence_differences(target: dict, okta: dict, state: dict) -> list[str]:
    """After a clean run: managed QuickSight equals the desired state (users with email and role, groups with managed members).

    Under ``downgrade_policy: report`` a role higher than the desired one is what the contract leaves.
    """
    out: list[str] = []
    want = desired_of(target, okta)
    for name in protected_of(target):  # protected users are never the sync's to create or change
        want.users.pop(name, None)
    users = _users(state)
    managed = {n: u for n, u in users.items() if is_managed_user(target, u)}
    for name in sorted(set(want.users) - set(managed)):
        out.append(f"desired user {name} missing")
    for name in sorted(set(managed) - set(want.users)):
        out.append(f"user {name} should have been deprovisioned")
    for name in sorted(set(want.users) & set(managed)):
        have, wanted = managed[name], want.users[name]
        if have.get("email") != wanted["email"] or not _role_as_wanted(target, have.get("role"), wanted["role"]):
            out.append(f"user {name}: has {have.get('email')}/{have.get('role')}, wants {wanted['email']}/{wanted['role']}")
    groups = {n: g for n, g in _groups(state).items() if is_managed_group(target, g)}
    for name in sorted(set(want.groups) - set(groups)):
        out.append(f"desired group {name} missing")
    for name in sorted(set(groups) - set(want.groups)):
        out.append(f"group {name} should have been deleted")
    for name in sorted(set(want.groups) & set(groups)):
        members = {m for m in groups[name].get("members", []) if m in managed}
        if members != want.groups[name]:
            out.append(f"group {name}: managed members {sorted(members)}, wants {sorted(want.groups[name])}")
    return out


# ---- incremental and on-demand runs --------------------------------------------------


def identities_of(target: dict, okta: dict, uid: str) -> set[str]:
    """Every QuickSight user name that can be this person's: ``<role>/<login or app username>`` for each role."""
    person = next((u for u in okta.get("users", []) if u["id"] == uid), None)
    app_user = next((a for a in okta.get("app_users", []) if a["id"] == uid), None)
    sessions = {s for s in ((person or {}).get("login"), (app_user or {}).get("user_name")) if s}
    return {f"{role}/{session}" for role in target["saml_roles"] for session in sessions}




def scoped_differences(target: dict, okta: dict, state: dict, *, user_ids=(), group_ids=(), group_names=()) -> list[str]:
    """After a converged scoped run: QuickSight equals the desired state for what the run looked at.

    - each Okta user read: its desired identities exist with email and role, its other managed ones
      are gone, and it is in exactly the managed groups it should be in;
    - each Okta group read whole: its QuickSight group exists with exactly the desired managed members,
      or, no longer an app group, no managed group carries its marker;
    - each QuickSight group asked about that should exist does.
    """
    out: list[str] = []
    want = desired_of(target, okta)
    for name in protected_of(target):
        want.users.pop(name, None)
    users = _users(state)
    managed = {n: u for n, u in users.items() if is_managed_user(target, u)}
    groups = {n: g for n, g in _groups(state).items() if is_managed_group(target, g)}
    for uid in sorted(user_ids):
        mine = identities_of(target, okta, uid)
        for name in sorted(mine & set(want.users)):
            have, wanted = managed.get(name), want.users[name]
            if have is None:
                out.append(f"person {uid}: desired user {name} missing")
            elif have.get("email") != wanted["email"] or not _role_as_wanted(target, have.get("role"), wanted["role"]):
                out.append(f"person {uid}: user {name} has {have.get('email')}/{have.get('role')}, "
                           f"wants {wanted['email']}/{wanted['role']}")
        for name in sorted((mine & set(managed)) - set(want.users)):
            out.append(f"person {uid}: user {name} should have been deprovisioned")
        for group_name, members in sorted(want.groups.items()):
            for name in sorted(mine & members):
                if group_name not in groups:
                    out.append(f"person {uid}: desired group {group_name} missing (wants {name} in it)")
                elif name not in groups[group_name].get("members", []):
                    out.append(f"person {uid}: {name} missing from group {group_name}")
        for group_name, group in sorted(groups.items()):
            for name in sorted(mine & set(group.get("members", [])) - want.groups.get(group_name, set())):
                out.append(f"person {uid}: {name} should not be in group {group_name}")
    by_marker = _by_marker(target, groups)
    for gid in sorted(group_ids):
        name = want.group_names.get(gid)
        if name is None:
            for stale in sorted(by_marker.get(gid, ())):
                out.append(f"group {stale} (okta-sync:{gid}) should have been deleted: no longer an app group")
            continue
        if name not in groups:
            out.append(f"group {name} (Okta {gid}, read whole) missing")
            continue
        members = {m for m in groups[name].get("members", []) if m in managed}
        if members != want.groups[name]:
            out.append(f"group {name} (Okta {gid}, read whole): managed members {sorted(members)}, "
                       f"wants {sorted(want.groups[name])}")
    for name in sorted(set(group_names) & set(want.groups) - set(groups)):
        out.append(f"group {name} was asked about and is desired, but missing")
    return out


def on_demand_violations(target: dict, okta: dict, named_ids, before: dict, after: dict, recreated=()) -> list[str]:
    """An on-demand run touches only the named people: every other user, membership, group and asset is as it was.

    Allowed: the named people's identities (registered, updated, deleted) and their memberships; a
    managed group created for them (no one else in it); the hand-over of the assets of a named identity
    that was deleted, or recreated (``recreated``: the plan's role downgrades, handed over before the delete).
    """
    out: list[str] = []
    named = set().union(*(identities_of(target, okta, uid) for uid in named_ids)) if named_ids else set()
    b_users, a_users = _users(before), _users(after)
    for name in sorted((set(b_users) | set(a_users)) - named):
        b, a = b_users.get(name), a_users.get(name)
        key = ("email", "role", "identity_type")
        if (b is None) != (a is None) or (b and tuple(b.get(k) for k in key) != tuple(a.get(k) for k in key)):
            out.append(f"on-demand run changed user {name}, who was not named: {b} -> {a}")
    b_groups, a_groups = _groups(before), _groups(after)
    for name in sorted(set(b_groups) - set(a_groups)):
        out.append(f"on-demand run deleted group {name}")
    for name in sorted(set(a_groups) - set(b_groups)):
        group = a_groups[name]
        if not is_managed_group(target, group) or set(group.get("members", [])) - named:
            out.append(f"on-demand run created group {name} with members not named: {sorted(group.get('members', []))}")
    for name in sorted(set(a_groups) & set(b_groups)):
        b, a = b_groups[name], a_groups[name]
        if a.get("description") != b.get("description"):
            out.append(f"on-demand run changed group {name}'s description: {b.get('description')!r} -> {a.get('description')!r}")
        b_others, a_others = set(b.get("members", [])) - named, set(a.get("members", [])) - named
        if b_others != a_others:
            out.append(f"on-demand run changed memberships of people not named in {name}: "
                       f"{sorted(b_others - a_others)} left, {sorted(a_others - b_others)} joined")
    deleted = ((set(b_users) - set(a_users)) | set(recreated)) & named
    a_assets = {(a["type"], a["id"], a.get("region")): set(a.get("owners", [])) for a in after.get("assets", [])}
    for asset in before.get("assets", []):
        key = (asset["type"], asset["id"], asset.get("region"))
        owners = set(asset.get("owners", []))
        if not owners & deleted and a_assets.get(key) != owners:
            out.append(f"on-demand run changed the owners of asset {key}: {sorted(owners)} -> {sorted(a_assets.get(key) or ())}")
    return out


def cursor_violations(outcome: str, planned: dict | None, key: str, store_before: dict, store_after: dict) -> list[str]:
    """The incremental cursor never moves after a run that did not converge, nor after an on-demand run;
    a converged incremental run moves it to where its log read ended."""
    mode = (planned or {}).get("mode")
    moved = store_before.get(key) != store_after.get(key)
    if moved and outcome != "success":
        return [f"the cursor moved after a run that ended {outcome}: {store_before.get(key)} -> {store_after.get(key)}"]
    if moved and mode == "only_users":
        return [f"the cursor moved after an on-demand run: {store_before.get(key)} -> {store_after.get(key)}"]
    if outcome == "success" and mode == "incremental":
        stored = json.loads(store_after.get(key) or "{}")
        if stored.get("next_link") != planned.get("cursor_to"):
            return [f"a converged incremental run left the cursor at {stored.get('next_link')!r}, "
                    f"not where its log read ended ({planned.get('cursor_to')!r})"]
    return []
