"""What the sync owns in QuickSight (docs/sync-rules.md section 4).

Everything the sync may change passes through these predicates; whatever
they reject is left exactly as it is.
"""

from __future__ import annotations

import re

from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.model import QsGroup, QsUser

MARKER_PREFIX = "okta-sync:"
_MARKER = re.compile(r"okta-sync:(\S+)")


def marker_for(okta_group_id: str) -> str:
    """The Description written on every group the sync creates."""
    return f"{MARKER_PREFIX}{okta_group_id}"


def marker_id(description: str | None) -> str | None:
    """The Okta group id a Description's marker names, if it holds one."""
    if not description:
        return None
    match = _MARKER.search(description)
    return match.group(1) if match else None


class Ownership:
    """The managed-ness rules of one target, precomputed for fast checks."""

    def __init__(self, config: TargetConfig):
        self.prefixes = tuple(f"{role}/" for role in config.iam_roles)
        self.protected = config.protected
        self.adopt = frozenset(config.adopt_descriptions)

    def is_managed_name(self, user_name: str) -> bool:
        """A user name under one of this target's IAM roles and not protected."""
        return user_name.startswith(self.prefixes) and user_name not in self.protected

    def is_managed_user(self, user: QsUser) -> bool:
        return user.identity_type == "IAM" and self.is_managed_name(user.user_name)

    def is_managed_description(self, description: str | None) -> bool:
        return marker_id(description) is not None or (description is not None and description in self.adopt)

    def is_managed_group(self, group: QsGroup) -> bool:
        return self.is_managed_description(group.description)
