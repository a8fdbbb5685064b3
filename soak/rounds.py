"""The soak: seeded rounds of (change Okta, inject faults, run, check; clean run, check).

Each round also draws the target's ``downgrade_policy`` (report or recreate),
lets QuickSight admins raise roles and fill hand-made groups, and sometimes
refuses every CreateGroup of the faulty run - so renames the sync cannot
follow and recreate downgrades meet the invariants that guard against losing
groups and memberships.

Runs go through the DAG's task functions in-process (``LocalSync.run_tasks``),
not ``dag.test()``: the same code in the same order at a tenth of the cost,
which is what makes hundreds of rounds fit in minutes. The fault matrix
(tests/reliability) covers the DAG itself.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

from soak.driver import LocalSync
from soak.oracle import ROLE_ORDER, convergence_differences, invariant_violations, is_managed_group, kept_groups
from soak.world import (World, create_assets, initial_scenario, join_unmanaged_groups, members_of_okta_groups,
                        promote_users)

OKTA_ENDPOINTS = ["GET /api/v1/apps/{appId}/users", "GET /api/v1/apps/{appId}/groups", "GET /api/v1/groups/{groupId}/users"]
OKTA_FAULTS = [
    {"status": 429}, {"status": 500}, {"status": 502}, {"status": 503},
    {"kind": "reset"}, {"kind": "timeout", "delay_s": 1.3}, {"kind": "invalid_json"},
]
QS_READS = ["ListUsers", "ListGroups", "ListGroupMemberships", "DescribeUser"]
QS_WRITES = ["RegisterUser", "UpdateUser", "CreateGroup", "DeleteGroup", "CreateGroupMembership",
             "DeleteGroupMembership", "DeleteUser"]
QS_HANDOVER = ["SearchDashboards", "SearchAnalyses", "SearchDataSets", "SearchDataSources", "ListThemes",
               "ListTemplates", "SearchFolders", "ListTopics", "UpdateDashboardPermissions",
               "UpdateDataSetPermissions", "UpdateThemePermissions", "DescribeTemplatePermissions",
               "UpdateFolderPermissions", "UpdateTopicPermissions"]
# CreateGroup refused for the whole faulty run: a missing permission (the run stops), an unmet
# precondition (the item fails), the account's group quota (botocore takes it for throttling and
# retries it 8 times, ~35 s of back-off per group: rarer, to keep the soak's minutes).
CREATE_GROUP_REFUSALS = [{"error": "AccessDeniedException"}, {"error": "AccessDeniedException"},
                         {"error": "PreconditionNotMetException", "status": 400},
                         {"error": "PreconditionNotMetException", "status": 400},
                         {"error": "PreconditionNotMetException", "status": 400},
                         {"error": "LimitExceededException", "status": 400}]
QS_TRANSIENT = [{"error": "ThrottlingException"}, {"error": "InternalFailureException"},
                {"error": "ServiceUnavailableException", "status": 503}]


def draw_faults(rng: random.Random, groups_to_create: bool = False) -> list[dict]:
    """0-2 Okta faults and 0-2 QuickSight faults; most transient (1-3 in a row), some permanent.

    When the round's changes need a new QuickSight group (a group added or renamed), CreateGroup is
    refused for the whole run one time in two (else one in twenty).
    """
    faults = []
    if rng.random() < (0.5 if groups_to_create else 0.05):
        faults.append({"service": "quicksight", "operation": "CreateGroup", "kind": "CreateGroup refused",
                       **rng.choice(CREATE_GROUP_REFUSALS), "times": -1})
    for _ in range(rng.choice([0, 1, 1, 2])):
        fault = {"service": "okta", "endpoint": rng.choice(OKTA_ENDPOINTS), **rng.choice(OKTA_FAULTS)}
        fault["times"] = -1 if rng.random() < 0.08 else rng.choice([1, 1, 2, 3])
        if fault.get("status") == 429 and fault["times"] == -1:
            fault["times"] = 4  # a storm one longer than the client absorbs: the run fails, a minute later it would not
        faults.append(fault)
    if rng.random() < 0.04:
        faults.append({"service": "okta", "endpoint": rng.choice(OKTA_ENDPOINTS), "status": 401, "times": 1})
    for _ in range(rng.choice([0, 1, 1, 2])):
        op = rng.choice(QS_READS + QS_WRITES + QS_WRITES + QS_HANDOVER)
        if rng.random() < 0.1:  # not retryable: a missing IAM permission on this one operation
            faults.append({"service": "quicksight", "operation": op, "error": "AccessDeniedException", "times": -1})
        else:
            faults.append({"service": "quicksight", "operation": op, **rng.choice(QS_TRANSIENT),
                           "times": rng.choice([1, 1, 2, 3])})
    return faults


@dataclass
class SoakStats:
    seed: int
    rounds: int = 0
    okta_changes: Counter = field(default_factory=Counter)
    quicksight_changes: Counter = field(default_factory=Counter)
    policies: Counter = field(default_factory=Counter)  # downgrade_policy of the rounds
    sync_actions: Counter = field(default_factory=Counter)  # what the runs did: "recreate_user done", ...
    watched: Counter = field(default_factory=Counter)  # kept groups, recreated users' memberships the invariants saw
    faults_injected: Counter = field(default_factory=Counter)
    faults_planned: int = 0
    retries: Counter = field(default_factory=Counter)
    runs: int = 0
    runs_failed: int = 0
    runs_held: int = 0
    clean_runs_failed: int = 0
    violations: list[str] = field(default_factory=list)
    assets_created: int = 0
    users_deprovisioned: int = 0
    duration_s: float = 0.0
    failure_causes: Counter = field(default_factory=Counter)


def _cause_kind(result) -> str:
    text = result.text()
    for needle, kind in (("kept failing", "Okta read gave up after retries"), ("rejected the credentials", "Okta 401"),
                         ("was denied", "QuickSight AccessDenied"), ("after", "QuickSight retries exhausted")):
        if needle in text:
            return kind
    return text.splitlines()[0][:80] if text else "unknown"


def _count_actions(stats: SoakStats, result) -> None:
    """The report's writes that matter to the invariants: recreates, group creations and deletions."""
    for action in ("recreate_user", "create_group", "delete_group"):
        for status, n in (result.report.get("counts") or {}).get(action, {}).items():
            if n and status in ("done", "failed"):
                stats.sync_actions[f"{action} {status}"] += n


