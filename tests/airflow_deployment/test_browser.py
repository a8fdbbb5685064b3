"""A person's path through the Airflow UI: log in, open the trigger form, set dry_run, trigger, see success;
answer held deletions (Reject, then Approve) on the approval page and see each outcome as its run's note.

Headless Chromium (Debian's ``chromium`` package) driven by Playwright with
its executable path set; Playwright's own browser downloads are never used.
The form's screenshot is saved to docs/img/trigger-form.png, which
docs/operating.md shows (when missing, or with OKTA_QS_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "trigger-form.png"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
DAG_ID = "okta_quicksight_sync"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _logged_in_page(deployment, browser):
    base = deployment.airflow.api_url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"{base}/")
    page.wait_for_url(re.compile(r"/auth/login"))  # the UI sends a visitor without a session to log in
    page.fill("input[name=username]", deployment.airflow.user)
    page.fill("input[name=password]", deployment.airflow.password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))
    return page


def test_log_in_trigger_a_dry_run_from_the_form_and_see_it_succeed(deployment, browser, tmp_path):
    target = deployment.targets[DAG_ID]
    base = deployment.airflow.api_url
    before = target.quicksight.dump()
    page = _logged_in_page(deployment, browser)

    page.goto(f"{base}/dags/{DAG_ID}", wait_until="networkidle")
    page.get_by_role("button", name="Trigger Dag").click()
    form = page.get_by_role("dialog")
    form.get_by_text("Run Parameters").wait_for()
    dry_run = form.locator('[id="switch:element_dry_run"]')
    assert dry_run.get_attribute("data-state") == "unchecked"  # the Param's default
    dry_run.click()
    assert dry_run.get_attribute("data-state") == "checked"
    assert form.locator('[id="switch:element_allow_deletions"]').get_attribute("data-state") == "unchecked"
    # The incremental and on-demand parameters, by their titles.
    lines = form.inner_text().splitlines()
    assert "Mode" in lines and "Only these people" in lines, lines
    shot = tmp_path / "trigger-form.png"
    form.screenshot(path=str(shot))

    with page.expect_response(lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns") and r.request.method == "POST") as sent:
        form.get_by_role("button", name="Trigger", exact=True).click()
    assert sent.value.status == 200
    assert sent.value.request.post_data_json["conf"] == {"dry_run": True, "allow_deletions": False,
                                                         "mode": "full", "only_users": []}
    run_id = sent.value.json()["dag_run_id"]

    # The UI opens the new run; once it finished, the run's header shows Success.
    page.wait_for_url(re.compile(re.escape(f"/dags/{DAG_ID}/runs/")))
    run = deployment.api.wait_for_run(DAG_ID, run_id)
    assert run["state"] == "success"
    page.reload(wait_until="networkidle")
    header = page.locator("div", has=page.get_by_role("heading", name=run_id)).last
    header.get_by_text("Success", exact=True).wait_for()
    assert deployment.api.xcom(DAG_ID, run_id, "report")["dry_run"] is True
    assert target.quicksight.writes() == []
    assert target.quicksight.dump() == before

    # The committed copy changes only when asked (it shows a timestamp, so it differs every run).
    if not SCREENSHOT.exists() or os.environ.get("OKTA_QS_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def _answer_in_the_ui(page, base: str, dag_id: str, run_id: str, option: str) -> None:
    """Open the run's approval page, read it, click the option."""
    page.goto(f"{base}/dags/{dag_id}/runs/{run_id}/tasks/approve_deletions/required_actions", wait_until="networkidle")
    page.get_by_text("wait for your approval").first.wait_for()  # the approval page's first line
    page.get_by_text("Users to delete").first.wait_for()
    page.get_by_role("button", name=option, exact=True).click()


def test_reject_then_approve_held_deletions_in_the_ui_and_each_run_says_which(deployment, browser):
    dag_id = "deploy_browser_approval"
    target = deployment.targets[dag_id]
    api, base = deployment.api, deployment.airflow.api_url
    page = _logged_in_page(deployment, browser)
    notes = []
    for option in ("Reject", "Approve"):
        run_id = api.trigger(dag_id, {"dry_run": False, "allow_deletions": False})
        api.wait_for_task(dag_id, run_id, "approve_deletions", ("awaiting_input",))
        count = api.xcom(dag_id, run_id, "plan_sync", "deletions")["count"]
        _answer_in_the_ui(page, base, dag_id, run_id, option)
        assert api.wait_for_run(dag_id, run_id)["state"] == "success"
        user = deployment.airflow.user
        expected = (f"rejected by {user}: {count} deletions not applied" if option == "Reject"
                    else f"approved by {user}: {count} deleted")
        for _ in range(30):  # the listener sets it as the run ends
            if api.run(dag_id, run_id).get("note") == expected:
                break
            page.wait_for_timeout(1000)
        assert api.run(dag_id, run_id).get("note") == expected
        notes.append((run_id, expected))
        deleted = [w for w in target.quicksight.writes() if w[2] == "DeleteUser"]
        assert (deleted == []) if option == "Reject" else (len(deleted) == count)

    # Airflow 3.3's runs list has no note column (its grid marks runs that have a note); each run's
    # page shows the note, so a person tells the rejected run from the approved one there.
    for run_id, note in notes:
        page.goto(f"{base}/dags/{dag_id}/runs/{run_id}", wait_until="networkidle")
        page.get_by_text(note).first.wait_for()
    assert notes[0][1] != notes[1][1]
