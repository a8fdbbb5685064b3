"""docs/iam/*.json: the Airflow role's least-privilege policy and the three SAML roles.

The policies are JSON a person pastes into IAM, so they are checked here: real
QuickSight operations (from botocore's service model, so a typo fails), no
wildcard actions, one placeholder for the account, and the SAML roles matching
the reference target's role mapping.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

ROOT = Path(__file__).resolve().parents[2]
IAM_DIR = ROOT / "docs" / "iam"
SYNC_POLICY = IAM_DIR / "airflow-sync-policy.json"
TRUST_POLICY = IAM_DIR / "saml-trust-policy.json"
ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"
ASSET_TYPES = ["Dashboard", "Analysis", "DataSet", "DataSource", "Theme", "Template", "Folder", "Topic"]
DIRECTORY_ACTIONS = {
    "ListUsers", "DescribeUser", "RegisterUser", "UpdateUser", "DeleteUser", "ListGroups", "CreateGroup", "DescribeGroup",
    "DeleteGroup", "ListGroupMemberships", "CreateGroupMembership", "DeleteGroupMembership",
}
# The QuickSight role each federated sign-in permission creates (permission-only actions, not API calls).
SIGN_IN_ACTION = {"ADMIN": "quicksight:CreateAdmin", "AUTHOR": "quicksight:CreateUser", "READER": "quicksight:CreateReader"}


def load(path: Path) -> dict:
    document = json.loads(path.read_text())
    assert document.get("Version") == "2012-10-17", f"{path.name}: Version must be 2012-10-17"
    assert document.get("Statement"), f"{path.name}: no statements"
    return document


def actions_of(document: dict) -> list[str]:
    actions = []
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        value = statement["Action"]
        actions.extend([value] if isinstance(value, str) else value)
    return actions


def resources_of(document: dict) -> list[str]:
    resources = []
    for statement in document["Statement"]:
        value = statement.get("Resource", [])
        resources.extend([value] if isinstance(value, str) else value)
    return resources


@pytest.fixture(scope="module")
def sync_actions() -> list[str]:
    return actions_of(load(SYNC_POLICY))


def test_every_sync_action_is_a_real_api_operation(sync_actions):
    session = botocore.session.get_session()
    operations = {
        "quicksight": set(session.get_service_model("quicksight").operation_names),
        "sts": set(session.get_service_model("sts").operation_names),
    }
    assert len(sync_actions) == len(set(sync_actions)), "an action is listed twice"
    for action in sync_actions:
        service, _, operation = action.partition(":")
        assert "*" not in action, f"{action}: no wildcard actions in a least-privilege policy"
        assert service in operations, f"{action}: only quicksight and sts actions belong in this policy"
        assert operation in operations[service], f"{action}: not a {service} API operation"
    assert [a for a in sync_actions if a.startswith("sts:")] == ["sts:GetCallerIdentity"]


def test_sync_policy_covers_the_directory_and_every_asset_type(sync_actions):
    quicksight = {a.split(":", 1)[1] for a in sync_actions if a.startswith("quicksight:")}
    missing = sorted(DIRECTORY_ACTIONS - quicksight)
    assert not missing, f"the sync's user and group calls need {missing}"
    for asset in ASSET_TYPES:
        plural = {"Analysis": "Analyses", "DataSet": "DataSets"}.get(asset, asset + "s")
        finders = {f"Search{plural}", f"List{plural}"} & quicksight
        assert finders, f"no Search{plural}/List{plural}: a departing user's {asset.lower()}s could not be found"
        for verb in ("Describe", "Update"):
            assert f"{verb}{asset}Permissions" in quicksight, f"{verb}{asset}Permissions is needed to hand over a {asset.lower()}"
    unexpected = sorted(
        action for action in quicksight
        if action not in DIRECTORY_ACTIONS
        and not re.fullmatch(r"(Search|List)\w+|(Describe|Update)\w+Permissions", action)
    )
    assert not unexpected, f"the sync never calls {unexpected}"


def test_resources_name_the_account_by_one_placeholder():
    for path in sorted(IAM_DIR.glob("*.json")):
        text = path.read_text()
        assert not re.search(r"\b\d{12}\b", text), f"{path.name} holds a real account id; use {ACCOUNT_PLACEHOLDER}"
        for arn in re.findall(r"arn:aws:[^\"]+", text):
            assert arn.split(":")[4] == ACCOUNT_PLACEHOLDER, f"{path.name}: {arn} should name account {ACCOUNT_PLACEHOLDER}"
    scoped = [r for r in resources_of(load(SYNC_POLICY)) if r != "*"]
    assert scoped and all(r.startswith(f"arn:aws:quicksight:*:{ACCOUNT_PLACEHOLDER}:") for r in scoped), scoped


def test_three_saml_roles_match_the_reference_role_mapping():
    targets = json.loads((ROOT / "include" / "targets.json").read_text())
    saml_roles = next(iter(targets.values()))["saml_roles"]
    files = {path.stem.removeprefix("saml-role-"): path for path in IAM_DIR.glob("saml-role-*.json")}
    assert set(files) == set(saml_roles), f"SAML role files {sorted(files)} differ from targets.json {sorted(saml_roles)}"
    for role, quicksight_role in saml_roles.items():
        document = load(files[role])
        assert actions_of(document) == [SIGN_IN_ACTION[quicksight_role]], f"{role} should allow only {SIGN_IN_ACTION[quicksight_role]}"
        assert resources_of(document) == [f"arn:aws:quicksight::{ACCOUNT_PLACEHOLDER}:user/${{aws:userid}}"], role


def test_saml_trust_policy_lets_only_okta_saml_sign_ins_assume_the_roles():
    (statement,) = load(TRUST_POLICY)["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithSAML"
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT_PLACEHOLDER}:saml-provider/Okta"}
    assert statement["Condition"] == {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
