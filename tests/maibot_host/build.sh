#!/usr/bin/env bash
# Builds the virtualenv with the real MaiBot host (Python 3.12) for the end-to-end test and caches it.
# The venv is rebuilt only when requirements.txt changes (its hash is kept in the venv).
# Usage: tests/maibot_host/build.sh   (PYTHON312=/path/to/python3.12 to choose the interpreter)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LLM2PIC_MAIBOT_HOST_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/llm2pic/maibot-host}"
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
  echo "maibot host: no Python 3.12 found (MaiBot 1.3.15 needs it); set PYTHON312" >&2
  exit 1
fi

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$want" ]; then
  echo "maibot host: cached at $venv"
  exit 0
fi
echo "maibot host: building $venv with $python"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" 2>&1 | { grep -v "^WARNING: Location" || true; }
"$venv/bin/python" - <<'PY'
from importlib.metadata import version
from importlib.util import find_spec
import maibot_sdk, httpx, PIL, pydantic, tomli_w  # noqa: F401,E401  (SDK and our plugin's runtime deps)
assert find_spec("src.runtime"), "the host's entry module src.runtime is missing"
print("maibot", version("maibot"), "sdk", version("maibot-plugin-sdk"), "ok")
PY
echo "$want" > "$venv/.requirements-sha256"
