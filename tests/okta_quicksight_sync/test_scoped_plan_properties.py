"""Property test: for random Okta changes, an incremental run ends where a full run would.

State A is synced in full into the memory directory; Okta (the local server, over HTTP through
the real client) then changes to state B and logs what real Okta would; the run reads the log
from the cursor taken after A, scopes the events (okta_changes), reads just that scope
(scoped_read.read_scope) and plans it (scoped_plan.plan_scope), then applies. QuickSight must
end as a full run from B leaves it, and a full plan afterwards has nothing to write. When the
events cannot be scoped (fallback_reason) the run is full, as the orchestration does.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone

from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st
from tests.okta_quicksight_sync.memory_directory import MemoryAssetHandover, MemoryDirectory
from tests.okta_quicksight_sync.sync_builders import ACCOUNT, config, groups_config, state

from local_servers.okta_server import OktaServer
from okta_provider.auth import SswsAuth
from okta_provider.client import OktaClient
from okta_quicksight_sync.apply import apply_deprovision, apply_group_sync, apply_user_sync
from okta_quicksight_sync.model import QsGroup, QsUser
from okta_quicksight_sync.okta_changes import log_filter, scope_changes
from okta_quicksight_sync.okta_reader import read_okta
from okta_quicksight_sync.planner import plan
from okta_quicksight_sync.quicksight_reader import read_quicksight
from okta_quicksight_sync.scoped_plan import FullRunNeeded, plan_scope
from okta_quicksight_sync.scoped_read import read_scope

APP = "0oaqs1"
TOKEN = "local-test-token"
USER_IDS = [f"00u{i}" for i in range(5)]
GROUP_IDS = [f"00g{j}" for j in range(3)]
GROUP_NAMES = ["Fin", "Ops", "Sales", "HR", "Legal"]
ROLES = ["QuickSightReader", "QuickSightAuthor", "QuickSightAdmin"]
STATUSES = ["ACTIVE", "ACTIVE", "SUSPENDED", "DEPROVISIONED", "LOCKED_OUT"]


@st.composite
def orgs(draw):
    """An Okta org section: the admin always assigned (the recipient), five people, three groups."""
    users = [{"id": "00uadmin", "login": "admin@example.com", "email": "admin@example.com", "status": "ACTIVE"}]
    app_users = [{"id": "00uadmin", "saml_roles": ["QuickSightAdmin"]}]
    for uid in USER_IDS:
        login = f"{uid}@example.com" if draw(st.integers(0, 9)) else f"{uid}-new@example.com"
        users.append({"id": uid, "login": login, "email": login, "status": draw(st.sampled_from(STATUSES))})
        if draw(st.integers(0, 3)):
            app_users.append({"id": uid, "saml_roles": draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=2, unique=True))})
    names = draw(st.lists(st.sampled_from(GROUP_NAMES), min_size=3, max_size=3, unique=True))
    groups = [
        {"id": gid, "name": name, "type": "OKTA_GROUP",
         "members": draw(st.lists(st.sampled_from(USER_IDS), unique=True, max_size=4))}
        for gid, name in zip(GROUP_IDS, names)
    ]
    app_groups = draw(st.lists(st.sampled_from(GROUP_IDS), unique=True))
    return {"users": users, "groups": groups, "app_users": app_users, "app_groups": app_groups}


def _login_changed_and_unassigned(org_a: dict, org_b: dict) -> bool:
    """A person whose login (the app username's default) changes as they leave the app: the local
    Okta then logs the removal under the new name and no change_username, where real Okta
    logs the username change first; no run can find the old identity from that log."""
    login_a = {u["id"]: u["login"] for u in org_a["users"]}
    login_b = {u["id"]: u["login"] for u in org_b["users"]}
    assigned_b = {a["id"] for a in org_b["app_users"]}
    return any(login_a[a["id"]] != login_b[a["id"]] and a["id"] not in assigned_b for a in org_a["app_users"])


def client_for(server) -> OktaClient:
    return OktaClient(server.url, SswsAuth(TOKEN), backoff_base_s=0.01, timeout=5.0)


def apply_all(planned, memory: MemoryDirectory, handover: MemoryAssetHandover) -> list[dict]:
    results = apply_group_sync(planned, memory, False)
    results += apply_user_sync(planned, memory, False, earlier_results=results)
    return results + apply_deprovision(planned, memory, handover, False)


def full_run(cfg, client, memory: MemoryDirectory, handover: MemoryAssetHandover):
    okta_snapshot = read_okta(client, APP, wants_members=cfg.wants_group_members)
    planned = plan(cfg, okta_snapshot, read_quicksight(memory, cfg), {"allow_deletions": True})
    apply_all(planned, memory, handover)
    return planned


def copy_of(memory: MemoryDirectory) -> MemoryDirectory:
    snap = memory.snapshot()
    return MemoryDirectory(snap.users.values(), snap.groups.values(), account_id=ACCOUNT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orgs(), orgs(), st.sampled_from(["report", "recreate"]), st.booleans(), st.lists(st.sampled_from(GROUP_NAMES), unique=True, max_size=2))
def test_an_incremental_run_ends_where_a_full_run_would(org_a, org_b, policy, roles_from_groups, adopted):
    """``adopted``: QuickSight groups that exist before the first run with a Description the target adopts."""
    if roles_from_groups:  # roles from membership of app groups; the admin (recipient) by saml_roles is not needed
        cfg = groups_config(
            downgrade_policy=policy, role_groups={"Fin": "AUTHOR", "Ops": "READER"}, default_role="READER",
            asset_recipient="QuickSightFederated/admin@example.com", adopt_descriptions=["Okta"],
        )
    else:
        cfg = config(downgrade_policy=policy, adopt_descriptions=["Okta"])
    assume(not _login_changed_and_unassigned(org_a, org_b))
    with OktaServer(copy.deepcopy(org_a), None, {}, app_id=APP) as server:
        client = client_for(server)
        memory = MemoryDirectory(
            [QsUser(cfg.asset_recipient, "admin@example.com", "ADMIN", "IAM")],
            [QsGroup(f"Okta-{name}", "Okta", ()) for name in adopted], account_id=ACCOUNT,
        )
        full_run(cfg, client, memory, MemoryAssetHandover(memory))
        cursor = client.read_log(since=datetime.now(timezone.utc), filter=log_filter()).next_link
        # What the cursor stores with it after a full run (incremental_run.advance_cursor): the app's groups.
        app_groups = {g["id"] for g in client.iter_app_groups(APP)}
        server.load(copy.deepcopy(org_b))

        by_full = copy_of(memory)
        full_run(cfg, client_for(server), by_full, MemoryAssetHandover(by_full))

        events = client.read_log(next_link=cursor).events
        changes = scope_changes(events, APP, app_group_ids=app_groups)
        note(f"events: {[e['eventType'] for e in events]}; fallback: {changes.fallback_reason}")
        planned = None
        if not changes.fallback_reason and not changes.nothing_changed:
            scope = read_scope(
                client, memory, cfg, changes.user_ids, changes.group_ids, app_groups,
                names=changes.names,
            )
            try:
                planned = plan_scope(cfg, scope, {"allow_deletions": True})
            except FullRunNeeded as exc:
                note(f"full run needed: {exc}")
        if changes.fallback_reason or (planned is None and not changes.nothing_changed):
            event("full (fallback)")
            full_run(cfg, client, memory, MemoryAssetHandover(memory))
        elif planned is not None:
            event("scoped")
            note(f"scoped plan: {planned.to_dict()}")
            apply_all(planned, memory, MemoryAssetHandover(memory))
        else:
            event("nothing changed")

        assert state(memory) == state(by_full)
        after = plan(cfg, read_okta(client, APP, wants_members=cfg.wants_group_members), read_quicksight(memory, cfg))
        assert not after.has_writes, after.to_dict()
