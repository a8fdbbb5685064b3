"""The asset hand-over against the local QuickSight server, through a real
Airflow AWS connection: one asset of each type in two regions, co-owners and
viewers kept, and a failed hand-over that leaves the user in place."""

from __future__ import annotations

import pytest

from local_servers.quicksight_server import QuickSightServer
from okta_quicksight_airflow.quicksight_clients import quicksight_client_factory
from okta_quicksight_sync.asset_handover import AssetHandover, AssetRef, RecipientError
from okta_quicksight_sync.quicksight_directory import QuickSightDirectory

ACCOUNT = "111122223333"
ADMIN = "QuickSightAdmin/admin@example.com"
LEAVER = "QuickSightAuthor/zed@example.com"
COOWNER = "QuickSightAuthor/amy@example.com"
READER = "QuickSightReader/ann@example.com"
TYPES = ("dashboard", "analysis", "dataset", "datasource", "theme", "template", "folder", "topic")
REGIONS = ("us-east-1", "eu-west-1")


def user(name: str, role: str) -> dict:
    return {"user_name": name, "email": name.split("/")[1], "role": role, "identity_type": "IAM"}


def section() -> dict:
    assets = []
    for region in REGIONS:
        for kind in TYPES:
            # The leaver owns one of each type, shared with a co-owner and a viewer...
            assets.append({"type": kind, "id": f"{kind}-shared", "region": region, "owners": [LEAVER, COOWNER],
                           "viewers": [READER]})
            # ...and one alone; a third it only views, and a fourth is not its at all.
            assets.append({"type": kind, "id": f"{kind}-solo", "region": region, "owners": [LEAVER]})
            assets.append({"type": kind, "id": f"{kind}-viewed", "region": region, "owners": [COOWNER],
                           "viewers": [LEAVER]})
    # An asset in a region outside asset_regions is out of scope.
    assets.append({"type": "dashboard", "id": "far-away", "region": "ap-southeast-2", "owners": [LEAVER]})
    return {
        "account_id": ACCOUNT, "identity_region": "us-east-1", "namespace": "default",
        "users": [user(ADMIN, "ADMIN"), user(LEAVER, "AUTHOR"), user(COOWNER, "AUTHOR"), user(READER, "READER")],
        "groups": [], "assets": assets,
    }


@pytest.fixture
def server(monkeypatch):
    srv = QuickSightServer(section())
    srv.start()
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", srv.airflow_connection("us-east-1"))
    yield srv
    srv.stop()


@pytest.fixture
def factory(server):
    return quicksight_client_factory("aws_default", calls_per_second=None)


def owners(server, kind, asset_id, region) -> list[str]:
    dump = server.dump()
    return next(a["owners"] for a in dump["assets"] if (a["type"], a["id"], a["region"]) == (kind, asset_id, region))


def test_hands_over_one_asset_of_each_type_in_two_regions(server, factory):
    reader_arn = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/{READER}"

    def reader_actions():
        perms = factory("eu-west-1").describe_topic_permissions(AwsAccountId=ACCOUNT, TopicId="topic-shared")
        return [p["Actions"] for p in perms["Permissions"] if p["Principal"] == reader_arn]

    viewer_before = reader_actions()
    handover = AssetHandover(factory, ACCOUNT, "us-east-1", "default", list(REGIONS))
    result = handover.handover(LEAVER, ADMIN)

    assert result.clean, result.to_dict()
    expected = {AssetRef(k, f"{k}-{v}", r) for r in REGIONS for k in TYPES for v in ("shared", "solo")}
    assert set(result.moved) == expected
    assert len(result.moved) == 32
    for region in REGIONS:
        for kind in TYPES:
            assert owners(server, kind, f"{kind}-shared", region) == sorted([ADMIN, COOWNER])  # co-owner kept
            assert owners(server, kind, f"{kind}-solo", region) == [ADMIN]
            assert owners(server, kind, f"{kind}-viewed", region) == [COOWNER]  # not the leaver's to give
    assert owners(server, "dashboard", "far-away", "ap-southeast-2") == [LEAVER]
    # The viewer's permissions survive the hand-over untouched.
    assert len(viewer_before) == 1 and "quicksight:DescribeTopic" in viewer_before[0]
    assert reader_actions() == viewer_before
    # Owner filters where they exist; themes and templates by listing them.
    calls = handover.api_calls
    for op in ("SearchDashboards", "SearchAnalyses", "SearchDataSets", "SearchDataSources", "SearchFolders",
               "SearchTopics"):
        assert calls[op] == 4, op  # find + read-back, in two regions
    for op in ("ListThemes", "ListTemplates"):
        assert calls[op] == 2, op  # listed once per region for the whole run, not per user or per read-back
    assert calls["UpdateDashboardPermissions"] == 4
    # Now, and only now, deleting the user loses nothing.
    directory = QuickSightDirectory(factory, ACCOUNT, "us-east-1")
    assert directory.delete_user(LEAVER) == "done"
    assert all(LEAVER not in a["owners"] for a in server.dump()["assets"] if a["region"] in REGIONS)


