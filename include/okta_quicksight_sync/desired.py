"""The QuickSight state Okta asks for (docs/sync-rules.md section 3).

A pure function of the target config and the Okta snapshot. Items whose
data QuickSight cannot take (no email, a userName that is no session name,
a group name QuickSight rejects, two Okta objects mapping to one QuickSight
name) are not desired: they are recorded as failures, and the QuickSight
names they would touch are *frozen* so that the planner leaves whatever
QuickSight has of them exactly as it is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from botocore.loaders import create_loader
from botocore.model import ServiceModel

from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.model import ROLE_RANK, OktaSnapshot, OktaUser
from okta_quicksight_sync.ownership import marker_for


@dataclass(frozen=True)
class InputRule:
    """One QuickSight input member's limits as AWS publishes them (botocore's service model).

    Read from the model, not restated, so that no limit QuickSight does not
    have is invented (a 140-character group name is valid) and none it has
    is missed. The model's patterns are Java regexes matched whole, where
    ``\\w`` is ASCII.
    """

    member: str
    min: int | None
    max: int | None
    pattern: str | None

    def problem(self, value: str | None) -> str | None:
        """Why QuickSight would refuse ``value``, or None when the model accepts it."""
        value = value or ""
        if self.min is not None and len(value) < self.min or self.max is not None and len(value) > self.max:
            return f"{len(value)} characters long"
        if self.pattern and not re.fullmatch(self.pattern, value, re.ASCII):
            return f"has characters outside {self._pattern_text()}"
        return None

    def describe(self) -> str:
        lo, hi = self.min or 0, self.max
        size = f"{lo}-{hi}" if hi is not None else f"at least {lo}"
        return f"{size} characters" + (f" matching {self._pattern_text()}" if self.pattern else "")

    def _pattern_text(self) -> str:
        text = (self.pattern or "").replace("\\w", "A-Za-z0-9_")
        return re.sub(r"\\u([0-9A-Fa-f]{4})", r"U+\1", text)


@functools.lru_cache(maxsize=1)
def _quicksight_model() -> ServiceModel:
    return ServiceModel(create_loader().load_service_model("quicksight", "service-2"))


def input_rule(operation: str, member: str) -> InputRule:
    """The limits QuickSight's published model states for ``operation``'s input ``member``."""
    meta = _quicksight_model().operation_model(operation).input_shape.members[member].metadata
    return InputRule(member, meta.get("min"), meta.get("max"), meta.get("pattern"))


SESSION_NAME = input_rule("RegisterUser", "SessionName")  # 2-64 of [\w+=.@-]
GROUP_NAME = input_rule("CreateGroup", "GroupName")  # at least 1 of U+0020-U+00FF, no maximum


@dataclass(frozen=True)
class DesiredUser:
    user_name: str  # "<IAM role>/<userName>"
    iam_arn: str
    session_name: str
    email: str
    role: str
    okta_id: str


@dataclass
class DesiredGroup:
    name: str
    okta_id: str
    description: str
    members: set[str] = field(default_factory=set)  # desired user names


@dataclass(frozen=True)
class Failure:
    """One Okta item that cannot be synced, and why (a person can fix it in Okta)."""

    action: str  # validate_user | validate_group
    item: str
    reason: str


@dataclass
class DesiredState:
    users: dict[str, DesiredUser] = field(default_factory=dict)
    groups: dict[str, DesiredGroup] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    frozen_user_names: set[str] = field(default_factory=set)
    # Emails (lower-cased) of failed Okta users -> who: the planner freezes managed identities with them.
    frozen_emails: dict[str, str] = field(default_factory=dict)
    frozen_group_names: set[str] = field(default_factory=set)
    frozen_group_ids: set[str] = field(default_factory=set)  # Okta group ids of failed groups
    eligible_count: int = 0


def user_label(user: OktaUser) -> str:
    return f"{user.user_name or '(no userName)'} (Okta {user.id})"


def roles_of_users(config: TargetConfig, okta: OktaSnapshot) -> dict[str, str]:
    """role_source groups: each user's highest role over the role groups it belongs to."""
    best: dict[str, str] = {}
    for group in okta.groups.values():
        role = config.role_groups.get(group.name)
        if role is None:
            continue
        rank = ROLE_RANK[role]
        for member in group.member_ids:
            current = best.get(member)
            if current is None or ROLE_RANK[current] < rank:
                best[member] = role
    return best


