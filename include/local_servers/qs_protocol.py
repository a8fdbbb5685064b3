"""QuickSight's REST-JSON wire protocol, read from botocore's service model.

The router is built from every operation's HTTP method and ``requestUri``
template, so each path the local server accepts is exactly the path boto3
sends (path labels arrive percent-encoded: ``Role%2Fann%40x.com``).
Error status codes come from the model's error shapes, as AWS sends them.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, unquote

import botocore.session

_MODEL = botocore.session.get_session().get_service_model("quicksight")


class ApiError(Exception):
    """An AWS error answer: code (the exception name), message, optional resource type."""

    def __init__(self, code: str, message: str, resource_type: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.resource_type = resource_type


def error_status(code: str) -> int:
    """The HTTP status AWS sends with an error of this name."""
    try:
        shape = _MODEL.shape_for(code)
    except Exception:  # noqa: BLE001 - not a QuickSight error name
        return 500 if "Internal" in code else 400
    return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    pattern: re.Pattern
    literal_len: int  # longer literal parts win over label matches


def _compile(uri: str) -> tuple[re.Pattern, int]:
    path = uri.split("?", 1)[0]
    regex, literal_len, pos = "", 0, 0
    for m in re.finditer(r"\{([A-Za-z0-9_]+)(\+?)\}", path):
        literal = path[pos : m.start()]
        regex += re.escape(literal)
        literal_len += len(literal)
        regex += f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    regex += re.escape(path[pos:])
    literal_len += len(path[pos:])
    return re.compile(f"^{regex}$"), literal_len


def _build_routes() -> list[Route]:
    routes = []
    for name in _MODEL.operation_names:
        http = _MODEL.operation_model(name).http
        pattern, literal_len = _compile(http["requestUri"])
        routes.append(Route(name, http["method"], pattern, literal_len))
    routes.sort(key=lambda r: -r.literal_len)
    return routes


ROUTES = _build_routes()


def match(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """Operation name and decoded path labels for a request, or None."""
    for route in ROUTES:
        if route.method != method:
            continue
        m = route.pattern.match(path)
        if m:
            return route.operation, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def parse_input(operation: str, labels: dict[str, str], query: str, body: bytes) -> dict:
    """The operation's input as member names -> values, from path, query and JSON body."""
    shape = _MODEL.operation_model(operation).input_shape
    params: dict = {}
    if shape is None:
        return params
    qs = parse_qs(query, keep_blank_values=True)
    doc = json.loads(body) if body.strip() else {}
    if not isinstance(doc, dict):
        raise ApiError("InvalidParameterValueException", "The request body must be a JSON object.")
    for member, mshape in shape.members.items():
        location = mshape.serialization.get("location")
        wire = mshape.serialization.get("name", member)
        if location == "uri":
            if wire in labels:
                params[member] = labels[wire]
        elif location == "querystring":
            if wire in qs:
                value = qs[wire][0]
                if mshape.type_name in ("integer", "long"):
                    try:
                        value = int(value)
                    except ValueError:
                        raise ApiError("InvalidParameterValueException", f"{member} must be a number.") from None
                params[member] = value
        elif location is None and member in doc:
            params[member] = doc[member]
    return params


def limit_of(operation: str, member: str) -> tuple[int | None, int | None]:
    """The (min, max) the model declares for an input member."""
    shape = _MODEL.operation_model(operation).input_shape
    if shape is None or member not in shape.members:
        return None, None
    meta = shape.members[member].metadata
    return meta.get("min"), meta.get("max")


def output_members(operation: str) -> dict:
    """The output shape's members (name -> botocore shape)."""
    shape = _MODEL.operation_model(operation).output_shape
    return dict(shape.members) if shape is not None else {}


def success_status(operation: str) -> int:
    return int(_MODEL.operation_model(operation).http.get("responseCode", 200))


def _default(value):
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON: {type(value)}")


def encode_body(doc: dict) -> bytes:
    return json.dumps(doc, default=_default).encode()


def error_body(err: ApiError, request_id: str) -> bytes:
    doc = {"Message": err.message, "RequestId": request_id}
    if err.resource_type:
        doc["ResourceType"] = err.resource_type
    return json.dumps(doc).encode()


def new_request_id() -> str:
    return str(uuid.uuid4())


_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


def signing_scope(authorization: str | None) -> tuple[str, str] | None:
    """(region, service) from a SigV4 Authorization header, or None if unsigned."""
    m = _SCOPE.search(authorization or "")
    return (m.group(1), m.group(2)) if m else None
