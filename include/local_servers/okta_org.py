"""The local Okta org: a scenario's `okta` section, and the objects Okta would serve for it.

Shapes follow Okta's management spec (okta-management-openapi.yaml):
`AppUser` (with `_embedded.user`), `ApplicationGroupAssignment` (with
`_embedded.group`), `User`, `Group`, `Application`. Nullable fields real
Okta sometimes sends as null are left out (docs/api-notes.md, Okta: wire format).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_API_TOKEN = "local-test-token"
DEFAULT_APP_ID = "0oaqs1"
SEED_TIME = "2024-01-02T03:04:05.000Z"


def _link(base: str, path: str) -> dict:
    return {"href": f"{base}{path}"}


@dataclass
class OktaOrg:
    """One org with one SAML app (the QuickSight app), as the scenario describes it."""

    users: dict[str, dict] = field(default_factory=dict)  # id -> scenario user
    groups: dict[str, dict] = field(default_factory=dict)  # id -> scenario group
    app_users: list[dict] = field(default_factory=list)
    app_groups: list[str] = field(default_factory=list)
    api_token: str = DEFAULT_API_TOKEN
    oauth_clients: list[dict] = field(default_factory=list)
    app_id: str | None = None  # None: every app id names the one app
    app_label: str = "AWS Account Federation"

    @classmethod
    def from_section(cls, okta: dict, app_id: str | None = None) -> OktaOrg:
        users = {u["id"]: dict(u) for u in okta.get("users", [])}
        groups = {g["id"]: dict(g) for g in okta.get("groups", [])}
        app_users = [dict(a) for a in okta.get("app_users", [])]
        for a in app_users:
            if a["id"] not in users:
                raise ValueError(f"okta.app_users names user {a['id']!r}, which is not in okta.users")
        app_groups = list(okta.get("app_groups", []))
        for gid in app_groups:
            if gid not in groups:
                raise ValueError(f"okta.app_groups names group {gid!r}, which is not in okta.groups")
        for g in groups.values():
            for uid in g.get("members", []):
                if uid not in users:
                    raise ValueError(f"okta group {g['id']!r} lists member {uid!r}, which is not in okta.users")
        return cls(
            users=users,
            groups=groups,
            app_users=app_users,
            app_groups=app_groups,
            api_token=okta.get("api_token") or DEFAULT_API_TOKEN,
            oauth_clients=[dict(c) for c in okta.get("oauth_clients", [])],
            app_id=app_id or okta.get("app_id"),
            app_label=okta.get("app_label", "AWS Account Federation"),
        )

    def has_app(self, app_id: str) -> bool:
        return self.app_id is None or app_id == self.app_id

    # -- item lookups ----------------------------------------------------------------
    # One user's reads (by login, app assignment, groups) are what incremental runs make; at 100k
    # people a scan per read makes the local server, not the sync, the cost a benchmark measures.
    # The indexes are built on first use and dropped by every change made through this class; the
    # size check rebuilds them if a caller edited the lists directly.

    def _index(self) -> dict:
        shape = (len(self.users), len(self.groups), len(self.app_users), sum(len(g.get("members", ())) for g in self.groups.values()))
        cached = self.__dict__.get("_lookups")
        if cached is None or cached["shape"] != shape:
            by_login = {(u.get("login") or u.get("email") or uid).lower(): uid for uid, u in self.users.items()}
            groups_of: dict[str, list[str]] = {}
            for gid, g in self.groups.items():
                for uid in g.get("members", []):
                    groups_of.setdefault(uid, []).append(gid)
            cached = {"shape": shape, "by_login": by_login, "groups_of": groups_of,
                      "app_user": {e["id"]: e for e in self.app_users}}
            self.__dict__["_lookups"] = cached
        return cached

    def _changed(self) -> None:
        self.__dict__.pop("_lookups", None)

    def find_user(self, id_or_login: str) -> str | None:
        """The id of the user with this id, or with this login (case-insensitive, as Okta matches logins)."""
        if id_or_login in self.users:
            return id_or_login
        return self._index()["by_login"].get(id_or_login.lower())

    def app_user_entry(self, uid: str) -> dict | None:
        """The user's assignment to the app, or None when the user is not assigned."""
        return self._index()["app_user"].get(uid)

    def group_ids_of(self, uid: str) -> list[str]:
        """The ids of the groups the user is a member of, in the org's group order."""
        return list(self._index()["groups_of"].get(uid, ()))

    def remove_group(self, gid: str) -> None:
        """Delete a group (and its app assignment), as another admin would."""
        self.groups.pop(gid, None)
        if gid in self.app_groups:
            self.app_groups.remove(gid)
        self._changed()

    def remove_app_user(self, uid: str) -> None:
        """Unassign a user from the app, as another admin would."""
        self.app_users[:] = [a for a in self.app_users if a["id"] != uid]
        self._changed()

    # -- shapes -------------------------------------------------------------------

    def user(self, uid: str, base: str) -> dict:
        u = self.users[uid]
        profile = {
            "firstName": u.get("first_name") or "",
            "lastName": u.get("last_name") or "",
            "login": u.get("login") or u.get("email") or uid,
        }
        if u.get("email") is not None:
            profile["email"] = u["email"]
        status = u.get("status", "ACTIVE")
        shaped = {
            "id": uid,
            "status": status,
            "created": SEED_TIME,
            "statusChanged": SEED_TIME,
            "lastUpdated": SEED_TIME,
            "type": {"id": "oty1local"},
            "profile": profile,
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": _link(base, f"/api/v1/users/{uid}")},
        }
        if status not in ("STAGED", "PROVISIONED"):
            shaped["activated"] = SEED_TIME
        return shaped

    def app_user(self, entry: dict, app_id: str, base: str, expand_user: bool) -> dict:
        uid = entry["id"]
        u = self.users[uid]
        profile: dict = {"email": u.get("email")} if u.get("email") is not None else {}
        if entry.get("saml_roles") is not None:
            profile["samlRoles"] = list(entry["saml_roles"])
        shaped = {
            "id": uid,
            "scope": entry.get("scope", "USER"),
            "status": entry.get("app_status", "ACTIVE"),
            "created": SEED_TIME,
            "lastUpdated": SEED_TIME,
            "statusChanged": SEED_TIME,
            "syncState": "DISABLED",
            "credentials": {"userName": entry.get("user_name") or u.get("login") or uid},
            "profile": profile,
            "_links": {
                "app": _link(base, f"/api/v1/apps/{app_id}"),
                "user": _link(base, f"/api/v1/users/{uid}"),
            },
        }
        if expand_user:
            shaped["_embedded"] = {"user": self.user(uid, base)}
        return shaped

    def group(self, gid: str, base: str) -> dict:
        g = self.groups[gid]
        gtype = g.get("type", "OKTA_GROUP")
        profile = {"name": g["name"]}
        if g.get("description"):
            profile["description"] = g["description"]
        return {
            "id": gid,
            "created": SEED_TIME,
            "lastUpdated": SEED_TIME,
            "lastMembershipUpdated": SEED_TIME,
            "objectClass": ["okta:windows_security_principal" if gtype == "APP_GROUP" else "okta:user_group"],
            "type": gtype,
            "profile": profile,
            "_links": {
                "self": _link(base, f"/api/v1/groups/{gid}"),
                "users": _link(base, f"/api/v1/groups/{gid}/users"),
                "apps": _link(base, f"/api/v1/groups/{gid}/apps"),
            },
        }

    def group_assignment(self, gid: str, app_id: str, base: str, expand_group: bool, priority: int) -> dict:
        shaped = {
            "id": gid,
            "lastUpdated": SEED_TIME,
            "priority": priority,
            "profile": {},
            "_links": {
                "self": _link(base, f"/api/v1/apps/{app_id}/groups/{gid}"),
                "app": _link(base, f"/api/v1/apps/{app_id}"),
                "group": _link(base, f"/api/v1/groups/{gid}"),
            },
        }
        if expand_group:
            shaped["_embedded"] = {"group": self.group(gid, base)}
        return shaped

    def app(self, app_id: str, base: str) -> dict:
        return {
            "id": app_id,
            "name": "amazon_aws",
            "label": self.app_label,
            "status": "ACTIVE",
            "signOnMode": "SAML_2_0",
            "created": SEED_TIME,
            "lastUpdated": SEED_TIME,
            "features": [],
            "visibility": {"autoSubmitToolbar": False, "hide": {"iOS": False, "web": False}},
            "_links": {
                "users": _link(base, f"/api/v1/apps/{app_id}/users"),
                "groups": _link(base, f"/api/v1/apps/{app_id}/groups"),
            },
        }


