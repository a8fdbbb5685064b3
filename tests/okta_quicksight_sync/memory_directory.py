"""In-memory stand-ins for QuickSightDirectory and AssetHandover.

Same interface and the same idempotency and refusals as the real adapters
(QuickSight refuses downgrades, bad group names, bad session names, members
that do not exist), so the planner and apply can be driven to convergence
quickly by the property tests. ``fail(op, key)`` injects a failure for one
item; ``writes`` records every write that changed something or was tried.
"""

from __future__ import annotations

import re
from collections import Counter

import botocore.session

from okta_quicksight_sync.asset_handover import AssetRef, HandoverFailure, HandoverResult
from okta_quicksight_sync.model import ROLE_ORDER, ROLE_RANK, QsGroup, QsSnapshot, QsUser

_MODEL = botocore.session.get_session().get_service_model("quicksight")


def refused(operation: str, member: str, value: str | None) -> bool:
    """Whether AWS refuses this input value by its published model (length and whole-match pattern)."""
    meta = _MODEL.operation_model(operation).input_shape.members[member].metadata
    text = value or ""
    too_short = meta.get("min") is not None and len(text) < meta["min"]
    too_long = meta.get("max") is not None and len(text) > meta["max"]
    return too_short or too_long or bool(meta.get("pattern") and not re.fullmatch(meta["pattern"], text, re.ASCII))


OWNER_ROLES = {"ADMIN", "AUTHOR", "ADMIN_PRO", "AUTHOR_PRO"}


class MemoryDirectoryError(Exception):
    pass


