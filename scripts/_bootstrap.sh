# Sourced by scripts/test.sh and scripts/demo.sh: make .venv and install the project with pinned
# constraints, once. Re-installs only when pyproject.toml or the constraints file changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.10 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "error: Python >= 3.10 is needed (3.11 recommended)" >&2; exit 2; }
PYVER="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
VENV="$ROOT/.venv"
CONSTRAINTS="$ROOT/constraints/constraints-$PYVER.txt"
stamp_src="$(cat pyproject.toml "$CONSTRAINTS" 2>/dev/null | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$stamp_src" ]; then
  echo ">> setting up $VENV with $PY ($PYVER)"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip>=25.1"  # 25.1: --group (PEP 735)
  if [ -f "$CONSTRAINTS" ]; then
    PIP_CONSTRAINT="$CONSTRAINTS" "$VENV/bin/python" -m pip install --quiet -e ".[test]" --group dev
  else
    echo ">> no pinned constraints for Python $PYVER; installing the newest compatible versions"
    "$VENV/bin/python" -m pip install --quiet -e ".[test]" --group dev
  fi
  echo "$stamp_src" > "$VENV/.installed"
fi
export PATH="$VENV/bin:$PATH"
