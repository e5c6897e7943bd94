# Sourced by scripts/test.sh, scripts/demo.sh and scripts/reliability.sh: make .venv with the newest
# supported Airflow and the project (`.[test]` and the dev group) under the pinned constraints, once.
# Re-installs only when pyproject.toml or the constraints file changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/_venv.sh"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  PY="$(find_python 10 python3.11 python3.12 python3.10 python3)" || {
    echo "error: Python >= 3.10 is needed (3.11 recommended)" >&2
    exit 2
  }
fi
PYVER="$(py_version "$PY")"
VENV="$ROOT/.venv"
ensure_venv "$VENV" "$PY" "$ROOT/constraints/constraints-$PYVER.txt" -e ".[test]" --group dev --group live
export PATH="$VENV/bin:$PATH"
