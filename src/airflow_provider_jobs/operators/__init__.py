"""Operators of airflow-provider-jobs."""
