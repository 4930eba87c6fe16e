#!/usr/bin/env bash
# A private PostgreSQL cluster for benchmarks, so a server's settings can be measured without
# touching the machine's shared server:
#   scripts/pg-cluster.sh start DIR PORT [CONF]   initdb DIR once, start it on 127.0.0.1:PORT
#                                                 (trust auth) with CONF included, or with
#                                                 PostgreSQL's defaults when CONF is absent
#   scripts/pg-cluster.sh stop DIR
# Then: BENCH_PG=postgres://postgres@127.0.0.1:PORT scripts/bench.sh …
# pg_stat_statements is preloaded so the statements' times can be read after a run.
set -euo pipefail

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$BIN/initdb" ] || { echo "no PostgreSQL server binaries under /usr/lib/postgresql" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    dir="$2" port="$3" conf="${4:-}"
    if [ ! -s "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres: "$dir"
      as_pg "$BIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    # The settings of one start replace the last start's.
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$dir'"
      echo "shared_preload_libraries = 'pg_stat_statements'"
      echo "pg_stat_statements.track = all"
      if [ -n "$conf" ]; then echo "include '$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")'"; fi
    } | as_pg tee "$dir/postgresql.auto.conf" >/dev/null
    as_pg "$BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null
    PGOPTIONS=--client-min-messages=warning psql "postgres://postgres@127.0.0.1:$port/postgres" -XAtq -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    echo "postgres://postgres@127.0.0.1:$port"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$2" -m fast -w stop >/dev/null
    ;;
  *)
    echo "usage: $0 start DIR PORT [CONF] | stop DIR" >&2
    exit 2
    ;;
esac
