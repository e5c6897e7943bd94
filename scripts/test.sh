#!/usr/bin/env bash
# Run the whole test suite: sets up .venv (pinned constraints) on first use, then pytest on the newest
# supported Airflow; then, with no arguments, the unit and dag.test() suites again on the lowest supported
# Airflow (scripts/test-lowest.sh, its own .venv-lowest). Extra arguments go to pytest and run the main
# suite only; TEST_LOWEST=0 skips the lowest-Airflow run. Exit code 5 (no tests collected) is a failure,
# like any non-zero, and the lowest run still happens when the main one failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
# Two workers by default (CI has 2 cores; the DAG-run tests wait on subprocesses); the live-stack
# tests share one worker (xdist_group). PYTEST_WORKERS=0 runs everything in this process.
lowest_wanted=0
if [ "$#" -eq 0 ] && [ "${TEST_LOWEST:-1}" != 0 ]; then
  lowest_wanted=1
  # .venv-lowest is made (pip, mostly waiting on downloads; niced) while the main suite runs; its log is shown after.
  setup_log="$(mktemp)"
  LOWEST_SETUP_ONLY=1 nice -n 10 bash "$ROOT/scripts/test-lowest.sh" > "$setup_log" 2>&1 &
  setup_pid=$!
fi
main=0
python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@" || main=$?
lowest=0
if [ "$lowest_wanted" = 1 ]; then
  setup=0
  wait "$setup_pid" || setup=$?
  cat "$setup_log" && rm -f "$setup_log"
  if [ "$setup" -ne 0 ]; then
    echo ">> setting up the lowest supported Airflow failed (exit $setup)" >&2
    lowest=$setup
  else
    bash "$ROOT/scripts/test-lowest.sh" || lowest=$?
  fi
  echo ">> main suite (newest Airflow): exit $main; lowest supported Airflow: exit $lowest"
fi
[ "$main" -eq 0 ] && [ "$lowest" -eq 0 ] || exit $(( main != 0 ? main : lowest ))
