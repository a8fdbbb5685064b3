"""AssetHandover.owned_assets, the approval page's read-only list of what a leaver owns, against the local
QuickSight server: owner search and list-only types, the first few listed, every one counted, nothing written."""

from __future__ import annotations

from tests.okta_quicksight_airflow.test_asset_handover import (  # noqa: F401 - the server fixtures
    ACCOUNT, COOWNER, LEAVER, REGIONS, TYPES, factory, server,
)

from okta_quicksight_sync.asset_handover import AssetHandover


def test_owned_assets_lists_the_first_few_and_counts_all_without_writing(server, factory):
    handover = AssetHandover(factory, ACCOUNT, "us-east-1", "default", REGIONS)
    before = server.dump()
    owned = handover.owned_assets(LEAVER, limit=5)
    # Owns a shared and a solo asset of each type in each region; views others; a far region is out of scope.
    assert owned["total"] == 2 * len(TYPES) * len(REGIONS)
    assert len(owned["assets"]) == 5
    assert all(set(a) == {"type", "id", "region"} and a["id"].endswith(("-shared", "-solo")) for a in owned["assets"])
    everything = handover.owned_assets(LEAVER, limit=1000)["assets"]
    assert {(a["type"], a["id"], a["region"]) for a in everything} == {
        (kind, f"{kind}-{which}", region) for kind in TYPES for region in REGIONS for which in ("shared", "solo")}
    assert handover.owned_assets(COOWNER, limit=0) == {"assets": [], "total": 2 * len(TYPES) * len(REGIONS)}  # shared and viewed
    assert server.dump() == before  # read only
    assert not [op for op in handover.api_calls if op.startswith(("Update", "Delete", "Create"))]
