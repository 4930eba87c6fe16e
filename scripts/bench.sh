#!/usr/bin/env bash
# Benchmarks skyindex end to end and prints one table (see BENCHMARKS.md for recorded runs).
#   scripts/bench.sh [--events N] [--writers "1 2 4 8"] [--data DIR]
#   scripts/bench.sh --growth [--checkpoints "1 10 30"] [--events N]
#   scripts/bench.sh --profile [--events N] [--writers W]
#   scripts/bench.sh --verify-compare [--events N] [--writers W] [--runs R]
#   scripts/bench.sh --against OTHER_BINARY [--events N] [--writers W] [--runs R]
#   scripts/bench.sh --ceiling [--events N] [--writers W] [--runs R]
#   scripts/bench.sh --latency [--events N]
# Needs PostgreSQL at $BENCH_PG (default postgres://postgres@127.0.0.1:5432), where it creates and
# drops databases named skyindex_bench*. Captures are generated once into DIR (default
# /var/tmp/skyindex-bench) by the stream generator and reused.
# --growth runs only this: one database fed the generated stream up to the last checkpoint (in
# units of N); at each, the rate of the N events before it and the bytes per live record.
# --profile runs only this: one run, then the statements PostgreSQL spent its time on (needs
# pg_stat_statements preloaded: scripts/pg-cluster.sh does).
# --against runs only this: the generated capture indexed R times (default 3) by another build
# (e.g. one made from an older commit) and R times by this one, alternating, fresh database
# each; prints each run, the medians and their ratio.
# --ceiling runs only this: R times, one indexing run, then PostgreSQL's own ceiling for the rows
# it left: every table copied out (binary) and COPYed back into a fresh migrated database, W
# sessions at once (one table each, largest first); prints both rates and their ratio.
# --latency runs only the paced WebSocket run of the default mode (receive-to-commit quantiles).
# --verify-compare runs only this: a signed capture (gen_stream --signed, every commit with a
# real proof and its account's signature) indexed R times (default 3) with --verify full and R
# times with --verify off, alternating, fresh database each, keys from a loopback directory
# (examples/plc_directory); prints each run, the medians and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=1000000
WRITERS="1 2 4 8"
GROWTH=0
PROFILE=0
CHECKPOINTS="1 10"
COMPARE=0
CEILING=0
LATENCY=0
AGAINST=""
RUNS=3
WRITERS_SET=0
DATA=/var/tmp/skyindex-bench
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
while [ $# -gt 0 ]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --writers) WRITERS="$2"; WRITERS_SET=1; shift 2 ;;
    --growth) GROWTH=1; shift ;;
    --profile) PROFILE=1; shift ;;
    --checkpoints) CHECKPOINTS="$2"; shift 2 ;;
    --data) DATA="$2"; shift 2 ;;
    --verify-compare) COMPARE=1; shift ;;
    --against) AGAINST="$2"; shift 2 ;;
    --ceiling) CEILING=1; shift ;;
    --latency) LATENCY=1; shift ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) echo "usage: $0 [--events N] [--writers \"1 2 4 8\"] [--data DIR] | --growth [--checkpoints \"1 10 30\"] [--events N] | --profile [--events N] [--writers W] | --verify-compare [--events N] [--writers W] [--runs R] | --against BINARY [--events N] [--writers W] [--runs R] | --ceiling [--events N] [--writers W] [--runs R] | --latency [--events N]" >&2; exit 2 ;;
  esac
done
mkdir -p "$DATA"
# The default captures are signed by no key a directory knows: verification off unless asked
# (--verify-compare makes signed ones and passes --verify itself).
export SKYINDEX_VERIFY="${SKYINDEX_VERIFY:-off}" SKYINDEX_VERIFY_HANDLES="${SKYINDEX_VERIFY_HANDLES:-off}"
# BENCH_BIN: measure that binary as "this build" instead of building one (the generator must
# be built already).
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release --locked --bin skyindex --example gen_stream --example plc_directory >/dev/null
fi
BIN=${BENCH_BIN:-target/release/skyindex}
GEN=target/release/examples/gen_stream

