"""The ports the core talks through: what a QuickSight directory and an asset hand-over must offer.

The real adapters (``quicksight_directory.QuickSightDirectory``,
``asset_handover.AssetHandover``) and the tests' in-memory directory both
satisfy them (a test checks every method's parameters). Writes return
``results.DONE`` or ``results.ALREADY`` and raise on failure.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from okta_quicksight_sync.model import QsGroup, QsUser


@runtime_checkable
class Directory(Protocol):
    """Users, groups and memberships of one QuickSight namespace."""

    def list_users(self) -> list[QsUser]: ...

    def list_groups(self) -> list[QsGroup]: ...

    def list_group_members(self, group_name: str) -> list[str]: ...

    def list_user_groups(self, user_name: str) -> list[str]: ...

    def describe_group(self, name: str) -> QsGroup | None: ...

    def describe_user(self, user_name: str) -> QsUser | None: ...

    def register_user(self, iam_arn: str, session_name: str, email: str, role: str) -> str: ...

    def update_user(self, user_name: str, email: str, role: str) -> str: ...

    def delete_user(self, user_name: str) -> str: ...

    def create_group(self, name: str, description: str) -> str: ...

    def delete_group(self, name: str) -> str: ...

    def add_member(self, group_name: str, user_name: str) -> str: ...

    def remove_member(self, group_name: str, user_name: str) -> str: ...


@runtime_checkable
class Handover(Protocol):
    """Moves a departing user's assets to the recipient before the user is deleted."""

    def check_recipient(self, recipient_name: str): ...

    def handover(self, user_name: str, recipient_name: str): ...
