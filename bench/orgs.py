"""Deterministic, seeded orgs for the benchmark, in the scenario file's shapes.

One ``BenchOrg`` is an Okta side (docs/scenario-format.md's ``okta`` section) plus the
QuickSight state a correct sync leaves for it (the ``quicksight`` section),
built here from the contract's rules directly, not through the sync's own
code, so a steady-state run that writes anything shows a real disagreement.
``churned()`` derives the next day's org: joiners, leavers who own assets,
and membership moves, and says exactly which writes they call for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

APP_ID = "0oabench1"
ACCOUNT_ID = "111122223333"
REGION = "us-east-1"
SAML_ROLES = {"QuickSightAdmin": "ADMIN", "QuickSightAuthor": "AUTHOR", "QuickSightReader": "READER"}
PREFIX = "Okta-"
ASSET_TYPES = ("dashboard", "analysis", "dataset", "datasource", "theme", "template", "folder", "topic")
RECIPIENT_ID = "00ubench000000"
RECIPIENT_LOGIN = "qs-admin@bench.example.com"
RECIPIENT = f"QuickSightAdmin/{RECIPIENT_LOGIN}"

# (app users, app groups) per size, as the issue asks.
SIZES = {"1k": (1_000, 50), "10k": (10_000, 500), "100k": (100_000, 2_000)}
GROUPS_PER_PERSON = 5
TWO_ROLE_SHARE = 0.25
ASSETS = 300


@dataclass
class Person:
    id: str
    login: str
    roles: tuple[str, ...]
    groups: set[str] = field(default_factory=set)

    def identities(self) -> list[str]:
        return [f"{role}/{self.login}" for role in self.roles]


@dataclass
class BenchOrg:
    """People (app users), app groups and assets; sections for the local servers on demand."""

    size: str
    seed: int
    people: dict[str, Person]
    groups: dict[str, str]  # Okta group id -> name
    assets: list[dict]  # {type, id, owner: user name}
    next_person: int

    # ---------------------------------------------------------------- sections
    def target(self, **overrides) -> dict:
        """The sync target: the reference solution's three roles; deletions not capped (a benchmark, not a safety test)."""
        return {
            "okta_app_id": APP_ID,
            "aws_account_id": ACCOUNT_ID,
            "identity_region": REGION,
            "namespace": "default",
            "saml_roles": dict(SAML_ROLES),
            "asset_recipient": RECIPIENT,
            "max_deletions": 1_000_000,
            **overrides,
        }

    def okta_section(self) -> dict:
        users, app_users = [], []
        members: dict[str, list[str]] = {gid: [] for gid in self.groups}
        for p in self.people.values():
            users.append({"id": p.id, "status": "ACTIVE", "login": p.login, "email": p.login,
                          "first_name": "Bench", "last_name": p.id})
            app_users.append({"id": p.id, "scope": "USER", "saml_roles": list(p.roles)})
            for gid in sorted(p.groups):
                members[gid].append(p.id)
        groups = [{"id": gid, "name": name, "type": "OKTA_GROUP", "members": members[gid]}
                  for gid, name in self.groups.items()]
        return {"app_id": APP_ID, "users": users, "groups": groups, "app_users": app_users,
                "app_groups": list(self.groups)}

    def synced_quicksight(self) -> dict:
        """QuickSight as a converged sync leaves it for this org."""
        users = []
        members: dict[str, list[str]] = {gid: [] for gid in self.groups}
        for p in self.people.values():
            for role in p.roles:
                users.append({"user_name": f"{role}/{p.login}", "email": p.login, "role": SAML_ROLES[role],
                              "identity_type": "IAM"})
            for gid in p.groups:
                members[gid] += p.identities()
        groups = [{"name": PREFIX + name, "description": f"okta-sync:{gid}", "members": members[gid]}
                  for gid, name in self.groups.items()]
        return self._qs(users, groups)

    def empty_quicksight(self) -> dict:
        """QuickSight before the first sync: only the recipient's identity (registered by hand) and the assets."""
        users = [{"user_name": RECIPIENT, "email": RECIPIENT_LOGIN, "role": "ADMIN", "identity_type": "IAM"}]
        return self._qs(users, [])

    def _qs(self, users: list[dict], groups: list[dict]) -> dict:
        return {"account_id": ACCOUNT_ID, "identity_region": REGION, "namespace": "default", "users": users,
                "groups": groups,
                "assets": [{"type": a["type"], "id": a["id"], "region": REGION, "owners": [a["owner"]]}
                           for a in self.assets]}

    # ---------------------------------------------------------------- numbers
    def identity_count(self) -> int:
        return sum(len(p.roles) for p in self.people.values())

    def membership_count(self) -> int:
        return sum(len(p.roles) * len(p.groups) for p in self.people.values())

    def group_sizes(self) -> dict[str, int]:
        """Okta members per app group."""
        sizes = dict.fromkeys(self.groups, 0)
        for p in self.people.values():
            for gid in p.groups:
                sizes[gid] += 1
        return sizes

    def qs_group_sizes(self) -> dict[str, int]:
        """QuickSight members (identities) per synced group."""
        sizes = {PREFIX + name: 0 for name in self.groups.values()}
        for p in self.people.values():
            for gid in p.groups:
                sizes[PREFIX + self.groups[gid]] += len(p.roles)
        return sizes

    # ---------------------------------------------------------------- churn
    def churned(self, joiners=0.01, leavers=0.01, moves=0.05) -> tuple[BenchOrg, dict]:
        """The next day's org and the writes its changes need (the minimum a sync must make)."""
        rng = random.Random(self.seed * 7919 + len(self.people))
        people = {pid: Person(p.id, p.login, p.roles, set(p.groups)) for pid, p in self.people.items()}
        n = len(people)
        group_ids = list(self.groups)
        owners = {a["owner"] for a in self.assets}
        with_assets = sorted(pid for pid, p in people.items()
                             if pid != RECIPIENT_ID and owners.intersection(p.identities()))
        want = round(n * leavers)
        leaving = rng.sample(with_assets, min(len(with_assets), want))
        if len(leaving) < want:  # more leavers than asset owners (100k): the rest own nothing
            others = sorted(set(people) - set(with_assets) - {RECIPIENT_ID})
            leaving += rng.sample(others, want - len(leaving))
        expect = {"RegisterUser": 0, "DeleteUser": 0, "CreateGroupMembership": 0, "DeleteGroupMembership": 0,
                  "asset_handovers": 0}
        gone = set()
        leaver_memberships = 0
        for pid in leaving:
            p = people.pop(pid)
            gone.update(p.identities())
            expect["DeleteUser"] += len(p.roles)
            leaver_memberships += len(p.roles) * len(p.groups)
        expect["asset_handovers"] = sum(1 for a in self.assets if a["owner"] in gone)
        movers = rng.sample(sorted(pid for pid in people if pid != RECIPIENT_ID), round(n * moves))
        for pid in movers:
            p = people[pid]
            if not p.groups:
                continue
            old = rng.choice(sorted(p.groups))
            new = rng.choice([g for g in group_ids if g not in p.groups])
            p.groups.discard(old)
            p.groups.add(new)
            expect["DeleteGroupMembership"] += len(p.roles)
            expect["CreateGroupMembership"] += len(p.roles)
        nxt = self.next_person
        for _ in range(round(n * joiners)):
            person = _person(rng, nxt, group_ids)
            people[person.id] = person
            nxt += 1
            expect["RegisterUser"] += len(person.roles)
            expect["CreateGroupMembership"] += len(person.roles) * len(person.groups)
        org = BenchOrg(self.size, self.seed, people, dict(self.groups), list(self.assets), nxt)
        return org, {"joiners": round(n * joiners), "leavers": len(leaving),
                     "leavers_with_assets": sum(1 for pid in leaving if pid in set(with_assets)),
                     "movers": len(movers), "leaver_memberships": leaver_memberships, "writes": expect}


