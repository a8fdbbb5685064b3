"""QuickSight users, groups and memberships as the sync reads and writes them.

Reads return ``model`` objects and follow every page; writes are idempotent
(exists on create, not found on delete count as done) so that a retried or
rerun step converges. Calls, their errors and their counts go through
``quicksight_transport``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from okta_quicksight_sync.model import ASSET_OWNER_ROLES, READER_ROLES, QsGroup, QsUser
from okta_quicksight_sync.quicksight_transport import (
    QuickSightError,
    QuickSightInvalidValueError,
    QuickSightNotFoundError,
    QuickSightTransport,
)
from okta_quicksight_sync.results import ALREADY, DONE


class DowngradeRefusedError(QuickSightError):
    """AWS refuses to move an author or admin to a reader role through UpdateUser."""


class GroupConflictError(QuickSightError):
    """A group with the name this run creates appeared without this sync's Description: never adopted."""


# ---- the directory ----------------------------------------------------------


class QuickSightDirectory:
    """One QuickSight account + namespace, called in its identity region."""

    def __init__(
        self,
        client_for_region: Callable[[str], object],
        account_id: str,
        identity_region: str,
        namespace: str = "default",
    ) -> None:
        self.account_id = str(account_id)
        self.identity_region = identity_region
        self.namespace = namespace
        self._qs = QuickSightTransport(client_for_region, account_id)

    @property
    def api_calls(self) -> dict[str, int]:
        """Requests sent per operation (e.g. ``{"ListUsers": 3}``), retries included."""
        return self._qs.api_calls

    def user_arn(self, user_name: str) -> str:
        return f"arn:aws:quicksight:{self.identity_region}:{self.account_id}:user/{self.namespace}/{user_name}"

    def _call(self, operation: str, item: str, **params) -> dict:
        return self._qs.call(self.identity_region, operation, item, Namespace=self.namespace, **params)

    def _pages(self, operation: str, item: str, list_key: str, **params) -> Iterator[dict]:
        return self._qs.pages(self.identity_region, operation, item, list_key, Namespace=self.namespace, **params)

    # ---- reads ----------------------------------------------------------------

    def list_users(self) -> list[QsUser]:
        return [user_of(u) for u in self._pages("ListUsers", f"namespace {self.namespace}", "UserList")]

    def list_groups(self) -> list[QsGroup]:
        return [
            QsGroup(name=g["GroupName"], description=g.get("Description"), members=None, arn=g.get("Arn"))
            for g in self._pages("ListGroups", f"namespace {self.namespace}", "GroupList")
        ]

    def list_group_members(self, group_name: str) -> list[str]:
        return [
            m["MemberName"]
            for m in self._pages("ListGroupMemberships", f"group {group_name}", "GroupMemberList", GroupName=group_name)
        ]

    def list_user_groups(self, user_name: str) -> list[str]:
        """Names of every group the user is in, managed or not (one ListUserGroups call per page)."""
        return [
            g["GroupName"]
            for g in self._pages("ListUserGroups", f"groups of user {user_name}", "GroupList", UserName=user_name)
        ]

    def describe_group(self, name: str) -> QsGroup | None:
        """The group (without members), or None when it does not exist."""
        try:
            g = self._call("DescribeGroup", f"group {name}", GroupName=name)["Group"]
        except QuickSightNotFoundError as err:
            if err.resource_type == "NAMESPACE":
                raise
            return None
        return QsGroup(name=g["GroupName"], description=g.get("Description"), members=None, arn=g.get("Arn"))

    def describe_user(self, user_name: str) -> QsUser | None:
        try:
            return user_of(self._call("DescribeUser", f"user {user_name}", UserName=user_name)["User"])
        except QuickSightNotFoundError:
            return None

    # ---- writes ---------------------------------------------------------------

    def register_user(self, iam_arn: str, session_name: str, email: str, role: str) -> str:
        """Register a federated IAM identity; its user name becomes ``<role name>/<session_name>``."""
        item = f"user {iam_arn.rsplit('/', 1)[-1]}/{session_name}"
        try:
            self._call(
                "RegisterUser", item, IdentityType="IAM", IamArn=iam_arn, SessionName=session_name,
                Email=email, UserRole=role,
            )
        except QuickSightError as err:
            if err.code == "ResourceExistsException":
                return ALREADY
            raise
        return DONE

    def update_user(self, user_name: str, email: str, role: str) -> str:
        """Set email and role together (UpdateUser needs both)."""
        item = f"user {user_name}"
        try:
            self._call("UpdateUser", item, UserName=user_name, Email=email, Role=role)
        except QuickSightInvalidValueError as err:
            if role in READER_ROLES:
                current = self.describe_user(user_name)
                if current is not None and current.role in ASSET_OWNER_ROLES:
                    raise DowngradeRefusedError(
                        f"QuickSight refused to change {item} from {current.role} to {role}: AWS does not allow "
                        "moving an author or admin to a reader role. Leave the higher role (downgrade_policy: "
                        "report) or hand over its assets, delete and re-register it (downgrade_policy: recreate).",
                        operation="UpdateUser", item=item, code=err.code,
                    ) from None
            raise
        return DONE

    def create_group(self, name: str, description: str) -> str:
        """Create a group; one that exists counts as done only if it carries this ``description``.

        A group someone else created between this run's read and its write is
        not adopted silently (docs/sync-rules.md section 4): it is a conflict.
        """
        item = f"group {name}"
        try:
            self._call("CreateGroup", item, GroupName=name, Description=description)
        except QuickSightError as err:
            if err.code != "ResourceExistsException":
                raise
            found = self._call("DescribeGroup", item, GroupName=name)["Group"].get("Description")
            if found != description:
                raise GroupConflictError(
                    f"QuickSight {item} appeared after this run read QuickSight, with Description {found!r} instead "
                    f"of {description!r}: it is not adopted. Rename or delete it in QuickSight, or set its "
                    f"Description to {description!r} if the sync should own it.",
                    operation="CreateGroup", item=item, code="GroupConflict",
                ) from None
            return ALREADY
        return DONE

    def delete_group(self, name: str) -> str:
        return self._delete("DeleteGroup", f"group {name}", GroupName=name)

    def add_member(self, group_name: str, user_name: str) -> str:
        """Add a membership; QuickSight itself accepts an existing one, so this is ``done`` either way."""
        self._call(
            "CreateGroupMembership", f"membership of {user_name} in group {group_name}",
            GroupName=group_name, MemberName=user_name,
        )
        return DONE

    def remove_member(self, group_name: str, user_name: str) -> str:
        return self._delete(
            "DeleteGroupMembership", f"membership of {user_name} in group {group_name}",
            GroupName=group_name, MemberName=user_name,
        )

    def delete_user(self, user_name: str) -> str:
        """Delete the user. AWS moves none of its assets: hand them over first (asset_handover)."""
        return self._delete("DeleteUser", f"user {user_name}", UserName=user_name)

    def _delete(self, operation: str, item: str, **params) -> str:
        try:
            self._call(operation, item, **params)
        except QuickSightNotFoundError as err:
            if err.resource_type == "NAMESPACE":  # the namespace itself is missing: nothing converged
                raise
            return ALREADY
        return DONE


def user_of(doc: dict) -> QsUser:
    """A QuickSight User document as the sync reads it."""
    return QsUser(
        user_name=doc["UserName"],
        email=doc.get("Email"),
        role=doc.get("Role", ""),
        identity_type=doc.get("IdentityType", ""),
        arn=doc.get("Arn"),
        active=doc.get("Active"),
    )
