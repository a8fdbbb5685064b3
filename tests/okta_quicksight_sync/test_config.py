"""TargetConfig: the contract's section 1 keys and defaults, validated with errors naming the key."""

import json
import re

import pytest

from okta_quicksight_sync.config import ConfigError, TargetConfig

BASE = {"okta_app_id": "0oaqs1", "saml_roles": {"QuickSightReader": "READER"}}


def parse(**extra):
    return TargetConfig.from_dict({**BASE, **extra})


def test_defaults_are_the_contracts():
    cfg = parse()
    assert cfg.to_dict() == {
        "okta_app_id": "0oaqs1",
        "okta_conn_id": "okta_default",
        "aws_conn_id": "aws_default",
        "aws_account_id": None,
        "identity_region": None,
        "asset_regions": None,
        "namespace": "default",
        "role_source": "saml_roles",
        "saml_roles": {"QuickSightReader": "READER"},
        "iam_role": None,
        "role_groups": {},
        "default_role": None,
        "eligible_statuses": ["STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED", "SUSPENDED"],
        "group_prefix": "Okta-",
        "adopt_descriptions": ["Okta"],
        "sync_builtin_groups": False,
        "asset_recipient": None,
        "protected_users": [],
        "downgrade_policy": "report",
        "max_deletions": 10,
        "max_deletion_percent": None,
        "schedule": "0 12 * * *",
        "approval": "ui",
        "task_retries": 2,
        "retry_delay_s": 120,
        "approval_timeout_h": 24,
        "notify": None,
        "approvers": None,
        "report_path": None,
        "incremental_schedule": None,
        "incremental_max_events": 1000,
        "event_queue": None,
    }


def test_to_dict_round_trips_through_json():
    cfg = parse(asset_regions=["us-east-1", "eu-west-1"], protected_users=["QuickSightReader/x"], max_deletion_percent=5)
    again = TargetConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


def test_unknown_key_names_it_and_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"unknown key 'max_deletion'.*did you mean 'max_deletions'"):
        parse(max_deletion=3)


def test_unknown_key_without_close_match_lists_known_keys():
    with pytest.raises(ConfigError, match=r"unknown key 'zzz'.*known keys:.*okta_app_id"):
        parse(zzz=1)


def test_okta_app_id_is_required():
    with pytest.raises(ConfigError, match="okta_app_id is required"):
        TargetConfig.from_dict({"saml_roles": {"R": "READER"}})


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"saml_roles": {"QuickSightReader": "VIEWER"}}, r"saml_roles\['QuickSightReader'\] = 'VIEWER' is not a QuickSight role"),
        ({"saml_roles": {}}, "saml_roles is empty"),
        ({"role_source": "ldap"}, "role_source 'ldap'"),
        ({"role_source": "groups", "saml_roles": {}, "role_groups": {"A": "READER"}}, "iam_role is required"),
        ({"role_source": "groups", "saml_roles": {}, "iam_role": "R"}, "role_groups is empty and default_role unset"),
        ({"role_source": "groups", "saml_roles": {}, "iam_role": "R", "role_groups": {"A": "boss"}}, r"role_groups\['A'\]"),
        ({"role_source": "groups", "saml_roles": {}, "iam_role": "R", "default_role": "KING"}, "default_role 'KING'"),
        ({"iam_role": "R"}, "iam_role is only used with role_source groups"),
        ({"eligible_statuses": ["ACTIVE", "GONE"]}, "eligible_statuses: 'GONE'"),
        ({"downgrade_policy": "ignore"}, "downgrade_policy 'ignore'"),
        ({"max_deletions": -1}, "max_deletions"),
        ({"max_deletions": True}, "max_deletions"),
        ({"max_deletion_percent": 150}, "max_deletion_percent"),
        ({"aws_account_id": "12"}, "aws_account_id '12'"),
        ({"asset_regions": []}, "asset_regions is empty"),
        ({"schedule": "every day"}, "schedule 'every day'"),
        ({"protected_users": "QuickSightReader/x"}, "protected_users must be a list"),
        ({"sync_builtin_groups": "yes"}, "sync_builtin_groups"),
        ({"saml_roles": {"bad role/x": "READER"}}, "not an IAM role name"),
        ({"approval": "auto"}, "approval 'auto' is not one of ui, hold"),
        ({"task_retries": -1}, "task_retries must be a whole number"),
        ({"task_retries": 1.5}, "task_retries must be a whole number"),
        ({"retry_delay_s": 0}, "retry_delay_s must be a number of seconds above 0"),
        ({"approval_timeout_h": "24"}, "approval_timeout_h must be a number of hours above 0"),
    ],
)
def test_bad_values_name_the_key(extra, message):
    with pytest.raises(ConfigError, match=message):
        parse(**extra)