def _person(rng: random.Random, i: int, group_ids: list[str]) -> Person:
    r = rng.random()
    if r < TWO_ROLE_SHARE:
        roles = ("QuickSightReader", "QuickSightAuthor")
    elif r < 0.85:
        roles = ("QuickSightReader",)
    elif r < 0.97:
        roles = ("QuickSightAuthor",)
    else:
        roles = ("QuickSightAdmin",)
    k = max(1, min(len(group_ids), round(rng.gauss(GROUPS_PER_PERSON, 1.5))))
    return Person(f"00ub{i:09d}", f"user{i}@bench.example.com", roles, set(rng.sample(group_ids, k)))


def generate(size: str, seed: int = 6) -> BenchOrg:
    """The org of one size; the same (size, seed) always gives the same org."""
    n_users, n_groups = SIZES[size]
    rng = random.Random(f"{size}:{seed}")
    groups = {f"00gb{j:08d}": f"Team {j:04d}" for j in range(n_groups)}
    group_ids = list(groups)
    people = {RECIPIENT_ID: Person(RECIPIENT_ID, RECIPIENT_LOGIN, ("QuickSightAdmin",), set(rng.sample(group_ids, 2)))}
    for i in range(1, n_users):
        p = _person(rng, i, group_ids)
        people[p.id] = p
    authors = sorted(f"QuickSightAuthor/{p.login}" for p in people.values() if "QuickSightAuthor" in p.roles)
    assets = [{"type": ASSET_TYPES[k % len(ASSET_TYPES)], "id": f"bench-asset-{k:04d}", "owner": rng.choice(authors)}
              for k in range(ASSETS)]
    return BenchOrg(size, seed, people, groups, assets, n_users)


def churn_slices(before: BenchOrg, after: BenchOrg, n: int) -> list[tuple[BenchOrg, list[str]]]:
    """A day's churn (``before`` to ``after``) applied in ``n`` slices: the org after each slice and who changed in it.

    Each changed person (joiner, leaver, mover) lands in one slice, in a seeded order, so the
    last org is ``after`` and the slices together make exactly the day's changes.
    """
    changed = sorted(pid for pid in set(before.people) | set(after.people)
                     if pid not in before.people or pid not in after.people
                     or before.people[pid].groups != after.people[pid].groups
                     or before.people[pid].roles != after.people[pid].roles)
    random.Random(before.seed * 104729 + n).shuffle(changed)
    n = max(1, min(n, len(changed)))
    people = dict(before.people)
    out = []
    for k in range(n):
        chunk = changed[k * len(changed) // n:(k + 1) * len(changed) // n]
        for pid in chunk:
            if pid in after.people:
                people[pid] = after.people[pid]
            else:
                people.pop(pid, None)
        out.append((BenchOrg(before.size, before.seed, dict(people), dict(after.groups), list(after.assets),
                             after.next_person), chunk))
    return out
