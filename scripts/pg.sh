#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: everything (data, socket, log) lives in one folder.
#
#   scripts/pg.sh start DIR   initdb into DIR, start on 127.0.0.1 at a free port, print the URL
#   scripts/pg.sh stop DIR    stop the server in DIR (safe to call twice, or after a failed start)
#   scripts/pg.sh url DIR     print the URL of the server in DIR
#
# Or `source scripts/pg.sh` and call pg_start / pg_stop / pg_url. Trust auth, no fsync: never
# point this at data you care about. As root, the server runs as the `postgres` user (initdb
# and pg_ctl refuse root), so DIR must be reachable by that user (e.g. under /tmp).

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

_pg_bin() {
    local initdb
    initdb=$(ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$initdb" ]; then
        echo "pg.sh: no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)" >&2
        return 1
    fi
    dirname "$initdb"
}

# Runs a command as the server's owner, from inside DIR (postgres may not see the caller's cwd).
_pg_as_owner() {
    local dir=$1
    shift
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

pg_url() {
    echo "postgresql://postgres@127.0.0.1:$(cat "$1/port")/postgres"
}

pg_start() {
    local dir=$1 bin port attempt
    bin=$(_pg_bin) || return 1
    mkdir -p "$dir/sock"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            echo "pg.sh: user postgres cannot write to $dir (every folder above it must be traversable)" >&2
            return 1
        fi
    fi
    chmod 700 "$dir"
    _pg_as_owner "$dir" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
        --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        return 1
    }
    # The port is free when picked but may be taken before the server binds it: retry.
    for attempt in 1 2 3; do
        port=$(free_port)
        echo "$port" >"$dir/port"
        if _pg_as_owner "$dir" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k '$dir/sock' -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            break
        fi
        if [ "$attempt" -eq 3 ]; then
            echo "pg.sh: PostgreSQL did not start; its log:" >&2
            cat "$dir/server.log" >&2
            return 1
        fi
    done
    if wait_until 300 0.1 pg_isready -q -h 127.0.0.1 -p "$port"; then
        pg_url "$dir"
        return 0
    fi
    echo "pg.sh: PostgreSQL on port $port never became ready; its log:" >&2
    cat "$dir/server.log" >&2
    return 1
}

pg_stop() {
    local dir=$1 bin pid
    [ -f "$dir/data/postmaster.pid" ] || return 0
    bin=$(_pg_bin) || return 1
    if ! _pg_as_owner "$dir" "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
        >/dev/null 2>&1; then
        # pg_ctl could not stop it: end the postmaster we started, by its pid.
        pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        start) pg_start "${2:?usage: pg.sh start DIR}" ;;
        stop) pg_stop "${2:?usage: pg.sh stop DIR}" ;;
        url) pg_url "${2:?usage: pg.sh url DIR}" ;;
        *)
            echo "usage: pg.sh {start|stop|url} DIR" >&2
            exit 2
            ;;
    esac
fi
