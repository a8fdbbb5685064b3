"""The project stands alone: a plain clone, with nothing beside it, has all it needs.

Users clone the repository by itself, so no tracked file may send a reader or
a test to a folder next to the clone or to a path that exists only on one
machine. Third-party files the tests need are vendored under tests/vendor/.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from local_servers import okta_spec

REPO = Path(__file__).resolve().parents[1]

# What points outside the repository. Each pattern is written so that it does not match its own text.
OUTSIDE = [
    ("a folder beside the clone", re.compile(r"\.\./shared\b")),
    ("a folder beside the clone, reached from code", re.compile(r"\.parent\s*/\s*[\"']shared[\"']")),
    ("a development machine's path", re.compile(r"(?<![\w.~-])/(?:work)/")),
    ("a home directory", re.compile(r"(?<![\w.~-])/(?:home|Users)/[\w.-]+/|(?<![\w.~-])/(?:root)/")),
    ("a mounted drive", re.compile(r"(?<![\w.~-])/(?:mnt|media)/[\w.-]")),
    ("a Windows path", re.compile(r"\b[A-Za-z]:\\(?:Users|work)\\")),
]
# Web addresses are not machine paths (Okta's spec has https://{yourOktaDomain}/home/...); file: URLs are.
WEB_URL = re.compile(r"\b(?!file:)[A-Za-z][A-Za-z0-9+.-]*://\S*")


def tracked_files() -> list[Path]:
    """Every file git tracks (what a clone gets), as paths under the repository."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in out.decode().split("\0") if name]


def outside_references(path: Path, root: Path = REPO) -> list[str]:
    """``file:line: what: text`` for each line of a text file that points outside the repository."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return []  # deleted in the working tree but still tracked, or a submodule
    if b"\0" in data[:8192]:
        return []  # binary (a PNG): no path a reader follows
    found = []
    for lineno, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        text = WEB_URL.sub("<url>", line)
        for what, pattern in OUTSIDE:
            if pattern.search(text):
                found.append(f"{path.relative_to(root)}:{lineno}: {what}: {line.strip()[:160]}")
    return found


def test_no_tracked_file_points_outside_the_repository():
    files = tracked_files()
    assert len(files) > 50, f"git ls-files found only {len(files)} files; is {REPO} the repository?"
    found = [hit for path in files for hit in outside_references(path)]
    assert not found, "tracked files that point outside the repository (vendor the file, or say it in the project's own words):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "The rules are in `" + "../" + "shared/SYNC_CONTRACT.md`.",
        "SPEC = REPO.parent / " + '"shared"' + ' / "okta"',
        'EXAMPLES = Path("' + "/wo" + 'rk/shared/scenarios/examples")',
        "cp ~/x " + "/ho" + "me/ann/okta.yaml",
        "open(r'C:" + "\\" + "Users" + "\\" + "ann\\x.json')",
        "see file://" + "/ho" + "me/ann/notes.md",
    ],
)
def test_the_guard_sees_each_kind_of_outside_path(tmp_path: Path, line: str):
    """Each kind of line that started this is caught, with its file and line (so the guard above can fail)."""
    file = tmp_path / "doc.md"
    file.write_text(f"intro\n{line}\n")
    hits = outside_references(file, tmp_path)
    assert len(hits) == 1 and hits[0].startswith("doc.md:2: "), (line, hits)


@pytest.mark.parametrize(
    "line",
    [
        "GET /api/v1/groups/{groupId}/users",
        "https://developer.okta.com/docs/work/home/",
        "linkUrl: https://{yourOktaDomain}/home/google/0oa3omz2i9XRNSRIHBZO/50",
        "WORKDIR /opt/airflow",
        "tests/scenarios/examples/first-sync.json",
        "a network/work/ folder inside the repo",
    ],
)
def test_the_guard_leaves_paths_inside_the_repository_and_urls_alone(tmp_path: Path, line: str):
    file = tmp_path / "doc.md"
    file.write_text(line + "\n")
    assert outside_references(file, tmp_path) == []


def test_binary_files_are_skipped(tmp_path: Path):
    """A PNG's bytes may spell anything; only text files are read."""
    image = tmp_path / "shot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\0\0" + b"/wo" + b"rk/shared\n")
    text = tmp_path / "shot.txt"
    text.write_bytes(b"/wo" + b"rk/shared\n")
    assert outside_references(image, tmp_path) == [] and len(outside_references(text, tmp_path)) == 1


# -- the vendored files ------------------------------------------------------------------------

VENDOR_README = REPO / "tests" / "vendor" / "README.md"


def test_the_vendored_okta_spec_is_the_file_its_readme_names():
    head = okta_spec.VENDORED_SPEC.read_text()[:2000]
    version = re.search(r"^  version: (\S+)$", head, re.M)
    licence = re.search(r"^  license:\n    name: (\S+)$", head, re.M)
    assert version and licence, f"{okta_spec.VENDORED_SPEC}: no info.version / info.license in its head"
    row = next(line for line in VENDOR_README.read_text().splitlines() if okta_spec.SPEC_NAME in line)
    assert f"| {version.group(1)} (`info.version`) |" in row, (version.group(1), row)
    assert f"| {licence.group(1)} (`info.license`)" in row, (licence.group(1), row)
    assert licence.group(1) == "Apache-2.0"
    assert "Apache License" in (okta_spec.VENDORED_SPEC.parent / "LICENSE-2.0.txt").read_text()[:200]
    digest = hashlib.sha256(okta_spec.VENDORED_SPEC.read_bytes()).hexdigest()
    assert f"sha256 `{digest}`" in VENDOR_README.read_text(), f"{okta_spec.VENDORED_SPEC} changed: its sha256 is now {digest}"


def test_the_okta_spec_is_found_in_the_repository_by_default(monkeypatch):
    monkeypatch.delenv("OKTA_OPENAPI_SPEC", raising=False)
    path = okta_spec.spec_path()
    assert path == REPO / "tests" / "vendor" / "okta" / okta_spec.SPEC_NAME and path.is_file()


def test_a_missing_okta_spec_names_the_path_and_the_fix(monkeypatch, tmp_path: Path):
    missing = tmp_path / "nowhere" / okta_spec.SPEC_NAME
    monkeypatch.setenv("OKTA_OPENAPI_SPEC", str(missing))
    with pytest.raises(FileNotFoundError) as error:
        okta_spec.spec_path()
    assert str(missing) in str(error.value) and "OKTA_OPENAPI_SPEC" in str(error.value)
    assert str(okta_spec.VENDORED_SPEC) in str(error.value)  # the fix: unset it to use the repository's copy


def test_the_scenario_format_examples_are_in_the_repository():
    examples = sorted((REPO / "tests" / "scenarios" / "examples").glob("*.json"))
    assert [p.stem for p in examples] == ["first-sync", "leaver-assets", "mass-deletion-held"]
    assert os.path.exists(REPO / "docs" / "scenario-format.md")
