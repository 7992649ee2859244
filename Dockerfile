# vitrieve, installed for the compose stack (docker-compose.yml) or any single service.
#
#   docker build -t vitrieve:cpu .                          # CPU: torch's CPU build + faiss-cpu
#   docker build -t vitrieve:gpu --build-arg VARIANT=gpu .  # NVIDIA: CUDA torch + faiss-gpu
#
# Every version is pinned: torch at TORCH_VERSION (the CPU variant from PyTorch's CPU wheel
# index, a few hundred MB instead of PyPI's multi-GB CUDA build), everything else from
# requirements.lock, the same lock scripts/setup.sh installs (made by scripts/lock.sh). Only the
# runtime subset of the lock goes in (postgres and modelscope extras, no dev tools).
FROM python:3.11-slim

ARG VARIANT=cpu
# The same as scripts/setup.sh and scripts/lock.sh (tests/test_docker_stack.py checks it).
ARG TORCH_VERSION=2.13.0
ARG TORCH_CPU_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first (the largest layer, cached across code and dependency changes).
RUN case "$VARIANT" in \
        cpu) pip install --index-url "$TORCH_CPU_INDEX_URL" "torch==$TORCH_VERSION" ;; \
        gpu) pip install "torch==$TORCH_VERSION" ;; \
        *) echo "VARIANT must be cpu or gpu, not '$VARIANT'" >&2; exit 2 ;; \
    esac

# The runtime dependencies named by pyproject.toml, at the lock's versions (cached across code
# changes). The GPU variant swaps faiss-cpu for faiss-gpu of the same pinned version.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extra = p['optional-dependencies']; \
print('\n'.join(p['dependencies'] + extra['postgres'] + extra['modelscope']))" > runtime.txt \
    && pip install -c requirements.lock "torch==$TORCH_VERSION" -r runtime.txt \
    && if [ "$VARIANT" = gpu ]; then \
        faiss=$(sed -n 's/^faiss-cpu==//p' requirements.lock) \
        && pip uninstall -y faiss-cpu && pip install "faiss-gpu==$faiss"; \
    fi \
    && rm runtime.txt

COPY README.md ./
COPY indexer ./indexer
COPY search ./search
COPY worker ./worker
COPY ui ./ui
COPY migrations ./migrations
COPY vitrieve ./vitrieve
# pip check: every pin agrees (the GPU variant's faiss-gpu stands in for the declared faiss-cpu).
RUN pip install --no-deps . && if [ "$VARIANT" = cpu ]; then pip check; fi

# Not root: Celery warns about (and some setups refuse) workers running as root. uid 1000 owns
# what vitrieve writes; a writable photo mount must be writable by it (docs/DOCKER.md).
RUN useradd --create-home --uid 1000 vitrieve \
    && mkdir -p /data /models /quarantine \
    && chown vitrieve:vitrieve /data /models /quarantine
USER vitrieve

ENV VITRIEVE_HOME=/data \
    VITRIEVE_HUB_CACHE=/models
VOLUME ["/data", "/models"]
EXPOSE 8501

CMD ["vitrieve", "--help"]
