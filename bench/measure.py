"""What the benchmark counts: the fewest calls a full read needs, the rate-limit floor, XCom bytes, memory.

The minimum is computed from the APIs' page sizes (docs/api-notes.md, Okta:
endpoints and page sizes; QuickSight: paging) and the
sizes of what is read, never from what the sync happened to do.
"""

from __future__ import annotations

import json
import math
import resource
import uuid

# Largest pages the APIs serve.
OKTA_APP_USERS_PAGE = 500
OKTA_APP_GROUPS_PAGE = 200
OKTA_GROUP_MEMBERS_PAGE = 1000
QS_PAGE = 100

OKTA_APP_USERS = "GET /api/v1/apps/{appId}/users"
OKTA_APP_GROUPS = "GET /api/v1/apps/{appId}/groups"
OKTA_GROUP_MEMBERS = "GET /api/v1/groups/{groupId}/users"
OKTA_USER_GROUPS = "GET /api/v1/users/{userId}/groups"
OKTA_LOGS = "GET /api/v1/logs"

IDENTITY_READS = ("ListUsers", "ListGroups", "ListGroupMemberships", "DescribeUser", "ListUserGroups",
                  "DescribeGroup", "DescribeGroupMembership", "ListNamespaces", "DescribeNamespace")
IDENTITY_WRITES = ("RegisterUser", "UpdateUser", "DeleteUser", "CreateGroup", "UpdateGroup", "DeleteGroup",
                   "CreateGroupMembership", "DeleteGroupMembership")

# The object-storage XCom backend (common-io) keeps values of at least this many
# bytes in object storage and only their path in the metadata DB; the same
# threshold and path as docker-compose.yaml configures.
XCOM_OBJECTSTORAGE_THRESHOLD = 65_536
XCOM_OBJECTSTORAGE_PATH = "file:///opt/airflow/xcom"


def okta_pages(n: int, page: int) -> int:
    """Requests Okta needs for n items: a full last page is followed by an empty one."""
    return n // page + 1


def qs_pages(n: int, page: int = QS_PAGE) -> int:
    return max(1, math.ceil(n / page))


def okta_minimum(n_app_users: int, group_sizes: list[int], cursor: bool = True) -> dict[str, int]:
    """The fewest Okta requests that read the app's users, groups and members in full, plus the System
    Log page the DAG reads to store the incremental runs' cursor after a full run that converged."""
    return {
        OKTA_APP_USERS: okta_pages(n_app_users, OKTA_APP_USERS_PAGE),
        OKTA_APP_GROUPS: okta_pages(len(group_sizes), OKTA_APP_GROUPS_PAGE),
        OKTA_GROUP_MEMBERS: sum(okta_pages(m, OKTA_GROUP_MEMBERS_PAGE) for m in group_sizes),
        **({OKTA_LOGS: 1} if cursor else {}),
    }


def quicksight_read_minimum(qs_state: dict) -> dict[str, int]:
    """The fewest QuickSight reads: users, groups, and the members of managed groups."""
    managed = [g for g in qs_state["groups"] if (g.get("description") or "").startswith("okta-sync:")
               or g.get("description") == "Okta"]
    return {
        "ListUsers": qs_pages(len(qs_state["users"])),
        "ListGroups": qs_pages(len(qs_state["groups"])),
        "ListGroupMemberships": sum(qs_pages(len(g["members"])) for g in managed),
    }


def normalise_okta(counts: dict[str, int]) -> dict[str, int]:
    """Server counters key unknown endpoints by their literal path: fold per-user paths into a template."""
    out: dict[str, int] = {}
    for key, n in counts.items():
        method, _, path = key.partition(" ")
        parts = path.split("/")
        if len(parts) == 6 and parts[1:4] == ["api", "v1", "users"] and parts[5] == "groups":
            key = OKTA_USER_GROUPS
        out[key] = out.get(key, 0) + n
    return out


def split_quicksight(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """QuickSight calls as identity reads, identity writes and asset calls (hand-over)."""
    out: dict[str, dict[str, int]] = {"reads": {}, "writes": {}, "assets": {}, "other": {}}
    for op, n in sorted(counts.items()):
        if op in IDENTITY_READS:
            out["reads"][op] = n
        elif op in IDENTITY_WRITES:
            out["writes"][op] = n
        elif op.startswith(("Search", "List", "Describe", "Update")):
            out["assets"][op] = n
        else:
            out["other"][op] = n
    return out


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}


def rate_limit_floor(okta_calls_by_family: dict[str, int], okta_per_window: dict[str, int], window_s: float,
                     qs_calls: int, qs_per_second: float | None) -> dict[str, float]:
    """Seconds each limited bucket needs at its rate; the floor is the largest."""
    buckets = {}
    for family, calls in okta_calls_by_family.items():
        limit = okta_per_window.get(family)
        if limit:
            buckets[f"okta {family}"] = calls / limit * window_s
    if qs_per_second:
        buckets["quicksight"] = qs_calls / qs_per_second
    return buckets


def okta_family(path_or_endpoint: str, families: list[str]) -> str | None:
    path = path_or_endpoint.partition(" ")[2] or path_or_endpoint
    matches = [f for f in families if path.startswith(f)]
    return max(matches, key=len) if matches else None


def xcom_bytes(value) -> dict[str, int]:
    """Bytes of one task's return value: as JSON, in the metadata DB by default, and with the object-storage backend."""
    from airflow.sdk.serde import serialize

    as_json = len(json.dumps(value).encode())
    in_db = len(json.dumps(serialize(value)).encode())
    if as_json >= XCOM_OBJECTSTORAGE_THRESHOLD:
        path = f"{XCOM_OBJECTSTORAGE_PATH}/okta_quicksight_sync/manual__2026-01-01T12:00:00+00:00/task/{uuid.uuid4()}.json.gz"
        with_backend = len(json.dumps(serialize(path)).encode())
    else:
        with_backend = in_db
    return {"json": as_json, "db_default": in_db, "db_objectstorage": with_backend}


def peak_rss_mb() -> float:
    """This process's peak resident set (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
