"""The deployment docs stay true to the files they describe.

Relative links resolve, and the Okta connection extras docs/okta.md documents
are the fields the `okta` connection form (plugins/okta_provider) declares.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["docs/okta.md", "docs/aws.md", "docs/deploy.md"]


@pytest.mark.parametrize("doc", DOCS)
def test_relative_links_resolve(doc):
    path = ROOT / doc
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text())
    relative = [link for link in links if "://" not in link]
    assert relative or doc == "docs/okta.md", f"{doc} links to nothing in the project"
    broken = [link for link in relative if not (path.parent / link).exists()]
    assert not broken, f"{doc} links to missing files {broken}"


def test_okta_doc_names_the_connection_form_fields():
    from okta_provider.provider_info import get_provider_info

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
