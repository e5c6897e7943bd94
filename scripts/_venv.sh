# Sourced by scripts/_bootstrap.sh and scripts/test-lowest.sh: find a Python, and make a venv with the
# project installed under a pinned constraints file, re-installing only when the inputs changed.

# find_python MIN_MINOR CANDIDATE...: print the first candidate that runs as CPython 3.MIN_MINOR or newer.
# A candidate is a command name or a glob of paths (pyenv shims may exist for versions not installed).
find_python() {
  local min="$1" cand path
  shift
  for cand in "$@"; do
    for path in $cand; do
      if { command -v "$path" >/dev/null 2>&1 || [ -x "$path" ]; } &&
        "$path" -c "import sys; sys.exit(0 if sys.version_info[:2] >= (3, $min) else 1)" >/dev/null 2>&1; then
        echo "$path"
        return 0
      fi
    done
  done
  return 1
}

# py_version PYTHON: print "3.X".
py_version() {
  "$1" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'
}

# ensure_venv VENV PYTHON CONSTRAINTS PIP_ARGS...: create VENV with PYTHON and `pip install PIP_ARGS` under
# CONSTRAINTS (unpinned, saying so, if that file does not exist). Skipped when nothing changed since the
# last install (stamp: pyproject.toml, the constraints file and the arguments).
ensure_venv() {
  local venv="$1" py="$2" constraints="$3" stamp
  shift 3
  stamp="$( { cat pyproject.toml "$constraints" 2>/dev/null; echo "$py $*"; } | sha256sum | cut -c1-16)"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  echo ">> setting up $venv with $py ($(py_version "$py"))"
  if [ -x "$venv/bin/python" ] && [ "$(py_version "$venv/bin/python")" != "$(py_version "$py")" ]; then
    rm -rf "$venv"  # made with another Python
  fi
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade "pip>=25.1"  # 25.1: --group (PEP 735)
  if [ -f "$constraints" ]; then
    PIP_CONSTRAINT="$constraints" "$venv/bin/python" -m pip install --quiet "$@"
  else
    echo ">> no pinned constraints file $constraints; installing the newest compatible versions"
    "$venv/bin/python" -m pip install --quiet "$@"
  fi
  echo "$stamp" > "$venv/.installed"
}
