#!/usr/bin/env bash
# Prepares .whl/ for benchmarks/gpu_check.sh on a machine WITH network: the wheels of the
# packages vitrieve imports beyond PyTorch, transformers and Pillow (versions pinned to this
# checkout's .venv), for the GPU machine's Python, plus a few real photos (scikit-image's
# samples, one EXIF-rotated) for the GPU-vs-CPU preprocessing cosine. ~40 MB with faiss-cpu
# (the 64 MB carry limit rules out faiss-gpu's 135 MB wheel).
#
# Usage: bash benchmarks/gpu_wheels.sh [python-version, default 3.11] [--no-faiss]
set -euo pipefail
cd "$(dirname "$0")/.."
pyver=${1:-3.11}
pkgs=(sqlalchemy greenlet alembic mako pydantic pydantic-core pydantic-settings python-dotenv
      annotated-types typing-inspection typing-extensions xxhash pillow-heif faiss-cpu packaging)
if [ "${2:-}" = "--no-faiss" ]; then pkgs=("${pkgs[@]/faiss-cpu}"); fi
pins=()
for p in "${pkgs[@]}"; do
    [ -z "$p" ] && continue
    v=$(.venv/bin/python -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$p" 2>/dev/null || true)
    pins+=("${p}${v:+==$v}")
done
mkdir -p .whl/photos
.venv/bin/python -m pip download --quiet --no-deps --only-binary=:all: --dest .whl \
    --python-version "$pyver" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any "${pins[@]}"
.venv/bin/python - <<'PY'
from pathlib import Path
import skimage.data
from PIL import Image
out = Path(".whl/photos")
for i, name in enumerate(("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")):
    exif = Image.Exif()
    if i % 3 == 1:
        exif[0x0112] = 6
    Image.fromarray(getattr(skimage.data, name)()).convert("RGB").save(
        out / f"{name}.jpg", quality=92, exif=exif)
PY
du -sh .whl
