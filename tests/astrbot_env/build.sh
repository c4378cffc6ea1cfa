#!/usr/bin/env bash
# Builds the virtualenv with the real AstrBot (Python 3.12) for the AstrBot plugin tests and caches it.
# The venv is rebuilt only when requirements.txt changes (its hash is kept in the venv).
# Usage: tests/astrbot_env/build.sh   (PYTHON312=/path/to/python3.12 to choose the interpreter)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LLM2PIC_ASTRBOT_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/llm2pic/astrbot}"
req="$here/requirements.txt"

. "$here/../py312_venv.sh"
build_py312_venv "astrbot env" "$venv" "$req" "AstrBot 4.x needs >= 3.12"
[ "$venv_fresh" = yes ] || exit 0
# (importing astrbot.core creates data/ under its root: the venv, not the current directory)
ASTRBOT_ROOT="$venv" "$venv/bin/python" - <<'PY'
from importlib.metadata import version
import astrbot.api, astrbot.core.star.star_manager  # noqa: F401,E401  (the plugin API and its loader)
import certifi, httpx, PIL, pydantic, websockets  # noqa: F401,E401  (the plugin's requirements.txt)
print("astrbot", version("astrbot"), "ok")
PY
mark_py312_venv_built "$venv" "$req"
