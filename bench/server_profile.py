"""Where the local servers spend their time at a size: seeding, and one page of each full read.

The servers are Python and hold everything in memory; some list calls build
every item before slicing out a page, so a full read costs pages × items.
This times one page of each (and seeding) so the report can say so with
numbers rather than guesses.
"""

from __future__ import annotations

import time

import requests

from bench import measure
from bench.orgs import APP_ID, BenchOrg


def _timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def profile(org: BenchOrg) -> list[str]:
    """Markdown lines: per read, seconds per page on the server and the estimate for a full read."""
    from local_servers.okta_server import OktaServer
    from local_servers.qs_state import QuickSightState

    okta_section, qs_section = org.okta_section(), org.synced_quicksight()
    t = time.perf_counter()
    state = QuickSightState(qs_section)
    qs_seed = time.perf_counter() - t
    t = time.perf_counter()
    okta = OktaServer(okta_section, [], {}, app_id=APP_ID)
    okta_seed = time.perf_counter() - t
    group = next(iter(state.groups))
    n_users, n_groups = len(state.users), len(state.groups)
    rows = [
        ("QuickSight ListUsers", lambda: state._op_ListUsers({"MaxResults": 100}), measure.qs_pages(n_users)),  # noqa: SLF001
        ("QuickSight ListGroupMemberships", lambda: state._op_ListGroupMemberships(  # noqa: SLF001
            {"GroupName": group, "MaxResults": 100}), sum(measure.qs_pages(len(g.members)) for g in state.groups.values())),
        ("QuickSight ListGroups", lambda: state._op_ListGroups({"MaxResults": 100}), measure.qs_pages(n_groups)),  # noqa: SLF001
    ]
    okta.start()
    try:
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = "SSWS local-test-token"
        first = session.get(f"{okta.url}/api/v1/apps/{APP_ID}/users?limit=500&expand=user", timeout=60)
        last_url = first.links["next"]["url"] if "next" in first.links else first.url
        gid = next(iter(org.groups))
        rows += [
            ("Okta app users (second page, over HTTP)", lambda: session.get(last_url, timeout=60),
             measure.okta_pages(len(org.people), measure.OKTA_APP_USERS_PAGE)),
            ("Okta group members (over HTTP)", lambda: session.get(f"{okta.url}/api/v1/groups/{gid}/users", timeout=60),
             len(org.groups)),
        ]
        lines = [f"Measured at {org.size} in one process, best of 3: seeding QuickSight {qs_seed:.1f} s, Okta "
                 f"{okta_seed:.1f} s.", "", "| read | server s per page | pages in a full read | estimate s |",
                 "|---|---|---|---|"]
        for name, fn, pages in rows:
            per = _timed(fn)
            lines.append(f"| {name} | {per:.4f} | {pages:,} | {per * pages:.0f} |")
    finally:
        okta.stop()
    lines += ["", "The local QuickSight builds the document of every user for each ListUsers page and then "
              "slices out 100 (`qs_state._op_ListUsers` → `_page`), under its state lock, so a full user read "
              "costs pages × users; building only the page's slice (or caching the list between pages) would make "
              "it linear. The local Okta server likewise builds a closure per app user and searches the cursor "
              "with `list.index` for each page (`okta_server._serve` / `_page`). Neither is the sync's cost: "
              "the sync's own CPU is in the tables above."]
    return lines
