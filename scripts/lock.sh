#!/usr/bin/env bash
# Regenerates requirements.lock: every runtime, postgres, modelscope and dev dependency pinned,
# resolved by pip-compile (pip-tools, in its own venv from PyPI) for CPython 3.11 on Linux, the
# Python of the Docker image and of CI. torch itself stays out of the lock (scripts/setup.sh and
# the Dockerfile install it first, CPU or CUDA build, at $torch_version below); its dependencies
# are resolved from the CPU wheel (PyTorch's CPU index, or a local copy in pip's find-links), so
# no CUDA package is pinned. Run it after changing a dependency in pyproject.toml, then commit
# requirements.lock; tests/test_lockfile.py checks that the two agree.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
tools=.venv-lock-tools
[ -x "$tools/bin/pip-compile" ] || { "$PYTHON" -m venv "$tools" && "$tools/bin/pip" -q install "pip-tools==7.7.0"; }
torch_version=2.13.0  # the same as scripts/setup.sh and the Dockerfile (tests/test_lockfile.py)
command=(
    pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links
    --unsafe-package torch --unsafe-package vitrieve --upgrade-package "torch==$torch_version"
    --extra-index-url https://download.pytorch.org/whl/cpu
    --output-file requirements.lock pyproject.toml
)
CUSTOM_COMPILE_COMMAND="${command[*]}" "$tools/bin/${command[0]}" "${command[@]:1}"
