"""QuickSight users, groups and memberships as the sync reads and writes them.

Plain Python over boto3 QuickSight clients (in Airflow they come from the
Amazon provider's QuickSightHook). Reads return ``model`` objects and follow
every page; writes are idempotent (exists on create, not found on delete
count as done) so that a retried or rerun step converges. AWS errors become
``QuickSightError``s whose messages say which item failed and what to do.
"""

from __future__ import annotations

import contextvars
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from okta_quicksight_sync.model import QsGroup, QsUser

PAGE_SIZE = 100  # QuickSight's maximum for List* calls
READER_ROLES = frozenset({"READER", "READER_PRO"})
AUTHOR_OR_ADMIN_ROLES = frozenset({"AUTHOR", "AUTHOR_PRO", "ADMIN", "ADMIN_PRO"})
DONE, ALREADY = "done", "already"

_IDENTITY_REGION = re.compile(r"identity region is ([a-z]{2}(?:-[a-z]+)+-\d+)")
_THROTTLE_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})


# ---- errors -----------------------------------------------------------------


class QuickSightError(Exception):
    """A QuickSight call that failed; ``operation``, ``item`` and AWS's ``code`` say which and why."""

    def __init__(
        self, message: str, *, operation: str = "", item: str = "", code: str = "", resource_type: str = ""
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.item = item
        self.code = code
        self.resource_type = resource_type  # AWS's ResourceType on not-found/exists errors (USER, GROUP, NAMESPACE)


class WrongIdentityRegionError(QuickSightError):
    """User and group calls went to a region that is not the account's identity region."""

    def __init__(self, message: str, *, identity_region: str | None, called_region: str, **kw) -> None:
        super().__init__(message, **kw)
        self.identity_region = identity_region
        self.called_region = called_region


class DowngradeRefusedError(QuickSightError):
    """AWS refuses to move an author or admin to a reader role through UpdateUser."""


class GroupConflictError(QuickSightError):
    """A group with the name this run creates appeared without this sync's Description: never adopted."""


class QuickSightNotFoundError(QuickSightError):
    """The user, group or namespace named does not exist."""


class QuickSightInvalidValueError(QuickSightError):
    """QuickSight rejected a value of this item (name, session name, email, role...)."""


class QuickSightAccessDeniedError(QuickSightError):
    """The caller's IAM identity may not make this call, or the account id is wrong."""


class QuickSightThrottledError(QuickSightError):
    """Still throttled after botocore's retries."""


class QuickSightUnavailableError(QuickSightError):
    """QuickSight failed (5xx) or could not be reached, after botocore's retries."""


def translate_error(exc: Exception, operation: str, item: str, region: str) -> QuickSightError:
    """Turn a botocore exception into the QuickSightError a person can act on."""
    if isinstance(exc, BotoCoreError):
        return QuickSightUnavailableError(
            f"QuickSight {operation} for {item} in {region} could not be sent ({type(exc).__name__}: {exc}); "
            "check the AWS connection's endpoint and network, then rerun.",
            operation=operation, item=item, code=type(exc).__name__,
        )
    if not isinstance(exc, ClientError):
        raise exc
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    aws_message = error.get("Message", "")
    attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    where = f"QuickSight {operation} for {item} in {region}"
    kw = {"operation": operation, "item": item, "code": code, "resource_type": exc.response.get("ResourceType", "")}
    if code == "AccessDeniedException" and "identity region" in aws_message:
        m = _IDENTITY_REGION.search(aws_message)
        right = m.group(1) if m else None
        fix = (
            f"set the target's identity_region to {right}" if right
            else "set the target's identity_region to the account's identity region (ListNamespaces shows it as CapacityRegion)"
        )
        return WrongIdentityRegionError(
            f"{where} was refused: {region} is not the account's identity region"
            f"{f' ({right})' if right else ''}; user and group calls must go there, so {fix}. AWS said: {aws_message}",
            identity_region=right, called_region=region, **kw,
        )
    if code == "AccessDeniedException":
        return QuickSightAccessDeniedError(
            f"{where} was denied: give the sync's IAM role quicksight:{operation} and check the target's "
            f"aws_account_id. AWS said: {aws_message}",
            **kw,
        )
    if code in ("ResourceNotFoundException", "QuickSightUserNotFoundException"):
        return QuickSightNotFoundError(f"{where}: not found. AWS said: {aws_message}", **kw)
    if code in ("InvalidParameterValueException", "InvalidParameterException", "ValidationException"):
        return QuickSightInvalidValueError(
            f"{where} was rejected as invalid; correct this item's data (in Okta or the target config). "
            f"AWS said: {aws_message}",
            **kw,
        )
    if code in _THROTTLE_CODES or status == 429:
        return QuickSightThrottledError(
            f"{where} was still throttled after {attempts} attempts; lower the client-side QuickSight call rate "
            "or raise the retry attempts, then rerun.",
            **kw,
        )
    if status >= 500:
        return QuickSightUnavailableError(
            f"{where} failed with {code or status} after {attempts} attempts; QuickSight had a fault, rerun later. "
            f"AWS said: {aws_message}",
            **kw,
        )
    return QuickSightError(f"{where} failed with {code}: {aws_message}", **kw)


# ---- request counting -------------------------------------------------------


class CallCounts:
    """Requests sent per QuickSight operation by one owner, retries included.

    Counted in botocore's ``before-send`` event, which fires once per HTTP
    attempt. Clients may be shared between owners (the directory and the
    hand-over), so a request counts only for the owner that made the call.
    """

    _active: contextvars.ContextVar = contextvars.ContextVar("qs_call_owner", default=None)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._attached: dict[int, object] = {}

    def attach(self, client) -> None:
        if id(client) in self._attached:
            return
        self._attached[id(client)] = client  # keep it alive so its id stays unique
        client.meta.events.register("before-send.quicksight", self._on_send, unique_id=f"qs-count-{id(self)}")

    def _on_send(self, event_name: str = "", **_) -> None:
        if self._active.get() is self:
            with self._lock:
                self._counts[event_name.rsplit(".", 1)[-1]] += 1

    def calling(self):
        """Context manager marking calls made inside it as this owner's."""
        counts = self

        class _Scope:
            def __enter__(self_inner):
                self_inner.token = counts._active.set(counts)

            def __exit__(self_inner, *exc):
                counts._active.reset(self_inner.token)

        return _Scope()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


# ---- the directory ----------------------------------------------------------


class QuickSightDirectory:
    """One QuickSight account + namespace, called in its identity region."""

    def __init__(
        self,
        client_for_region: Callable[[str], object],
        account_id: str,
        identity_region: str,
        namespace: str = "default",
    ) -> None:
        self._client_for_region = client_for_region
        self.account_id = str(account_id)
        self.identity_region = identity_region
        self.namespace = namespace
        self._counts = CallCounts()

    @property
    def api_calls(self) -> dict[str, int]:
        """Requests sent per operation (e.g. ``{"ListUsers": 3}``), retries included."""
        return self._counts.snapshot()

    def user_arn(self, user_name: str) -> str:
        return f"arn:aws:quicksight:{self.identity_region}:{self.account_id}:user/{self.namespace}/{user_name}"

    def _call(self, operation: str, item: str, **params):
        client = self._client_for_region(self.identity_region)
        self._counts.attach(client)
        method = getattr(client, xform_name(operation))
        try:
            with self._counts.calling():
                return method(AwsAccountId=self.account_id, Namespace=self.namespace, **params)
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, operation, item, self.identity_region) from None

    def _pages(self, operation: str, item: str, list_key: str, **params) -> Iterator[dict]:
        token = None
        while True:
            extra = {"NextToken": token} if token else {}
            page = self._call(operation, item, MaxResults=PAGE_SIZE, **params, **extra)
            yield from page.get(list_key, [])
            token = page.get("NextToken")
            if not token:
                return

    # ---- reads ----------------------------------------------------------------

    def list_users(self) -> list[QsUser]:
        return [_user(u) for u in self._pages("ListUsers", f"namespace {self.namespace}", "UserList")]

    def list_groups(self) -> list[QsGroup]:
        return [
            QsGroup(name=g["GroupName"], description=g.get("Description"), members=None, arn=g.get("Arn"))
            for g in self._pages("ListGroups", f"namespace {self.namespace}", "GroupList")
        ]

    def list_group_members(self, group_name: str) -> list[str]:
        return [
            m["MemberName"]
            for m in self._pages("ListGroupMemberships", f"group {group_name}", "GroupMemberList", GroupName=group_name)
        ]

    def list_user_groups(self, user_name: str) -> list[str]:
        """Names of every group the user is in, managed or not (one ListUserGroups call per page)."""
        return [
            g["GroupName"]
            for g in self._pages("ListUserGroups", f"groups of user {user_name}", "GroupList", UserName=user_name)
        ]

    def describe_group(self, name: str) -> QsGroup | None:
        """The group (without members), or None when it does not exist."""
        try:
            g = self._call("DescribeGroup", f"group {name}", GroupName=name)["Group"]
        except QuickSightNotFoundError as err:
            if err.resource_type == "NAMESPACE":
                raise
            return None
        return QsGroup(name=g["GroupName"], description=g.get("Description"), members=None, arn=g.get("Arn"))

    def describe_user(self, user_name: str) -> QsUser | None:
        try:
            return _user(self._call("DescribeUser", f"user {user_name}", UserName=user_name)["User"])
        except QuickSightNotFoundError:
            return None

    # ---- writes ---------------------------------------------------------------

    def register_user(self, iam_arn: str, session_name: str, email: str, role: str) -> str:
        """Register a federated IAM identity; its user name becomes ``<role name>/<session_name>``."""
        item = f"user {iam_arn.rsplit('/', 1)[-1]}/{session_name}"
        try:
            self._call(
                "RegisterUser", item, IdentityType="IAM", IamArn=iam_arn, SessionName=session_name,
                Email=email, UserRole=role,
            )
        except QuickSightError as err:
            if err.code == "ResourceExistsException":
                return ALREADY
            raise
        return DONE

    def update_user(self, user_name: str, email: str, role: str) -> str:
        """Set email and role together (UpdateUser needs both)."""
        item = f"user {user_name}"
        try:
            self._call("UpdateUser", item, UserName=user_name, Email=email, Role=role)
        except QuickSightInvalidValueError as err:
            if role in READER_ROLES:
                current = self.describe_user(user_name)
                if current is not None and current.role in AUTHOR_OR_ADMIN_ROLES:
                    raise DowngradeRefusedError(
                        f"QuickSight refused to change {item} from {current.role} to {role}: AWS does not allow "
                        "moving an author or admin to a reader role. Leave the higher role (downgrade_policy: "
                        "report) or hand over its assets, delete and re-register it (downgrade_policy: recreate).",
                        operation="UpdateUser", item=item, code=err.code,
                    ) from None
            raise
        return DONE

    def create_group(self, name: str, description: str) -> str:
        """Create a group; one that exists counts as done only if it carries this ``description``.

        A group someone else created between this run's read and its write is
        not adopted silently (SYNC_CONTRACT.md section 4): it is a conflict.
        """
        item = f"group {name}"
        try:
            self._call("CreateGroup", item, GroupName=name, Description=description)
        except QuickSightError as err:
            if err.code != "ResourceExistsException":
                raise
            found = self._call("DescribeGroup", item, GroupName=name)["Group"].get("Description")
            if found != description:
                raise GroupConflictError(
                    f"QuickSight {item} appeared after this run read QuickSight, with Description {found!r} instead "
                    f"of {description!r}: it is not adopted. Rename or delete it in QuickSight, or set its "
                    f"Description to {description!r} if the sync should own it.",
                    operation="CreateGroup", item=item, code="GroupConflict",
                ) from None
            return ALREADY
        return DONE

    def delete_group(self, name: str) -> str:
        return self._delete("DeleteGroup", f"group {name}", GroupName=name)

    def add_member(self, group_name: str, user_name: str) -> str:
        """Add a membership; QuickSight itself accepts an existing one, so this is ``done`` either way."""
        self._call(
            "CreateGroupMembership", f"membership of {user_name} in group {group_name}",
            GroupName=group_name, MemberName=user_name,
        )
        return DONE

    def remove_member(self, group_name: str, user_name: str) -> str:
        return self._delete(
            "DeleteGroupMembership", f"membership of {user_name} in group {group_name}",
            GroupName=group_name, MemberName=user_name,
        )

    def delete_user(self, user_name: str) -> str:
        """Delete the user. AWS moves none of its assets: hand them over first (asset_handover)."""
        return self._delete("DeleteUser", f"user {user_name}", UserName=user_name)

    def _delete(self, operation: str, item: str, **params) -> str:
        try:
            self._call(operation, item, **params)
        except QuickSightNotFoundError as err:
            if err.resource_type == "NAMESPACE":  # the namespace itself is missing: nothing converged
                raise
            return ALREADY
        return DONE


def _user(doc: dict) -> QsUser:
    return QsUser(
        user_name=doc["UserName"],
        email=doc.get("Email"),
        role=doc.get("Role", ""),
        identity_type=doc.get("IdentityType", ""),
        arn=doc.get("Arn"),
        active=doc.get("Active"),
    )
