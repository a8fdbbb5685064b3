"""The plain data both sides are read into, and that the planner works on.

Snapshots are what one run read, in full; they are plain dataclasses with
``to_dict``/``from_dict`` so that they travel through XCom as JSON.
Nothing here knows Airflow, boto3 or HTTP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Role order, low to high (docs/sync-rules.md section 3).
ROLE_ORDER = ("READER", "READER_PRO", "AUTHOR", "AUTHOR_PRO", "ADMIN", "ADMIN_PRO")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLE_ORDER)}
READER_ROLES = frozenset({"READER", "READER_PRO"})
# The roles that may own assets: an asset recipient must have one, and QuickSight refuses to move
# a user holding one to a reader role (docs/api-notes.md, "Okta: user statuses").
ASSET_OWNER_ROLES = frozenset(ROLE_ORDER) - READER_ROLES

# Every Okta user status (docs/api-notes.md, "Okta: user statuses").
OKTA_STATUSES = (
    "STAGED",
    "PROVISIONED",
    "ACTIVE",
    "RECOVERY",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
    "SUSPENDED",
    "DEPROVISIONED",
)


@dataclass(frozen=True)
class OktaUser:
    """An app user with its Okta user embedded."""

    id: str
    status: str  # the Okta user's status (``_embedded.user.status``)
    user_name: str  # the app username, ``credentials.userName``
    email: str | None  # ``_embedded.user.profile.email``
    saml_roles: tuple[str, ...] = ()  # the app profile's ``samlRoles``
    scope: str = "USER"  # ``USER`` (direct) or ``GROUP`` (via a group)


@dataclass(frozen=True)
class OktaGroup:
    """An app group with its members' Okta user ids."""

    id: str
    name: str
    type: str  # OKTA_GROUP, APP_GROUP or BUILT_IN
    member_ids: tuple[str, ...] = ()


@dataclass
class OktaSnapshot:
    users: dict[str, OktaUser] = field(default_factory=dict)  # by Okta user id
    groups: dict[str, OktaGroup] = field(default_factory=dict)  # by Okta group id

    def to_dict(self) -> dict:
        return _snapshot_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OktaSnapshot:
        users = {}
        for u in data.get("users", []):
            users[u["id"]] = OktaUser(**{**u, "saml_roles": tuple(u.get("saml_roles", ()))})
        groups = {}
        for g in data.get("groups", []):
            groups[g["id"]] = OktaGroup(**{**g, "member_ids": tuple(g.get("member_ids", ()))})
        return cls(users=users, groups=groups)


@dataclass(frozen=True)
class QsUser:
    user_name: str
    email: str | None
    role: str
    identity_type: str  # IAM, QUICKSIGHT or IAM_IDENTITY_CENTER
    arn: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class QsGroup:
    name: str
    description: str | None
    # Members are read only for groups the sync manages; None = not read.
    members: tuple[str, ...] | None = None
    arn: str | None = None


@dataclass
class QsSnapshot:
    users: dict[str, QsUser] = field(default_factory=dict)  # by user name
    groups: dict[str, QsGroup] = field(default_factory=dict)  # by group name

    def to_dict(self) -> dict:
        return _snapshot_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> QsSnapshot:
        users = {u["user_name"]: QsUser(**u) for u in data.get("users", [])}
        groups = {}
        for g in data.get("groups", []):
            members = g.get("members")
            groups[g["name"]] = QsGroup(**{**g, "members": None if members is None else tuple(members)})
        return cls(users=users, groups=groups)


def _snapshot_dict(snapshot: OktaSnapshot | QsSnapshot) -> dict:
    """A snapshot as JSON: its users and its groups, each a list of plain dicts."""
    return {
        "users": [asdict(u) for u in snapshot.users.values()],
        "groups": [asdict(g) for g in snapshot.groups.values()],
    }
