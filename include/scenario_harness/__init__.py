"""Scenario files run end to end: local servers seeded from the file, the real DAG
through real Airflow connections, the QuickSight state and the report written back."""
