"""Apache Airflow 3 provider for remote jobs: Apify actor runs and builds, Nullspace template builds.

The package root imports nothing from Airflow, so that ``get_provider_info`` and the bundled
emulator stay cheap to import.
"""

from airflow_provider_jobs._version import __version__

__all__ = ["__version__"]
