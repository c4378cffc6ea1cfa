#!/usr/bin/env bash
# Builds the virtualenvs that run the LLM2Pic Space app (space/app.py) in the tests: torch (CPU),
# diffusers, transformers and one Gradio major version each, cached under
# ~/.cache/llm2pic/space-env-<gradio major>. A venv is rebuilt only when its requirements file
# changes (its hash is kept in the venv).
# Usage: tests/space_env/build.sh [6 5]   (default: both); prints nothing but progress.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${LLM2PIC_SPACE_ENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/llm2pic}"
python="${PYTHON:-python3}"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(6 5)
mkdir -p "$cache"
for v in "${versions[@]}"; do
  req="$here/requirements-$v.txt"
  venv="$cache/space-env-$v"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$want" ]; then
    echo "space env $v: cached at $venv"
    continue
  fi
  echo "space env $v: building $venv"
  started=$SECONDS
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" 2>&1 | { grep -v "^WARNING: Location" || true; }
  "$venv/bin/python" -c 'import torch, diffusers, transformers, gradio
print("space env: torch", torch.__version__, "diffusers", diffusers.__version__,
      "transformers", transformers.__version__, "gradio", gradio.__version__, "ok")'
  echo "space env $v: built in $((SECONDS - started)) s, $(du -sh "$venv" | cut -f1)"
  echo "$want" > "$venv/.requirements-sha256"
done