capture() { # events seed -> path
  local f="$DATA/gen-$1-s$2.bin"
  if [ ! -s "$f" ]; then
    echo "generating $1 events (seed $2) into $f" >&2
    "$GEN" --events "$1" --seed "$2" --out "$f" 2>/dev/null
  fi
  echo "$f"
}

fresh_db() { # name
  psql "$PG/postgres" -XAtq -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

# CPU seconds (user+system) used by PostgreSQL so far: the postmaster's own and its reaped
# children's (backends that have exited), plus the live backends'.
pg_cpu() {
  local master ticks pid
  master=$(head -1 "$(psql "$PG/postgres" -XAtq -c 'SHOW data_directory')/postmaster.pid" 2>/dev/null || pgrep -o -x postgres)
  ticks=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$master/stat")
  for pid in $(pgrep -P "$master"); do
    ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "scale=1; $ticks / $(getconf CLK_TCK)" | bc
}

# Highest number of connections skyindex held, sampled while it runs.
watch_conns() { # db outfile
  local max=0 n
  while [ -e "$2.running" ]; do
    n=$(psql "$PG/postgres" -XAtq -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND application_name = 'skyindex' AND state IS NOT NULL" 2>/dev/null || echo 0)
    [ "$n" -gt "$max" ] && max=$n
    sleep 0.2
  done
  echo "$max" > "$2"
}

# One indexing run over a capture: prints "events/s peak_rss_mb conns worker_cpu_s pg_cpu_s".
index_run() { # db capture writers [extra args...]
  local db="$1" cap="$2" writers="$3"; shift 3
  local log; log=$(mktemp) ; local timing; timing=$(mktemp); local conns; conns=$(mktemp)
  touch "$conns.running"; watch_conns "$db" "$conns" & local watcher=$!
  local pg0; pg0=$(pg_cpu)
  /usr/bin/time -v -o "$timing" "$BIN" run --database-url "$PG/$db" --relay "file:$cap" \
    --cursor 0 --writers "$writers" --stats-interval 5s "$@" 2>"$log"
  local pg1; pg1=$(pg_cpu)
  rm -f "$conns.running"; wait "$watcher"
  local rate rss cpu
  rate=$(grep -o 'totals events=.*' "$log" | sed 's/.* events\/sec=\([0-9]*\).*/\1/')
  rss=$(awk -F: '/Maximum resident/ {printf "%.0f", $2/1024}' "$timing")
  cpu=$(awk -F: '/User time|System time/ {s += $2} END {printf "%.1f", s}' "$timing")
  echo "$rate $rss $(cat "$conns") $cpu $(echo "$pg1 - $pg0" | bc)"
  rm -f "$log" "$timing" "$conns"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Latency: a relay paced at 2000 events/s, receive-to-commit quantiles over the run.
latency() {
  LAT_EVENTS=$((EVENTS < 120000 ? EVENTS : 120000))
  LCAP=$(capture "$LAT_EVENTS" 2)
  fresh_db skyindex_bench
  PORT=$((20000 + RANDOM % 20000))
  "$BIN" replay --file "$LCAP" --listen "127.0.0.1:$PORT" --rate 2000 2>/dev/null & REPLAY=$!
  LOG=$(mktemp)
  "$BIN" run --database-url "$PG/skyindex_bench" --relay "ws://127.0.0.1:$PORT" --stats-interval 5s 2>"$LOG" & RUN=$!
  # Run until the whole capture is committed, then stop both.
  for _ in $(seq 1 $((LAT_EVENTS / 1000 + 60))); do
    sleep 1
    c=$(psql "$PG/skyindex_bench" -XAtq -c "SELECT max(cursor) FROM firehose_cursor" 2>/dev/null || true)
    [ "${c:-0}" -ge "$LAT_EVENTS" ] && break
  done
  kill -TERM $RUN; wait $RUN || true; kill -TERM $REPLAY; wait $REPLAY 2>/dev/null || true
  lat=$(grep -o 'commit_p50_ms=[^ ]* commit_p99_ms=[^ ]* commit_max_ms=[^ ]*' "$LOG" | tail -1)
  printf '%-44s %s\n' "latency at 2000 events/s ($LAT_EVENTS events)" "$lat"
  rm -f "$LOG"
}

if [ "$LATENCY" = 1 ]; then
  latency
  psql "$PG/postgres" -XAtq -c "DROP DATABASE IF EXISTS skyindex_bench WITH (FORCE)"
  exit 0
fi

if [ "$COMPARE" = 1 ]; then
  [ "$WRITERS_SET" = 1 ] || WRITERS=4
  SCAP="$DATA/gen-$EVENTS-s1-signed.bin"; DOCS="$DATA/gen-$EVENTS-s1-signed.dids"
  if [ ! -s "$SCAP" ] || [ ! -s "$DOCS/dids.json" ]; then
    echo "generating $EVENTS signed events (seed 1) into $SCAP" >&2
    "$GEN" --events "$EVENTS" --seed 1 --out "$SCAP" --signed "$DOCS" 2>/dev/null
  fi
  DIRLOG=$(mktemp)
  target/release/examples/plc_directory --documents "$DOCS/dids.json" --listen 127.0.0.1:0 >"$DIRLOG" 2>/dev/null &
  DIRPID=$!
  trap 'kill $DIRPID 2>/dev/null || true' EXIT
  until grep -q '^listening on ' "$DIRLOG"; do sleep 0.2; done
  PLC=$(sed -n 's/^listening on //p' "$DIRLOG")
  # Loopback, so the politeness toward the directory is lifted (10 requests/s and 4 in flight by
  # default, which would make a run with ~60k unknown accounts measure the limiter); --resolve
  # pins its address, so no lookup (ureq's resolver runs each one on a thread of its own). The
  # cache (100k entries, 1 h) holds every account of the run. Handles are not checked (none of
  # the generated ones exists).
  IDARGS=(--plc-url "http://$PLC" --resolve "127.0.0.1=$PLC" --allow-private-hosts --plain-http
    --resolve-rate 1000000 --resolve-concurrency 64 --identity-cache-size 200000
    --verify-handles off)
  served() { curl -s "http://$PLC/_stats"; }
  printf '\n%-44s %10s %8s %9s %9s %9s\n' "run ($EVENTS signed events, writers=$WRITERS)" "events/s" "rss_MB" "cpu_s" "pg_cpu_s" "fetches"
  OFF=""; FULL=""; OFFCPU=""; FULLCPU=""
  for i in $(seq 1 "$RUNS"); do
    for mode in off full; do
      fresh_db skyindex_bench
      f0=$(served)
      read -r rate rss conns cpu pgcpu < <(index_run skyindex_bench "$SCAP" "$WRITERS" --verify "$mode" "${IDARGS[@]}")
      f1=$(served)
      printf '%-44s %10s %8s %9s %9s %9s\n' "--verify $mode, run $i" "$rate" "$rss" "$cpu" "$pgcpu" "$((f1 - f0))"
      if [ "$mode" = off ]; then OFF="$OFF $rate"; OFFCPU="$OFFCPU $cpu"; else FULL="$FULL $rate"; FULLCPU="$FULLCPU $cpu"; fi
    done
  done
  moff=$(echo "$OFF" | median); mfull=$(echo "$FULL" | median)
  coff=$(echo "$OFFCPU" | median); cfull=$(echo "$FULLCPU" | median)
  printf '%-44s %10s %19s\n' "median, --verify off" "$moff" "$coff"
  printf '%-44s %10s %19s\n' "median, --verify full" "$mfull" "$cfull"
  awk -v f="$mfull" -v o="$moff" -v cf="$cfull" -v co="$coff" -v n="$EVENTS" 'BEGIN {
    printf "%-44s %10.2f\n", "full / off (events/s)", f / o
    printf "%-44s %10.1f\n", "wall time added per event (us)", (1 / f - 1 / o) * 1e6
    printf "%-44s %10.1f\n", "worker CPU added per event (us)", (cf - co) / n * 1e6 }'
  psql "$PG/postgres" -XAtq -c "DROP DATABASE IF EXISTS skyindex_bench WITH (FORCE)"
  rm -f "$DIRLOG"
  exit 0
fi

if [ "$PROFILE" = 1 ]; then
  # One run of this build; PostgreSQL's own account of the time each statement took
  # (pg_stat_statements, which scripts/pg-cluster.sh preloads), per event and as a share.
  [ "$WRITERS_SET" = 1 ] || WRITERS=4
  CAP=$(capture "$EVENTS" 1)
  fresh_db skyindex_bench
  "$BIN" migrate --database-url "$PG/skyindex_bench" 2>/dev/null
  psql "$PG/skyindex_bench" -XAtq -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
  read -r rate rss conns cpu pgcpu < <(index_run skyindex_bench "$CAP" "$WRITERS")
  printf '\n%s events/s, worker CPU %s s, PostgreSQL CPU %s s (%s events, writers=%s)\n' "$rate" "$cpu" "$pgcpu" "$EVENTS" "$WRITERS"
  psql "$PG/skyindex_bench" -XAq -P pager=off -c "
    WITH s AS (SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS statement,
                      sum(total_exec_time) AS t, sum(calls) AS calls, sum(rows) AS rows
               FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
               WHERE d.datname = 'skyindex_bench' GROUP BY 1)
    SELECT round((100 * t / sum(t) OVER ())::numeric, 1) AS pct,
           round((1000 * t / $EVENTS)::numeric, 2) AS us_per_event, calls, rows, statement
    FROM s ORDER BY t DESC LIMIT ${TOP:-16}"
  psql "$PG/skyindex_bench" -XAtq -c "SELECT 'all statements: ' || round((1000 * sum(total_exec_time) / $EVENTS)::numeric, 1) || ' us per event, planning ' || round((1000 * sum(total_plan_time) / $EVENTS)::numeric, 1) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'skyindex_bench'"
  psql "$PG/postgres" -XAtq -c "DROP DATABASE IF EXISTS skyindex_bench WITH (FORCE)"
  exit 0
fi

if [ -n "$AGAINST" ]; then
  [ "$WRITERS_SET" = 1 ] || WRITERS=4
  CAP=$(capture "$EVENTS" 1)
  printf '\n%-44s %10s %8s %9s %9s\n' "run ($EVENTS events, writers=$WRITERS)" "events/s" "rss_MB" "cpu_s" "pg_cpu_s"
  OTHER=""; THIS=""; THISBIN="$BIN"
  for i in $(seq 1 "$RUNS"); do
    for side in other this; do
      fresh_db skyindex_bench
      if [ "$side" = other ]; then BIN="$AGAINST"; else BIN="$THISBIN"; fi
      read -r rate rss conns cpu pgcpu < <(index_run skyindex_bench "$CAP" "$WRITERS")
      printf '%-44s %10s %8s %9s %9s\n' "$side, run $i" "$rate" "$rss" "$cpu" "$pgcpu"
      if [ "$side" = other ]; then OTHER="$OTHER $rate"; else THIS="$THIS $rate"; fi
    done
  done
  BIN="$THISBIN"
  mo=$(echo "$OTHER" | median); mt=$(echo "$THIS" | median)
  printf '%-44s %10s\n' "median, $AGAINST" "$mo" "median, this build" "$mt"
  awk -v t="$mt" -v o="$mo" 'BEGIN { printf "%-44s %10.2f\n", "this / other (events/s)", t / o }'
  psql "$PG/postgres" -XAtq -c "DROP DATABASE IF EXISTS skyindex_bench WITH (FORCE)"
  exit 0
fi

if [ "$CEILING" = 1 ]; then
  [ "$WRITERS_SET" = 1 ] || WRITERS=4
  CAP=$(capture "$EVENTS" 1)
  DUMP="$DATA/ceiling"; mkdir -p "$DUMP"
  printf '\n%-44s %10s %9s %12s %9s %8s\n' "run ($EVENTS events, writers=$WRITERS)" "events/s" "pg_cpu_s" "ceiling_ev/s" "pg_cpu_s" "ratio"
  OURS=""; CEIL=""
  for i in $(seq 1 "$RUNS"); do
    fresh_db skyindex_bench
    read -r rate rss conns cpu pgcpu < <(index_run skyindex_bench "$CAP" "$WRITERS")
    # The rows the run left, largest table first (so the W sessions finish together).
    TABLES=$(psql "$PG/skyindex_bench" -XAtq -c "SELECT relname FROM pg_stat_user_tables WHERE n_live_tup > 0 AND relname <> '__diesel_schema_migrations' ORDER BY pg_total_relation_size(relid) DESC")
    rm -f "$DUMP"/*.bin
    for t in $TABLES; do
      psql "$PG/skyindex_bench" -XAtq -c "\\copy $t TO '$DUMP/$t.bin' WITH (FORMAT binary)"
    done
    fresh_db skyindex_ceiling
    "$BIN" migrate --database-url "$PG/skyindex_ceiling" 2>/dev/null
    pg0=$(pg_cpu); t0=$(date +%s%N)
    echo "$TABLES" | xargs -P "$WRITERS" -I{} psql "$PG/skyindex_ceiling" -XAtq -c "\\copy {} FROM '$DUMP/{}.bin' WITH (FORMAT binary)" >/dev/null
    t1=$(date +%s%N); pg1=$(pg_cpu)
    ceil=$(echo "$EVENTS * 1000000000 / ($t1 - $t0)" | bc)
    ratio=$(awk -v o="$rate" -v c="$ceil" 'BEGIN { printf "%.2f", o / c }')
    printf '%-44s %10s %9s %12s %9s %8s\n' "run $i" "$rate" "$pgcpu" "$ceil" "$(echo "$pg1 - $pg0" | bc)" "$ratio"
    OURS="$OURS $rate"; CEIL="$CEIL $ceil"
  done
  mo=$(echo "$OURS" | median); mc=$(echo "$CEIL" | median)
  printf '%-44s %10s %22s\n' "median" "$mo" "$mc"
  awk -v o="$mo" -v c="$mc" 'BEGIN { printf "%-44s %10.2f\n", "ours / COPY ceiling (medians)", o / c }'
  rm -rf "$DUMP"
  psql "$PG/postgres" -XAtq -c "DROP DATABASE IF EXISTS skyindex_bench WITH (FORCE)" -c "DROP DATABASE IF EXISTS skyindex_ceiling WITH (FORCE)"
  exit 0
fi

if [ "$GROWTH" = 1 ]; then
  # One database fed (last checkpoint x EVENTS) generated events through a FIFO (no 100 GB
  # file), 4 writers; a sampler reads the cursor, the database's size and the record tables'
  # live rows every 2 s. At each checkpoint C (in units of EVENTS): the rate of the EVENTS events
  # before it (so checkpoint 1 is the empty database's), and the bytes per live record (the whole
  # database over the rows of the record tables; profiles, kept in users, are not counted).
  LAST=${CHECKPOINTS##* }
  BIG=$((EVENTS * LAST))
  fresh_db skyindex_bench
  FIFO="$DATA/growth.fifo"; rm -f "$FIFO"; mkfifo "$FIFO"
  "$GEN" --events "$BIG" --seed 3 --out "$FIFO" 2>/dev/null &
  SAMPLES=$(mktemp); GLOG=$(mktemp); touch "$SAMPLES.running"
  RECORD_TABLES="'like_records','posts','reposts','follows','blocks','generic_records','lists','list_items','list_blocks','starter_packs','feed_generators','threadgates','postgates','labeler_services','verifications','actor_statuses','chat_declarations','notification_declarations'"
  ( while [ -e "$SAMPLES.running" ]; do
      psql "$PG/skyindex_bench" -XAtq -F ' ' -c "SELECT extract(epoch FROM clock_timestamp()), coalesce((SELECT max(cursor) FROM firehose_cursor), 0), pg_database_size(current_database()), (SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables WHERE relname IN ($RECORD_TABLES))" >>"$SAMPLES" 2>/dev/null || true
      sleep 2
    done ) & SAMPLER=$!
  "$BIN" run --database-url "$PG/skyindex_bench" --relay "file:$FIFO" --cursor 0 --writers 4 \
    --stats-interval 5s 2>"$GLOG"
  rm -f "$FIFO" "$SAMPLES.running"; wait "$SAMPLER"
  printf '\n%-44s %10s %12s %12s %10s\n' "growth ($EVENTS-event windows, writers=4)" "events/s" "db_MB" "records" "B/record"
  for c in $CHECKPOINTS; do
    awk -v to=$((EVENTS * c)) -v from=$((EVENTS * (c - 1))) -v label="the $EVENTS events up to $((EVENTS * c))" '
      $2 >= from && t0 == "" { t0 = $1; e0 = $2 }
      $2 >= to && t1 == "" { t1 = $1; e1 = $2; db = $3; n = $4 }
      { lt = $1; le = $2; ldb = $3; ln = $4 }
      END { if (t1 == "") { t1 = lt; e1 = le; db = ldb; n = ln }
            printf "%-44s %10.0f %12.0f %12.0f %10.0f\n", label, (e1 - e0) / (t1 - t0), db / 1048576, n, (n > 0 ? db / n : 0) }' "$SAMPLES"
  done
  grep -o 'totals events=[0-9]* first_event_to_last_commit_s=[^ ]* events/sec=[0-9]*' "$GLOG" | sed 's/^/growth, all: /'
  cp "$SAMPLES" "$DATA/growth-samples.txt"
  rm -f "$SAMPLES" "$GLOG"
  exit 0
fi

printf '\n%-44s %10s %8s %6s %9s %9s\n' "run" "events/s" "rss_MB" "conns" "cpu_s" "pg_cpu_s"
CAP=$(capture "$EVENTS" 1)
for w in $WRITERS; do
  fresh_db skyindex_bench
  read -r rate rss conns cpu pgcpu < <(index_run skyindex_bench "$CAP" "$w")
  printf '%-44s %10s %8s %6s %9s %9s\n' "end-to-end $EVENTS events, writers=$w" "$rate" "$rss" "$conns" "$cpu" "$pgcpu"
done

latency

# Startup: process start to first event committed, against a capture (no network in the way).
fresh_db skyindex_bench
"$BIN" migrate --database-url "$PG/skyindex_bench" 2>/dev/null
t0=$(date +%s%N)
"$BIN" run --database-url "$PG/skyindex_bench" --relay "file:$LCAP" --writers 4 2>/dev/null &
SR=$!
until [ "$(psql "$PG/skyindex_bench" -XAtq -c 'SELECT count(*) FROM users' 2>/dev/null || echo 0)" -gt 0 ]; do sleep 0.01; done
t1=$(date +%s%N)
kill -TERM $SR; wait $SR || true
printf '%-44s %s ms\n' "start to first event committed" "$(( (t1 - t0) / 1000000 ))"

# Decode only, one core.
dec=$(cargo bench --bench decode --locked 2>/dev/null | grep '^median')
printf '%-44s %s\n' "decode only, real-PDS frames, one core" "${dec#median: }"
dec=$(cargo bench --bench decode --locked -- "$LCAP" 2>/dev/null | grep '^median')
printf '%-44s %s\n' "decode only, generated ~5 KB frames" "${dec#median: }"
psql "$PG/postgres" -XAtq -c "DROP DATABASE IF EXISTS skyindex_bench WITH (FORCE)"
