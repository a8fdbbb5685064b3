"""Ten rounds of the soak (`make soak` runs 200): random Okta changes, random faults on
both sides, a run, a clean run; every invariant holds and faults really fired."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from soak.report import BEGIN, END, render, write_doc  # noqa: E402
from soak.rounds import run_soak  # noqa: E402


def test_short_soak_keeps_every_invariant(tmp_path):
    stats = run_soak(rounds=10, seed=11)
    assert stats.violations == []
    assert stats.rounds == 10 and stats.runs == 20
    assert stats.clean_runs_failed == 0
    assert sum(stats.faults_injected.values()) >= 5
    assert any(k.startswith("okta") for k in stats.faults_injected)
    assert any(k.startswith("quicksight") for k in stats.faults_injected)
    assert sum(stats.okta_changes.values()) >= 10

    doc = tmp_path / "reliability.md"
    doc.write_text("# Reliability\n\nhand-written part\n\n" + BEGIN + "\nold figures\n" + END + "\n\nmore hand-written\n")
    write_doc(doc, render(stats))
    text = doc.read_text()
    assert "hand-written part" in text and "more hand-written" in text and "old figures" not in text
    assert "| **invariant violations** | **0** |" in text


def test_invariants_catch_each_kind_of_damage():
    """The checker is not vacuous: each kind of damage the soak looks for is reported."""
    import copy

    from soak.oracle import convergence_differences, invariant_violations
    from soak.world import RECIPIENT, initial_scenario

    sc = initial_scenario(n_users=3, n_groups=1, seed=1)
    target, okta = sc["target"], sc["okta"]
    keeper = f"QuickSightReader/{okta['users'][1]['login']}"
    for app_user in okta["app_users"]:
        app_user["saml_roles"] = ["QuickSightAdmin"] if app_user["id"] == "00uadmin" else ["QuickSightReader"]
    before = copy.deepcopy(sc["quicksight"])
    before["users"].append({"user_name": keeper, "email": okta["users"][1]["email"], "role": "READER", "identity_type": "IAM"})
    before["users"].append({"user_name": "QuickSightReader/left@example.com", "email": "l@example.com", "role": "READER", "identity_type": "IAM"})
    before["assets"].append({"type": "dashboard", "id": "left", "region": "us-east-1", "owners": ["QuickSightReader/left@example.com"]})

    damaged = copy.deepcopy(before)
    damaged["users"] = [u for u in damaged["users"] if u["user_name"] not in (keeper, "QuickSightReader/left@example.com")]
    damaged["users"] = [dict(u, role="READER") if u["user_name"] == "analyst" else u for u in damaged["users"]]
    damaged["groups"][0]["members"] = []
    damaged["assets"][-1]["owners"] = []
    found = "\n".join(invariant_violations(target, okta, before, damaged))
    for needle in (f"desired identity {keeper} was deleted", "is not owned by " + RECIPIENT, "lost every owner",
                   "unmanaged user analyst changed", "unmanaged group Finance-Manual: members"):
        assert needle in found, found
    assert any("missing" in d for d in convergence_differences(target, okta, damaged))