def _count_watched(stats: SoakStats, target: dict, okta: dict, before: dict, after: dict) -> None:
    """Memberships of recreated users that the membership invariant watched, by kind of group.

    A recreate shows in the dumps as a user whose role went down: nothing else lowers a role.
    """
    b_users = {u["user_name"]: u for u in before["users"]}
    a_roles = {u["user_name"]: u.get("role") for u in after["users"]}
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    recreated = {n for n, u in b_users.items()
                 if n in a_roles and rank.get(a_roles[n], 99) < rank.get(u.get("role"), -1)}
    kept = kept_groups(target, okta, before, after)
    for group in before["groups"]:
        members = recreated & set(group["members"])
        if group["name"] in kept:
            stats.watched["kept groups (successor missing)"] += 1
            stats.watched["recreated users' memberships in kept groups"] += len(members)
        elif not is_managed_group(target, group):
            stats.watched["recreated users' memberships in unmanaged groups"] += len(members)


def run_soak(rounds: int = 200, seed: int = 7, *, progress=None) -> SoakStats:
    """Run the soak; returns its figures (violations listed, not raised)."""
    rng = random.Random(seed)
    scenario = initial_scenario(seed=seed)
    world = World(scenario["okta"], rng)
    stats = SoakStats(seed=seed)
    started = time.monotonic()
    with LocalSync(scenario) as sync:
        target = sync.target  # the dict the runs read: a round's downgrade_policy goes here
        first = sync.run_tasks({})
        stats.violations += [f"initial run: {d}" for d in convergence_differences(target, world.okta, sync.dump())]
        if first.outcome != "success":
            stats.violations.append(f"initial run ended {first.outcome}: {first.text()}")
        for n in range(1, rounds + 1):
            target["downgrade_policy"] = rng.choice(["report", "recreate"])
            stats.policies[target["downgrade_policy"]] += 1
            changes = world.random_changes(rng.choice([1, 2, 3]))
            stats.okta_changes.update(name for name, _ in changes)
            sync.load_okta(world.okta)
            stats.assets_created += len(create_assets(sync.quicksight, rng, rng.choice([0, 1, 2]), n))
            promoted = []
            if rng.random() < 0.4:
                promoted = promote_users(sync.quicksight, rng, rng.choice([1, 1, 2]),
                                         prefer=members_of_okta_groups(sync.quicksight, world.renamed))
                stats.quicksight_changes["promote a user by hand"] += len(promoted)
            if rng.random() < 0.5:
                stats.quicksight_changes["add a user to a hand-made group"] += len(join_unmanaged_groups(
                    sync.quicksight, rng, rng.choice([1, 2]), prefer=[p for p in promoted if rng.random() < 0.7]))

            before = sync.dump()
            new_group = {"add_group", "rename_group", "rename_group_onto_taken_name"} & {name for name, _ in changes}
            faults = draw_faults(rng, groups_to_create=bool(new_group))
            stats.faults_planned += len(faults)
            okta_faults, qs_faults = sync.set_faults(faults)
            result = sync.run_tasks({})
            after = sync.dump()
            stats.runs += 1
            _count_actions(stats, result)
            stats.faults_injected.update({f"okta {k}": v for k, v in okta_faults.injected.items()})
            stats.faults_injected.update({f"quicksight {k}": v for k, v in qs_faults.injected.items()})
            stats.retries.update(result.retries)
            if result.outcome == "failed":
                stats.runs_failed += 1
                stats.failure_causes[_cause_kind(result)] += 1
            elif result.outcome == "held":
                stats.runs_held += 1
            stats.violations += [f"round {n} (faulty run): {v}" for v in invariant_violations(target, world.okta, before, after)]
            _count_watched(stats, target, world.okta, before, after)

            fixes = world.fix_taken_names()  # the admin reads the conflict and renames the Okta group again
            if fixes:
                stats.okta_changes["fix_taken_name"] += len(fixes)
                sync.load_okta(world.okta)
            sync.set_faults(None)
            clean = sync.run_tasks({})
            final = sync.dump()
            stats.runs += 1
            _count_actions(stats, clean)
            stats.retries.update(clean.retries)
            stats.users_deprovisioned += len({u["user_name"] for u in before["users"]} - {u["user_name"] for u in final["users"]})
            stats.violations += [f"round {n} (clean run): {v}" for v in invariant_violations(target, world.okta, after, final)]
            _count_watched(stats, target, world.okta, after, final)
            stats.violations += [f"round {n} (clean run): {d}" for d in convergence_differences(target, world.okta, final)]
            if clean.outcome != "success":
                stats.clean_runs_failed += 1
                stats.violations.append(f"round {n}: clean run ended {clean.outcome}: {clean.text()[:300]}")
            stats.rounds = n
            if progress:
                progress(n, stats, result)
    stats.duration_s = time.monotonic() - started
    return stats
