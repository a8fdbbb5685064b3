"""Property tests: for random Okta and QuickSight states, plan + apply converges.

Applying the plan (deletions allowed) to the memory directory yields the
desired state on managed objects, leaves everything unmanaged as it was
(apart from memberships a deleted user takes with it), and a second plan
has nothing to write.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.okta_quicksight_sync.memory_directory import MemoryAssetHandover, MemoryDirectory
from tests.okta_quicksight_sync.sync_builders import ACCOUNT, ADMIN, config, run

from okta_quicksight_sync.desired import desired_state
from okta_quicksight_sync.model import OKTA_STATUSES, ROLE_RANK, OktaGroup, OktaSnapshot, OktaUser, QsGroup, QsUser
from okta_quicksight_sync.ownership import Ownership, marker_id
from okta_quicksight_sync.plan import Plan
from okta_quicksight_sync.planner import plan
from okta_quicksight_sync.quicksight_reader import read_quicksight

IAM_ROLES = ["QuickSightAdmin", "QuickSightAuthor", "QuickSightReader"]
# Okta users mostly get their own app username; a few share one (duplicates) or have a bad one ("e").
SESSIONS = [f"u{i}@example.com" for i in range(6)] + ["ann@example.com", "e"]
EMAILS = ["ann@example.com", "bob@example.com", "x@example.com", None]
# QuickSight identities whose email is an Okta user's own (any case): a failed user's identities by email.
QS_ONLY_EMAILS = ["u0@example.com", "U1@Example.com"]
GROUP_NAMES = ["Fin", "Ops", "Sales", "Caf\u00e9", "HR", "Bad\u20ac"]
QS_ROLES = ["READER", "AUTHOR", "ADMIN", "READER_PRO", "AUTHOR_PRO", "ADMIN_PRO"]
DESCRIPTIONS = ["okta-sync:g0", "okta-sync:g1", "okta-sync:g2", "okta-sync:g3", "okta-sync:g9", "Okta", "by hand", None]


@st.composite
def okta_states(draw):
    users = {}
    for i in range(draw(st.integers(0, 6))):
        uid = f"u{i}"
        users[uid] = OktaUser(
            id=uid,
            status=draw(st.sampled_from(OKTA_STATUSES)),
            user_name=draw(st.sampled_from(SESSIONS)) if draw(st.integers(0, 4)) == 0 else f"{uid}@example.com",
            email=draw(st.sampled_from(EMAILS[:3] + [None])) if draw(st.integers(0, 5)) == 0 else f"{uid}@example.com",
            saml_roles=tuple(draw(st.lists(st.sampled_from(IAM_ROLES + ["Other"]), max_size=3))),
        )
    groups = {}
    for j in range(draw(st.integers(0, 4))):
        gid = f"g{j}"
        groups[gid] = OktaGroup(
            gid, draw(st.sampled_from(GROUP_NAMES)), draw(st.sampled_from(["OKTA_GROUP", "APP_GROUP", "BUILT_IN"])),
            tuple(draw(st.lists(st.sampled_from(sorted(users) or ["none"]), unique=True, max_size=4))),
        )
    return OktaSnapshot(users, groups)


@st.composite
def quicksight_states(draw):
    users = {ADMIN: QsUser(ADMIN, "admin@example.com", "ADMIN", "IAM")}
    candidates = [f"{r}/{s}" for r in IAM_ROLES + ["OtherRole"] for s in SESSIONS if len(s) > 1]
    for name in draw(st.lists(st.sampled_from(candidates), unique=True, max_size=10)):
        users[name] = QsUser(
            name, draw(st.sampled_from(EMAILS[:3] + QS_ONLY_EMAILS)), draw(st.sampled_from(QS_ROLES)),
            draw(st.sampled_from(["IAM", "IAM", "IAM", "QUICKSIGHT"])),
        )
    groups = {}
    names = [f"Okta-{n}" for n in GROUP_NAMES[:5]] + ["Okta-Old", "Mine"]
    for name in draw(st.lists(st.sampled_from(names), unique=True, max_size=5)):
        members = draw(st.lists(st.sampled_from(sorted(users)), unique=True, max_size=4))
        groups[name] = QsGroup(name, draw(st.sampled_from(DESCRIPTIONS)), tuple(members))
    return MemoryDirectory(users.values(), groups.values(), account_id=ACCOUNT)


configs = st.builds(
    lambda policy, builtin, protect: config(
        downgrade_policy=policy, sync_builtin_groups=builtin,
        protected_users=["QuickSightReader/u1@example.com"] if protect else [],
    ),
    st.sampled_from(["report", "recreate"]), st.booleans(), st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, okta_states(), quicksight_states())
def test_apply_converges_to_the_desired_state_and_leaves_the_rest(cfg, okta_state, memory):
    own = Ownership(cfg)
    before = memory.snapshot()
    want = desired_state(cfg, okta_state)
    planned, results = run(cfg, okta_state, memory, MemoryAssetHandover(memory), allow_deletions=True)
    after = memory.snapshot()

    # Only the planned failures (bad data, conflicts) fail; every write succeeds.
    assert sorted(r["item"] for r in results if r["status"] == "failed") == sorted(f["item"] for f in planned.failed)
    removed = set(planned.deprovision) | {r["user_name"] for r in planned.recreate}

    # Unmanaged users are untouched.
    for name, user in before.users.items():
        if not own.is_managed_user(user):
            assert after.users.get(name) == user

    # Exactly what Okta asks for and QuickSight lacked appears (protected names included: they are
    # registered, then never changed); nothing else.
    assert set(after.users) - set(before.users) == set(want.users) - set(before.users)
    for name in own.protected & set(want.users) - set(before.users):
        assert after.users[name].role == want.users[name].role
        assert all(name not in g.members for g in after.groups.values())  # unmanaged: put into no group

    # Managed users: exactly the desired ones, plus the ones a failed Okta user freezes.
    conflicts = {n for n, u in before.users.items() if not own.is_managed_user(u)}
    wanted_users = {n for n in want.users if n not in conflicts and n not in own.protected}
    # Frozen: a failed Okta user's, by user name or by email, unless a valid user claims the name.
    frozen_users = {
        n for n, u in before.users.items()
        if own.is_managed_user(u) and n not in want.users
        and (n in want.frozen_user_names or (u.email or "").lower() in want.frozen_emails)
    }
    managed_after = {n for n, u in after.users.items() if own.is_managed_user(u)}
    assert managed_after == wanted_users | frozen_users
    for name in frozen_users:
        assert after.users[name] == before.users[name]
    for name in wanted_users:
        got, desired = after.users[name], want.users[name]
        assert got.email == desired.email
        old = before.users.get(name)
        if cfg.downgrade_policy == "recreate" or old is None or ROLE_RANK[old.role] <= ROLE_RANK[desired.role]:
            assert got.role == desired.role
        else:
            assert got.role == old.role

    # Groups.
    managed_before = {n for n, g in before.groups.items() if own.is_managed_group(g)}
    conflict_groups = {n for n in want.groups if n in before.groups and n not in managed_before}
    successor_of = {g.okta_id: n for n, g in want.groups.items()}
    frozen_groups = {
        n for n in managed_before
        if n not in want.groups and (
            n in want.frozen_group_names or marker_id(before.groups[n].description) in want.frozen_group_ids
            # a renamed Okta group whose new name is a conflict: no successor, so the old group stays
            or successor_of.get(marker_id(before.groups[n].description)) in conflict_groups
        )
    }
    synced_groups = set(want.groups) - conflict_groups
    assert {n for n, g in after.groups.items() if own.is_managed_group(g)} == synced_groups | frozen_groups
    for name, group in before.groups.items():
        if name not in managed_before or name in frozen_groups:
            # Untouched, except for members a deprovisioned user took with it.
            assert after.groups[name].description == group.description
            lost = set(group.members) - set(after.groups[name].members)
            # A recreated user is given back its memberships in the groups the sync does not change.
            assert set(after.groups[name].members) <= set(group.members) and lost <= set(planned.deprovision)
    for name in synced_groups:
        members_after = set(after.groups[name].members)
        members_before = set(before.groups[name].members) if name in before.groups else set()
        managed_members = {m for m in members_after if m in managed_after}
        expected = (want.groups[name].members & wanted_users) | (members_before & frozen_users)
        assert managed_members == expected, name
        # Members the sync does not own stay as they were.
        assert members_after - managed_after == {m for m in members_before if m not in managed_after and m not in removed}
        if name in before.groups:
            assert after.groups[name].description == before.groups[name].description

    # A second plan has nothing to write.
    again = plan(cfg, okta_state, read_quicksight(memory, cfg), {"allow_deletions": True})
    assert not again.has_writes, again.planned_counts()
    assert again.deletion_count == 0


@settings(max_examples=50, deadline=None)
@given(configs, okta_states(), quicksight_states())
def test_dry_run_writes_nothing_and_plans_what_a_real_run_would(cfg, okta_state, memory):
    qs = read_quicksight(memory, cfg)
    real = plan(cfg, okta_state, qs, {})
    dry, results = run(cfg, okta_state, memory, dry_run=True)
    assert memory.writes == []
    assert dry.planned_counts() == real.planned_counts()
    assert Plan.from_dict(dry.to_dict()).to_dict() == dry.to_dict()
    assert {r["status"] for r in results} <= {"planned", "failed", "skipped", "held"}
