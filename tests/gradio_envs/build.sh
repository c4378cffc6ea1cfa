#!/usr/bin/env bash
# Builds one virtualenv per Gradio major version for the conformance tests and caches it.
# A venv is rebuilt only when its requirements file changes (its hash is kept in the venv).
# Usage: tests/gradio_envs/build.sh [3 4 5 6]   (default: all); prints nothing but progress.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${LLM2PIC_GRADIO_ENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/llm2pic/gradio-envs}"
python="${PYTHON:-python3}"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3 4 5 6)
mkdir -p "$cache"
for v in "${versions[@]}"; do
  req="$here/requirements-$v.txt"
  venv="$cache/gradio-$v"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$want" ]; then
    echo "gradio $v: cached at $venv"
    continue
  fi
  echo "gradio $v: building $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" 2>&1 | { grep -v "^WARNING: Location" || true; }
  "$venv/bin/python" -c 'import gradio; print("gradio", gradio.__version__, "ok")'
  echo "$want" > "$venv/.requirements-sha256"
done
