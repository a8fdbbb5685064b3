"""The plan: what one run will write, step by step (docs/sync-rules.md section 5).

Plain JSON through ``to_dict``/``from_dict`` so that the DAG's tasks can hand
it to each other through XCom. It holds only the changes, never the
snapshots, so a steady state of any size serialises to a few hundred bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

# Which DAG task reports a planned failure or skip.
STEP_GROUPS = "group_sync"
STEP_USERS = "user_sync"
STEP_DEPROVISION = "deprovision"


@dataclass
class Plan:
    okta_app_id: str = ""
    namespace: str = "default"
    dry_run: bool = False
    recipient: str | None = None
    # step 1
    create_groups: list[dict] = field(default_factory=list)  # {name, description}
    # step 2
    register: list[dict] = field(default_factory=list)  # {user_name, iam_arn, session_name, email, role}
    update: list[dict] = field(default_factory=list)  # {user_name, email, role, reason}
    # step 3: group name -> user names
    add_members: dict[str, list[str]] = field(default_factory=dict)
    remove_members: dict[str, list[str]] = field(default_factory=dict)
    # step 4
    deprovision: list[str] = field(default_factory=list)
    recreate: list[dict] = field(default_factory=list)  # register fields + from_role, groups
    # step 5
    delete_groups: list[str] = field(default_factory=list)
    # renamed Okta groups: old group name -> {name, description} of its successor, which must exist
    # (with that Description) before the old group is deleted
    successors: dict[str, dict] = field(default_factory=dict)
    # items that will not be written, with their reason: {step, action, item, reason}
    failed: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    # safety (contract section 6)
    deletion_count: int = 0
    deletions_over_limit: bool = False
    deletions_held: bool = False
    hold_reasons: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    # ------------------------------------------------------------ queries
    def planned_counts(self) -> dict[str, int]:
        """Planned writes per report action."""
        return {
            "create_group": len(self.create_groups),
            "register_user": len(self.register),
            "update_user": len(self.update),
            "add_member": sum(len(v) for v in self.add_members.values()),
            "remove_member": sum(len(v) for v in self.remove_members.values()),
            "deprovision_user": len(self.deprovision),
            "recreate_user": len(self.recreate),
            "delete_group": len(self.delete_groups),
        }

    @property
    def write_count(self) -> int:
        return sum(self.planned_counts().values())

    @property
    def has_writes(self) -> bool:
        return self.write_count > 0

    def items_for(self, step: str) -> list[dict]:
        """The planned failures and skips a step reports."""
        return [i for i in self.failed + self.skipped if i["step"] == step]
