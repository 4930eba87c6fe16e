# Helpers for scripts/chaos.sh: databases, the worker and the replay server as child processes,
# cursor polling, dumps and their comparison, the results table. Sourced, not run.
#
# Globals the caller sets: BIN (the skyindex binary), OUT (this run's directory), RESULTS (the
# results file), PGHOST, PGPORT, PGUSER. Every database this creates is named chaos_*.

SERVICE=chaos

# ---------------------------------------------------------------------------------------------
# Logging and time

say() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

# Milliseconds since the epoch, from bash's own clock (no fork).
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((t / 1000))
}

sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# A uniform random integer in [lo, hi] from bash's seeded generator (30 bits).
rand_between() {
  local lo=$1 hi=$2
  echo $((lo + ((RANDOM << 15 | RANDOM) % (hi - lo + 1))))
}

# ---------------------------------------------------------------------------------------------
# Databases

psql_on() {
  local db=$1
  shift
  psql -XAtq -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$db" "$@"
}

db_url() { echo "postgres://$PGUSER@$PGHOST:$PGPORT/$1"; }

db_fresh() {
  psql_on postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" 2>/dev/null
}

db_drop() { psql_on postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" 2>/dev/null || true; }

# The saved cursor, or nothing (no row yet, or the server is down).
cursor_of() {
  psql_on "$1" -c "SELECT cursor FROM firehose_cursor WHERE service = '$SERVICE'" 2>/dev/null || true
}

# Ends every backend of a database (the worker's connections), so it reconnects.
terminate_backends() {
  psql_on postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$1' AND pid <> pg_backend_pid()"
}

pg_wait_ready() {
  local i
  for i in $(seq 1 200); do
    pg_isready -q -h "$PGHOST" -p "$PGPORT" && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# The worker

# start_worker DB LOG ARGS...: starts `skyindex run` in the background; sets WORKER_PID.
start_worker() {
  local db=$1 log=$2
  shift 2
  # Generated and fixture streams are unsigned by keys any directory knows: believe the relay.
  DATABASE_URL=$(db_url "$db") LOG_LEVEL=info RUST_LOG='' SKYINDEX_VERIFY=off SKYINDEX_VERIFY_HANDLES=off \
    "$BIN" --log-file "$log" run --service "$SERVICE" --stats-interval 1s "$@" \
    </dev/null >/dev/null 2>>"$log" &
  WORKER_PID=$!
}

alive() { kill -0 "$1" 2>/dev/null; }

# wait_exit PID SECONDS: the exit status, or 124 after killing it when it outlives SECONDS.
wait_exit() {
  local pid=$1 until=$(($(now_ms) + $2 * 1000))
  while alive "$pid"; do
    if (($(now_ms) > until)); then
      kill -9 "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null
}

# wait_cursor DB SEQ SECONDS [PID]: 0 once the saved cursor is at least SEQ; 1 on timeout; 2 if
# PID died first.
wait_cursor() {
  local db=$1 seq=$2 until=$(($(now_ms) + $3 * 1000)) pid=${4:-} c
  while :; do
    c=$(cursor_of "$db")
    [ -n "$c" ] && ((c >= seq)) && return 0
    [ -n "$pid" ] && ! alive "$pid" && return 2
    (($(now_ms) > until)) && return 1
    sleep 0.1
  done
}

# The last stats line of a log, and one field of it.
last_stats() { grep ' stats ' "$1" | tail -n 1; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# Log lines that do not start with a timestamp: a record torn over several lines (a PostgreSQL
# message ending in a newline), which breaks the README's one-line-per-record promise.
torn_lines() { grep -cv '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T' "$@" | awk -F: '{ s += $NF } END { print s + 0 }'; }

# Peak and current resident memory of a process, in kB.
vm_hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
vm_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------------------------------------
# The replay server (`skyindex replay`), for relay-mode runs

# start_replay FILE RATE LOG: serves FILE at RATE frames/s; sets REPLAY_PID and REPLAY_URL.
start_replay() {
  local file=$1 rate=$2 log=$3 port try
  for try in 1 2 3 4 5; do
    port=$(rand_between 20000 29999)
    : >"$log"
    "$BIN" replay --file "$file" --listen "127.0.0.1:$port" --rate "$rate" --log-file "$log" \
      </dev/null >/dev/null 2>>"$log" &
    REPLAY_PID=$!
    REPLAY_RATE=$rate
    local i
    for i in $(seq 1 600); do
      if grep -q 'replay: serving' "$log"; then
        REPLAY_URL="ws://127.0.0.1:$port"
        return 0
      fi
      alive "$REPLAY_PID" || break
      sleep 0.1
    done
    kill "$REPLAY_PID" 2>/dev/null
    wait "$REPLAY_PID" 2>/dev/null
  done
  say "replay server did not start: $(tail -n 3 "$log")"
  return 1
}

stop_replay() {
  if [ -n "${REPLAY_PID:-}" ]; then
    kill -TERM "$REPLAY_PID" 2>/dev/null
    wait_exit "$REPLAY_PID" 10 >/dev/null
    REPLAY_PID=
  fi
}

# The source arguments as a table cell: "file", or "replay (N ev/s)".
describe() { echo "$*" | sed "s#ws://[^ ]*#replay (${REPLAY_RATE:-?} ev/s)#; s#file:[^ ]*#file#"; }

# ---------------------------------------------------------------------------------------------
# Dumps and comparison

# Tables with their key; counters are dumped column by column, other rows as an md5 of the row's
# text (rows hold newlines, so the text itself would not fit one line).
ROW_TABLES="users:did posts:uri likes:uri reposts:uri follows:uri blocks:uri feed_items:uri generic_records:uri"
COUNTER_TABLES="post_aggregations:post_uri:like_count,repost_count,reply_count,quote_count user_aggregations:did:followers_count,follows_count,posts_count"

# dump_db DB DIR: one file per table, "table<TAB>key<TAB>value..." lines, ordered by key; and the
# cursor.
dump_db() {
  local db=$1 dir=$2 spec table key cols
  mkdir -p "$dir"
  for spec in $ROW_TABLES; do
    table=${spec%%:*}
    key=${spec#*:}
    psql_on "$db" -F $'\t' -c "SELECT '$table', $key, md5(t::text) FROM $table t ORDER BY $key" \
      >"$dir/$table.tsv"
  done
  for spec in $COUNTER_TABLES; do
    table=${spec%%:*}
    key=${spec#*:}
    cols=${key#*:}
    key=${key%%:*}
    psql_on "$db" -F $'\t' -c "SELECT '$table', $key, $cols FROM $table ORDER BY $key" \
      >"$dir/$table.tsv"
  done
  cursor_of "$db" >"$dir/cursor"
}

# compare_dumps CLEAN_DIR GOT_DIR: prints "lost double differing" and writes every difference to
# GOT_DIR/differences.txt.
#   lost      = rows of the clean run missing here + counter units below the clean run
#   double    = rows here the clean run does not have + counter units above it
#   differing = rows (of any table) missing, extra or different
compare_dumps() {
  local clean=$1 got=$2
  cat "$clean"/*.tsv >"$got/.clean.all"
  cat "$got"/*.tsv >"$got/.got.all"
  gawk -F '\t' -v out="$got/differences.txt" '
    FNR == 1 { file++ }
    file == 1 { k = $1 SUBSEP $2; clean[k] = $0; next }
    file == 2 { k = $1 SUBSEP $2; got[k] = $0 }
    function units(line,   f, n, i, s) { n = split(line, f, "\t"); s = 0; for (i = 3; i <= n; i++) s += f[i]; return s }
    END {
      printf "" > out
      for (k in clean) {
        split(k, kk, SUBSEP)
        counters = kk[1] ~ /_aggregations$/
        if (!(k in got)) {
          differing++
          if (counters) lost += units(clean[k]); else lost++
          print "missing: " clean[k] > out
        } else if (got[k] != clean[k]) {
          differing++
          if (counters) {
            n = split(clean[k], a, "\t"); split(got[k], b, "\t")
            for (i = 3; i <= n; i++) { d = b[i] - a[i]; if (d > 0) double += d; else lost -= d }
          }
          print "changed: " clean[k] " -> " got[k] > out
        }
      }
      for (k in got) if (!(k in clean)) {
        split(k, kk, SUBSEP)
        differing++
        if (kk[1] ~ /_aggregations$/) double += units(got[k]); else double++
        print "extra:   " got[k] > out
      }
      printf "%d %d %d\n", lost, double, differing
    }' "$got/.clean.all" "$got/.got.all"
  rm -f "$got/.clean.all" "$got/.got.all"
  if ! cmp -s "$clean/cursor" "$got/cursor"; then
    echo "cursor: clean $(cat "$clean/cursor") here $(cat "$got/cursor")" >>"$got/differences.txt"
  fi
}

# ---------------------------------------------------------------------------------------------
# Results

# result SCENARIO INPUT PARAMS RUNS FAULTS LOST DOUBLE DIFFERING RECOVER STATUS NOTE
result() {
  local IFS=$'\t'
  echo "$*" >>"$RESULTS"
  say "result: $*"
}

# Median and maximum of a list of millisecond figures: "p50 ms, max ms (n)".
ms_summary() {
  if [ $# -eq 0 ]; then
    echo "-"
    return
  fi
  printf '%s\n' "$@" | sort -n | gawk '{ v[NR] = $1 } END { printf "p50 %d ms, max %d ms (n=%d)", v[int((NR + 1) / 2)], v[NR], NR }'
}
