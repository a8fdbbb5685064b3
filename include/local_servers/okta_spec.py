"""Checks a response of the local Okta against Okta's published management spec.

The spec file fails openapi-core's strict spec check, so it is loaded with
the spec validator off (API_FACTS.md); response validation still works. The
spec's only server is `https://{yourOktaDomain}`, so requests are checked as
if sent to `https://subdomain.okta.com`.

Where the file is: `$OKTA_OPENAPI_SPEC`, else `../shared/okta/` beside the
repository, else `/work/shared/okta/`.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

SPEC_NAME = "okta-management-openapi.yaml"
SPEC_HOST = "https://subdomain.okta.com"


def spec_path() -> Path:
    candidates = [os.environ.get("OKTA_OPENAPI_SPEC")]
    candidates.append(str(Path(__file__).resolve().parents[2].parent / "shared" / "okta" / SPEC_NAME))
    candidates.append(f"/work/shared/okta/{SPEC_NAME}")
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError(f"Okta's spec {SPEC_NAME} not found; set OKTA_OPENAPI_SPEC to its path (tried {candidates}).")


@lru_cache(maxsize=1)
def load_spec():
    from openapi_core import Config, OpenAPI

    return OpenAPI.from_file_path(str(spec_path()), config=Config(spec_validator_cls=None))


def validate(method: str, url: str, status: int, body: object | bytes, headers: dict | None = None) -> None:
    """Raise openapi-core's validation error if this response does not fit the spec."""
    from openapi_core.testing import MockRequest, MockResponse

    parts = urlsplit(url)
    request = MockRequest(SPEC_HOST, method.lower(), parts.path, args=dict(parse_qsl(parts.query)))
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = MockResponse(data, status_code=status, headers=dict(headers or {}), content_type="application/json")
    load_spec().validate_response(request, response)


def validate_requests_response(response) -> None:
    """`validate` for a `requests.Response` from the local server."""
    validate(response.request.method, response.request.url, response.status_code, response.content, dict(response.headers))
