#!/usr/bin/env bash
# Builds the virtualenv with the real LiteLLM proxy for the relay tests and caches it.
# The venv is rebuilt only when requirements.txt changes (its hash is kept in the venv).
# Usage: tests/litellm_env/build.sh   (LLM2PIC_LITELLM_ENV=/path to build elsewhere)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LLM2PIC_LITELLM_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/llm2pic/litellm}"
req="$here/requirements.txt"
python="${PYTHON:-python3}"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$want" ]; then
  echo "litellm: cached at $venv"
  exit 0
fi
echo "litellm: building $venv"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" 2>&1 | { grep -v "^WARNING: Location" || true; }
LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False "$venv/bin/python" - <<'PY'
from importlib.metadata import version
import litellm.proxy.proxy_server  # noqa: F401  (the proxy's own imports: fastapi, uvicorn, ...)
print("litellm", version("litellm"), "ok")
PY
echo "$want" > "$venv/.requirements-sha256"
