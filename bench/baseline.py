"""The reference design's call pattern, as the benchmark's baseline.

The reference solution runs three Lambdas. The first reads Okta: the app's
users and groups, then one request per user for that user's groups. The
second walks the identities: per identity a DescribeUser (register it when
missing, update it when role or email differ) and a ListUserGroups, then the
membership writes that differ. The third lists QuickSight's users and
deletes the ones Okta no longer has, then deletes groups no longer wanted.
It hands over no assets: deleting a user leaves its assets without an owner.

Same servers, orgs, names and ownership rules as the sync under test, so
the two differ only in how they call the APIs.

The per-user read is ``GET /api/v1/users/{id}/groups``, served by the local
Okta server for this baseline alone.
"""

from __future__ import annotations

from urllib.parse import urlencode

import requests

PREFIX_MARK = "okta-sync:"


class ReferenceDesign:
    def __init__(self, target: dict, okta_url: str, okta_token: str, quicksight_client) -> None:
        self.target = target
        self.okta_url = okta_url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers.update({"Authorization": f"SSWS {okta_token}", "Accept": "application/json"})
        self.qs = quicksight_client
        self.account = target["aws_account_id"]
        self.namespace = target.get("namespace", "default")
        self.roles: dict[str, str] = target["saml_roles"]
        self.prefix = target.get("group_prefix", "Okta-")
        self.protected = {target.get("asset_recipient"), *target.get("protected_users", [])}
        self.writes: dict[str, int] = {}

    # ------------------------------------------------------------------ Okta (Lambda 1)
    def _okta_pages(self, path: str, params: dict):
        url = f"{self.okta_url}{path}?{urlencode(params)}"
        while url:
            r = self.session.get(url, timeout=30)
            r.raise_for_status()
            yield from r.json()
            url = (r.links.get("next") or {}).get("url")

    def _user_groups(self, user_id: str) -> list[str]:
        r = self.session.get(f"{self.okta_url}/api/v1/users/{user_id}/groups", timeout=30)
        r.raise_for_status()
        return [g["id"] for g in r.json()]

    def read_okta(self) -> tuple[dict, dict]:
        app = self.target["okta_app_id"]
        groups = {g["id"]: g["_embedded"]["group"]["profile"]["name"]
                  for g in self._okta_pages(f"/api/v1/apps/{app}/groups", {"limit": 200, "expand": "group"})}
        desired: dict[str, dict] = {}  # QuickSight user name -> {arn, session, email, role, groups}
        for au in self._okta_pages(f"/api/v1/apps/{app}/users", {"limit": 500, "expand": "user"}):
            user = au["_embedded"]["user"]
            if user["status"] == "DEPROVISIONED":
                continue
            login = au["credentials"]["userName"]
            names = {self.prefix + groups[gid] for gid in self._user_groups(au["id"]) if gid in groups}
            for role in (au.get("profile") or {}).get("samlRoles") or []:
                if role in self.roles:
                    desired[f"{role}/{login}"] = {
                        "arn": f"arn:aws:iam::{self.account}:role/{role}", "session": login,
                        "email": user["profile"].get("email"), "role": self.roles[role], "groups": names,
                    }
        wanted_groups = {self.prefix + name: f"{PREFIX_MARK}{gid}" for gid, name in groups.items()}
        return desired, wanted_groups

    # ------------------------------------------------------------------ QuickSight
    def _ids(self) -> dict:
        return {"AwsAccountId": self.account, "Namespace": self.namespace}

    def _write(self, op: str, **kwargs) -> None:
        getattr(self.qs, _snake(op))(**self._ids(), **kwargs)
        self.writes[op] = self.writes.get(op, 0) + 1

    def _list(self, op: str, key: str, **kwargs) -> list[dict]:
        out, token = [], None
        while True:
            page = getattr(self.qs, _snake(op))(**self._ids(), **kwargs, **({"NextToken": token} if token else {}))
            out += page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return out

    def _managed_user(self, name: str) -> bool:
        return name not in self.protected and any(name.startswith(f"{r}/") for r in self.roles)

    def sync_users(self, desired: dict, wanted_groups: dict) -> None:
        """Lambda 2: per identity DescribeUser and ListUserGroups, then the writes."""
        existing = {g["GroupName"]: g.get("Description") for g in self._list("ListGroups", "GroupList")}
        managed = {n for n, d in existing.items() if (d or "").startswith(PREFIX_MARK) or d == "Okta"}
        for name, marker in wanted_groups.items():
            if name not in existing:
                self._write("CreateGroup", GroupName=name, Description=marker)
                managed.add(name)
        for user_name, want in desired.items():
            if user_name in self.protected:  # never changed, as in the sync under test
                continue
            try:
                have = self.qs.describe_user(**self._ids(), UserName=user_name)["User"]
            except self.qs.exceptions.ResourceNotFoundException:
                self._write("RegisterUser", IdentityType="IAM", IamArn=want["arn"], SessionName=want["session"],
                            Email=want["email"], UserRole=want["role"])
                current: set[str] = set()
            else:
                if have.get("Email") != want["email"] or have.get("Role") != want["role"]:
                    self._write("UpdateUser", UserName=user_name, Email=want["email"], Role=want["role"])
                current = {g["GroupName"] for g in self._list("ListUserGroups", "GroupList", UserName=user_name)}
            for group in sorted(want["groups"] - current):
                self._write("CreateGroupMembership", GroupName=group, MemberName=user_name)
            for group in sorted((current & managed) - want["groups"]):
                self._write("DeleteGroupMembership", GroupName=group, MemberName=user_name)

    def clean_up(self, desired: dict, wanted_groups: dict) -> None:
        """Lambda 3: delete managed users and groups Okta no longer has (no asset hand-over)."""
        for user in self._list("ListUsers", "UserList"):
            name = user["UserName"]
            if user.get("IdentityType") == "IAM" and self._managed_user(name) and name not in desired:
                self._write("DeleteUser", UserName=name)
        for group in self._list("ListGroups", "GroupList"):
            if (group.get("Description") or "").startswith(PREFIX_MARK) and group["GroupName"] not in wanted_groups:
                self._write("DeleteGroup", GroupName=group["GroupName"])

    def run(self) -> dict:
        desired, wanted_groups = self.read_okta()
        self.sync_users(desired, wanted_groups)
        self.clean_up(desired, wanted_groups)
        return {"writes": self.writes, "identities": len(desired)}


def _snake(op: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in op).lstrip("_")
