"""One QuickSight transport: calls, their errors, their counts and their pages.

The directory and the asset hand-over both speak to QuickSight through a
:class:`QuickSightTransport`: every call is counted per operation (retries
included), every botocore error becomes a ``QuickSightError`` whose message
names the item and the fix, and every List*/Search* call follows its pages.
Plain Python over boto3 clients (in Airflow they come from QuickSightHook).
"""

from __future__ import annotations

import contextvars
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

PAGE_SIZE = 100  # QuickSight's maximum for List* and Search* calls

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


# ---- the transport ----------------------------------------------------------


class QuickSightTransport:
    """Calls to one account's QuickSight, in any region, counted as one owner's."""

    def __init__(self, client_for_region: Callable[[str], object], account_id: str) -> None:
        self._client_for_region = client_for_region
        self.account_id = str(account_id)
        self._counts = CallCounts()

    @property
    def api_calls(self) -> dict[str, int]:
        """Requests sent per operation (e.g. ``{"ListUsers": 3}``), retries included."""
        return self._counts.snapshot()

    def call(self, region: str, operation: str, item: str, **params) -> dict:
        """One call; a botocore error is raised as the QuickSightError naming ``item``."""
        client = self._client_for_region(region)
        self._counts.attach(client)
        try:
            with self._counts.calling():
                return getattr(client, xform_name(operation))(AwsAccountId=self.account_id, **params)
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, operation, item, region) from None

    def pages(self, region: str, operation: str, item: str, list_key: str, **params) -> Iterator[dict]:
        """Every entry under ``list_key`` of every page of a paged call."""
        token = None
        while True:
            extra = {"NextToken": token} if token else {}
            page = self.call(region, operation, item, MaxResults=PAGE_SIZE, **params, **extra)
            yield from page.get(list_key, [])
            token = page.get("NextToken")
            if not token:
                return
