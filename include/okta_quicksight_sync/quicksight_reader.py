"""Read one QuickSight namespace into a QsSnapshot (docs/sync-rules.md section 2).

Users and groups in full; members only of the groups this target manages,
since no rule looks inside the others (and each costs paged calls).
"""

from __future__ import annotations

from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.model import QsGroup, QsSnapshot
from okta_quicksight_sync.ownership import Ownership


def read_quicksight(directory, config: TargetConfig) -> QsSnapshot:
    own = Ownership(config)
    users = {user.user_name: user for user in directory.list_users()}
    groups = {}
    for group in directory.list_groups():
        if own.is_managed_group(group):
            members = tuple(directory.list_group_members(group.name))
            group = QsGroup(group.name, group.description, members, group.arn)
        groups[group.name] = group
    return QsSnapshot(users=users, groups=groups)
