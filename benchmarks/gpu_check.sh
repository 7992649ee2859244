#!/usr/bin/env bash
# The whole GPU check in under 5 minutes, offline: generates the images, runs the model,
# embedder and end-to-end ingest benchmarks (benchmarks/gpu_bench.py) and prints ONE JSON line
# on stdout (progress on stderr). Needs PyTorch, transformers and Pillow on the machine; the
# other packages vitrieve imports travel with the tree as wheels in .whl/ (made by
# benchmarks/gpu_wheels.sh where there is network), installed here without network. faiss is
# optional: without it the index check is skipped, with faiss-gpu it is run on the GPU.
# Without CUDA it is a dry run (tiny, CPU, Pillow standing in for nvJPEG).
#
# Usage: bash benchmarks/gpu_check.sh [gpu_bench args, e.g. --n 12288 --dry-run]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${PYTHON:-}" ]; then
    py=$PYTHON
elif [ -x .venv/bin/python ]; then
    py=.venv/bin/python
else
    py=python3
fi

if compgen -G ".whl/*.whl" >/dev/null; then
    site=${VITRIEVE_WHEEL_SITE:-/tmp/vitrieve-site}
    if [ ! -f "$site/.installed" ]; then
        echo "gpu_check: installing $(ls .whl/*.whl | wc -l) carried wheels into $site" >&2
        "$py" -m pip install --quiet --no-index --no-deps --disable-pip-version-check \
            --target "$site" .whl/*.whl >&2
        touch "$site/.installed"
    fi
    # appended after the machine's own site-packages (gpu_bench.py reads it): the machine's
    # torch/transformers/numpy/Pillow win over anything carried
    export VITRIEVE_EXTRA_SITE="$site"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "$py" -m benchmarks.gpu_bench "$@"
