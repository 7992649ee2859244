#!/usr/bin/env bash
# Helpers shared by scripts/pg.sh and scripts/redis.sh; sourced by them, not run on its own.

# Prints a TCP port on 127.0.0.1 that is free right now (it may be taken again before it is
# bound, so callers retry on failure).
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# wait_until TRIES DELAY CMD...: runs CMD until it succeeds, at most TRIES times, DELAY seconds
# apart; fails if it never does.
wait_until() {
    local tries=$1 delay=$2
    shift 2
    for _ in $(seq 1 "$tries"); do
        if "$@"; then
            return 0
        fi
        sleep "$delay"
    done
    return 1
}
