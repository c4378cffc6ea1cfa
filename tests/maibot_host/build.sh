#!/usr/bin/env bash
# Builds the virtualenv with the real MaiBot host (Python 3.12) for the end-to-end test and caches it.
# The venv is rebuilt only when requirements.txt changes (its hash is kept in the venv).
# Usage: tests/maibot_host/build.sh   (PYTHON312=/path/to/python3.12 to choose the interpreter)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LLM2PIC_MAIBOT_HOST_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/llm2pic/maibot-host}"
req="$here/requirements.txt"

. "$here/../py312_venv.sh"
build_py312_venv "maibot host" "$venv" "$req" "MaiBot 1.3.15 needs it"
[ "$venv_fresh" = yes ] || exit 0
"$venv/bin/python" - <<'PY'
from importlib.metadata import version
from importlib.util import find_spec
import maibot_sdk, httpx, PIL, pydantic, tomli_w  # noqa: F401,E401  (SDK and our plugin's runtime deps)
assert find_spec("src.runtime"), "the host's entry module src.runtime is missing"
print("maibot", version("maibot"), "sdk", version("maibot-plugin-sdk"), "ok")
PY
mark_py312_venv_built "$venv" "$req"
