"""Notifications of airflow-provider-jobs."""
