#!/usr/bin/env bash
# Builds the virtualenv with the real AstrBot (Python 3.12) for the AstrBot plugin tests and caches it.
# The venv is rebuilt only when requirements.txt changes (its hash is kept in the venv).
# Usage: tests/astrbot_env/build.sh   (PYTHON312=/path/to/python3.12 to choose the interpreter)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LLM2PIC_ASTRBOT_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/llm2pic/astrbot}"
req="$here/requirements.txt"

python="${PYTHON312:-}"
if [ -z "$python" ]; then
  for candidate in python3.12 "$HOME/.pyenv/versions/3.12"*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do
    # (a pyenv shim may exist and still fail, so the interpreter has to answer)
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
      python="$candidate"; break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "astrbot env: no Python 3.12 found (AstrBot 4.x needs >= 3.12); set PYTHON312" >&2
  exit 1
fi

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$want" ]; then
  echo "astrbot env: cached at $venv"
  exit 0
fi
echo "astrbot env: building $venv with $python"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" 2>&1 | { grep -v "^WARNING: Location" || true; }
# (importing astrbot.core creates data/ under its root: the venv, not the current directory)
ASTRBOT_ROOT="$venv" "$venv/bin/python" - <<'PY'
from importlib.metadata import version
import astrbot.api, astrbot.core.star.star_manager  # noqa: F401,E401  (the plugin API and its loader)
import certifi, httpx, PIL, pydantic, websockets  # noqa: F401,E401  (the plugin's requirements.txt)
print("astrbot", version("astrbot"), "ok")
PY
echo "$want" > "$venv/.requirements-sha256"
