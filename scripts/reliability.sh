#!/usr/bin/env bash
# Regenerate RELIABILITY.md from real runs: the tests/reliability suite (as CI runs it), the fault and
# kill-path matrices again with slow settings (--repeat N, default 2), and the heavy load script
# (1,000 aborts, 500 triggers). Sets up .venv on first use, like scripts/test.sh. Options go to
# tests/reliability/report.py (--repeat N, --skip-load, --output PATH, --workers N).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
python tests/reliability/report.py "$@"
