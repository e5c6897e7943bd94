"""Models of airflow-provider-jobs."""
