#!/usr/bin/env bash
# Builds .venv from nothing: torch's CPU build first (so no dependency pulls a CUDA
# build), then every other dependency at the version pinned in requirements.lock (the lock the
# Docker image installs from too; scripts/lock.sh makes it), then the project itself.
# Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip setuptools wheel
# torch: on Linux PyPI's torch is the multi-GB CUDA build, so unless a GPU build is wanted
# (VITRIEVE_TORCH=cuda, or auto with a working nvidia-smi) it comes from PyTorch's CPU wheel
# index. pip still looks in the configured find-links and extra indexes, so a machine whose CPU
# wheel lies on disk (and cannot reach that index) installs the same build.
torch_version=${VITRIEVE_TORCH_VERSION:-2.13.0}
torch_build=${VITRIEVE_TORCH:-auto}
if [ "$torch_build" = auto ]; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        torch_build=cuda
    else
        torch_build=cpu
    fi
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    case "$torch_build" in
        cpu)
            echo "setup.sh: installing torch $torch_version, CPU build (PyTorch's CPU index)" >&2
            "${PIP[@]}" install --retries 1 --timeout 20 \
                --index-url "${VITRIEVE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" \
                "torch==$torch_version"
            ;;
        cuda)
            echo "setup.sh: installing torch $torch_version, CUDA build (PyPI)" >&2
            "${PIP[@]}" install "torch==$torch_version"
            ;;
        *)
            echo "setup.sh: VITRIEVE_TORCH must be auto, cpu or cuda, not '$torch_build'" >&2
            exit 2
            ;;
    esac
fi
.venv/bin/python -c "import torch; print('setup.sh: torch', torch.__version__, \
'(CUDA ' + torch.version.cuda + ' build)' if torch.version.cuda else '(CPU build)')" >&2
# The lock pins every runtime, postgres, modelscope and dev dependency (torch aside). The default,
# the dev extra, is exactly the lock; any other extras (gpu: torchvision, which is not in the
# lock) are resolved with the lock's pins as constraints and the installed torch kept.
lock=requirements.lock
extras=${VITRIEVE_EXTRAS:-dev}
if [ "$extras" = dev ]; then
    "${PIP[@]}" install -r "$lock"
    "${PIP[@]}" install --no-deps -e .
    # imagededup, for tests/api/test_imagededup.py only (its hash methods against
    # `to_imagededup()`), without its dependencies: it requires PyPI's torchvision, which does not
    # import beside the CPU torch; the hash methods need only PyWavelets beside the lock.
    "${PIP[@]}" install --no-deps imagededup==0.3.3.post2 PyWavelets==1.9.0
else
    "${PIP[@]}" install -c "$lock" "torch==$torch_version" -e ".[${extras}]"
fi
echo "vitrieve installed in .venv ($(.venv/bin/vitrieve --version 2>/dev/null || echo 'cli pending'))"
