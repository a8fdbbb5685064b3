"""The QuickSight account the local server holds, and what each operation does to it.

Behaviour follows AWS, not a friendlier version of it (docs/api-notes.md, "QuickSight: identity region", "users", "groups"): user
and group calls only in the identity region, 100-item pages, ResourceExists
and ResourceNotFound errors, downgrades from author/admin to a reader role
refused, IAM user names built from the role and session name, and a deleted
user's assets left with no owner.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

import botocore.session

from local_servers.qs_assets import BUILTIN_THEMES, BY_OPERATION, KINDS, AssetKind
from local_servers.qs_protocol import ApiError, limit_of, output_members

ROLES = ("ADMIN", "AUTHOR", "READER", "ADMIN_PRO", "AUTHOR_PRO", "READER_PRO")
READER_ROLES = frozenset({"READER", "READER_PRO"})
AUTHOR_OR_ADMIN = frozenset({"ADMIN", "AUTHOR", "ADMIN_PRO", "AUTHOR_PRO"})
IAM_ARN = re.compile(r"^arn:aws:iam::(\d{12}):(role|user)/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$", re.ASCII)

# Operations on the identity store: only served in the identity region.
IDENTITY_OPERATIONS = frozenset(
    {
        "ListUsers", "DescribeUser", "RegisterUser", "UpdateUser", "DeleteUser", "ListUserGroups",
        "ListGroups", "DescribeGroup", "CreateGroup", "UpdateGroup", "DeleteGroup", "SearchGroups",
        "ListGroupMemberships", "DescribeGroupMembership", "CreateGroupMembership", "DeleteGroupMembership",
    }
)


@functools.lru_cache(maxsize=1)
def _model():
    return botocore.session.get_session().get_service_model("quicksight")


def check_input(operation: str, member: str, value) -> None:
    """Refuse a value outside the limits AWS publishes for this input (botocore's model), as AWS does.

    Length and pattern come from the model only: a limit it does not state
    (say, a maximum group-name length) is not enforced here either. The
    model's patterns are Java regexes matched whole, with an ASCII ``\\w``.
    """
    meta = _model().operation_model(operation).input_shape.members[member].metadata
    text = "" if value is None else str(value)
    lo, hi, pattern = meta.get("min"), meta.get("max"), meta.get("pattern")
    if lo is not None and len(text) < lo:
        rule = f"Member must have length greater than or equal to {lo}"
    elif hi is not None and len(text) > hi:
        rule = f"Member must have length less than or equal to {hi}"
    elif pattern and not re.fullmatch(pattern, text, re.ASCII):
        rule = f"Member must satisfy regular expression pattern: {pattern}"
    else:
        return
    raise ApiError(
        "InvalidParameterValueException",
        f"1 validation error detected: Value {text!r} at '{member}' failed to satisfy "
        f"constraint: {rule}",
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class User:
    user_name: str
    email: str | None
    role: str
    identity_type: str
    principal_id: str
    active: bool = True


@dataclass
class Group:
    name: str
    description: str | None
    principal_id: str
    members: list[str] = field(default_factory=list)  # user names, in insertion order


@dataclass
class Asset:
    kind: AssetKind
    id: str
    region: str
    name: str
    permissions: dict[str, set[str]] = field(default_factory=dict)  # principal ARN -> actions
    created: datetime = field(default_factory=_now)


class QuickSightState:
    """One QuickSight account and namespace; thread-safe."""

    def __init__(self, section: dict) -> None:
        self._lock = threading.RLock()
        self.load(section)

    # ---- seeding and dumping -------------------------------------------------

    def load(self, section: dict) -> None:
        with self._lock:
            self.account_id = str(section.get("account_id", "111122223333"))
            self.identity_region = section.get("identity_region", "us-east-1")
            self.namespace = section.get("namespace", "default")
            self.users: dict[str, User] = {}
            self.groups: dict[str, Group] = {}
            self.assets: dict[tuple[str, str, str], Asset] = {}  # (region, type, id)
            for u in section.get("users", []):
                self.users[u["user_name"]] = User(
                    u["user_name"], u.get("email"), u.get("role", "READER"), u.get("identity_type", "IAM"),
                    self._principal_id(u["user_name"]), u.get("active", True),
                )
            for g in section.get("groups", []):
                group = Group(g["name"], g.get("description"), self._principal_id("group/" + g["name"]))
                group.members = [m for m in g.get("members", []) if m in self.users]
                self.groups[g["name"]] = group
            for a in section.get("assets", []):
                kind = KINDS[a["type"]]
                region = a.get("region", self.identity_region)
                asset = Asset(kind, a["id"], region, a.get("name", a["id"]))
                for owner in a.get("owners", []):
                    asset.permissions[self._principal_arn(owner)] = set(kind.owner_actions)
                for viewer in a.get("viewers", []):
                    # A viewer holds the read half of the set; enough to show it is not an owner.
                    asset.permissions.setdefault(self._principal_arn(viewer), set()).update(
                        x for x in kind.owner_actions if x.split(":")[1].startswith(("Describe", "Query", "List"))
                    )
                self.assets[(region, kind.type, a["id"])] = asset

    def dump(self) -> dict:
        """The state in the scenario's ``quicksight`` shape."""
        with self._lock:
            assets = []
            for asset in self.assets.values():
                owners = [
                    self._user_name_of(p)
                    for p, actions in asset.permissions.items()
                    if actions >= asset.kind.owner_actions and self._user_name_of(p)
                ]
                assets.append(
                    {"type": asset.kind.type, "id": asset.id, "region": asset.region, "owners": sorted(owners)}
                )
            return {
                "account_id": self.account_id,
                "identity_region": self.identity_region,
                "namespace": self.namespace,
                "users": [
                    {"user_name": u.user_name, "email": u.email, "role": u.role, "identity_type": u.identity_type}
                    for u in self.users.values()
                ],
                "groups": [
                    {"name": g.name, "description": g.description, "members": list(g.members)}
                    for g in self.groups.values()
                ],
                "assets": assets,
            }

    # ---- names ----------------------------------------------------------------

    def _principal_id(self, seed: str) -> str:
        return "federated/iam/AROA" + hashlib.sha1(seed.encode()).hexdigest()[:17].upper()

    def _principal_arn(self, user_name: str) -> str:
        return f"arn:aws:quicksight:{self.identity_region}:{self.account_id}:user/{self.namespace}/{user_name}"

    def _group_arn(self, name: str) -> str:
        return f"arn:aws:quicksight:{self.identity_region}:{self.account_id}:group/{self.namespace}/{name}"

    def _user_name_of(self, principal: str) -> str | None:
        prefix = self._principal_arn("")
        name = principal[len(prefix) :] if principal.startswith(prefix) else None
        return name if name in self.users else None

    def _group_name_of(self, principal: str) -> str | None:
        prefix = self._group_arn("")
        name = principal[len(prefix) :] if principal.startswith(prefix) else None
        return name if name in self.groups else None

    def _asset_arn(self, asset: Asset) -> str:
        return f"arn:aws:quicksight:{asset.region}:{self.account_id}:{asset.kind.arn_resource}/{asset.id}"

    # ---- dispatch -------------------------------------------------------------

    def handle(self, operation: str, params: dict, region: str) -> dict:
        """Run one operation called in ``region``; returns the output document."""
        with self._lock:
            account = params.get("AwsAccountId")
            if account is not None and account != self.account_id:
                raise ApiError(
                    "AccessDeniedException",
                    f"User is not authorized to perform: quicksight:{operation} on resource: "
                    f"arn:aws:quicksight:{region}:{account}:*",
                )
            if operation in IDENTITY_OPERATIONS or operation in ("ListNamespaces", "DescribeNamespace"):
                if region != self.identity_region:
                    raise ApiError(
                        "AccessDeniedException",
                        f"Operation is being called from endpoint {region}, but your identity region is "
                        f"{self.identity_region}. Please use the {self.identity_region} endpoint.",
                    )
            if "Namespace" in params and operation != "DescribeNamespace":
                self._check_namespace(params["Namespace"])
            handler = getattr(self, "_op_" + operation, None)
            if handler is not None:
                return handler(params)
            if operation in BY_OPERATION:
                verb, kind = BY_OPERATION[operation]
                return getattr(self, "_asset_" + verb)(operation, kind, params, region)
            raise ApiError(
                "UnsupportedOperationException",
                f"The local QuickSight server does not implement {operation}.",
            )

    def _check_namespace(self, namespace: str) -> None:
        if namespace != self.namespace:
            raise ApiError(
                "ResourceNotFoundException",
                f"Namespace {namespace} not found in account {self.account_id}.",
                "NAMESPACE",
            )

    # ---- paging ---------------------------------------------------------------

    def _page(self, operation: str, items: list, params: dict, key: str) -> dict:
        lo, hi = limit_of(operation, "MaxResults")
        size = params.get("MaxResults", hi or 100)
        if (lo is not None and size < lo) or (hi is not None and size > hi):
            raise ApiError("InvalidParameterValueException", f"MaxResults must be between {lo} and {hi}.")
        start = 0
        token = params.get("NextToken")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                if decoded["op"] != operation:
                    raise ValueError
                start = int(decoded["o"])
            except Exception:  # noqa: BLE001 - any bad token is the same error to the caller
                raise ApiError("InvalidNextTokenException", "The NextToken is not valid.") from None
        out = {key: items[start : start + size]}
        if start + size < len(items):
            out["NextToken"] = base64.urlsafe_b64encode(
                json.dumps({"op": operation, "o": start + size}).encode()
            ).decode()
        return out

    # ---- users ----------------------------------------------------------------

    def _user_doc(self, user: User) -> dict:
        return {
            "Arn": self._principal_arn(user.user_name),
            "UserName": user.user_name,
            "Email": user.email,
            "Role": user.role,
            "IdentityType": user.identity_type,
            "Active": user.active,
            "PrincipalId": user.principal_id,
        }

    def _user(self, name: str) -> User:
        user = self.users.get(name)
        if user is None:
            raise ApiError(
                "ResourceNotFoundException",
                f"User not found: arn:aws:quicksight:{self.identity_region}:{self.account_id}:user/{self.namespace}/{name}",
                "USER",
            )
        return user

    def _op_ListUsers(self, p: dict) -> dict:
        return self._page("ListUsers", [self._user_doc(u) for u in self.users.values()], p, "UserList")

    def _op_DescribeUser(self, p: dict) -> dict:
        return {"User": self._user_doc(self._user(p["UserName"]))}

    def _op_RegisterUser(self, p: dict) -> dict:
        identity_type = p.get("IdentityType")
        role = p.get("UserRole")
        if role not in ROLES:
            raise ApiError("InvalidParameterValueException", f"UserRole {role} is not valid.")
        if not p.get("Email"):
            raise ApiError("InvalidParameterValueException", "Email is required.")
        if identity_type == "IAM":
            m = IAM_ARN.match(p.get("IamArn") or "")
            if not m:
                raise ApiError("InvalidParameterValueException", f"IamArn {p.get('IamArn')} is not a valid IAM ARN.")
            if m.group(1) != self.account_id:
                raise ApiError(
                    "InvalidParameterValueException",
                    f"IamArn {p['IamArn']} is not in account {self.account_id}.",
                )
            session = p.get("SessionName")
            if m.group(2) == "role":
                check_input("RegisterUser", "SessionName", session)
                user_name = f"{m.group(3)}/{session}"
            else:
                user_name = m.group(3)
        elif identity_type == "QUICKSIGHT":
            user_name = p.get("UserName")
            if not user_name:
                raise ApiError("InvalidParameterValueException", "UserName is required for QUICKSIGHT identities.")
        else:
            raise ApiError("InvalidParameterValueException", f"IdentityType {identity_type} is not supported here.")
        if user_name in self.users:
            raise ApiError(
                "ResourceExistsException", f"The user with name {user_name} already exists.", "USER"
            )
        # A QUICKSIGHT identity stays inactive until the person accepts the invitation and sets a password.
        user = User(user_name, p["Email"], role, identity_type, self._principal_id(user_name),
                    active=identity_type != "QUICKSIGHT")
        self.users[user_name] = user
        out = {"User": self._user_doc(user)}
        if identity_type == "QUICKSIGHT":
            out["UserInvitationUrl"] = f"https://quicksight.aws.amazon.com/sn/accounts/{self.account_id}/invite"
        return out

    def _op_UpdateUser(self, p: dict) -> dict:
        user = self._user(p["UserName"])
        role = p.get("Role")
        if role not in ROLES:
            raise ApiError("InvalidParameterValueException", f"Role {role} is not valid.")
        if user.role in AUTHOR_OR_ADMIN and role in READER_ROLES:
            raise ApiError(
                "InvalidParameterValueException",
                f"The role of user {user.user_name} cannot be changed from {user.role} to {role}: "
                "downgrading an author or admin to a reader is not supported.",
            )
        user.email = p.get("Email")
        user.role = role
        return {"User": self._user_doc(user)}

    def _op_DeleteUser(self, p: dict) -> dict:
        user = self._user(p["UserName"])
        del self.users[user.user_name]
        for group in self.groups.values():
            if user.user_name in group.members:
                group.members.remove(user.user_name)
        arn = self._principal_arn(user.user_name)
        for asset in self.assets.values():  # the assets stay, with no owner if it was the only one
            asset.permissions.pop(arn, None)
        return {}

    def _op_ListUserGroups(self, p: dict) -> dict:
        user = self._user(p["UserName"])
        groups = [self._group_doc(g) for g in self.groups.values() if user.user_name in g.members]
        return self._page("ListUserGroups", groups, p, "GroupList")

    # ---- groups ---------------------------------------------------------------

    def _group_doc(self, group: Group) -> dict:
        doc = {"Arn": self._group_arn(group.name), "GroupName": group.name, "PrincipalId": group.principal_id}
        if group.description is not None:
            doc["Description"] = group.description
        return doc

    def _group(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            raise ApiError(
                "ResourceNotFoundException",
                f"Group not found: arn:aws:quicksight:{self.identity_region}:{self.account_id}:group/{self.namespace}/{name}",
                "GROUP",
            )
        return group

    def _check_description(self, operation: str, description: str | None) -> None:
        if description is not None:
            check_input(operation, "Description", description)

    def _op_ListGroups(self, p: dict) -> dict:
        return self._page("ListGroups", [self._group_doc(g) for g in self.groups.values()], p, "GroupList")

    def _op_DescribeGroup(self, p: dict) -> dict:
        return {"Group": self._group_doc(self._group(p["GroupName"]))}

    def _op_CreateGroup(self, p: dict) -> dict:
        name = p.get("GroupName") or ""
        check_input("CreateGroup", "GroupName", name)
        self._check_description("CreateGroup", p.get("Description"))
        if name in self.groups:
            raise ApiError("ResourceExistsException", f"Group {name} already exists.", "GROUP")
        if len(self.groups) >= 10000:
            raise ApiError("LimitExceededException", "A namespace holds at most 10,000 groups.", "GROUP")
        group = Group(name, p.get("Description"), self._principal_id("group/" + name))
        self.groups[name] = group
        return {"Group": self._group_doc(group)}

    def _op_UpdateGroup(self, p: dict) -> dict:
        group = self._group(p["GroupName"])
        self._check_description("UpdateGroup", p.get("Description"))
        group.description = p.get("Description")
        return {"Group": self._group_doc(group)}

    def _op_DeleteGroup(self, p: dict) -> dict:
        group = self._group(p["GroupName"])
        del self.groups[group.name]
        arn = self._group_arn(group.name)
        for asset in self.assets.values():
            asset.permissions.pop(arn, None)
        return {}

    def _op_SearchGroups(self, p: dict) -> dict:
        filters = p.get("Filters") or []
        if len(filters) != 1 or filters[0].get("Name") != "GROUP_NAME" or filters[0].get("Operator") != "StartsWith":
            raise ApiError(
                "InvalidParameterValueException", "Filters must be one GROUP_NAME filter with operator StartsWith."
            )
        prefix = filters[0].get("Value", "")
        groups = [self._group_doc(g) for g in self.groups.values() if g.name.startswith(prefix)]
        return self._page("SearchGroups", groups, p, "GroupList")

    # ---- memberships ----------------------------------------------------------

    def _member_doc(self, user_name: str) -> dict:
        return {"Arn": self._principal_arn(user_name), "MemberName": user_name}

    def _op_ListGroupMemberships(self, p: dict) -> dict:
        group = self._group(p["GroupName"])
        return self._page(
            "ListGroupMemberships", [self._member_doc(m) for m in group.members], p, "GroupMemberList"
        )

    def _op_DescribeGroupMembership(self, p: dict) -> dict:
        group = self._group(p["GroupName"])
        if p["MemberName"] not in group.members:
            raise ApiError(
                "ResourceNotFoundException",
                f"User {p['MemberName']} is not a member of group {group.name}.",
                "USER",
            )
        return {"GroupMember": self._member_doc(p["MemberName"])}

    def _op_CreateGroupMembership(self, p: dict) -> dict:
        group = self._group(p["GroupName"])
        user = self._user(p["MemberName"])
        if user.user_name not in group.members:  # adding a member twice succeeds, as in AWS
            group.members.append(user.user_name)
        return {"GroupMember": self._member_doc(user.user_name)}

    def _op_DeleteGroupMembership(self, p: dict) -> dict:
        group = self._group(p["GroupName"])
        if p["MemberName"] not in group.members:
            raise ApiError(
                "ResourceNotFoundException",
                f"User {p['MemberName']} is not a member of group {group.name}.",
                "USER",
            )
        group.members.remove(p["MemberName"])
        return {}

    # ---- namespaces -----------------------------------------------------------

    def _namespace_doc(self) -> dict:
        return {
            "Name": self.namespace,
            "Arn": f"arn:aws:quicksight:{self.identity_region}:{self.account_id}:namespace/{self.namespace}",
            "CapacityRegion": self.identity_region,
            "CreationStatus": "CREATED",
            "IdentityStore": "QUICKSIGHT",
        }

    def _op_ListNamespaces(self, p: dict) -> dict:
        return self._page("ListNamespaces", [self._namespace_doc()], p, "Namespaces")

    def _op_DescribeNamespace(self, p: dict) -> dict:
        self._check_namespace(p["Namespace"])
        return {"Namespace": self._namespace_doc()}

    # ---- assets ---------------------------------------------------------------

    def _assets_in(self, kind: AssetKind, region: str) -> list[Asset]:
        return [a for (r, t, _), a in self.assets.items() if r == region and t == kind.type]

    def _asset(self, kind: AssetKind, region: str, asset_id: str) -> Asset:
        asset = self.assets.get((region, kind.type, asset_id))
        if asset is None:
            raise ApiError(
                "ResourceNotFoundException",
                f"{kind.type.capitalize()} {asset_id} was not found in {region}.",
                kind.type.upper(),
            )
        return asset

    def _summary(self, operation: str, list_key: str, asset: Asset) -> dict:
        member_shape = output_members(operation)[list_key].member
        doc = {
            "Arn": self._asset_arn(asset),
            asset.kind.id_member: asset.id,
            "Name": asset.name,
            "CreatedTime": asset.created,
            "LastUpdatedTime": asset.created,
        }
        extras = {
            "Type": "S3" if asset.kind.type == "datasource" else None,
            "Status": "CREATION_SUCCESSFUL" if asset.kind.type in ("analysis", "datasource") else None,
            "ImportMode": "SPICE",
            "FolderType": "SHARED",
            "SharingModel": "ACCOUNT",
            "LatestVersionNumber": 1,
            "PublishedVersionNumber": 1,
        }
        for key, value in extras.items():
            if key in member_shape.members and value is not None:
                doc[key] = value
        return {k: v for k, v in doc.items() if k in member_shape.members}

    def _list_key(self, operation: str) -> str:
        return next(n for n, s in output_members(operation).items() if s.type_name == "list")

    def _asset_list(self, operation: str, kind: AssetKind, p: dict, region: str) -> dict:
        key = self._list_key(operation)
        assets = self._assets_in(kind, region)
        items = [self._summary(operation, key, a) for a in assets]
        if kind.type == "theme":
            wanted = p.get("Type", "ALL")
            if wanted == "QUICKSIGHT":
                items = []
            if wanted in ("ALL", "QUICKSIGHT"):
                items = [
                    {"Arn": f"arn:aws:quicksight::aws:theme/{t}", "ThemeId": t, "Name": t.title()}
                    for t in BUILTIN_THEMES
                ] + items
        return self._page(operation, items, p, key)

    def _holds(self, asset: Asset, user_arn: str, owner: bool, direct: bool) -> bool:
        principals = [user_arn]
        if not direct:
            user_name = self._user_name_of(user_arn)
            principals += [self._group_arn(g.name) for g in self.groups.values() if user_name in g.members]
        for principal in principals:
            actions = asset.permissions.get(principal, set())
            if (owner and actions >= asset.kind.owner_actions) or (not owner and actions):
                return True
        return False

    def _asset_search(self, operation: str, kind: AssetKind, p: dict, region: str) -> dict:
        filters = p.get("Filters") or []
        lo, hi = limit_of(operation, "Filters")
        if not filters or (hi is not None and len(filters) > hi):
            raise ApiError("InvalidParameterValueException", f"Filters must hold 1 to {hi} filters.")
        assets = self._assets_in(kind, region)
        for f in filters:
            name, op, value = f.get("Name", ""), f.get("Operator"), f.get("Value", "")
            if name.endswith("_NAME"):
                if op == "StringLike":
                    pattern = re.compile("^" + ".*".join(map(re.escape, value.split("*"))) + "$", re.I)
                    assets = [a for a in assets if pattern.match(a.name)]
                else:
                    assets = [a for a in assets if a.name == value]
                continue
            if op != "StringEquals":
                raise ApiError("InvalidParameterValueException", f"Operator {op} is not valid for filter {name}.")
            if not self._user_name_of(value) and not self._group_name_of(value):
                raise ApiError("InvalidParameterValueException", f"{value} is not a valid principal ARN.")
            if name in ("QUICKSIGHT_OWNER", "DIRECT_QUICKSIGHT_OWNER"):
                assets = [a for a in assets if self._holds(a, value, True, name.startswith("DIRECT"))]
            elif name == "DIRECT_QUICKSIGHT_SOLE_OWNER":
                assets = [
                    a for a in assets
                    if [q for q, acts in a.permissions.items() if acts >= kind.owner_actions] == [value]
                ]
            elif name in ("QUICKSIGHT_USER", "QUICKSIGHT_VIEWER_OR_OWNER", "DIRECT_QUICKSIGHT_VIEWER_OR_OWNER"):
                assets = [a for a in assets if self._holds(a, value, False, name.startswith("DIRECT"))]
            else:
                raise ApiError("InvalidParameterValueException", f"Filter name {name} is not valid here.")
        key = self._list_key(operation)
        return self._page(operation, [self._summary(operation, key, a) for a in assets], p, key)

    def _permissions_doc(self, operation: str, asset: Asset, permissions: list | None = None) -> dict:
        members = output_members(operation)
        doc = {}
        for name in members:
            if name == asset.kind.id_member or name == "FolderId":
                doc[name] = asset.id
            elif name.endswith("Arn") or name == "Arn":
                doc[name] = self._asset_arn(asset)
            elif name == "Permissions":
                doc[name] = (
                    permissions
                    if permissions is not None
                    else [{"Principal": q, "Actions": sorted(a)} for q, a in asset.permissions.items()]
                )
        return doc

    def _asset_describe(self, operation: str, kind: AssetKind, p: dict, region: str) -> dict:
        asset = self._asset(kind, region, p[kind.id_member])
        if "NextToken" in output_members(operation):  # DescribeFolderPermissions pages
            perms = [{"Principal": q, "Actions": sorted(a)} for q, a in asset.permissions.items()]
            page = self._page(operation, perms, p, "Permissions")
            doc = self._permissions_doc(operation, asset, page["Permissions"])
            if "NextToken" in page:
                doc["NextToken"] = page["NextToken"]
            return doc
        return self._permissions_doc(operation, asset)

    def _asset_update(self, operation: str, kind: AssetKind, p: dict, region: str) -> dict:
        asset = self._asset(kind, region, p[kind.id_member])
        grants, revokes = p.get("GrantPermissions") or [], p.get("RevokePermissions") or []
        for entry in grants + revokes:
            principal = entry.get("Principal", "")
            if not self._user_name_of(principal) and not self._group_name_of(principal):
                raise ApiError(
                    "InvalidParameterValueException",
                    f"Principal {principal} is not a valid QuickSight user or group ARN in this account.",
                )
            bad = set(entry.get("Actions") or []) - kind.owner_actions
            if bad or not entry.get("Actions"):
                raise ApiError(
                    "InvalidParameterValueException",
                    f"Actions {sorted(bad) or '[]'} are not valid for a {kind.type}.",
                )
        for entry in grants:
            asset.permissions.setdefault(entry["Principal"], set()).update(entry["Actions"])
        for entry in revokes:
            held = asset.permissions.get(entry["Principal"])
            if held is not None:
                held.difference_update(entry["Actions"])
                if not held:
                    del asset.permissions[entry["Principal"]]
        return self._permissions_doc(operation, asset)
