"""Read just the users and groups a change touched, from Okta and from QuickSight (docs/incremental.md).

The full readers (okta_reader, quicksight_reader) read everything; an
incremental or on-demand run reads only what okta_changes picked, item by
item, always the current state (never an event's word for it). The snapshots
are the planner's usual types, plus what they were asked about and which
facts are complete: the planner may plan only what these facts decide.

Any failed read raises, as in the full readers: nothing is planned from a
partial read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.desired import SESSION_NAME
from okta_quicksight_sync.model import OktaGroup, OktaSnapshot, OktaUser, QsGroup, QsSnapshot
from okta_quicksight_sync.okta_reader import OktaDataError, app_user_to_model
from okta_quicksight_sync.ownership import Ownership, marker_id
from okta_quicksight_sync.quicksight_transport import PAGE_SIZE

DEFAULT_MEMBER_LIMIT = 200  # a group re-planned whole costs ~2 Okta calls per member: past this, run in full


class ScopeTooLargeError(Exception):
    """A scoped read would cost more than a full one; the caller runs in full and reports this message."""


@dataclass
class ScopedOktaSnapshot(OktaSnapshot):
    """An OktaSnapshot of just the users and groups asked about. What it is complete for:

    - ``read_user_ids``: every user looked at. One of them absent from ``users`` is not assigned to
      the app now (or no longer exists): Okta wants no identity for it.
    - ``users``: those of them that are app users, in Okta's current state (status, app username,
      email, samlRoles, scope), exactly as the full read has them.
    - For each user in ``users``, its app groups are complete: the user is in the ``member_ids`` of
      every app group it belongs to (``groups`` holds each of them), and in no other group's;
      except groups whose members `wants_members` says are not needed (BUILT_IN Everyone), left
      without members as in the full read.
    - ``read_group_ids``: every group looked at in full. One absent from ``groups`` is not an app
      group now (unassigned or deleted): its QuickSight counterpart is no longer wanted.
    - ``complete_group_ids``: the groups whose ``member_ids`` are every member that is an app user
      (each member read as a user above, so ``users`` holds them all). Any other group in ``groups``
      is there because a read user belongs to it, and its ``member_ids`` are only read users: plan
      those users' memberships in it, never the group's other members.
    - ``app_group_ids``: the app's groups as this read knows them (the caller's, corrected by the
      groups read in full).
    """

    read_user_ids: frozenset[str] = frozenset()
    read_group_ids: frozenset[str] = frozenset()
    complete_group_ids: frozenset[str] = frozenset()
    app_group_ids: frozenset[str] = frozenset()

    def to_dict(self) -> dict:
        return {
            **super().to_dict(),
            "read_user_ids": sorted(self.read_user_ids),
            "read_group_ids": sorted(self.read_group_ids),
            "complete_group_ids": sorted(self.complete_group_ids),
            "app_group_ids": sorted(self.app_group_ids),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ScopedOktaSnapshot:
        base = OktaSnapshot.from_dict(data)
        return cls(
            users=base.users,
            groups=base.groups,
            **{k: frozenset(data.get(k, ())) for k in ("read_user_ids", "read_group_ids", "complete_group_ids", "app_group_ids")},
        )


def read_okta_scope(
    okta,
    app_id: str,
    user_ids: Iterable[str],
    group_ids: Iterable[str],
    app_group_ids: Collection[str],
    *,
    wants_members: Callable[[str, str], bool] | None = None,
    member_limit: int = DEFAULT_MEMBER_LIMIT,
) -> ScopedOktaSnapshot:
    """The current Okta state of `user_ids` and of `group_ids` with all their members.

    `okta` is the Okta client or hook (get_app_user, iter_user_groups, get_app_group,
    iter_group_members). `app_group_ids` are the app's groups as the caller knows them (the
    last run's, e.g. the markers of the managed QuickSight groups): a read user's groups among
    them are its app groups; each of `group_ids` is asked about (get_app_group) and counts as
    an app group only if Okta says so now; every member of such a group is read as a user (one
    no longer assigned is read too, as its members may have lost the app with it). Costs: 2
    calls per app user (1 per user no longer in the app); per group 1 (2 when it is not an app
    group), plus its member pages and 2 per member, so a group over `member_limit` members
    raises ScopeTooLargeError. `wants_members` as in `read_okta`.
    """
    app_groups = set(app_group_ids)
    group_ids = sorted(set(group_ids))
    groups: dict[str, OktaGroup] = {}
    members: dict[str, set[str]] = {}
    complete: set[str] = set()
    to_read = set(user_ids)
    member_ids_of: dict[str, list[str]] = {}

    for group_id in group_ids:
        assignment = okta.get_app_group(app_id, group_id)
        if assignment is None:  # not an app group now; if it still exists, its members may have lost the app with it
            app_groups.discard(group_id)
            gone = okta.get_group(group_id)
            if gone is not None:
                to_read.update(_member_ids(okta, _group_from(gone), member_limit))
            continue
        app_groups.add(group_id)
        group = _group_of(assignment, group_id)
        groups[group_id] = group
        members[group_id] = set()
        complete.add(group_id)
        if wants_members is not None and not wants_members(group.name, group.type):
            continue
        member_ids_of[group_id] = _member_ids(okta, group, member_limit)
        to_read.update(member_ids_of[group_id])

    users: dict[str, OktaUser] = {}
    for user_id in sorted(to_read):
        app_user = okta.get_app_user(app_id, user_id)
        if app_user is None:
            continue
        user = app_user_to_model(app_user)
        users[user.id] = user
        for okta_group in okta.iter_user_groups(user.id):
            group_id = okta_group.get("id")
            if group_id not in app_groups:
                continue
            if group_id not in groups:
                groups[group_id] = _group_from(okta_group)
                members[group_id] = set()
            group = groups[group_id]
            if group_id not in complete and (wants_members is None or wants_members(group.name, group.type)):
                members[group_id].add(user.id)

    for group_id, ids in member_ids_of.items():  # complete groups keep Okta's member order
        members[group_id] = {i for i in ids if i in users}
    out_groups = {}
    for group_id, group in groups.items():
        order = member_ids_of.get(group_id) or sorted(members[group_id])
        out_groups[group_id] = OktaGroup(group.id, group.name, group.type, tuple(i for i in order if i in members[group_id]))
    return ScopedOktaSnapshot(
        users=users,
        groups=out_groups,
        read_user_ids=frozenset(to_read),
        read_group_ids=frozenset(group_ids),
        complete_group_ids=frozenset(complete),
        app_group_ids=frozenset(app_groups),
    )


def resolve_user_ids(okta, ids_or_logins: Iterable[str]) -> dict[str, str | None]:
    """Each Okta user id or login an on-demand run names -> the user's id, or None when Okta has
    no such user (the run reports it and changes nothing for it). One call each (okta.users.read)."""
    out: dict[str, str | None] = {}
    for entry in ids_or_logins:
        key = str(entry).strip()
        if key and key not in out:
            user = okta.get_user(key)
            out[key] = str(user["id"]) if user and user.get("id") else None
    return out


def candidate_user_names(config: TargetConfig, names: Iterable[str]) -> set[str]:
    """The QuickSight identities a person may have: `<role>/<name>` for every IAM role this target
    uses and every name (current and old app usernames, logins: an identity is looked up under each).
    A name RegisterUser would refuse as a session name cannot be an identity: no read is spent on it."""
    return {f"{role}/{name}" for role in config.iam_roles for name in names if name and SESSION_NAME.problem(name) is None}


def _member_ids(okta, group: OktaGroup, member_limit: int) -> list[str]:
    """The group's member ids, or ScopeTooLargeError past `member_limit` (each costs reads of its own)."""
    ids = []
    for member in okta.iter_group_members(group.id):
        ids.append(str(member.get("id")))
        if len(ids) > member_limit:
            raise ScopeTooLargeError(
                f"Okta group {group.name!r} ({group.id}) has more than {member_limit} members to re-read one by one: "
                f"a full run reads them for less"
            )
    return ids