def numbered_org(n_users: int = 3, n_groups: int = 2, members_per_group: int | None = None, **extra) -> dict:
    """A synthetic `okta` section of any size (tests, benchmarks): users 00u00000.., all
    assigned to the app with samlRoles [QuickSightReader], groups 00g00000.. assigned
    to the app, each with the first `members_per_group` users (default all)."""
    users = [
        {"id": f"00u{i:05d}", "status": "ACTIVE", "login": f"user{i}@example.com", "email": f"user{i}@example.com",
         "first_name": "User", "last_name": str(i)}
        for i in range(n_users)
    ]
    members = n_users if members_per_group is None else members_per_group
    groups = [
        {"id": f"00g{j:05d}", "name": f"Group {j}", "type": "OKTA_GROUP", "members": [u["id"] for u in users[:members]]}
        for j in range(n_groups)
    ]
    return {
        "users": users,
        "groups": groups,
        "app_users": [{"id": u["id"], "scope": "USER", "saml_roles": ["QuickSightReader"]} for u in users],
        "app_groups": [g["id"] for g in groups],
        **extra,
    }


# Optional fields real Okta sends as `null` when they have no value (docs/api-notes.md, Okta:
# wire format). The spec marks some of them non-nullable, so the normal answers leave them out;
# only the `okta_wire` fault kind (okta_server.py) serves them, to show a client the shape real
# Okta sends.
NULL_WHEN_ABSENT = {
    "user": ("activated", "lastLogin", "passwordChanged", "transitioningToStatus"),
    "user.profile": ("email", "mobilePhone", "secondEmail"),
    "app_user": ("externalId", "lastSync", "passwordChanged"),
    "app_user.profile": ("samlRoles",),
    "group.profile": ("description",),
}


def with_okta_nulls(obj: object) -> object:
    """A copy of an answer with its absent optional fields as explicit nulls, as real Okta sends them."""
    if isinstance(obj, list):
        return [with_okta_nulls(item) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: with_okta_nulls(v) for k, v in obj.items()}
    profile = out.get("profile") if isinstance(out.get("profile"), dict) else None
    if "objectClass" in out:
        kind = "group"
    elif "scope" in out and "credentials" in out:
        kind = "app_user"
    elif profile is not None and "login" in profile:
        kind = "user"
    else:
        return out
    for name in NULL_WHEN_ABSENT.get(kind, ()):
        out.setdefault(name, None)
    for name in NULL_WHEN_ABSENT.get(f"{kind}.profile", ()):
        profile.setdefault(name, None)
    return out
