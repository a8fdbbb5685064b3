"""What a run tells the people who run it, so nobody has to read task logs (docs/notifications.md).

- When deletions are held (plan step): the approval page (what would be
  deleted, the assets each departing user owns) as a small XCom the approval
  step shows, and the ``held`` mail.
- When the run is over (report step, before it raises): the report file,
  the metrics, the ``failed`` / ``rejected`` / ``approval_timeout`` mail, and
  the run's one-line note as an XCom the run-notes listener puts on the run.

Each of these is best effort: a mail server or a bucket being down is
logged, never turns a good sync red.
"""

from __future__ import annotations

import logging

from okta_quicksight_sync.asset_handover import AssetHandover
from okta_quicksight_sync.quicksight_transport import QuickSightError
from okta_quicksight_sync.report_text import ASSETS_PER_USER_LIMIT, SECTION_LIMIT, approval_markdown, run_note

from okta_quicksight_airflow import metrics, notifications, report_store

log = logging.getLogger(__name__)

APPROVAL_PAGE_KEY = "approval_page"  # plan_sync's approval page (markdown), when deletions are held
RUN_NOTE_KEY = "run_note"  # the report task's one-line outcome, for the run's note
APPROVAL_TASK = "approve_deletions"


def run_url(dag_id: str, run_id: str, task_id: str | None = None) -> str | None:
    """The run's page in the UI (the approval's Required Actions page with ``task_id``), if the base URL is set."""
    from airflow.sdk.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    if not base:
        return None
    url = f"{base}/dags/{dag_id}/runs/{run_id}"
    return f"{url}/tasks/{task_id}/required_actions" if task_id else url


def departing_assets(handover: AssetHandover, plan: dict, *, users_limit: int = SECTION_LIMIT,
                     assets_limit: int = ASSETS_PER_USER_LIMIT) -> tuple[dict, dict]:
    """(first assets listed, total owned) per departing user, for as many users as the page shows.

    A user whose assets cannot be read is left out: the page says "owned assets not read".
    """
    names = list(plan.get("deprovision") or []) + [r["user_name"] for r in plan.get("recreate") or []]
    assets, totals = {}, {}
    for name in names[:users_limit]:
        try:
            owned = handover.owned_assets(name, limit=assets_limit)
        except QuickSightError as err:
            log.warning("Could not read the assets of %s for the approval page: %s", name, err)
            continue
        assets[name], totals[name] = owned["assets"], owned["total"]
    return assets, totals


def on_held(ti, planned: dict, handover: AssetHandover | None, context: dict | None = None) -> str:
    """Deletions are held: push the approval page and send the ``held`` mail; returns the page."""
    plan = planned["plan"]
    assets, totals = departing_assets(handover, plan) if handover is not None else ({}, {})
    page = approval_markdown(plan, assets, asset_totals=totals)
    ti.xcom_push(key=APPROVAL_PAGE_KEY, value=page)
    dag_id, run_id = ti.dag_id, ti.run_id
    notifications.notify_held(planned["config"], plan, dag_id=dag_id, run_id=run_id, assets=assets,
                              asset_totals=totals, url=run_url(dag_id, run_id, APPROVAL_TASK), context=context)
    return page


def approval_body() -> str:
    """The approval step's text: plan_sync's approval page, else (no page pushed) the deletion summary."""
    from okta_quicksight_airflow.run_bookkeeping import DELETIONS_KEY

    return (
        f"{{{{ ti.xcom_pull(task_ids='plan_sync', key='{APPROVAL_PAGE_KEY}') or "
        f"(ti.xcom_pull(task_ids='plan_sync', key='{DELETIONS_KEY}')['text'] ~ "
        "' Approve to hand over their assets and delete them; reject (or let it time out) to delete nothing.') }}"
    )


def approval_of(ti) -> dict | None:
    """The approval step's answer ({decision, by}, kept by approval_step), or None when no one was asked."""
    return ti.xcom_pull(task_ids=APPROVAL_TASK, key="approval") or None


def after_run(ti, target: dict, report: dict, approval: dict | None, context: dict | None = None) -> str:
    """The run is over: report file, metrics, mails, the note's XCom; returns the note.

    ``target`` is the run's configuration as JSON (``notify``, ``report_path``).
    """
    dag_id, run_id = ti.dag_id, ti.run_id
    note = run_note(report, approval)[:1000]
    ti.xcom_push(key=RUN_NOTE_KEY, value=note)
    try:
        paths = report_store.write_report(report, dag_id=dag_id, run_id=run_id, base=target.get("report_path"),
                                          approval=approval)
        log.info("Report written to %s and %s", paths["json"], paths["markdown"])
    except Exception as exc:  # the report is also the task's XCom; a storage outage must not fail the sync
        log.warning("Could not write the report file under %s: %s", target.get("report_path") or "the default path", exc)
    try:
        metrics.emit_run_metrics(report, dag_id)
    except Exception as exc:  # metrics are for dashboards; never a reason to fail a sync
        log.warning("Could not send the run's metrics: %s", exc)
    notifications.notify_run(target, report, dag_id=dag_id, run_id=run_id, approval=approval,
                             url=run_url(dag_id, run_id), context=context)
    return note
