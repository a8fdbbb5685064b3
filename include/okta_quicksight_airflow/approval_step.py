"""The approval step: the standard provider's ApprovalOperator, which also records who answered what.

The report and the run's note say "rejected by alice" or "approval timed
out", so the answer is kept as a small XCom (``approval``: {decision, by})
when the step resumes; the operator's own return value is not relied on
(Airflow 3.3 resumes an answered step from AWAITING_INPUT, and dag.test()
keeps no return value for it).
"""

from __future__ import annotations

from airflow.providers.standard.operators.hitl import ApprovalOperator

from okta_quicksight_airflow.notifications import approval_from_hitl

ANSWER_KEY = "approval"


class DeletionApproval(ApprovalOperator):
    """Approve / Reject held deletions; no answer in time counts as Reject (``defaults``)."""

    def execute_complete(self, context, event):
        if "error" not in event:
            answer = approval_from_hitl({"chosen_options": event.get("chosen_options"),
                                         "responded_by_user": event.get("responded_by_user")})
            context["ti"].xcom_push(key=ANSWER_KEY, value=answer)
        return super().execute_complete(context=context, event=event)
