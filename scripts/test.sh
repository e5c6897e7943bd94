#!/usr/bin/env bash
# Run the whole test suite: sets up .venv (pinned constraints) on first use, then pytest.
# Extra arguments go to pytest. Exit code 5 (no tests collected) is a failure, like any non-zero.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
python -m pytest "$@"
