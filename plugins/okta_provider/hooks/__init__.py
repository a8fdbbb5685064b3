"""Airflow hooks of the Okta provider (as in Airflow's own providers: one module per service)."""
