"""The soak's world: a starting org and account, and the random changes made to them between runs.

Okta changes are what admins do all day (hire, leave, suspend, rename a
group - sometimes onto a name QuickSight already has as an unmanaged group -,
move people between groups, change someone's AWS roles). QuickSight changes
are what its users and admins do: create assets, raise a user's role by hand
(which the sync then downgrades), put people into hand-made groups. Every
change is drawn from a seeded ``random.Random``, so a round can be replayed
from its seed.
"""

from __future__ import annotations

import copy
import random

from local_servers.qs_assets import KINDS
from local_servers.qs_state import Asset

ACCOUNT = "111122223333"
IDENTITY_REGION = "us-east-1"
ASSET_REGIONS = ["us-east-1", "eu-west-1"]
RECIPIENT = "QuickSightAdmin/admin@example.com"
SAML_ROLES = {"QuickSightAdmin": "ADMIN", "QuickSightAuthor": "AUTHOR", "QuickSightReader": "READER"}
STATUSES = ["ACTIVE", "ACTIVE", "ACTIVE", "SUSPENDED", "LOCKED_OUT", "DEPROVISIONED", "PASSWORD_EXPIRED", "STAGED"]
ASSET_TYPES = sorted(KINDS)

TARGET = {
    "okta_app_id": "0oaqs1",
    "saml_roles": SAML_ROLES,
    "asset_recipient": RECIPIENT,
    "asset_regions": ASSET_REGIONS,
    "protected_users": ["QuickSightAuthor/breakglass@example.com"],
    "max_deletions": 40,
}

# People and groups QuickSight has that the sync does not own: they must never change.
UNMANAGED_USERS = [
    {"user_name": RECIPIENT, "email": "admin@example.com", "role": "ADMIN", "identity_type": "IAM"},
    {"user_name": "QuickSightAuthor/breakglass@example.com", "email": "bg@example.com", "role": "AUTHOR", "identity_type": "IAM"},
    {"user_name": "analyst", "email": "analyst@example.com", "role": "AUTHOR", "identity_type": "QUICKSIGHT"},
    {"user_name": "OtherRole/contractor@example.com", "email": "c@example.com", "role": "READER", "identity_type": "IAM"},
]
UNMANAGED_GROUPS = [
    {"name": "Finance-Manual", "description": "made by hand", "members": ["analyst", "OtherRole/contractor@example.com"]},
    {"name": "Okta-Lookalike", "description": "not ours", "members": ["analyst"]},
    {"name": "Okta-Board", "description": "by hand, for the board", "members": []},
]
# Okta group names whose QuickSight name (Okta-<name>) an unmanaged group already holds.
TAKEN_NAMES = [g["name"][len("Okta-"):] for g in UNMANAGED_GROUPS if g["name"].startswith("Okta-")]


def initial_scenario(n_users: int = 14, n_groups: int = 4, seed: int = 0) -> dict:
    """A synced-looking start: the admin, n users with random roles, n groups; QuickSight empty but for unmanaged things."""
    rng = random.Random(seed)
    okta = {"users": [], "groups": [], "app_users": [], "app_groups": []}
    okta["users"].append({"id": "00uadmin", "status": "ACTIVE", "login": "admin@example.com", "email": "admin@example.com",
                          "first_name": "Ada", "last_name": "Admin"})
    okta["app_users"].append({"id": "00uadmin", "scope": "USER", "saml_roles": ["QuickSightAdmin"]})
    world = World(okta, rng)
    for _ in range(n_users):
        world.hire()
    for _ in range(n_groups):
        world.add_group()
    return {
        "name": "soak",
        "target": copy.deepcopy(TARGET),
        "okta": world.okta,
        "quicksight": {
            "account_id": ACCOUNT,
            "identity_region": IDENTITY_REGION,
            "namespace": "default",
            "users": copy.deepcopy(UNMANAGED_USERS),
            "groups": copy.deepcopy(UNMANAGED_GROUPS),
            "assets": [
                {"type": "dashboard", "id": "handmade", "region": IDENTITY_REGION, "owners": ["analyst"]},
            ],
        },
    }


