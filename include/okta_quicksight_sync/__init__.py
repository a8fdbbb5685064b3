"""The Okta -> QuickSight sync core: read, plan, apply, report.

Plain Python: nothing in this package imports Airflow. Adapters take the
clients they talk through (the Okta hook, boto3 QuickSight clients).
"""
