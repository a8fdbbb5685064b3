"""The local QuickSight server behaves as AWS does, seen through plain boto3 over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import botocore.session
import pytest
import requests
from botocore.awsrequest import prepare_request_dict
from botocore.config import Config
from botocore.serialize import create_serializer

from local_servers import qs_protocol
from local_servers.quicksight_server import QuickSightServer

ACCOUNT = "111122223333"
NS = {"AwsAccountId": ACCOUNT, "Namespace": "default"}
ADMIN = "QuickSightAdmin/admin@example.com"
AUTHOR = "QuickSightAuthor/zed@example.com"
EXAMPLES = Path(__file__).parents[1] / "scenarios" / "examples"
MODEL = botocore.session.get_session().get_service_model("quicksight")


def section(**extra) -> dict:
    base = {
        "account_id": ACCOUNT, "identity_region": "us-east-1", "namespace": "default",
        "users": [
            {"user_name": ADMIN, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"},
            {"user_name": AUTHOR, "email": "zed@example.com", "role": "AUTHOR", "identity_type": "IAM"},
        ],
        "groups": [{"name": "Okta-Finance", "description": "okta-sync:00g1", "members": [AUTHOR]}],
        "assets": [{"type": "dashboard", "id": "sales", "region": "us-east-1", "owners": [AUTHOR, ADMIN]},
                   {"type": "dataset", "id": "orders", "region": "eu-west-1", "owners": [AUTHOR]}],
    }
    base.update(extra)
    return base


@pytest.fixture
def server():
    srv = QuickSightServer(section())
    srv.start()
    yield srv
    srv.stop()


def client(server, region="us-east-1", service="quicksight"):
    return boto3.client(
        service, region_name=region, endpoint_url=server.url, aws_access_key_id="AKIDANY",
        aws_secret_access_key="any", config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def error_of(call) -> tuple[str, int, str]:
    with pytest.raises(Exception) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


# ---- protocol -----------------------------------------------------------------


def test_every_operation_boto3_can_send_is_routed_to_itself():
    serializer = create_serializer("rest-json", include_validation=False)
    misrouted = []
    for name in MODEL.operation_names:
        op = MODEL.operation_model(name)
        params = {
            member: "a/b c@d" if shape.type_name == "string" else 1
            for member, shape in (op.input_shape.members.items() if op.input_shape else [])
            if shape.serialization.get("location") == "uri"
        }
        request = serializer.serialize_to_request(params, op)
        prepare_request_dict(request, endpoint_url="http://127.0.0.1")
        path = request["url"].split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        found = qs_protocol.match(request["method"], "/" + path)
        if found is None or found[0] != name:
            misrouted.append((name, request["method"], path, found and found[0]))
        elif len(found[1]) != len(params) or not set(found[1].values()) <= {"a/b c@d", "1"}:
            misrouted.append((name, "path labels not decoded", found[1]))
    assert misrouted == []
    assert len(MODEL.operation_names) > 200  # the whole service, not a hand-picked list


def test_user_names_with_slashes_travel_url_encoded(server):
    qs = client(server)
    assert qs.describe_user(**NS, UserName=AUTHOR)["User"]["UserName"] == AUTHOR
    qs.delete_group_membership(**NS, GroupName="Okta-Finance", MemberName=AUTHOR)
    qs.create_group_membership(**NS, GroupName="Okta-Finance", MemberName=ADMIN)
    assert server.dump()["groups"][0]["members"] == [ADMIN]


def test_unsigned_requests_are_refused(server):
    response = requests.get(f"{server.url}/accounts/{ACCOUNT}/namespaces/default/users", timeout=5)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_unimplemented_operations_say_so(server):
    code, status, message = error_of(lambda: client(server).describe_dashboard(AwsAccountId=ACCOUNT, DashboardId="x"))
    assert code == "UnsupportedOperationException" and "DescribeDashboard" in message


def test_sts_get_caller_identity_gives_the_account(server):
    assert client(server, service="sts").get_caller_identity()["Account"] == ACCOUNT
    assert server.counter.snapshot() == {"sts:GetCallerIdentity": 1}


# ---- identity region, paging, errors ------------------------------------------


def test_user_and_group_calls_outside_the_identity_region_are_refused(server):
    west = client(server, region="us-west-2")
    for call in (lambda: west.list_users(**NS), lambda: west.create_group(**NS, GroupName="x"),
                 lambda: west.delete_group_membership(**NS, GroupName="Okta-Finance", MemberName=AUTHOR)):
        assert error_of(call) == (
            "AccessDeniedException", 401,
            "Operation is being called from endpoint us-west-2, but your identity region is us-east-1. "
            "Please use the us-east-1 endpoint.",
        )
    # Assets live per region: the eu-west-1 dataset is answered there, and only there.
    assert client(server, "eu-west-1").describe_data_set_permissions(AwsAccountId=ACCOUNT, DataSetId="orders")
    assert error_of(lambda: client(server).describe_data_set_permissions(AwsAccountId=ACCOUNT, DataSetId="orders"))[:2] \
        == ("ResourceNotFoundException", 404)


def test_lists_page_at_100_with_next_token():
    users = [{"user_name": f"R/u{i}", "email": f"u{i}@x.com", "role": "READER"} for i in range(250)]
    with QuickSightServer(section(users=users)) as srv:
        qs = client(srv)
        first = qs.list_users(**NS)
        assert len(first["UserList"]) == 100 and first["NextToken"]
        second = qs.list_users(**NS, NextToken=first["NextToken"], MaxResults=100)
        third = qs.list_users(**NS, NextToken=second["NextToken"])
        assert len(third["UserList"]) == 50 and "NextToken" not in third
        names = [u["UserName"] for page in (first, second, third) for u in page["UserList"]]
        assert names == [u["user_name"] for u in users]
        assert error_of(lambda: qs.list_users(**NS, MaxResults=101))[0] == "InvalidParameterValueException"
        assert error_of(lambda: qs.list_users(**NS, NextToken="garbage"))[0] == "InvalidNextTokenException"
        assert error_of(lambda: qs.list_groups(**NS, NextToken=first["NextToken"]))[0] == "InvalidNextTokenException"


def test_exists_and_not_found_errors(server):
    qs = client(server)
    assert error_of(lambda: qs.create_group(**NS, GroupName="Okta-Finance"))[:2] == ("ResourceExistsException", 409)
    assert error_of(lambda: qs.delete_group(**NS, GroupName="Okta-Nope"))[:2] == ("ResourceNotFoundException", 404)
    assert error_of(lambda: qs.delete_user(**NS, UserName="R/nobody"))[:2] == ("ResourceNotFoundException", 404)
    assert error_of(lambda: qs.create_group_membership(**NS, GroupName="Okta-Finance", MemberName="R/nobody"))[0] \
        == "ResourceNotFoundException"
    assert error_of(lambda: qs.delete_group_membership(**NS, GroupName="Okta-Finance", MemberName=ADMIN))[0] \
        == "ResourceNotFoundException"
    assert error_of(lambda: qs.list_users(AwsAccountId=ACCOUNT, Namespace="sales"))[0] == "ResourceNotFoundException"
    assert error_of(lambda: qs.list_users(AwsAccountId="999988887777", Namespace="default"))[0] \
        == "AccessDeniedException"
    assert error_of(lambda: qs.create_group(**NS, GroupName="Okta-\u0100"))[0] == "InvalidParameterValueException"
    assert error_of(lambda: qs.create_group(**NS, GroupName="Okta-X", Description="d" * 513))[0] \
        == "InvalidParameterValueException"



def test_group_limits_are_the_published_models_and_no_others(server):
    """CreateGroup's GroupName has a pattern and a minimum in botocore's model, no maximum: none is invented."""
    qs = client(server)
    name_shape = MODEL.operation_model("CreateGroup").input_shape.members["GroupName"]
    assert "max" not in name_shape.metadata  # if AWS ever publishes one, this test must learn it
    long_name = "Okta-" + "\u00e9" * 135
    assert qs.create_group(**NS, GroupName=long_name, Description="okta-sync:00g7")["Group"]["GroupName"] == long_name
    assert long_name in [g["GroupName"] for g in qs.list_groups(**NS)["GroupList"]]
    code, _, message = error_of(lambda: qs.create_group(**NS, GroupName="Okta-\u0100" + "x" * 140))
    assert code == "InvalidParameterValueException" and name_shape.metadata["pattern"] in message
    description_max = MODEL.operation_model("CreateGroup").input_shape.members["Description"].metadata["max"]
    assert qs.create_group(**NS, GroupName="Okta-Y", Description="d" * description_max)
    assert "less than or equal to" in error_of(
        lambda: qs.create_group(**NS, GroupName="Okta-Z", Description="d" * (description_max + 1)))[2]

# ---- users --------------------------------------------------------------------


def test_register_user_names_iam_identities_role_slash_session(server):
    qs = client(server)
    user = qs.register_user(
        **NS, IdentityType="IAM", IamArn=f"arn:aws:iam::{ACCOUNT}:role/service-role/QuickSightReader",
        SessionName="ann.lee+qs@example.com", Email="ann@example.com", UserRole="READER",
    )["User"]
    assert user["UserName"] == "QuickSightReader/ann.lee+qs@example.com"
    assert user["Arn"] == f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/QuickSightReader/ann.lee+qs@example.com"
    assert user["Active"] is True
    for bad in ("ann lee", "ann/lee", "ann#1", "ann,lee"):  # boto3 itself checks the 2-64 length
        code, _, message = error_of(lambda bad=bad: qs.register_user(
            **NS, IdentityType="IAM", IamArn=f"arn:aws:iam::{ACCOUNT}:role/QuickSightReader", SessionName=bad,
            Email="a@example.com", UserRole="READER"))
        assert code == "InvalidParameterValueException" and "SessionName" in message, bad
    assert error_of(lambda: qs.register_user(
        **NS, IdentityType="IAM", IamArn="arn:aws:iam::999988887777:role/QuickSightReader", SessionName="ann",
        Email="a@example.com", UserRole="READER"))[0] == "InvalidParameterValueException"
    assert error_of(lambda: qs.register_user(
        **NS, IdentityType="IAM", IamArn=f"arn:aws:iam::{ACCOUNT}:role/service-role/QuickSightReader",
        SessionName="ann.lee+qs@example.com", Email="ann@example.com", UserRole="READER"))[:2] \
        == ("ResourceExistsException", 409)


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [("AUTHOR", "READER", False), ("ADMIN", "READER_PRO", False), ("AUTHOR_PRO", "READER", False),
     ("ADMIN_PRO", "READER_PRO", False), ("READER", "AUTHOR", True), ("ADMIN", "AUTHOR", True),
     ("READER_PRO", "READER", True), ("AUTHOR", "ADMIN_PRO", True)],
)
def test_downgrades_from_author_or_admin_to_a_reader_role_are_refused(before, after, allowed):
    users = [{"user_name": "R/u", "email": "u@example.com", "role": before, "identity_type": "IAM"}]
    with QuickSightServer(section(users=users, groups=[], assets=[])) as srv:
        call = lambda: client(srv).update_user(**NS, UserName="R/u", Email="new@example.com", Role=after)  # noqa: E731
        if allowed:
            assert call()["User"]["Role"] == after
        else:
            assert error_of(call)[:2] == ("InvalidParameterValueException", 400)
            assert srv.dump()["users"][0] == {"user_name": "R/u", "email": "u@example.com", "role": before,
                                              "identity_type": "IAM"}


def test_a_deleted_users_assets_are_left_with_no_owner(server):
    client(server).delete_user(**NS, UserName=AUTHOR)
    dump = server.dump()
    assert {a["id"]: a["owners"] for a in dump["assets"]} == {"sales": [ADMIN], "orders": []}
    assert dump["groups"][0]["members"] == []


# ---- assets -------------------------------------------------------------------


def test_owner_search_filters(server):
    qs = client(server)
    qs.create_group(**NS, GroupName="Owners")
    qs.create_group_membership(**NS, GroupName="Owners", MemberName=ADMIN)
    group_arn = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:group/default/Owners"
    admin_arn = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/{ADMIN}"
    author_arn = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/{AUTHOR}"
    qs.update_dashboard_permissions(
        AwsAccountId=ACCOUNT, DashboardId="sales", RevokePermissions=[{"Principal": admin_arn, "Actions": [
            "quicksight:UpdateDashboardPermissions"]}],
        GrantPermissions=[{"Principal": group_arn, "Actions": sorted(server.state.assets[
            ("us-east-1", "dashboard", "sales")].kind.owner_actions)}],
    )

    def ids(name, value):
        found = qs.search_dashboards(AwsAccountId=ACCOUNT, Filters=[
            {"Name": name, "Operator": "StringEquals", "Value": value}])["DashboardSummaryList"]
        return [d["DashboardId"] for d in found]

    assert ids("DIRECT_QUICKSIGHT_OWNER", author_arn) == ["sales"]
    assert ids("DIRECT_QUICKSIGHT_OWNER", admin_arn) == []  # lost one action: no longer an owner
    assert ids("QUICKSIGHT_OWNER", admin_arn) == ["sales"]  # owner through its group
    assert ids("DIRECT_QUICKSIGHT_VIEWER_OR_OWNER", admin_arn) == ["sales"]
    assert ids("DIRECT_QUICKSIGHT_SOLE_OWNER", author_arn) == []  # the group co-owns it
    assert error_of(lambda: ids("DIRECT_QUICKSIGHT_OWNER", "arn:aws:quicksight:us-east-1:1:user/default/x"))[0] \
        == "InvalidParameterValueException"


def test_permission_updates_are_validated(server):
    qs = client(server)
    admin_arn = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/{ADMIN}"
    wrong_region = f"arn:aws:quicksight:eu-west-1:{ACCOUNT}:user/default/{ADMIN}"
    code, _, message = error_of(lambda: qs.update_dashboard_permissions(
        AwsAccountId=ACCOUNT, DashboardId="sales",
        GrantPermissions=[{"Principal": wrong_region, "Actions": ["quicksight:DescribeDashboard"]}]))
    assert code == "InvalidParameterValueException" and wrong_region in message
    code, _, message = error_of(lambda: qs.update_dashboard_permissions(
        AwsAccountId=ACCOUNT, DashboardId="sales",
        GrantPermissions=[{"Principal": admin_arn, "Actions": ["quicksight:DescribeDataSet"]}]))
    assert code == "InvalidParameterValueException" and "quicksight:DescribeDataSet" in message


def test_list_themes_shows_builtins_only_when_asked():
    assets = [{"type": "theme", "id": "brand", "region": "us-east-1", "owners": [AUTHOR]}]
    with QuickSightServer(section(assets=assets)) as srv:
        qs = client(srv)
        assert [t["ThemeId"] for t in qs.list_themes(AwsAccountId=ACCOUNT, Type="CUSTOM")["ThemeSummaryList"]] \
            == ["brand"]
        all_ids = [t["ThemeId"] for t in qs.list_themes(AwsAccountId=ACCOUNT)["ThemeSummaryList"]]
        assert "CLASSIC" in all_ids and "brand" in all_ids


# ---- throttling, faults, counting ---------------------------------------------


def test_rate_limit_refuses_with_throttling_and_recovers():
    with QuickSightServer(section(), limits={"quicksight_per_second": 3}, rate_window_s=0.3) as srv:
        qs = client(srv)
        for _ in range(3):
            qs.list_groups(**NS)
        assert error_of(lambda: qs.list_groups(**NS))[:2] == ("ThrottlingException", 429)
        time.sleep(0.35)
        assert qs.list_groups(**NS)["GroupList"]
        assert srv.counter.snapshot() == {"ListGroups": 5}
        assert srv.throttled.snapshot() == {"ListGroups": 1}


@pytest.mark.parametrize(
    ("error", "status"),
    [("InternalFailureException", 500), ("ResourceUnavailableException", 503), ("ThrottlingException", 429),
     ("AccessDeniedException", 401)],
)
def test_faults_fail_the_named_operation_with_awss_status(error, status):
    faults = [{"service": "quicksight", "operation": "DeleteUser", "error": error, "times": 1},
              {"service": "okta", "path": "/api/v1/users", "status": 500}]
    with QuickSightServer(section(), faults=faults) as srv:
        qs = client(srv)
        assert qs.list_users(**NS)["UserList"]  # other operations are untouched
        assert error_of(lambda: qs.delete_user(**NS, UserName=AUTHOR))[:2] == (error, status)
        qs.delete_user(**NS, UserName=AUTHOR)  # times: 1, then it works
        assert [u["user_name"] for u in srv.dump()["users"]] == [ADMIN]
        assert srv.faults.injected == {error: 1}


def test_scenario_sections_round_trip_through_load_and_dump(server):
    for path in sorted(EXAMPLES.glob("*.json")):
        scenario = json.loads(path.read_text())
        for qs_section in (scenario["quicksight"], scenario["expect"].get("quicksight")):
            if not qs_section or "account_id" not in qs_section:
                continue
            server.load(qs_section)
            dumped = server.dump()
            for asset in qs_section.get("assets", []):
                asset["owners"] = sorted(asset["owners"])
            for key in ("account_id", "identity_region", "namespace", "users", "groups", "assets"):
                assert dumped[key] == qs_section.get(key, dumped[key]), (path.name, key)


def test_the_airflow_connection_points_boto3_here(server):
    conn = json.loads(server.airflow_connection("eu-west-1"))
    assert conn["conn_type"] == "aws"
    assert conn["extra"] == {"endpoint_url": server.url, "region_name": "eu-west-1"}
