"""The QuickSight directory adapter against the local QuickSight server, through a
real Airflow AWS connection (AIRFLOW_CONN_AWS_DEFAULT with endpoint_url) and
the Amazon provider's QuickSightHook, as in production."""

from __future__ import annotations

import pytest
from botocore.config import Config

from airflow.providers.amazon.aws.hooks.quicksight import QuickSightHook
from local_servers.quicksight_server import QuickSightServer
from okta_quicksight_airflow.quicksight_clients import account_id_from, quicksight_client_factory
from okta_quicksight_sync.model import QsGroup, QsUser
from okta_quicksight_sync.quicksight_directory import DowngradeRefusedError, QuickSightDirectory
from okta_quicksight_sync.quicksight_transport import (
    QuickSightInvalidValueError,
    QuickSightNotFoundError,
    QuickSightThrottledError,
    QuickSightUnavailableError,
    WrongIdentityRegionError,
)

ACCOUNT = "111122223333"
ADMIN = "QuickSightAdmin/admin@example.com"
READER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/QuickSightReader"


def section(users=(), groups=()) -> dict:
    return {
        "account_id": ACCOUNT,
        "identity_region": "us-east-1",
        "namespace": "default",
        "users": [{"user_name": ADMIN, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"}]
        + list(users),
        "groups": list(groups),
        "assets": [],
    }


@pytest.fixture
def start(monkeypatch):
    """start(section, region=..., **server_kwargs) -> (server, directory) via AIRFLOW_CONN_AWS_DEFAULT."""
    servers = []

    def _start(qs_section, region="us-east-1", calls_per_second=None, **kwargs):
        server = QuickSightServer(qs_section, **kwargs)
        server.start()
        servers.append(server)
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", server.airflow_connection(region))
        factory = quicksight_client_factory("aws_default", calls_per_second=calls_per_second)
        account = account_id_from(None, "aws_default", region)  # from STS, through the hook
        return server, QuickSightDirectory(factory, account, region, "default")

    yield _start
    for server in servers:
        server.stop()


def test_reads_every_page_of_250_users_groups_and_members(start):
    users = [
        {"user_name": f"QuickSightReader/u{i:03}@example.com", "email": f"u{i:03}@example.com", "role": "READER",
         "identity_type": "IAM"}
        for i in range(249)
    ]
    groups = [{"name": f"Okta-G{i:03}", "description": f"okta-sync:00g{i}", "members": []} for i in range(249)]
    groups.append({"name": "Okta-Big", "description": "okta-sync:00gbig", "members": [u["user_name"] for u in users]})
    server, directory = start(section(users, groups))

    listed = directory.list_users()
    assert len(listed) == 250
    assert listed[1] == QsUser(
        "QuickSightReader/u000@example.com", "u000@example.com", "READER", "IAM",
        arn=f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/QuickSightReader/u000@example.com", active=True,
    )
    listed_groups = directory.list_groups()
    assert len(listed_groups) == 250
    assert listed_groups[0] == QsGroup(
        "Okta-G000", "okta-sync:00g0", None, arn=f"arn:aws:quicksight:us-east-1:{ACCOUNT}:group/default/Okta-G000"
    )
    members = directory.list_group_members("Okta-Big")
    assert members == [u["user_name"] for u in users]
    # 100 per page: 3 pages each, and the server saw exactly what the adapter counted.
    assert directory.api_calls == {"ListUsers": 3, "ListGroups": 3, "ListGroupMemberships": 3}
    assert {k: v for k, v in server.counter.snapshot().items() if not k.startswith("sts:")} == directory.api_calls


def test_a_users_groups_are_read_one_call_per_page_and_a_groups_description_is_described(start):
    user = "QuickSightReader/ann@example.com"
    groups = [{"name": f"G{i:03}", "description": None if i % 2 else f"okta-sync:00g{i}", "members": [user]}
              for i in range(150)]
    groups.append({"name": "Other", "description": "by hand", "members": []})
    server, directory = start(section([{"user_name": user, "email": "ann@example.com", "role": "READER",
                                        "identity_type": "IAM"}], groups))
    assert sorted(directory.list_user_groups(user)) == [f"G{i:03}" for i in range(150)]
    assert directory.list_user_groups(ADMIN) == []
    assert directory.describe_group("Other") == QsGroup(
        "Other", "by hand", None, arn=f"arn:aws:quicksight:us-east-1:{ACCOUNT}:group/default/Other")
    assert directory.describe_group("Nope") is None
    assert directory.api_calls == {"ListUserGroups": 3, "DescribeGroup": 2}
    assert {k: v for k, v in server.counter.snapshot().items() if not k.startswith("sts:")} == directory.api_calls

def test_every_write_is_idempotent_when_repeated(start):
    server, directory = start(section())
    user = "QuickSightReader/ann@example.com"

    assert directory.register_user(READER_ROLE_ARN, "ann@example.com", "ann@example.com", "READER") == "done"
    assert directory.register_user(READER_ROLE_ARN, "ann@example.com", "ann@example.com", "READER") == "already"
    assert directory.update_user(user, "ann.lee@example.com", "AUTHOR") == "done"
    assert directory.update_user(user, "ann.lee@example.com", "AUTHOR") == "done"
    assert directory.create_group("Okta-Finance", "okta-sync:00g1") == "done"
    assert directory.create_group("Okta-Finance", "okta-sync:00g1") == "already"
    assert directory.add_member("Okta-Finance", user) == "done"
    assert directory.add_member("Okta-Finance", user) == "done"
    assert directory.list_group_members("Okta-Finance") == [user]
    assert directory.remove_member("Okta-Finance", user) == "done"
    assert directory.remove_member("Okta-Finance", user) == "already"
    assert directory.delete_group("Okta-Finance") == "done"
    assert directory.delete_group("Okta-Finance") == "already"
    assert directory.describe_user(user) == QsUser(
        user, "ann.lee@example.com", "AUTHOR", "IAM",
        arn=f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/{user}", active=True,
    )
    assert directory.delete_user(user) == "done"
    assert directory.delete_user(user) == "already"
    assert directory.describe_user(user) is None
    assert [u["user_name"] for u in server.dump()["users"]] == [ADMIN]


WRITES = [
    ("RegisterUser", lambda d: d.register_user(READER_ROLE_ARN, "bob@example.com", "bob@example.com", "READER")),
    ("UpdateUser", lambda d: d.update_user("QuickSightReader/ann@example.com", "a@example.com", "READER")),
    ("CreateGroup", lambda d: d.create_group("Okta-New", "okta-sync:00g9")),
    ("DeleteGroup", lambda d: d.delete_group("Okta-Finance")),
    ("CreateGroupMembership", lambda d: d.add_member("Okta-Finance", ADMIN)),
    ("DeleteGroupMembership", lambda d: d.remove_member("Okta-Finance", "QuickSightReader/ann@example.com")),
    ("DeleteUser", lambda d: d.delete_user("QuickSightReader/ann@example.com")),
]


@pytest.mark.parametrize(("operation", "write"), WRITES, ids=[w[0] for w in WRITES])
def test_a_write_retried_after_a_server_fault_converges(start, operation, write):
    ann = {"user_name": "QuickSightReader/ann@example.com", "email": "ann@example.com", "role": "READER",
           "identity_type": "IAM"}
    group = {"name": "Okta-Finance", "description": "okta-sync:00g1", "members": [ann["user_name"]]}
    faults = [{"service": "quicksight", "operation": operation, "error": "InternalFailureException", "times": 2}]
    server, directory = start(section([ann], [group]), faults=faults)
    before = server.dump()

    assert write(directory) == "done"  # two 500s absorbed by botocore's retries
    assert directory.api_calls[operation] == 3
    after = server.dump()
    assert after != before
    # Run the same step again, as a rerun of the task would: it converges.
    assert write(directory) in ("done", "already")
    assert server.dump() == after


def test_three_throttles_in_a_row_are_absorbed(start):
    faults = [{"service": "quicksight", "operation": "ListUsers", "error": "ThrottlingException", "times": 3}]
    server, directory = start(section(), faults=faults)
    assert [u.user_name for u in directory.list_users()] == [ADMIN]
    assert directory.api_calls == {"ListUsers": 4}
    assert server.faults.injected["ThrottlingException"] == 3


def no_retry_directory() -> QuickSightDirectory:
    """A directory whose client gives up at once: for tests of what is reported when retries run out."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2)
    client = QuickSightHook(aws_conn_id="aws_default", region_name="us-east-1", config=config).conn
    return QuickSightDirectory(lambda region: client, ACCOUNT, "us-east-1")


def test_throttling_that_does_not_stop_is_reported(start):
    faults = [{"service": "quicksight", "operation": "CreateGroup", "error": "ThrottlingException", "times": -1}]
    start(section(), faults=faults)
    directory = no_retry_directory()
    with pytest.raises(QuickSightThrottledError) as caught:
        directory.create_group("Okta-Finance", "okta-sync:00g1")
    assert "group Okta-Finance" in str(caught.value)
    assert "throttled" in str(caught.value)


def test_a_server_rate_limit_is_absorbed_by_retries(start):
    # 12 calls against 4 per 0.1 s, with no client-side pacing: some are refused, none fail.
    server, directory = start(section(), limits={"quicksight_per_second": 4}, rate_window_s=0.1)
    for i in range(12):
        assert directory.create_group(f"Okta-G{i}", "okta-sync:x") == "done"
    assert server.throttled.total() > 0
    assert len(server.dump()["groups"]) == 12
    assert directory.api_calls["CreateGroup"] == 12 + server.throttled.total()


def test_wrong_identity_region_names_the_region_to_configure(start):
    _, directory = start(section(), region="eu-west-1")
    with pytest.raises(WrongIdentityRegionError) as caught:
        directory.list_users()
    err = caught.value
    assert err.identity_region == "us-east-1"
    assert err.called_region == "eu-west-1"
    assert "set the target's identity_region to us-east-1" in str(err)
    assert "local-quicksight-secret" not in str(err) and "AKIDLOCALQUICKSIGHT" not in str(err)


def test_downgrade_from_author_is_refused_and_reported(start):
    zed = {"user_name": "QuickSightAuthor/zed@example.com", "email": "zed@example.com", "role": "AUTHOR",
           "identity_type": "IAM"}
    server, directory = start(section([zed]))
    with pytest.raises(DowngradeRefusedError) as caught:
        directory.update_user(zed["user_name"], "zed@example.com", "READER")
    assert "QuickSightAuthor/zed@example.com" in str(caught.value)
    assert "from AUTHOR to READER" in str(caught.value)
    assert "downgrade_policy" in str(caught.value)
    assert server.dump()["users"][1]["role"] == "AUTHOR"
    # Upward and author-to-admin moves are allowed.
    assert directory.update_user(zed["user_name"], "zed@example.com", "ADMIN") == "done"
    assert directory.describe_user(zed["user_name"]).role == "ADMIN"


def test_bad_item_data_is_reported_with_the_item(start):
    _, directory = start(section())
    with pytest.raises(QuickSightInvalidValueError) as caught:
        directory.register_user(READER_ROLE_ARN, "ann lee!", "ann@example.com", "READER")
    assert "QuickSightReader/ann lee!" in str(caught.value)
    assert "SessionName" in str(caught.value)
    with pytest.raises(QuickSightNotFoundError) as missing:
        directory.update_user("QuickSightReader/nobody@example.com", "n@example.com", "READER")
    assert "QuickSightReader/nobody@example.com" in str(missing.value)
    with pytest.raises(QuickSightNotFoundError):
        directory.add_member("Okta-Missing", ADMIN)


def test_a_missing_namespace_is_not_taken_for_an_idempotent_delete(start):
    server, _ = start(section())
    directory = QuickSightDirectory(
        quicksight_client_factory("aws_default", calls_per_second=None), ACCOUNT, "us-east-1", "sales"
    )
    with pytest.raises(QuickSightNotFoundError) as caught:
        directory.delete_user(ADMIN)
    assert "Namespace sales" in str(caught.value)


def test_unreachable_quicksight_is_reported(start):
    server, _ = start(section())
    directory = no_retry_directory()
    server.stop()
    with pytest.raises(QuickSightUnavailableError) as caught:
        directory.list_users()
    assert "check the AWS connection's endpoint" in str(caught.value)
    assert server.url.rsplit(":", 1)[1] in str(caught.value)  # names the endpoint it tried
    server.stop = lambda: None  # already stopped: the fixture's own stop() has nothing to do
