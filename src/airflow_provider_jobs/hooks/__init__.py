"""Hooks of airflow-provider-jobs."""