class World:
    """The Okta section under change; ids never repeat."""

    def __init__(self, okta: dict, rng: random.Random) -> None:
        self.okta = okta
        self.rng = rng
        self._next = 1 + max([int(u["id"][3:]) for u in okta["users"] if u["id"][3:].isdigit()] or [0])
        self._next_group = 1 + max([int(g["id"][3:]) for g in okta["groups"] if g["id"][3:].isdigit()] or [0])
        self.renamed: set[str] = set()  # Okta group ids the last random_changes renamed

    # ---- helpers ------------------------------------------------------------------

    def _people(self) -> list[dict]:
        return [u for u in self.okta["users"] if u["id"] != "00uadmin"]

    def _app_user(self, uid: str) -> dict | None:
        return next((a for a in self.okta["app_users"] if a["id"] == uid), None)

    def _roles(self) -> list[str]:
        roles = [r for r in SAML_ROLES if self.rng.random() < 0.35]
        return roles or [self.rng.choice(["QuickSightReader", "QuickSightAuthor"])]

    # ---- Okta changes -------------------------------------------------------------

    def hire(self) -> str:
        n = self._next
        self._next += 1
        uid = f"00u{n:05d}"
        self.okta["users"].append({"id": uid, "status": "ACTIVE", "login": f"user{n}@example.com",
                                   "email": f"user{n}@example.com", "first_name": "User", "last_name": str(n)})
        self.okta["app_users"].append({"id": uid, "scope": "USER", "saml_roles": self._roles()})
        for group in self.okta["groups"]:
            if self.rng.random() < 0.4:
                group["members"].append(uid)
        return f"hire {uid}"

    def unassign(self) -> str:
        assigned = [a for a in self.okta["app_users"] if a["id"] != "00uadmin"]
        if len(assigned) <= 3:
            return self.hire()
        victim = self.rng.choice(assigned)
        self.okta["app_users"].remove(victim)
        return f"unassign {victim['id']}"

    def reassign(self) -> str:
        unassigned = [u for u in self._people() if self._app_user(u["id"]) is None]
        if not unassigned:
            return self.hire()
        person = self.rng.choice(unassigned)
        self.okta["app_users"].append({"id": person["id"], "scope": "USER", "saml_roles": self._roles()})
        return f"reassign {person['id']}"

    def set_status(self) -> str:
        person = self.rng.choice(self._people())
        person["status"] = self.rng.choice(STATUSES)
        return f"status {person['id']} {person['status']}"

    def change_email(self) -> str:
        person = self.rng.choice(self._people())
        person["email"] = f"{person['login'].split('@')[0]}.{self.rng.randrange(1000)}@example.org"
        return f"email {person['id']}"

    def change_roles(self) -> str:
        assigned = [a for a in self.okta["app_users"] if a["id"] != "00uadmin"]
        if not assigned:
            return self.hire()
        app_user = self.rng.choice(assigned)
        app_user["saml_roles"] = self._roles()
        return f"roles {app_user['id']} {app_user['saml_roles']}"

    def add_group(self) -> str:
        n = self._next_group
        self._next_group += 1
        gid = f"00g{n:05d}"
        members = [u["id"] for u in self._people() if self.rng.random() < 0.4]
        self.okta["groups"].append({"id": gid, "name": f"Team {n}", "type": "OKTA_GROUP", "members": members})
        self.okta["app_groups"].append(gid)
        return f"add group {gid}"

    def delete_group(self) -> str:
        if len(self.okta["app_groups"]) <= 2:
            return self.add_group()
        gid = self.rng.choice(self.okta["app_groups"])
        self.okta["app_groups"].remove(gid)
        self.okta["groups"] = [g for g in self.okta["groups"] if g["id"] != gid]
        return f"delete group {gid}"

    def rename_group(self) -> str:
        group = self.rng.choice(self.okta["groups"])
        group["name"] = f"{group['name'].split(' (')[0]} ({self.rng.randrange(10000)})"
        self.renamed.add(group["id"])
        return f"rename group {group['id']}"

    def rename_group_onto_taken_name(self) -> str:
        """A rename whose new QuickSight name an unmanaged group holds: the sync cannot follow it."""
        free = [n for n in TAKEN_NAMES if all(g["name"] != n for g in self.okta["groups"])]
        if not free:
            return self.rename_group()
        group = self.rng.choice(self.okta["groups"])
        group["name"] = self.rng.choice(free)
        self.renamed.add(group["id"])
        return f"rename group {group['id']} onto taken name {group['name']}"

    def fix_taken_names(self) -> list[str]:
        """What an admin does after reading the conflict in the report: rename the Okta group again."""
        fixed = []
        for group in self.okta["groups"]:
            if group["name"] in TAKEN_NAMES:
                group["name"] = f"{group['name']} ({self.rng.randrange(10000)})"
                fixed.append(f"rename group {group['id']} off a taken name")
        return fixed

    def move_member(self) -> str:
        group = self.rng.choice(self.okta["groups"])
        person = self.rng.choice(self._people())
        if person["id"] in group["members"]:
            group["members"].remove(person["id"])
            return f"leave {group['id']} {person['id']}"
        group["members"].append(person["id"])
        return f"join {group['id']} {person['id']}"

    CHANGES = ("hire", "unassign", "reassign", "set_status", "change_email", "change_roles",
               "add_group", "delete_group", "rename_group", "rename_group_onto_taken_name", "move_member")

    def random_changes(self, n: int) -> list[tuple[str, str]]:
        """n random changes: (change name, what it did)."""
        self.renamed = set()
        out = []
        for _ in range(n):
            name = self.rng.choice(self.CHANGES)
            out.append((name, getattr(self, name)()))
        return out


