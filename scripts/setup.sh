#!/usr/bin/env bash
# Builds .venv from nothing: torch's CPU build first (so no dependency pulls a CUDA
# build), then the project with its dev extras. Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip setuptools wheel
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    "${PIP[@]}" install "torch==${VITRIEVE_TORCH_VERSION:-2.13.0}"
fi
extras=${VITRIEVE_EXTRAS:-dev}
"${PIP[@]}" install -e ".[${extras}]"
echo "vitrieve installed in .venv ($(.venv/bin/vitrieve --version 2>/dev/null || echo 'cli pending'))"
