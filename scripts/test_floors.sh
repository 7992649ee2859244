#!/usr/bin/env bash
# Installs every direct dependency at the lowest version pyproject.toml allows (uv's
# `--resolution lowest-direct`) into .venv-floors and runs pytest there, so each declared floor
# is a version the suite has run on. Extra arguments go to pytest (default: the whole suite).
# The PostgreSQL and Redis tests use VITRIEVE_TEST_POSTGRES_URL / VITRIEVE_TEST_REDIS_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
venv=.venv-floors
tools=.venv-floors-tools
[ -x "$tools/bin/uv" ] || { "$PYTHON" -m venv "$tools" && "$tools/bin/pip" -q install uv; }
UV=$tools/bin/uv
[ -x "$venv/bin/python" ] || "$UV" venv -q --seed "$venv" --python "$PYTHON"
# torch's floor, CPU build, the way scripts/setup.sh installs it (pip honours find-links).
torch_floor=$("$PYTHON" -c 'import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print(next(re.fullmatch(r"torch>=(\S+)", d).group(1) for d in deps if d.startswith("torch>=")))')
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    "$venv/bin/python" -m pip -q --disable-pip-version-check install --retries 1 --timeout 20 \
        --index-url "${VITRIEVE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" \
        "torch==$torch_floor"
fi
"$UV" pip install -q --python "$venv/bin/python" --resolution lowest-direct -e ".[dev]"
"$UV" pip freeze --python "$venv/bin/python" > "$venv/installed.txt"
echo "test_floors.sh: floors installed ($venv/installed.txt); running pytest" >&2
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
