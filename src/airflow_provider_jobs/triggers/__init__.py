"""Triggers of airflow-provider-jobs."""
