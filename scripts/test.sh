#!/usr/bin/env bash
# The whole test suite from nothing: builds .venv, starts a throwaway PostgreSQL (so the
# catalog tests run on both SQLite and PostgreSQL) and a throwaway Redis (the Celery broker of
# the worker tests), runs ruff, deptry, mypy and pytest, and always stops the servers and
# removes their files.
# Extra arguments go to pytest: scripts/test.sh -k scan
#
# VITRIEVE_TEST_POSTGRES_URL / VITRIEVE_TEST_REDIS_URL already set: that server is used and
# none is started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
source scripts/redis.sh

bash scripts/setup.sh

# Under /tmp (not $TMPDIR) and traversable, so the postgres user can reach the server's folder.
work=$(mktemp -d /tmp/vitrieve-test.XXXXXX)
chmod 711 "$work"
pg_dir=""
redis_dir=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$pg_dir" ]; then
        pg_stop "$pg_dir" || echo "test.sh: could not stop PostgreSQL in $pg_dir" >&2
    fi
    if [ -n "$redis_dir" ]; then
        redis_stop "$redis_dir" || echo "test.sh: could not stop Redis in $redis_dir" >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ -z "${VITRIEVE_TEST_POSTGRES_URL:-}" ]; then
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "test.sh: installing PostgreSQL (Debian package)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    pg_dir="$work/pg"
    started=$(date +%s%N)
    VITRIEVE_TEST_POSTGRES_URL=$(pg_start "$pg_dir")
    export VITRIEVE_TEST_POSTGRES_URL
    echo "test.sh: PostgreSQL ready at $VITRIEVE_TEST_POSTGRES_URL" \
        "(in $(( ($(date +%s%N) - started) / 1000000 )) ms)" >&2
fi

if [ -z "${VITRIEVE_TEST_REDIS_URL:-}" ]; then
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "test.sh: installing Redis (Debian package)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    redis_dir="$work/redis"
    VITRIEVE_TEST_REDIS_URL=$(redis_start "$redis_dir")
    export VITRIEVE_TEST_REDIS_URL
    echo "test.sh: Redis ready at $VITRIEVE_TEST_REDIS_URL" >&2
fi

# The browser test (tests/ui/test_browser.py) drives Debian's chromium through Playwright.
if [ ! -x /usr/bin/chromium ]; then
    echo "test.sh: installing Chromium (Debian package)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

status=0
.venv/bin/ruff check . || status=1
.venv/bin/ruff format --check . || status=1
.venv/bin/deptry . || status=1  # every direct import is a declared dependency
.venv/bin/mypy || status=1      # the packages type-check (config in pyproject.toml)
.venv/bin/python -m pytest --basetemp="$work/pytest" "$@" || status=$?
exit "$status"
