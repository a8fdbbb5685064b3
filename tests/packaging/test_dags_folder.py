"""Airflow puts dags/ on sys.path in every component: a DAG file must not shadow a project package."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_dag_file_shadows_a_package_of_include_or_plugins():
    dag_modules = {p.stem for p in (REPO / "dags").glob("*.py")} | {p.name for p in (REPO / "dags").iterdir() if p.is_dir()}
    packages = {p.name for root in ("include", "plugins") for p in (REPO / root).iterdir() if (p / "__init__.py").exists()}
    assert "okta_quicksight_sync" in packages and dag_modules
    assert dag_modules & packages == set(), "rename these DAG files: Airflow would import them instead of the packages"
