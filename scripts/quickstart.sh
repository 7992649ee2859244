#!/usr/bin/env bash
# One command from a fresh clone to results: set up .venv, ingest a folder, search it.
#   scripts/quickstart.sh ~/Pictures [query.jpg]
# Without a query image, the first photo found in the folder is used as the example.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
    echo "usage: scripts/quickstart.sh PHOTO_FOLDER [QUERY_IMAGE]" >&2
    exit 2
fi
folder=$1
query=${2:-}
bash scripts/setup.sh
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