def person_facts(okta: dict, uid: str) -> tuple:
    """What the sync reads of one person: the user, the app assignment, and the groups it is in (name, app group or not)."""
    user = next((u for u in okta["users"] if u["id"] == uid), None)
    app_user = next((a for a in okta["app_users"] if a["id"] == uid), None)
    app_groups = set(okta["app_groups"])
    groups = sorted((g["id"], g["name"], g["id"] in app_groups) for g in okta["groups"] if uid in g.get("members", []))
    return (sorted((user or {}).items()), sorted((app_user or {}).items(), key=str), groups)


def changed_people(before: dict, after: dict) -> list[str]:
    """Ids of the people whose facts differ between two Okta sections (the round changed them, or a group of theirs)."""
    ids = {u["id"] for u in before["users"]} | {u["id"] for u in after["users"]}
    return sorted(uid for uid in ids if person_facts(before, uid) != person_facts(after, uid))


def create_assets(quicksight_server, rng: random.Random, count: int, round_no: int) -> list[str]:
    """QuickSight users at work: new assets owned by random existing users (sometimes two owners)."""
    state = quicksight_server.state
    made = []
    with state._lock:  # noqa: SLF001 - the world acting on the account, not a client under test
        owners = [u for u in state.users if u != RECIPIENT]
        for i in range(count):
            if not owners:
                break
            kind = KINDS[rng.choice(ASSET_TYPES)]
            region = rng.choice(ASSET_REGIONS)
            asset_id = f"r{round_no}-{i}-{kind.type}"
            asset = Asset(kind, asset_id, region, asset_id)
            for owner in rng.sample(owners, k=min(len(owners), rng.choice([1, 1, 1, 2]))):
                arn = f"arn:aws:quicksight:{state.identity_region}:{state.account_id}:user/{state.namespace}/{owner}"
                asset.permissions[arn] = set(kind.owner_actions)
            state.assets[(region, kind.type, asset_id)] = asset
            made.append(f"{kind.type} {asset_id}")
    return made


def _managed_users(state) -> list:
    """QuickSight users the soak's target manages (IAM, under one of its roles, not protected)."""
    protected = set(TARGET["protected_users"]) | {RECIPIENT}
    prefixes = tuple(f"{role}/" for role in SAML_ROLES)
    return [u for name, u in sorted(state.users.items())
            if u.identity_type == "IAM" and name.startswith(prefixes) and name not in protected]


def members_of_okta_groups(quicksight_server, okta_group_ids: set[str]) -> set[str]:
    """QuickSight members of the managed groups whose marker names one of these Okta groups."""
    state = quicksight_server.state
    return {m for g in list(state.groups.values()) if (g.description or "").removeprefix("okta-sync:") in okta_group_ids
            for m in g.members}


def promote_users(quicksight_server, rng: random.Random, count: int, prefer: set[str] = frozenset()) -> list[str]:
    """A QuickSight admin raises managed users' roles by hand; the next run must bring them back down.

    Users in ``prefer`` go first (the soak passes the members of groups just renamed, so a recreate
    meets a group the sync cannot replace more often than chance would have it). Returns their names.
    """
    state = quicksight_server.state
    ranks = ["READER", "AUTHOR", "ADMIN"]
    candidates = [u for u in _managed_users(state) if u.role in ranks[:-1]]
    first = [u for u in candidates if u.user_name in prefer]
    chosen = rng.sample(first, k=min(count, len(first)))
    rest = [u for u in candidates if u not in chosen]
    chosen += rng.sample(rest, k=min(count - len(chosen), len(rest)))
    for user in chosen:
        role = rng.choice(ranks[ranks.index(user.role) + 1:])
        state.handle("UpdateUser", {"AwsAccountId": state.account_id, "Namespace": state.namespace,
                                    "UserName": user.user_name, "Email": user.email, "Role": role}, state.identity_region)
    return [u.user_name for u in chosen]


def join_unmanaged_groups(quicksight_server, rng: random.Random, count: int, prefer: list[str] = ()) -> list[str]:
    """A QuickSight admin puts managed users into hand-made groups, which the sync must never change.

    Users in ``prefer`` (e.g. the ones just promoted, whose recreate must keep these memberships) go first.
    """
    state = quicksight_server.state
    made = []
    users = [u.user_name for u in _managed_users(state)]
    queue = [u for u in prefer if u in users]
    groups = [g["name"] for g in UNMANAGED_GROUPS]
    for _ in range(count):
        if not users:
            break
        user, group = (queue.pop(0) if queue else rng.choice(users)), rng.choice(groups)
        state.handle("CreateGroupMembership", {"AwsAccountId": state.account_id, "Namespace": state.namespace,
                                               "GroupName": group, "MemberName": user}, state.identity_region)
        made.append(f"join {group} {user}")
    return made
