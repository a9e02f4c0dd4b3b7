#!/usr/bin/env bash
# Runs `$@ --db postgres://…` against a throwaway PostgreSQL (initdb in a temporary directory,
# default settings, a loopback port), stopped and removed afterwards. As root, the server runs as
# the `postgres` user (PostgreSQL refuses root).
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d /tmp/collector-bench-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
"${as_pg[@]}" "$bin/initdb" -A trust -U postgres -E UTF8 -D "$dir/data" >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null
trap '"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; rm -rf "$dir"' EXIT
"$@" --db "postgres://postgres@127.0.0.1:$port/postgres"
