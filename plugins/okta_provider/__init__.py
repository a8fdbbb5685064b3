"""The Okta side of the sync: a plain HTTP client for Okta's management API
(`client`, with `auth` for SSWS and OAuth), its errors (`errors`), and the
Airflow hook that builds the client from an `okta` connection (`hooks.okta`,
laid out like Airflow's own providers).

This package is also a tiny Airflow provider distribution
(`airflow-provider-okta-sync`): `get_provider_info.get_provider_info` declares the
`okta` connection type and its form in the Airflow UI.
"""