def _group_of(assignment: dict, group_id: str) -> OktaGroup:
    embedded = (assignment.get("_embedded") or {}).get("group")
    if not embedded:
        raise OktaDataError(f"app group {group_id} came without its embedded group; the client must ask for expand=group")
    return _group_from(embedded)


def _group_from(group: dict) -> OktaGroup:
    name = (group.get("profile") or {}).get("name")
    if not name:
        raise OktaDataError(f"Okta group {group.get('id') or '?'} has no profile.name")
    return OktaGroup(id=str(group["id"]), name=name, type=group.get("type") or "OKTA_GROUP")


# ---- QuickSight ---------------------------------------------------------------


@dataclass
class ScopedQsSnapshot(QsSnapshot):
    """A QsSnapshot of just the users and groups asked about. What it is complete for:

    - ``read_user_names``: every user name looked at; one absent from ``users`` does not exist.
    - ``user_groups``: for each user in ``users``, every group it is in, managed or not.
    - ``groups``: every group named (that exists) and every group a read user is in, with its
      Description (so ``Ownership.is_managed_group`` decides as in a full read).
    - ``complete_group_names``: managed groups whose ``members`` are every member. Another managed
      group's ``members`` are only the read users in it; an unmanaged group's are None (not read),
      as in the full read.
    - ``read_group_names``: every group asked about (in full or described only); one absent from
      ``groups`` does not exist.
    """

    user_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    read_user_names: frozenset[str] = frozenset()
    read_group_names: frozenset[str] = frozenset()
    complete_group_names: frozenset[str] = frozenset()

    def to_dict(self) -> dict:
        return {
            **super().to_dict(),
            "user_groups": {name: list(groups) for name, groups in sorted(self.user_groups.items())},
            "read_user_names": sorted(self.read_user_names),
            "read_group_names": sorted(self.read_group_names),
            "complete_group_names": sorted(self.complete_group_names),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ScopedQsSnapshot:
        base = QsSnapshot.from_dict(data)
        return cls(
            users=base.users,
            groups=base.groups,
            user_groups={name: tuple(groups) for name, groups in (data.get("user_groups") or {}).items()},
            **{k: frozenset(data.get(k, ())) for k in ("read_user_names", "read_group_names", "complete_group_names")},
        )


def read_quicksight_scope(
    directory,
    config: TargetConfig,
    user_names: Iterable[str],
    group_names: Iterable[str],
    *,
    marked_for: Collection[str] = (),
    described: Iterable[str] = (),
    known_groups: int | None = None,
) -> ScopedQsSnapshot:
    """Just these QuickSight users (each with its groups) and these groups (managed ones with members).

    `user_names` are candidate identities (`<role>/<name>` for each role and each name the
    change gives, old ones included): DescribeUser each, ListUserGroups for those that exist.
    `group_names`: DescribeGroup each, ListGroupMemberships for the managed ones. A group a read
    user is in is described too, so its managed-ness is known; so is each of `described` (groups
    a read user should be in: DescribeGroup only, their members are the read users in them).
    `marked_for`: Okta group ids whose
    managed QuickSight group must be found whatever its name (a renamed or unassigned group's old
    one): one ListGroups pass, which then also gives every Description (no DescribeGroup needed);
    managed groups adopted by their Description (no marker) come too, without their members: one
    may be such a group's old one, which only a full run can tell. `known_groups`: how many groups the
    account holds at least (the app's groups), when known: once more groups are to be described than
    the ListGroups pages that many would take, one ListGroups pass replaces the DescribeGroups (a
    group it does not list does not exist). Calls only the directory's public reads.
    """
    own = Ownership(config)
    user_names = sorted(set(user_names))
    full = set(group_names)
    users = {}
    user_groups: dict[str, tuple[str, ...]] = {}
    for name in user_names:
        user = directory.describe_user(name)
        if user is None:
            continue
        users[name] = user
        user_groups[name] = tuple(directory.list_user_groups(name))

    listed: dict[str, QsGroup] | None = None
    if marked_for:
        wanted = set(marked_for)
        listed = {g.name: g for g in directory.list_groups()}
        full.update(name for name, g in listed.items() if own.is_managed_group(g) and marker_id(g.description) in wanted)
        described = set(described) | {n for n, g in listed.items() if own.is_managed_group(g) and marker_id(g.description) is None}

    groups: dict[str, QsGroup] = {}
    complete: set[str] = set()
    described = set(described) - full
    asked = full | described | {g for names in user_groups.values() for g in names}
    if listed is None and known_groups is not None and len(asked) > list_groups_pages(known_groups):
        listed = {g.name: g for g in directory.list_groups()}
    for name in sorted(asked):
        group = listed.get(name) if listed is not None else directory.describe_group(name)
        if group is None:
            continue
        members: tuple[str, ...] | None = None
        if own.is_managed_group(group):
            if name in full:
                members = tuple(directory.list_group_members(name))
                complete.add(name)
            else:
                members = tuple(u for u in users if name in user_groups[u])
        groups[name] = QsGroup(group.name, group.description, members, group.arn)
    return ScopedQsSnapshot(
        users=users,
        groups=groups,
        user_groups=user_groups,
        read_user_names=frozenset(user_names),
        read_group_names=frozenset(full | described),
        complete_group_names=frozenset(complete),
    )


def list_groups_pages(known_groups: int) -> int:
    """The ListGroups pages an account of at least `known_groups` groups takes: one more than the full
    pages, for the remainder and for groups the sync does not manage (their number is not known)."""
    return max(0, known_groups) // PAGE_SIZE + 1


# ---- both sides ------------------------------------------------------------------


@dataclass
class Scope:
    """What an incremental or on-demand run read: both scoped snapshots and the people looked at.

    ``people``: the QuickSight identities (``<role>/<name>``) of the Okta users read; only
    these may be registered, updated, regrouped or deprovisioned (scoped_plan). ``qs.users``
    may also hold the asset recipient, read so that a hand-over can be planned.
    """

    okta: ScopedOktaSnapshot
    qs: ScopedQsSnapshot
    people: frozenset[str]


def read_scope(
    okta,
    directory,
    config: TargetConfig,
    user_ids: Iterable[str],
    group_ids: Iterable[str],
    app_group_ids: Collection[str],
    *,
    names: dict[str, Iterable[str]] | None = None,
    member_limit: int = DEFAULT_MEMBER_LIMIT,
) -> Scope:
    """Read the Okta side of these users and groups, then the QuickSight side of what that found.

    `names`: per user id, names a change gave (old app usernames, logins): their identities
    are looked at too, so a rename's old identity is found. A user read that is no longer in
    the app and that no change named is asked for by id (one call) for its login and email.
    The recipient is described when anyone is, so a hand-over can be planned.
    """
    names = names or {}
    osnap = read_okta_scope(
        okta, config.okta_app_id, user_ids, group_ids, app_group_ids,
        wants_members=config.wants_group_members, member_limit=member_limit,
    )
    person_names: set[str] = set()
    for uid in sorted(osnap.read_user_ids):
        given = {n for n in names.get(uid, ()) if n}
        user = osnap.users.get(uid)
        if user is not None:
            given.add(user.user_name)
        elif not given:
            found = okta.get_user(uid) or {}
            profile = found.get("profile") or {}
            given.update(str(profile[k]) for k in ("login", "email") if profile.get(k))
        person_names |= given
    people = candidate_user_names(config, person_names)
    # Groups read whole in Okta are read whole in QuickSight; a read person's other groups are only
    # described (a big group's member pages are not read for one person's membership).
    whole = {f"{config.group_prefix}{g.name}" for gid, g in osnap.groups.items() if gid in osnap.complete_group_ids}
    others = {f"{config.group_prefix}{g.name}" for gid, g in osnap.groups.items() if gid not in osnap.complete_group_ids}
    qs = read_quicksight_scope(
        directory, config, people, whole, marked_for=osnap.read_group_ids, described=others - whole,
        known_groups=len(osnap.app_group_ids),
    )
    recipient = config.asset_recipient
    if recipient and people and recipient not in qs.read_user_names:
        found_recipient = directory.describe_user(recipient)
        if found_recipient is not None:
            qs.users[recipient] = found_recipient
    return Scope(okta=osnap, qs=qs, people=frozenset(people))
