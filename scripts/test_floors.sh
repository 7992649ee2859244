#!/usr/bin/env bash
# Installs every dependency at the floor pyproject.toml declares (name>=X becomes name==X) into
# .venv-floors and runs the test suite there, so a floor is a version the project has run on.
# Extra arguments go to pytest (scripts/test_floors.sh tests/indexer). The PostgreSQL and Redis
# tests use VITRIEVE_TEST_POSTGRES_URL / VITRIEVE_TEST_REDIS_URL when set, and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
venv=.venv-floors
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
"$PYTHON" - "$constraints" <<'PY'
import re
import sys
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
requirements = list(project["dependencies"])
for extra in project["optional-dependencies"].values():
    requirements += [r for r in extra if not r.startswith("vitrieve")]
pins = []
for requirement in requirements:
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?>=([^,;\s]+)", requirement.strip())
    if m:
        pins.append(f"{m.group(1)}=={m.group(3)}")
open(sys.argv[1], "w").write("\n".join(pins) + "\n")
print("floors:", " ".join(pins), file=sys.stderr)
PY
[ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
PIP=("$venv/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --upgrade pip setuptools wheel
torch_floor=$(grep -oE '^torch==[^ ]+' "$constraints" | cut -d= -f3)
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    "${PIP[@]}" install --retries 1 --timeout 20 \
        --index-url "${VITRIEVE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" \
        "torch==$torch_floor"
fi
"${PIP[@]}" install -c "$constraints" -e ".[dev]"
"$venv/bin/python" -m pip list --format=freeze > "$venv/floors-installed.txt"
echo "test_floors.sh: installed (see $venv/floors-installed.txt); running pytest" >&2
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
