"""Links of airflow-provider-jobs."""
