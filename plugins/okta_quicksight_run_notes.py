"""Put each sync run's one-line outcome on the run as its note, so the runs list tells runs apart.

A task cannot set its DAG run's note in Airflow 3 (the Task SDK has no call
for it), so the sync's report task pushes the line as the XCom ``run_note``
and this listener, running where the run's state changes (the scheduler, or
the dag.test() loop) with the DagRun ORM object in its session, copies it to
``dag_run.note`` when the run succeeds or fails. Only runs whose report task
pushed that XCom are touched: other DAGs' runs and their notes are left alone.
A note a person wrote on the run is kept.
"""

from __future__ import annotations

import json
import logging
import sys

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

REPORT_TASK = "report"
RUN_NOTE_KEY = "run_note"  # okta_quicksight_airflow.run_outcome.RUN_NOTE_KEY
NOTE_LIMIT = 1000  # dag_run_note.content is String(1000)


def _note_of(dag_run, session) -> str | None:
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    value = session.scalar(
        select(XComModel.value).where(
            XComModel.dag_id == dag_run.dag_id,
            XComModel.run_id == dag_run.run_id,
            XComModel.task_id == REPORT_TASK,
            XComModel.key == RUN_NOTE_KEY,
            XComModel.map_index == -1,
        )
    )
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    return value if isinstance(value, str) and value else None


def _write_note(dag_run, session) -> None:
    note = _note_of(dag_run, session)
    if note is None:
        return  # not a sync run, or its report task never ran
    current = dag_run.dag_run_note
    if current is not None and current.content and current.user_id is not None:
        return  # a person's note stays
    dag_run.note = note[:NOTE_LIMIT]
    session.flush()


def _set_note(dag_run) -> None:
    """In the scheduler the run is in its session (which holds the run's row lock): write there. Under
    dag.test() the run handed to listeners is detached: write through a session of our own."""
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is not None:
        # Not in a savepoint: releasing one counts as a commit to the scheduler's guard
        # ("UNEXPECTED COMMIT - THIS WILL BREAK HA LOCKS!"), and a session of our own would wait on the
        # run's row lock the scheduler holds. The write is one small row (the note, cut to its column).
        _write_note(dag_run, session)
        return
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as own:
        attached = own.get(DagRun, dag_run.id)
        if attached is not None:
            _write_note(attached, own)


@hookimpl
def on_dag_run_success(dag_run, msg: str) -> None:
    try:
        _set_note(dag_run)
    except Exception:  # a note is a courtesy: never disturb the scheduler over it
        log.exception("Could not set the run note of %s %s", dag_run.dag_id, dag_run.run_id)


@hookimpl
def on_dag_run_failed(dag_run, msg: str) -> None:
    try:
        _set_note(dag_run)
    except Exception:
        log.exception("Could not set the run note of %s %s", dag_run.dag_id, dag_run.run_id)


class OktaQuickSightRunNotes(AirflowPlugin):
    """Registers this module's listener hooks."""

    name = "okta_quicksight_run_notes"
    listeners = [sys.modules[__name__]]
