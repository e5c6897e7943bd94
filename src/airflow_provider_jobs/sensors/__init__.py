"""Sensors of airflow-provider-jobs."""