def test_groups_role_source_with_default_role_only():
    cfg = TargetConfig.from_dict({"okta_app_id": "a", "role_source": "groups", "iam_role": "QS", "default_role": "READER"})
    assert cfg.iam_roles == ("QS",)
    assert cfg.role_groups == {}


def test_asset_recipient_is_optional_and_always_protected():
    assert parse().protected == frozenset()
    cfg = parse(asset_recipient="QuickSightAdmin/a", protected_users=["QuickSightReader/b"])
    assert cfg.protected == {"QuickSightAdmin/a", "QuickSightReader/b"}


def test_runtime_values_fill_only_what_is_unset():
    cfg = parse()
    assert cfg.aws_account_id is None and cfg.regions_for_assets == ()
    with pytest.raises(ConfigError, match="aws_account_id is not known"):
        cfg.iam_arn("QuickSightReader")
    run = cfg.with_runtime(aws_account_id="111122223333", identity_region="us-east-1")
    assert run.iam_arn("QuickSightReader") == "arn:aws:iam::111122223333:role/QuickSightReader"
    assert run.regions_for_assets == ("us-east-1",)
    fixed = parse(aws_account_id="999988887777", identity_region="eu-west-1", asset_regions=["eu-west-1", "us-east-1"])
    fixed = fixed.with_runtime(aws_account_id="111122223333", identity_region="us-east-1")
    assert (fixed.aws_account_id, fixed.identity_region) == ("999988887777", "eu-west-1")
    assert fixed.regions_for_assets == ("eu-west-1", "us-east-1")


def test_builtin_group_members_are_read_only_when_they_matter():
    assert parse().wants_group_members("Finance", "OKTA_GROUP")
    assert not parse().wants_group_members("Everyone", "BUILT_IN")
    assert parse(sync_builtin_groups=True).wants_group_members("Everyone", "BUILT_IN")
    groups = TargetConfig.from_dict(
        {"okta_app_id": "a", "role_source": "groups", "iam_role": "QS", "role_groups": {"Everyone": "READER"}}
    )
    assert groups.wants_group_members("Everyone", "BUILT_IN")


@pytest.mark.parametrize(("extra", "needle"), [
    ({"notify": ["idm@example.com"]}, "notify must be an object"),
    ({"approvers": "alice"}, "approvers must be a non-empty list"),
    ({"approvers": []}, "approvers must be a non-empty list"),
    ({"report_path": "/var/reports"}, "report_path must be a URL"),
])
def test_reporting_keys_have_the_right_shape(extra, needle):
    with pytest.raises(ConfigError, match=needle):
        parse(**extra)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("incremental_schedule", "every 10 minutes", "incremental_schedule 'every 10 minutes' is not a 5-field cron"),
        ("incremental_max_events", 0, "incremental_max_events must be a whole number >= 1"),
        ("incremental_max_events", True, "incremental_max_events must be a whole number >= 1"),
        ("event_queue", "okta-events", "event_queue must be an SQS queue URL"),
    ],
)
def test_incremental_keys_are_checked_naming_the_key(key, value, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        parse(**{key: value})


def test_incremental_keys_accept_a_cron_and_a_queue_url():
    cfg = parse(incremental_schedule="*/10 * * * *", event_queue="https://sqs.eu-west-1.amazonaws.com/111122223333/okta-events")
    assert (cfg.incremental_schedule, cfg.event_queue) == ("*/10 * * * *", "https://sqs.eu-west-1.amazonaws.com/111122223333/okta-events")
