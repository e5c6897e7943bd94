"""Transfer operators: move a service's results to storage."""
