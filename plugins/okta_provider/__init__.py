"""The Okta side of the sync: a plain HTTP client for Okta's management API
(`okta_client`), its errors (`okta_errors`), and the Airflow hook that builds
the client from an `okta` connection (`okta_hook`).

This package is also a tiny Airflow provider distribution
(`airflow-provider-okta-sync`): `provider_info.get_provider_info` declares the
`okta` connection type and its form in the Airflow UI.
"""
