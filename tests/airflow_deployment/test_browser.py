"""A person's path through the Airflow UI: log in, open the trigger form, set dry_run, trigger, see success.

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


def test_log_in_trigger_a_dry_run_from_the_form_and_see_it_succeed(deployment, browser, tmp_path):
    target = deployment.targets[DAG_ID]
    base = deployment.airflow.api_url
    before = target.quicksight.dump()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)

    page.goto(f"{base}/")
    page.wait_for_url(re.compile(r"/auth/login"))  # the UI sends a visitor without a session to log in
    page.fill("input[name=username]", deployment.airflow.user)
    page.fill("input[name=password]", deployment.airflow.password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))

    page.goto(f"{base}/dags/{DAG_ID}", wait_until="networkidle")
    page.get_by_role("button", name="Trigger Dag").click()
    form = page.get_by_role("dialog")
    form.get_by_text("Run Parameters").wait_for()
    dry_run = form.locator('[id="switch:element_dry_run"]')
    assert dry_run.get_attribute("data-state") == "unchecked"  # the Param's default
    dry_run.click()
    assert dry_run.get_attribute("data-state") == "checked"
    assert form.locator('[id="switch:element_allow_deletions"]').get_attribute("data-state") == "unchecked"
    shot = tmp_path / "trigger-form.png"
    form.screenshot(path=str(shot))

    with page.expect_response(lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns") and r.request.method == "POST") as sent:
        form.get_by_role("button", name="Trigger", exact=True).click()
    assert sent.value.status == 200
    assert sent.value.request.post_data_json["conf"] == {"dry_run": True, "allow_deletions": False}
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
