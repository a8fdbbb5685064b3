"""The thin Airflow glue of the Okta -> QuickSight sync: clients built from
Airflow connections (the Amazon provider's QuickSightHook) and the task
callables. The sync core itself (``okta_quicksight_sync``) imports no Airflow.
"""
