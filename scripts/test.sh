#!/usr/bin/env bash
# Run the whole test suite: sets up .venv (pinned constraints) on first use, then pytest.
# Extra arguments go to pytest. Exit code 5 (no tests collected) is a failure, like any non-zero.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
# Two workers by default (CI has 2 cores; the DAG-run tests wait on subprocesses); the live-stack
# tests share one worker (xdist_group). PYTEST_WORKERS=0 runs everything in this process.
python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