def identities_of(config: TargetConfig, user: OktaUser, group_roles: dict[str, str]) -> list[tuple[str, str]]:
    """(IAM role name, QuickSight role) pairs an eligible user yields, in a stable order."""
    if config.role_source == "groups":
        role = group_roles.get(user.id) or config.default_role
        return [(config.iam_role, role)] if role else []
    seen: dict[str, str] = {}
    for iam_role in user.saml_roles:
        if iam_role in config.saml_roles and iam_role not in seen:
            seen[iam_role] = config.saml_roles[iam_role]
    return list(seen.items())


def desired_state(config: TargetConfig, okta: OktaSnapshot) -> DesiredState:
    state = DesiredState()
    eligible = frozenset(config.eligible_statuses)
    group_roles = roles_of_users(config, okta) if config.role_source == "groups" else {}

    # -- users: candidates, then the ones that collide
    candidates: dict[str, list[tuple[str, str]]] = {}  # okta id -> identities
    claimed: dict[str, list[str]] = {}  # user name -> okta ids claiming it
    users = okta.users
    for user in users.values():
        if user.status not in eligible:
            continue
        state.eligible_count += 1
        identities = identities_of(config, user, group_roles)
        if not identities:
            continue
        problem = None
        if SESSION_NAME.problem(user.user_name):
            problem = (
                f"userName {user.user_name!r} is no valid QuickSight session name "
                f"({SESSION_NAME.problem(user.user_name)}; RegisterUser takes {SESSION_NAME.describe()}); "
                "fix the app username in Okta"
            )
        elif not user.email:
            problem = "the Okta user has no email; set profile.email in Okta"
        if problem:
            _fail_user(config, state, user, problem)
            if not user.user_name:
                continue
        else:
            candidates[user.id] = identities
        for iam_role, _ in identities:
            claimed.setdefault(f"{iam_role}/{user.user_name}", []).append(user.id)

    for name, ids in claimed.items():
        if len(ids) > 1:
            for okta_id in ids:
                if okta_id in candidates:
                    del candidates[okta_id]
                    others = ", ".join(i for i in ids if i != okta_id)
                    _fail_user(
                        config, state, users[okta_id],
                        f"maps to QuickSight user {name!r} like Okta user(s) {others}; "
                        "give each Okta user its own app username",
                    )

    names_of: dict[str, list[str]] = {}  # okta id -> desired user names
    for okta_id, identities in candidates.items():
        user = users[okta_id]
        names = names_of[okta_id] = []
        for iam_role, role in identities:
            name = f"{iam_role}/{user.user_name}"
            names.append(name)
            state.users[name] = DesiredUser(name, config.iam_arn(iam_role), user.user_name, user.email, role, okta_id)
    # A failed user's names freeze what QuickSight has, unless a valid Okta user owns the name alone.
    state.frozen_user_names.difference_update(state.users)

    # -- groups
    claimed_groups: dict[str, list[str]] = {}
    for group in okta.groups.values():
        if group.type == "BUILT_IN" and not config.sync_builtin_groups:
            continue
        name = f"{config.group_prefix}{group.name}"
        bad_name = GROUP_NAME.problem(name)
        if bad_name:
            state.failures.append(Failure(
                "validate_group", f"{name!r} (Okta group {group.id})",
                f"QuickSight rejects this group name ({bad_name}; CreateGroup takes {GROUP_NAME.describe()}): "
                "rename the Okta group or change group_prefix",
            ))
            state.frozen_group_ids.add(group.id)
            state.frozen_group_names.add(name)
            continue
        claimed_groups.setdefault(name, []).append(group.id)
        members: set[str] = set()
        for member in group.member_ids:
            member_names = names_of.get(member)
            if member_names:
                members.update(member_names)
        state.groups[name] = DesiredGroup(name, group.id, marker_for(group.id), members)

    for name, ids in claimed_groups.items():
        if len(ids) > 1:
            del state.groups[name]
            state.frozen_group_names.add(name)
            for okta_id in ids:
                state.frozen_group_ids.add(okta_id)
                state.failures.append(Failure(
                    "validate_group", f"{name!r} (Okta group {okta_id})",
                    f"Okta groups {', '.join(ids)} all map to QuickSight group {name!r}; rename all but one in Okta",
                ))
    return state


def _fail_user(config: TargetConfig, state: DesiredState, user: OktaUser, reason: str) -> None:
    state.failures.append(Failure("validate_user", user_label(user), reason))
    if user.email:
        # A typo'd userName names no existing identity: the person's identities are found by email.
        state.frozen_emails.setdefault(user.email.lower(), user_label(user))
    if user.user_name:
        # Whatever QuickSight has under this userName stays exactly as it is.
        for iam_role in config.iam_roles:
            state.frozen_user_names.add(f"{iam_role}/{user.user_name}")
