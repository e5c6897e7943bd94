#!/usr/bin/env bash
# The demo: example DAGs run by `airflow dags test` against the bundled emulator, with failures
# injected, and a report of which jobs were started, aborted and cancelled. Sets up .venv first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec python scripts/demo.py "$@"
