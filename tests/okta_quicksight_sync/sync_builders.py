"""Small builders for the sync core's tests: configs, snapshots, and one full run on the memory directory."""

from __future__ import annotations

import json

from tests.okta_quicksight_sync.memory_directory import MemoryAssetHandover, MemoryDirectory

from okta_quicksight_sync.apply import apply_deprovision, apply_group_sync, apply_user_sync
from okta_quicksight_sync.deletions import released
from okta_quicksight_sync.config import TargetConfig
from okta_quicksight_sync.model import OktaGroup, OktaSnapshot, OktaUser, QsGroup, QsUser
from okta_quicksight_sync.plan import Plan
from okta_quicksight_sync.planner import plan
from okta_quicksight_sync.quicksight_reader import read_quicksight

ACCOUNT = "111122223333"
ADMIN = "QuickSightAdmin/admin@example.com"
SAML_ROLES = {"QuickSightAdmin": "ADMIN", "QuickSightAuthor": "AUTHOR", "QuickSightReader": "READER"}


def config(**overrides) -> TargetConfig:
    data = {"okta_app_id": "0oaqs1", "saml_roles": SAML_ROLES, "asset_recipient": ADMIN, "aws_account_id": ACCOUNT}
    data.update(overrides)
    return TargetConfig.from_dict({k: v for k, v in data.items() if v is not None})


def groups_config(**overrides) -> TargetConfig:
    data = {
        "role_source": "groups", "saml_roles": {}, "iam_role": "QuickSightFederated",
        "role_groups": {"QS Authors": "AUTHOR", "QS Admins": "ADMIN", "QS Readers": "READER"},
    }
    data.update(overrides)
    return config(**data)


def ou(uid: str, name: str | None = None, *, status: str = "ACTIVE", email: str | None = "", roles=("QuickSightReader",)) -> OktaUser:
    """An Okta app user; ``name`` defaults to ``<uid>@example.com``, email to the name."""
    name = name if name is not None else f"{uid}@example.com"
    return OktaUser(uid, status, name, name if email == "" else email, tuple(roles))


def og(gid: str, name: str, members=(), gtype: str = "OKTA_GROUP") -> OktaGroup:
    return OktaGroup(gid, name, gtype, tuple(members))


def okta(users=(), groups=()) -> OktaSnapshot:
    return OktaSnapshot({u.id: u for u in users}, {g.id: g for g in groups})


def qu(name: str, role: str = "READER", email: str | None = None, identity_type: str = "IAM") -> QsUser:
    return QsUser(name, email if email is not None else name.split("/", 1)[-1], role, identity_type)


def qg(name: str, description: str | None, members=()) -> QsGroup:
    return QsGroup(name, description, tuple(members))


def admin() -> QsUser:
    return qu(ADMIN, "ADMIN")


def directory(users=(), groups=(), with_admin: bool = True) -> MemoryDirectory:
    users = list(users)
    if with_admin:
        users.append(admin())
    return MemoryDirectory(users, groups, account_id=ACCOUNT)


def plan_for(cfg: TargetConfig, okta_snapshot: OktaSnapshot, memory: MemoryDirectory, **params) -> Plan:
    """Plan through the real reader and a JSON round trip, as the DAG does through XCom."""
    qs = read_quicksight(memory, cfg)
    planned = plan(cfg, okta_snapshot, qs, params)
    return Plan.from_dict(json.loads(json.dumps(planned.to_dict())))


def run(cfg, okta_snapshot, memory: MemoryDirectory, handover: MemoryAssetHandover | None = None,
        *, deletions_allowed: bool = False, **params) -> tuple[Plan, list[dict]]:
    """Plan and apply all three steps, the way the DAG chains its tasks.

    ``deletions_allowed``: a person approved the held deletions (the DAG's approval step).
    """
    handover = handover or MemoryAssetHandover(memory)
    planned = plan_for(cfg, okta_snapshot, memory, **params)
    dry = planned.dry_run
    results = apply_group_sync(planned, memory, dry)
    results += apply_user_sync(planned, memory, dry, earlier_results=results)
    results += apply_deprovision(released(planned) if deletions_allowed else planned, memory, handover, dry)
    return planned, results


def by_status(results, status: str) -> list[tuple[str, str]]:
    return sorted((r["action"], r["item"]) for r in results if r["status"] == status)


def state(memory: MemoryDirectory) -> tuple[dict, dict]:
    """(user name -> (email, role, type), group name -> (description, members)) for comparisons."""
    snap = memory.snapshot()
    return (
        {n: (u.email, u.role, u.identity_type) for n, u in snap.users.items()},
        {n: (g.description, g.members) for n, g in snap.groups.items()},
    )