def test_a_second_handover_finds_nothing_left(server, factory):
    handover = AssetHandover(factory, ACCOUNT, "us-east-1", "default", list(REGIONS))
    assert handover.handover(LEAVER, ADMIN).clean
    again = handover.handover(LEAVER, ADMIN)
    assert again.clean and again.moved == [] and again.remaining == []


def test_two_departing_users_in_one_run_list_themes_and_templates_once(server, factory):
    """Themes and templates have no owner search: listing them per user would cost users x assets calls."""
    handover = AssetHandover(factory, ACCOUNT, "us-east-1", "default", list(REGIONS))
    assert handover.handover(LEAVER, ADMIN).clean
    # The co-owner leaves too: the shared and viewed assets it still owns are found from the same listing,
    # refreshed by the first hand-over's read-back (its -solo assets are not the co-owner's).
    second = handover.handover(COOWNER, ADMIN)
    assert second.clean, second.to_dict()
    assert {(r.type, r.id) for r in second.moved if r.type in ("theme", "template")} == {
        (kind, f"{kind}-{which}") for kind in ("theme", "template") for which in ("shared", "viewed")
    }
    for region in REGIONS:
        for kind in ("theme", "template"):
            for which in ("shared", "solo", "viewed"):
                assert owners(server, kind, f"{kind}-{which}", region) == [ADMIN]
    calls = handover.api_calls
    assert calls["ListThemes"] == 2 and calls["ListTemplates"] == 2  # once per region, for both users
    assert calls["SearchDashboards"] == 8  # searches stay per user: find + read-back, two regions, two users


def test_a_failed_handover_leaves_the_user_and_its_assets_in_place(server, factory):
    # The sync's IAM role lacks one permission: a failure no retry can fix.
    server.faults.add({"service": "quicksight", "operation": "UpdateDataSetPermissions",
                       "error": "AccessDeniedException", "times": -1,
                       "message": "User is not authorized to perform: quicksight:UpdateDataSetPermissions"})
    handover = AssetHandover(factory, ACCOUNT, "us-east-1", "default", ["us-east-1"])
    result = handover.handover(LEAVER, ADMIN)

    assert not result.clean
    assert {(f.type, f.asset_id) for f in result.failed} == {("dataset", "dataset-shared"), ("dataset", "dataset-solo")}
    assert all("give the sync's IAM role quicksight:UpdateDataSetPermissions" in f.reason for f in result.failed)
    assert set(result.remaining) == {AssetRef("dataset", "dataset-shared", "us-east-1"),
                                     AssetRef("dataset", "dataset-solo", "us-east-1")}
    assert owners(server, "dataset", "dataset-solo", "us-east-1") == [LEAVER]
    assert owners(server, "dashboard", "dashboard-solo", "us-east-1") == [ADMIN]  # the rest still moved
    # The caller's rule: delete only on a clean result. The user stays.
    directory = QuickSightDirectory(factory, ACCOUNT, "us-east-1")
    if result.clean:
        directory.delete_user(LEAVER)
    assert directory.describe_user(LEAVER) is not None


def test_a_search_that_fails_makes_the_result_unclean(server, factory):
    server.faults.add({"service": "quicksight", "operation": "SearchTopics", "error": "AccessDeniedException",
                       "message": "User is not authorized to perform quicksight:SearchTopics", "times": -1})
    result = AssetHandover(factory, ACCOUNT, "us-east-1", "default", ["us-east-1"]).handover(LEAVER, ADMIN)
    assert not result.clean
    assert [(f.type, f.asset_id) for f in result.failed] == [("topic", None)]
    assert "quicksight:SearchTopics" in result.failed[0].reason


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [("QuickSightAdmin/nobody@example.com", "does not exist"), (READER, "is a READER user and cannot own assets")],
)
def test_the_recipient_must_exist_and_may_own_assets(server, factory, recipient, expected):
    handover = AssetHandover(factory, ACCOUNT, "us-east-1", "default", ["us-east-1"])
    with pytest.raises(RecipientError) as caught:
        handover.handover(LEAVER, recipient)
    assert expected in str(caught.value)
    assert "asset_recipient" in str(caught.value)
    assert owners(server, "dashboard", "dashboard-solo", "us-east-1") == [LEAVER]
    assert set(handover.api_calls) == {"DescribeUser"}  # nothing was touched


def test_check_recipient_accepts_authors_and_admins(server, factory):
    handover = AssetHandover(factory, ACCOUNT, "us-east-1", "default", ["us-east-1"])
    assert handover.check_recipient(ADMIN).role == "ADMIN"
    assert handover.check_recipient(COOWNER).role == "AUTHOR"
    with pytest.raises(RecipientError):
        handover.handover(ADMIN, ADMIN)
