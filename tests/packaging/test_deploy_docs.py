"""The deployment docs stay true to the files they describe.

Relative links resolve, and the Okta connection extras docs/okta.md documents
are the fields the `okta` connection form (plugins/okta_provider) declares.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_PAGES = ["docs/deploy/compose.md", "docs/deploy/helm.md", "docs/deploy/astro.md", "docs/deploy/mwaa.md"]
DOCS = ["docs/okta.md", "docs/aws.md", "docs/deploy.md", *DEPLOY_PAGES]


@pytest.mark.parametrize("doc", DOCS)
def test_relative_links_resolve(doc):
    path = ROOT / doc
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text())
    relative = [link for link in links if "://" not in link]
    assert relative or doc == "docs/okta.md", f"{doc} links to nothing in the project"
    broken = [link for link in relative if not (path.parent / link).exists()]
    assert not broken, f"{doc} links to missing files {broken}"


def test_okta_doc_names_the_connection_form_fields():
    from okta_provider.get_provider_info import get_provider_info

    (connection_type,) = get_provider_info()["connection-types"]
    form_fields = set(connection_type["conn-fields"])
    text = (ROOT / "docs" / "okta.md").read_text()
    table_rows = set(re.findall(r"^\s*\| `(\w+)` \|", text, re.MULTILINE))
    mentioned = set(re.findall(r"`(\w+)`", text))
    assert table_rows, "docs/okta.md documents no connection extras"
    unknown = sorted(table_rows - form_fields)
    assert not unknown, f"docs/okta.md documents extras the okta connection does not have: {unknown}"
    undocumented = sorted(form_fields - mentioned)
    assert not undocumented, f"docs/okta.md does not document the okta connection's {undocumented}"


@pytest.mark.parametrize("page", DEPLOY_PAGES)
def test_each_way_in_covers_the_four_steps(page):
    """Connections, the pool, a secrets backend and the Test Connection button, on every platform's page."""
    text = (ROOT / page).read_text()
    index = (ROOT / "docs" / "deploy.md").read_text()
    assert page.removeprefix("docs/") in index, f"docs/deploy.md does not link {page}"
    pools = json.loads((ROOT / "include" / "pools.json").read_text())
    for needle, what in [
        ("okta_default", "the Okta connection"),
        ("aws_default", "the AWS connection"),
        (next(iter(pools)), "the pool's name (include/pools.json)"),
        ("SecretsManagerBackend", "a secrets backend"),
        ("test_connection", "enabling Test Connection"),
    ]:
        assert needle.lower() in text.lower(), f"{page} does not cover {what} ({needle})"
    assert "Enabled" in text, f"{page}: say which value turns Test Connection on"


def test_requirements_named_in_the_docs_exist():
    """The files the deploy docs tell people to use are in the repository."""
    for name in ("requirements.txt", "requirements-dev.txt", "constraints.txt", "include/pools.json", "Dockerfile"):
        assert (ROOT / name).is_file(), name
        assert name in (ROOT / "docs" / "deploy.md").read_text() + "".join(
            (ROOT / page).read_text() for page in DEPLOY_PAGES
        ), f"the deploy docs never mention {name}"
