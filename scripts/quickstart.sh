#!/usr/bin/env bash
# One command from a fresh clone to results: set up .venv, ingest a folder, search it.
#   scripts/quickstart.sh [--demo] ~/Pictures [query.jpg]
# Without a query image, the first photo found in the folder is used as the example.
# First it checks (seconds, system Python, nothing built) that the model weights are here or
# can be downloaded, and says what to do when not. --demo skips that and runs the whole flow
# on the tiny random test model (tests/fixtures/tiny-vit): its similarities are meaningless.
set -euo pipefail
demo=0
if [ "${1:-}" = "--demo" ]; then
    demo=1
    shift
fi
if [ $# -lt 1 ]; then
    echo "usage: scripts/quickstart.sh [--demo] PHOTO_FOLDER [QUERY_IMAGE]" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    echo "quickstart: $1: no such folder" >&2
    exit 2
fi
folder=$(cd "$1" && pwd)  # paths are the caller's, the script runs from the repository root
query=${2:-}
if [ -n "$query" ]; then
    query=$(cd "$(dirname "$query")" && pwd)/$(basename "$query")
fi
cd "$(dirname "$0")/.."
if [ "$demo" = 0 ]; then
    "${PYTHON:-python3}" scripts/preflight.py
fi
bash scripts/setup.sh
if [ "$demo" = 1 ]; then
    exec .venv/bin/vitrieve demo "$folder" ${query:+"$query"}
fi
.venv/bin/vitrieve ingest "$folder"
if [ -z "$query" ]; then
    query=$(find "$folder" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \
        -o -iname '*.webp' -o -iname '*.heic' \) -not -path '*/.*' -print -quit)
fi
if [ -z "$query" ]; then
    echo "no photo found in $folder to search with" >&2
    exit 1
fi
echo "searching for images like $query"
.venv/bin/vitrieve search "$query" -k 10
