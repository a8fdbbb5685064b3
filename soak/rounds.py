"""The soak: seeded rounds of (change Okta, inject faults, run, check; clean run, check).

Each round also draws the target's ``downgrade_policy`` (report or recreate),
lets QuickSight admins raise roles and fill hand-made groups, and sometimes
refuses every CreateGroup of the faulty run - so renames the sync cannot
follow and recreate downgrades meet the invariants that guard against losing
groups and memberships.

The faulty run of a round draws its mode (from a second seeded stream, so
the rounds' changes and faults stay those of the seed): full, incremental
(the cursor kept across rounds in the soak's Variable store, sometimes past
the log's retention or deleted, or with a small bound on events, so fallbacks happen),
or on-demand (``only_users``: 1-3 people the round changed, sometimes one it
did not, rarely a login Okta does not know). Its Okta and QuickSight read
faults move to the calls that mode makes. The clean run stays full.

Runs go through the DAG's task functions in-process (``LocalSync.run_tasks``),
not ``dag.test()``: the same code in the same order at a tenth of the cost,
which is what makes hundreds of rounds fit in minutes. The fault matrix
(tests/reliability) covers the DAG itself.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from okta_quicksight_airflow.incremental_run import MemoryVariables
from soak.driver import LocalSync
from soak import oracle
from soak.oracle import (ROLE_ORDER, convergence_differences, cursor_violations, desired_of,
                         identities_of, invariant_violations, is_managed_group, kept_groups, on_demand_violations,
                         scoped_differences)
from soak.world import (World, changed_people, create_assets, initial_scenario, join_unmanaged_groups,
                        members_of_okta_groups, promote_users)

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
# The faulty run's mode; the clean run after it is always full.
MODES = ["full", "incremental", "incremental", "only_users"]
# The reads an incremental or on-demand run makes instead of a full run's list pages.
OKTA_SCOPED_ENDPOINTS = {
    "incremental": ["GET /api/v1/logs", "GET /api/v1/logs", "GET /api/v1/apps/{appId}/users/{userId}",
                    "GET /api/v1/users/{userId}/groups", "GET /api/v1/apps/{appId}/groups/{groupId}",
                    "GET /api/v1/groups/{groupId}/users"],
    "only_users": ["GET /api/v1/users/{userId}", "GET /api/v1/apps/{appId}/users/{userId}",
                   "GET /api/v1/users/{userId}/groups"],
}
QS_SCOPED_READS = ["DescribeUser", "ListUserGroups", "DescribeGroup", "ListGroupMemberships"]
EXPIRED_CURSOR_AGE_S = 95 * 86400.0  # past the System Log's 90 days
SMALL_EVENT_BOUND = 2  # the target's incremental_max_events for a run drawn to exceed it


def retarget_faults(faults: list[dict], mode: str, rng: random.Random) -> list[dict]:
    """Move most read faults to the calls an incremental or on-demand run makes (the rest stay on the
    full run's reads, which a fallback makes)."""
    if mode not in OKTA_SCOPED_ENDPOINTS:
        return faults
    out = []
    for fault in faults:
        fault = dict(fault)
        if fault.get("service") == "okta" and rng.random() < 0.75:
            fault["endpoint"] = rng.choice(OKTA_SCOPED_ENDPOINTS[mode])
        elif fault.get("service") == "quicksight" and fault.get("operation") in QS_READS and rng.random() < 0.75:
            fault["operation"] = rng.choice(QS_SCOPED_READS)
        out.append(fault)
    return out


def fallback_kind(reason: str) -> str:
    """A fallback reason without its particulars (ids, counts, errors), to count them by kind."""
    for needle, kind in (("could not read the System Log", "no cursor: the log could not be read"),
                         ("no cursor yet", "no cursor yet"), ("90-day retention", "cursor past the log's retention"),
                         ("System Log page failed", "a System Log page failed"),
                         ("more than the bound", "more events than the bound"),
                         ("members to re-read", "a group too large to re-read"),
                         ("adopted by its Description", "a group adopted by Description"),
                         ("app username", "an app username changed"),
                         ("cannot tell what it changed", "an event the sync cannot scope")):
        if needle in reason:
            return kind
    return reason[:80]


@contextlib.contextmanager
def _target_key(target: dict, key: str, value):
    """The target's ``key`` set to ``value`` for one run (None: left as it is)."""
    had, old = key in target, target.get(key)
    if value is not None:
        target[key] = value
    try:
        yield
    finally:
        if had:
            target[key] = old
        else:
            target.pop(key, None)


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
    runs_by_mode: Counter = field(default_factory=Counter)  # "incremental", "incremental, fell back to full", ...
    fallbacks: Counter = field(default_factory=Counter)  # by fallback_kind
    cursor: Counter = field(default_factory=Counter)  # what the cursor did after each run
    scoped: Counter = field(default_factory=Counter)  # what the incremental and on-demand invariants checked


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


def _draw_mode(rng: random.Random, variables: MemoryVariables, dag_id: str, okta_before: dict, okta: dict,
               n: int) -> tuple[str, dict, list[str], list[str], str | None]:
    """(mode, params, named person ids, unknown entries, event bound) of a round's faulty run."""
    from okta_quicksight_airflow.incremental_run import cursor_key

    mode = rng.choice(MODES)
    if mode == "incremental":
        key = cursor_key(dag_id)
        draw = rng.random()
        if variables.get(key) and draw < 0.06:  # the incremental schedule was off for three months
            cursor = json.loads(variables.get(key))
            variables.set(key, json.dumps({**cursor, "saved_at": time.time() - EXPIRED_CURSOR_AGE_S}))
        elif variables.get(key) and draw < 0.1:  # an admin deleted the Variable
            variables.delete(key)
        return mode, {"mode": "incremental"}, [], [], SMALL_EVENT_BOUND if rng.random() < 0.2 else None
    if mode == "full":
        return mode, {}, [], [], None
    changed = [uid for uid in changed_people(okta_before, okta) if uid != "00uadmin"]
    named = rng.sample(changed, min(len(changed), rng.choice([1, 2, 3])))
    others = [u["id"] for u in okta["users"] if u["id"] not in changed and u["id"] != "00uadmin"]
    if others and (not named or rng.random() < 0.4):
        named.append(rng.choice(others))
    logins = {u["id"]: u["login"] for u in okta["users"]}
    entries = [logins[uid] if rng.random() < 0.5 else uid for uid in named]
    unknown = [f"nobody{n}@example.com"] if rng.random() < 0.05 else []
    return mode, {"only_users": entries + unknown}, named, unknown, None


def _check_faulty_run(stats: SoakStats, target: dict, okta: dict, result, named: list[str], unknown: list[str],
                      before: dict, after: dict, okta_before: dict, cursor: dict | None) -> list[str]:
    """The mode's own invariants on a faulty run (the general ones are checked for every mode besides)."""
    out: list[str] = []
    planned = result.planned or {}
    if planned.get("mode") == "only_users" or named:
        recreated = [r["user_name"] for r in (planned.get("plan") or {}).get("recreate", [])]
        out += on_demand_violations(target, okta, named, before, after, recreated)
        changed = set(changed_people(okta_before, okta))
        stats.scoped["on-demand: people named that the round changed"] += len(set(named) & changed)
        stats.scoped["on-demand: people named that it did not"] += len(set(named) - changed)
        for entry in unknown:
            stats.scoped["on-demand: entries Okta does not know"] += 1
            if result.planned is not None and not any(e["item"] == entry for e in result.report.get("errors", [])):
                out.append(f"on-demand entry {entry}, which Okta does not know, is not reported failed by name")
    if result.outcome != "success":
        return out
    looked_at = planned.get("looked_at") or {}
    if planned.get("mode") == "incremental":
        out += scoped_differences(target, okta, after, user_ids=looked_at.get("okta_users", ()),
                                  group_ids=looked_at.get("okta_groups", ()),
                                  group_names=looked_at.get("quicksight_groups", ()))
        stats.scoped["converged incremental runs: people checked"] += len(looked_at.get("okta_users", ()))
        stats.scoped["converged incremental runs: groups read whole checked"] += len(looked_at.get("okta_groups", ()))
    elif planned.get("mode") == "only_users":
        out += scoped_differences(target, okta, after, user_ids=named)
        stats.scoped["converged on-demand runs: people checked"] += len(named)
    else:
        out += convergence_differences(target, okta, after)
        stats.scoped["converged faulty full runs: checked whole"] += 1
    return out


def _count_run(stats: SoakStats, asked: str, result, key: str, store_before: dict, store_after: dict) -> None:
    """Runs by mode, fallbacks by reason, what the cursor did."""
    planned = result.planned or {}
    if result.planned is None:
        stats.runs_by_mode[f"{asked} (plan failed)"] += 1
    elif planned.get("fallback_reason"):
        stats.runs_by_mode[f"{asked}, fell back to full"] += 1
        stats.fallbacks[fallback_kind(planned["fallback_reason"])] += 1
    else:
        stats.runs_by_mode[asked] += 1
    if store_before.get(key) != store_after.get(key):
        stats.cursor["moved (converged run)"] += 1
    elif planned.get("mode") == "only_users":
        stats.cursor["kept (on-demand run)"] += 1
    elif result.outcome != "success":
        stats.cursor[f"kept (run {result.outcome})"] += 1
    else:
        stats.cursor["kept (converged run, log not read)"] += 1


def run_soak(rounds: int = 200, seed: int = 7, *, progress=None) -> SoakStats:
    """Run the soak; returns its figures (violations listed, not raised)."""
    from okta_quicksight_airflow.incremental_run import cursor_key

    rng = random.Random(seed)
    mode_rng = random.Random(f"modes-{seed}")  # a stream of its own: the rounds' changes and faults stay the seed's
    scenario = initial_scenario(seed=seed)
    world = World(scenario["okta"], rng)
    stats = SoakStats(seed=seed)
    variables = MemoryVariables()  # the target's Airflow Variables: the incremental cursor lives here
    started = time.monotonic()
    with LocalSync(scenario) as sync:
        target = sync.target  # the dict the runs read: a round's downgrade_policy goes here
        key = cursor_key(sync.dag_id)
        first = sync.run_tasks({}, variables=variables)
        stats.violations += [f"initial run: {d}" for d in convergence_differences(target, world.okta, sync.dump())]
        if first.outcome != "success":
            stats.violations.append(f"initial run ended {first.outcome}: {first.text()}")
        for n in range(1, rounds + 1):
            target["downgrade_policy"] = rng.choice(["report", "recreate"])
            stats.policies[target["downgrade_policy"]] += 1
            okta_before = copy.deepcopy(world.okta)
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
            mode, params, named, unknown, bound = _draw_mode(mode_rng, variables, sync.dag_id, okta_before, world.okta, n)
            faults = retarget_faults(faults, mode, mode_rng)
            stats.faults_planned += len(faults)
            okta_faults, qs_faults = sync.set_faults(faults)
            store_before = dict(variables.values)
            with _target_key(target, "incremental_max_events", bound):
                result = sync.run_tasks(params, variables=variables)
            store_after = dict(variables.values)
            after = sync.dump()
            stats.runs += 1
            _count_actions(stats, result)
            _count_run(stats, mode, result, key, store_before, store_after)
            stats.faults_injected.update({f"okta {k}": v for k, v in okta_faults.injected.items()})
            stats.faults_injected.update({f"quicksight {k}": v for k, v in qs_faults.injected.items()})
            stats.retries.update(result.retries)
            if result.outcome == "failed":
                stats.runs_failed += 1
                stats.failure_causes[_cause_kind(result)] += 1
            elif result.outcome == "held":
                stats.runs_held += 1
            where = f"round {n} (faulty {mode} run)"
            stats.violations += [f"{where}: {v}" for v in invariant_violations(target, world.okta, before, after)]
            stats.violations += [f"{where}: {v}" for v in
                                 cursor_violations(result.outcome, result.planned, key, store_before, store_after)]
            stats.violations += [f"{where}: {v}" for v in
                                 _check_faulty_run(stats, target, world.okta, result, named, unknown, before, after,
                                                   okta_before, json.loads(store_before.get(key) or "null"))]
            _count_watched(stats, target, world.okta, before, after)

            fixes = world.fix_taken_names()  # the admin reads the conflict and renames the Okta group again
            if fixes:
                stats.okta_changes["fix_taken_name"] += len(fixes)
                sync.load_okta(world.okta)
            sync.set_faults(None)
            store_before = dict(variables.values)
            clean = sync.run_tasks({}, variables=variables)
            store_after = dict(variables.values)
            final = sync.dump()
            stats.runs += 1
            _count_actions(stats, clean)
            _count_run(stats, "full (clean run)", clean, key, store_before, store_after)
            stats.retries.update(clean.retries)
            stats.users_deprovisioned += len({u["user_name"] for u in before["users"]} - {u["user_name"] for u in final["users"]})
            stats.violations += [f"round {n} (clean run): {v}" for v in invariant_violations(target, world.okta, after, final)]
            stats.violations += [f"round {n} (clean run): {v}" for v in
                                 cursor_violations(clean.outcome, clean.planned, key, store_before, store_after)]
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
