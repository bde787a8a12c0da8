#!/usr/bin/env bash
# Installs densevis and everything it needs: Debian packages (graphviz for diagrams, chromium
# for chart export and browser tests) and a Python virtual environment in .venv with the CPU
# build of PyTorch 2.13.0 first, then densevis with its test extras.
# Idempotent: a second run only checks. Usage: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo"; else
    echo "densevis setup: please install the system packages first:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "densevis setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip_install() {  # quiet pip; drops the notes about local package folders that are absent
  .venv/bin/python -m pip -q --disable-pip-version-check install "$@" 2>&1 \
    | { grep -v "^WARNING: Location" || true; }
  return "${PIPESTATUS[0]}"
}
# The CPU build of torch first: the package's own requirement is a range, which would
# otherwise pull a multi-GB CUDA build on a bare machine.
.venv/bin/python -c "import torch" 2>/dev/null || pip_install "torch==2.13.0"
pip_install -e ".[test]"
.venv/bin/python -c "import densevis, streamlit, graphviz, plotly, kaleido, pptx" \
  || { echo "densevis setup: the Python install failed" >&2; exit 1; }
