#!/usr/bin/env bash
# The lowest supported Airflow: make .venv-lowest with the Airflow floor declared in pyproject.toml
# (apache-airflow>=X) and its pinned constraints (constraints/constraints-lowest-<python>.txt), then run
# tests/unit and tests/e2e (the dag.test() runs) there. scripts/test.sh runs this after the main suite.
#
# Python: the oldest one the package supports (3.10) where the machine has it, else the main suite's
# (3.11); LOWEST_PYTHON=/path/to/python picks one. Extra arguments go to pytest (default: the two
# folders above); LOWEST_SETUP_ONLY=1 only makes .venv-lowest (scripts/test.sh does that while the main
# suite runs). LOWEST_RESOLVE=1 resolves afresh (under constraints/lowest-caps.txt only) and rewrites
# the constraints file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/_venv.sh"
FLOOR="$(sed -n 's/^ *"apache-airflow>=\([0-9][0-9.]*\)[,"].*/\1/p' pyproject.toml)"
[ -n "$FLOOR" ] || { echo "error: no apache-airflow>=X floor in pyproject.toml" >&2; exit 2; }
PY="${LOWEST_PYTHON:-}"
if [ -z "$PY" ]; then
  PY="$(find_python 10 python3.10 "${PYENV_ROOT:-$HOME/.pyenv}/versions/3.10*/bin/python3.10" \
    /usr/bin/python3.10 python3.11 python3)" || { echo "error: Python >= 3.10 is needed" >&2; exit 2; }
fi
PYVER="$(py_version "$PY")"
VENV="$ROOT/.venv-lowest"
CONSTRAINTS="$ROOT/constraints/constraints-lowest-$PYVER.txt"
# wtforms: Airflow 3.0/3.1 build a provider's connection form only where it is installed (the FAB
# provider brings it in a real deployment); the form tests need it.
PACKAGES=(-e ".[test]" "apache-airflow==$FLOOR" "wtforms>=3")
if [ "${LOWEST_RESOLVE:-0}" = 1 ]; then
  rm -rf "$VENV"
  ensure_venv "$VENV" "$PY" "$ROOT/constraints/lowest-caps.txt" "${PACKAGES[@]}"
  {
    echo "# Pinned versions for the lowest supported Airflow ($FLOOR) on Python $PYVER, used by scripts/test-lowest.sh."
    echo "# Resolved by pip under constraints/lowest-caps.txt (Airflow's own constraints files are not"
    echo "# reachable from CI). Regenerate with: LOWEST_RESOLVE=1 bash scripts/test-lowest.sh"
    "$VENV/bin/python" -m pip freeze --exclude-editable | grep -v '^airflow-provider-jobs'
  } > "$CONSTRAINTS"
  echo ">> wrote $CONSTRAINTS"
  rm -f "$VENV/.installed"
fi
ensure_venv "$VENV" "$PY" "$CONSTRAINTS" "${PACKAGES[@]}"
[ "${LOWEST_SETUP_ONLY:-0}" = 1 ] && exit 0
echo ">> lowest supported Airflow: $("$VENV/bin/python" -c 'import airflow; print(airflow.__version__)') on Python $PYVER"
if [ "$#" -eq 0 ]; then
  set -- tests/unit tests/e2e --ignore=tests/unit/test_static_checks.py  # ruff/mypy judge the source once, in .venv
fi
# -p no:cacheprovider: the main suite owns .pytest_cache (last-failed must not mix the two runs)
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