class MemoryDirectory:
    def __init__(self, users=(), groups=(), account_id: str = "111122223333"):
        self.account_id = account_id
        self.users: dict[str, QsUser] = {u.user_name: u for u in users}
        self.groups: dict[str, dict] = {
            g.name: {"description": g.description, "members": set(g.members or ())} for g in groups
        }
        self.api_calls: Counter = Counter()
        self.writes: list[tuple] = []
        self._faults: dict[tuple[str, str], str] = {}

    @classmethod
    def from_snapshot(cls, qs: QsSnapshot) -> MemoryDirectory:
        return cls(qs.users.values(), qs.groups.values())

    def snapshot(self) -> QsSnapshot:
        """Everything, with every group's members (unlike the reader, which reads managed ones only)."""
        return QsSnapshot(
            users=dict(self.users),
            groups={n: QsGroup(n, g["description"], tuple(sorted(g["members"]))) for n, g in self.groups.items()},
        )

    def fail(self, op: str, key: str, message: str = "InternalFailureException: injected") -> None:
        self._faults[(op, key)] = message

    def _call(self, op: str, key: str, write: bool = True):
        self.api_calls[op] += 1
        if write:
            self.writes.append((op, key))
        if (op, key) in self._faults:
            raise MemoryDirectoryError(f"{op} {key}: {self._faults[(op, key)]}")

    # ------------------------------------------------------------- reads
    def list_users(self) -> list[QsUser]:
        self.api_calls["ListUsers"] += 1
        return list(self.users.values())

    def list_groups(self) -> list[QsGroup]:
        self.api_calls["ListGroups"] += 1
        return [QsGroup(n, g["description"]) for n, g in self.groups.items()]

    def list_group_members(self, group_name: str) -> list[str]:
        self.api_calls["ListGroupMemberships"] += 1
        if group_name not in self.groups:
            raise MemoryDirectoryError(f"ResourceNotFoundException: group {group_name}")
        return sorted(self.groups[group_name]["members"])

    def list_user_groups(self, user_name: str) -> list[str]:
        self._call("ListUserGroups", user_name, write=False)
        if user_name not in self.users:
            raise MemoryDirectoryError(f"ResourceNotFoundException: user {user_name}")
        return sorted(n for n, g in self.groups.items() if user_name in g["members"])

    def describe_group(self, name: str) -> QsGroup | None:
        self._call("DescribeGroup", name, write=False)
        group = self.groups.get(name)
        return None if group is None else QsGroup(name, group["description"])

    def describe_user(self, user_name: str) -> QsUser | None:
        self.api_calls["DescribeUser"] += 1
        return self.users.get(user_name)

    # ------------------------------------------------------------ writes
    def register_user(self, iam_arn: str, session_name: str, email: str, role: str) -> str:
        self._call("RegisterUser", session_name)
        match = re.fullmatch(r"arn:aws:iam::(\d{12}):role/(.+)", iam_arn)
        if not match or match.group(1) != self.account_id:
            raise MemoryDirectoryError(f"InvalidParameterValueException: IamArn {iam_arn}")
        if refused("RegisterUser", "SessionName", session_name):
            raise MemoryDirectoryError(f"InvalidParameterValueException: SessionName {session_name!r}")
        if role not in ROLE_ORDER or not email:
            raise MemoryDirectoryError("InvalidParameterValueException: role or email")
        name = f"{match.group(2)}/{session_name}"
        if name in self.users:
            return "already"
        self.users[name] = QsUser(name, email, role, "IAM")
        return "done"

    def update_user(self, user_name: str, email: str, role: str) -> str:
        self._call("UpdateUser", user_name)
        user = self.users.get(user_name)
        if user is None:
            raise MemoryDirectoryError(f"ResourceNotFoundException: user {user_name}")
        if not email or role not in ROLE_ORDER:
            raise MemoryDirectoryError("InvalidParameterValueException: email and role are both required")
        if ROLE_RANK[role] < ROLE_RANK.get(user.role, -1):
            raise MemoryDirectoryError(f"InvalidParameterValueException: cannot downgrade {user.role} to {role}")
        if (user.email, user.role) == (email, role):
            return "already"
        self.users[user_name] = QsUser(user_name, email, role, user.identity_type, user.arn, user.active)
        return "done"

    def delete_user(self, user_name: str) -> str:
        self._call("DeleteUser", user_name)
        if self.users.pop(user_name, None) is None:
            return "already"
        for group in self.groups.values():
            group["members"].discard(user_name)
        return "done"

    def create_group(self, name: str, description: str) -> str:
        self._call("CreateGroup", name)
        if refused("CreateGroup", "GroupName", name):
            raise MemoryDirectoryError(f"InvalidParameterValueException: group name {name!r}")
        if refused("CreateGroup", "Description", description):
            raise MemoryDirectoryError("InvalidParameterValueException: description")
        if name in self.groups:
            return "already"
        self.groups[name] = {"description": description, "members": set()}
        return "done"

    def delete_group(self, name: str) -> str:
        self._call("DeleteGroup", name)
        return "done" if self.groups.pop(name, None) is not None else "already"

    def add_member(self, group_name: str, user_name: str) -> str:
        self._call("CreateGroupMembership", f"{group_name}:{user_name}")
        if group_name not in self.groups or user_name not in self.users:
            raise MemoryDirectoryError(f"ResourceNotFoundException: {group_name} / {user_name}")
        members = self.groups[group_name]["members"]
        if user_name in members:
            return "already"
        members.add(user_name)
        return "done"

    def remove_member(self, group_name: str, user_name: str) -> str:
        self._call("DeleteGroupMembership", f"{group_name}:{user_name}")
        group = self.groups.get(group_name)
        if group is None or user_name not in group["members"]:
            return "already"
        group["members"].discard(user_name)
        return "done"


class MemoryAssetHandover:
    """Assets as {asset id: set of owner user names}; ``stuck`` ids refuse to move.

    Returns the real ``HandoverResult`` so apply is driven with the shapes it gets in production.
    """

    def __init__(self, directory: MemoryDirectory, assets: dict[str, set[str]] | None = None, stuck=()):
        self.directory = directory
        self.assets = assets if assets is not None else {}
        self.stuck = set(stuck)
        self.calls: list[tuple[str, str]] = []

    def check_recipient(self, recipient_name: str) -> None:
        user = self.directory.users.get(recipient_name)
        if user is None or user.role not in OWNER_ROLES:
            raise MemoryDirectoryError(f"recipient {recipient_name!r} missing or may not own assets")

    def handover(self, user_name: str, recipient_name: str) -> HandoverResult:
        self.calls.append((user_name, recipient_name))
        out = HandoverResult(user_name, recipient_name)
        for asset_id, owners in self.assets.items():
            if user_name not in owners:
                continue
            if asset_id in self.stuck:
                out.failed.append(HandoverFailure("dashboard", "us-east-1", asset_id, "AccessDeniedException: injected"))
                continue
            owners.discard(user_name)
            owners.add(recipient_name)
            out.moved.append(AssetRef("dashboard", asset_id, "us-east-1"))
        out.remaining = [AssetRef("dashboard", a, "us-east-1") for a, owners in self.assets.items() if user_name in owners]
        return out
