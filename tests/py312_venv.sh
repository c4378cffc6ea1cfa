# Sourced by the build scripts of the Python 3.12 test environments (the MaiBot host, AstrBot): finds a
# Python 3.12 and (re)builds a venv from a requirements file, cached until that file changes (its hash
# is kept in the venv). After `build_py312_venv LABEL VENV REQUIREMENTS WHY`, $venv_fresh says whether
# it was just built (the caller then checks it and calls `mark_py312_venv_built`).
# PYTHON312=/path/to/python3.12 chooses the interpreter.

find_python312() {
  if [ -n "${PYTHON312:-}" ]; then echo "$PYTHON312"; return; fi
  for candidate in python3.12 "$HOME/.pyenv/versions/3.12"*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do
    # (a pyenv shim may exist and still fail, so the interpreter has to answer)
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
      echo "$candidate"; return
    fi
  done
}

build_py312_venv() {
  local label="$1" venv="$2" req="$3" why="$4" python want
  python="$(find_python312)"
  if [ -z "$python" ]; then
    echo "$label: no Python 3.12 found ($why); set PYTHON312" >&2
    exit 1
  fi
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  venv_fresh=no
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$want" ]; then
    echo "$label: cached at $venv"
    return
  fi
  echo "$label: building $venv with $python"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" 2>&1 | { grep -v "^WARNING: Location" || true; }
  venv_fresh=yes
}

mark_py312_venv_built() {  # VENV REQUIREMENTS: after the caller's check passed
  sha256sum "$2" | cut -d' ' -f1 > "$1/.requirements-sha256"
}
