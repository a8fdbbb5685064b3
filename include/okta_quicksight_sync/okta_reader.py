"""Read one Okta app in full into an OktaSnapshot (docs/sync-rules.md section 2).

Takes any object with the three generators of the Okta client/hook and
walks each once, one request per page. Optional fields may be missing or
null; an error from the client propagates, so the caller never gets a
partial snapshot to plan from.
"""

from __future__ import annotations

from collections.abc import Callable

from okta_quicksight_sync.model import OktaGroup, OktaSnapshot, OktaUser
from okta_quicksight_sync.progress import Progress


class OktaDataError(ValueError):
    """Okta answered with a shape the sync cannot plan from (e.g. no embedded user)."""


def read_okta(okta, app_id: str, *, wants_members: Callable[[str, str], bool] | None = None) -> OktaSnapshot:
    """App users, app groups and the app groups' members.

    ``wants_members(name, type)`` may say a group's members are not needed
    (``TargetConfig.wants_group_members``: BUILT_IN Everyone can be huge).
    Members that are not app users are dropped: no rule of the contract
    looks at them.
    """
    # A 100k-user app reads for many minutes: a line every 1,000 items or 30 s, none per item.
    users: dict[str, OktaUser] = {}
    progress = Progress("reading Okta app users")
    for app_user in okta.iter_app_users(app_id):
        user = app_user_to_model(app_user)
        users[user.id] = user
        progress.step()
    progress.finish()

    groups: dict[str, OktaGroup] = {}
    for assignment in okta.iter_app_groups(app_id):
        embedded = (assignment.get("_embedded") or {}).get("group")
        group_id = assignment.get("id") or (embedded or {}).get("id")
        if not embedded or not group_id:
            raise OktaDataError(
                f"app group {group_id or '?'} came without its embedded group; the client must ask for expand=group"
            )
        name = (embedded.get("profile") or {}).get("name")
        if not name:
            raise OktaDataError(f"Okta group {group_id} has no profile.name")
        groups[group_id] = OktaGroup(id=group_id, name=name, type=embedded.get("type") or "OKTA_GROUP")

    progress = Progress(f"reading the members of {len(groups):,} Okta app groups")
    for group_id, group in list(groups.items()):
        if wants_members is not None and not wants_members(group.name, group.type):
            continue
        member_ids = []
        for member in okta.iter_group_members(group_id):
            member_id = member.get("id")
            if member_id in users:
                member_ids.append(member_id)
            progress.step()
        groups[group_id] = OktaGroup(group.id, group.name, group.type, tuple(member_ids))
    progress.finish()
    return OktaSnapshot(users=users, groups=groups)


def app_user_to_model(app_user: dict) -> OktaUser:
    embedded = (app_user.get("_embedded") or {}).get("user")
    user_id = app_user.get("id") or (embedded or {}).get("id")
    if not embedded or not user_id:
        raise OktaDataError(
            f"app user {user_id or '?'} came without its embedded Okta user; the client must ask for expand=user"
        )
    status = embedded.get("status")
    if not status:
        raise OktaDataError(f"Okta user {user_id} has no status")
    roles = (app_user.get("profile") or {}).get("samlRoles") or ()
    if isinstance(roles, str):
        roles = (roles,)
    return OktaUser(
        id=user_id,
        status=status,
        user_name=(app_user.get("credentials") or {}).get("userName") or "",
        email=(embedded.get("profile") or {}).get("email") or None,
        saml_roles=tuple(r for r in roles if isinstance(r, str)),
        scope=app_user.get("scope") or "USER",
    )
