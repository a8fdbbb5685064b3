"""desired_state: identities, groups, failures and frozen names from Okta alone."""

from tests.okta_quicksight_sync.sync_builders import config, groups_config, og, okta, ou

from okta_quicksight_sync.desired import desired_state
from okta_quicksight_sync.ownership import marker_for, marker_id

R, A = "QuickSightReader", "QuickSightAuthor"


def test_identity_fields():
    state = desired_state(config(), okta([ou("u1", "ann@example.com", email="Ann@Example.com", roles=(A,))]))
    (user,) = state.users.values()
    assert (user.user_name, user.iam_arn, user.session_name, user.email, user.role, user.okta_id) == (
        f"{A}/ann@example.com", "arn:aws:iam::111122223333:role/QuickSightAuthor", "ann@example.com",
        "Ann@Example.com", "AUTHOR", "u1")


def test_group_members_are_identity_names_and_marker_is_the_okta_id():
    state = desired_state(config(), okta([ou("u1", roles=(R, A)), ou("u2", roles=())], [og("00g1", "Fin", ["u1", "u2", "nobody"])]))
    group = state.groups["Okta-Fin"]
    assert group.members == {f"{R}/u1@example.com", f"{A}/u1@example.com"}
    assert group.description == "okta-sync:00g1" == marker_for("00g1")


def test_marker_is_found_anywhere_in_a_description():
    assert marker_id("okta-sync:00g1") == "00g1"
    assert marker_id("Synced: okta-sync:00gABC (do not edit)") == "00gABC"
    assert marker_id("okta-sync:") is None and marker_id("Okta") is None and marker_id(None) is None


def test_eligible_count_counts_eligible_app_users_with_or_without_roles():
    state = desired_state(config(), okta([ou("u1", roles=()), ou("u2", status="DEPROVISIONED"), ou("u3")]))
    assert state.eligible_count == 2 and set(state.users) == {f"{R}/u3@example.com"}


def test_failed_user_freezes_its_names_under_every_role_of_the_target():
    state = desired_state(config(), okta([ou("u1", "ann@example.com", email=None)]))
    assert state.users == {}
    assert state.frozen_user_names == {f"{r}/ann@example.com" for r in ("QuickSightAdmin", A, R)}
    assert [f.action for f in state.failures] == ["validate_user"]


def test_a_valid_user_keeps_a_name_a_failed_user_would_freeze():
    # u1 (no email) claims Reader/ann, u2 Author/ann: no collision, so u2 keeps its identity.
    users = [ou("u1", "ann@example.com", email=None, roles=(R,)), ou("u2", "ann@example.com", roles=(A,))]
    state = desired_state(config(), okta(users))
    assert set(state.users) == {f"{A}/ann@example.com"}
    assert f"{A}/ann@example.com" not in state.frozen_user_names
    assert f"{R}/ann@example.com" in state.frozen_user_names


def test_duplicate_user_fails_with_all_its_identities():
    users = [ou("u1", "ann@example.com", roles=(R, A)), ou("u2", "ann@example.com", roles=(R,)), ou("u3")]
    state = desired_state(config(), okta(users))
    assert set(state.users) == {f"{R}/u3@example.com"}
    assert {f.item for f in state.failures} == {"ann@example.com (Okta u1)", "ann@example.com (Okta u2)"}
    assert "u2" in next(f.reason for f in state.failures if "u1" in f.item)


def test_two_okta_groups_with_one_quicksight_name_both_fail():
    state = desired_state(config(), okta([], [og("g1", "Fin", []), og("g2", "Fin", []), og("g3", "Ops", [])]))
    assert set(state.groups) == {"Okta-Ops"}
    assert state.frozen_group_ids == {"g1", "g2"} and state.frozen_group_names == {"Okta-Fin"}
    assert len(state.failures) == 2


def test_role_groups_count_even_when_builtin_and_not_synced():
    cfg = groups_config(role_groups={"Everyone": "READER"})
    state = desired_state(cfg, okta([ou("u1", roles=())], [og("g0", "Everyone", ["u1"], gtype="BUILT_IN")]))
    assert set(state.users) == {"QuickSightFederated/u1@example.com"} and state.groups == {}


def test_saml_roles_are_ignored_with_groups_role_source():
    state = desired_state(groups_config(), okta([ou("u1", roles=(R,))]))
    assert state.users == {}
