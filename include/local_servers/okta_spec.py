"""Checks a response of the local Okta against Okta's published management spec.

The spec file fails openapi-core's strict spec check, so it is loaded with
the spec validator off; response validation still works. The spec's only
server is `https://{yourOktaDomain}`, so requests are checked as if sent to
`https://subdomain.okta.com`.

The file is vendored in the repository (`tests/vendor/okta/`, with its
source and licence in `tests/vendor/README.md`), so a plain clone finds it;
`$OKTA_OPENAPI_SPEC` points at another copy instead.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

SPEC_NAME = "okta-management-openapi.yaml"
SPEC_HOST = "https://subdomain.okta.com"
# The vendored copy: include/local_servers/ -> the repository root -> tests/vendor/okta/.
VENDORED_SPEC = Path(__file__).resolve().parents[2] / "tests" / "vendor" / "okta" / SPEC_NAME


def spec_path() -> Path:
    """`$OKTA_OPENAPI_SPEC` when set, else the vendored copy; a missing file is an error saying what to do."""
    override = os.environ.get("OKTA_OPENAPI_SPEC")
    path = Path(override) if override else VENDORED_SPEC
    if path.is_file():
        return path
    if override:
        raise FileNotFoundError(
            f"Okta's spec not found at {path} (from OKTA_OPENAPI_SPEC); point OKTA_OPENAPI_SPEC at "
            f"{SPEC_NAME}, or unset it to use the copy in the repository ({VENDORED_SPEC})."
        )
    raise FileNotFoundError(
        f"Okta's spec not found at {path}; it is part of the repository (tests/vendor/okta/{SPEC_NAME}): "
        f"restore it with `git checkout -- tests/vendor/okta/{SPEC_NAME}`, or set OKTA_OPENAPI_SPEC to a copy."
    )


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
