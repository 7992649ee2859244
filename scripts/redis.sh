#!/usr/bin/env bash
# A throwaway Redis server for tests and benchmarks: data (append-only file), log and pid in DIR.
#
#   scripts/redis.sh start DIR [PORT]  start on 127.0.0.1 (a free port unless given), print URL
#   scripts/redis.sh stop DIR          shut down (saves the AOF); safe to call twice
#   scripts/redis.sh url DIR           print the URL of the server in DIR
#
# Or `source scripts/redis.sh` and call redis_start / redis_stop / redis_url. Persistence is on
# (appendonly, fsync always) so queued messages survive a restart on the same DIR and PORT, as
# the fault tests require; maxmemory-policy noeviction, as a Celery broker needs.

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

_redis_ping() {
    redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG
}

_redis_gone() {
    [ -z "$1" ] || ! kill -0 "$1" 2>/dev/null
}

redis_url() {
    echo "redis://127.0.0.1:$(cat "$1/port")/0"
}

redis_start() {
    local dir=$1 port=${2:-} attempt
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "redis.sh: no redis-server (apt-get install redis-server)" >&2
        return 1
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    for attempt in 1 2 3; do
        [ -n "${2:-}" ] || port=$(free_port)
        echo "$port" >"$dir/port"
        redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --protected-mode no \
            --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
            --appendonly yes --appendfsync always --save "" \
            --maxmemory-policy noeviction --databases 64 >/dev/null || true
        if wait_until 100 0.05 _redis_ping "$port"; then
            redis_url "$dir"
            return 0
        fi
        if [ -n "${2:-}" ] || [ "$attempt" -eq 3 ]; then
            break
        fi
    done
    echo "redis.sh: redis-server did not start on port $port; its log:" >&2
    cat "$dir/redis.log" >&2 2>/dev/null || true
    return 1
}

redis_stop() {
    local dir=$1 port pid
    [ -f "$dir/port" ] || return 0
    port=$(cat "$dir/port")
    pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
    redis-cli -h 127.0.0.1 -p "$port" shutdown >/dev/null 2>&1 || true
    wait_until 100 0.05 _redis_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        start) redis_start "${2:?usage: redis.sh start DIR [PORT]}" "${3:-}" ;;
        stop) redis_stop "${2:?usage: redis.sh stop DIR}" ;;
        url) redis_url "${2:?usage: redis.sh url DIR}" ;;
        *)
            echo "usage: redis.sh {start DIR [PORT]|stop DIR|url DIR}" >&2
            exit 2
            ;;
    esac
fi
