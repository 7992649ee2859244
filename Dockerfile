# vitrieve, installed for the compose stack (docker-compose.yml) or any single service.
#
#   docker build -t vitrieve:cpu .                          # CPU: torch + faiss-cpu
#   docker build -t vitrieve:gpu --build-arg VARIANT=gpu .  # NVIDIA: CUDA torch + faiss-gpu
#
# torch from the default index is its CUDA build, which also runs on CPUs; for a much smaller
# CPU image pass PyTorch's CPU-only wheel index: --build-arg TORCH_INDEX_URL=<that index>.
FROM python:3.11-slim

ARG VARIANT=cpu
ARG TORCH_INDEX_URL=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first (the largest layer, cached across code changes), from the chosen index.
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" torch; \
    else \
        pip install torch; \
    fi

COPY pyproject.toml README.md ./
COPY indexer ./indexer
COPY search ./search
COPY worker ./worker
COPY ui ./ui
COPY migrations ./migrations
COPY vitrieve ./vitrieve
RUN pip install ".[postgres,modelscope]" \
    && if [ "$VARIANT" = "gpu" ]; then \
        pip uninstall -y faiss-cpu && pip install faiss-gpu; \
    fi

# Not root: Celery warns about (and some setups refuse) workers running as root.
RUN useradd --create-home --uid 1000 vitrieve \
    && mkdir -p /data /models \
    && chown vitrieve:vitrieve /data /models
USER vitrieve

ENV VITRIEVE_HOME=/data \
    VITRIEVE_HUB_CACHE=/models
VOLUME ["/data", "/models"]
EXPOSE 8501

CMD ["vitrieve", "--help"]
