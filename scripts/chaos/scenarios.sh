# The scenarios of scripts/chaos.sh. Sourced after lib.sh. Each one runs the real binary against
# its own chaos_* database, ends by comparing the database with a clean uninterrupted run, and
# appends one row per input to $RESULTS. None of them exits the script: a failure is a row with
# status FAIL and a note saying why.

# ---------------------------------------------------------------------------------------------
# Baselines: clean, uninterrupted runs, dumped once for every scenario to compare with.

# baseline NAME FILE: indexes FILE into chaos_clean_NAME and dumps it to $OUT/clean-NAME.
baseline() {
  local name=$1 file=$2 db=chaos_clean_$1 log=$OUT/clean-$1.log rc t0
  db_fresh "$db"
  t0=$(now_ms)
  start_worker "$db" "$log" --relay "file:$file"
  wait_exit "$WORKER_PID" 600
  rc=$?
  if [ "$rc" != 0 ]; then
    say "clean run over $file failed (exit $rc); see $log"
    return 1
  fi
  dump_db "$db" "$OUT/clean-$name"
  say "clean $name: $(($(now_ms) - t0)) ms, cursor $(cat "$OUT/clean-$name/cursor"), $(cat "$OUT/clean-$name"/*.tsv | wc -l) rows"
}

# The same capture indexed twice must give the same dump, or no comparison below means anything.
baseline_repeatable() {
  local name=$1 file=$2 db=chaos_clean2_$1 log=$OUT/clean2-$1.log rc d
  db_fresh "$db"
  start_worker "$db" "$log" --relay "file:$file" --writers 2
  wait_exit "$WORKER_PID" 600
  rc=$?
  dump_db "$db" "$OUT/clean2-$name"
  read -r lost double d < <(compare_dumps "$OUT/clean-$name" "$OUT/clean2-$name")
  local status=ok
  { [ "$rc" = 0 ] && [ "$d" = 0 ] && cmp -s "$OUT/clean-$name/cursor" "$OUT/clean2-$name/cursor"; } || status=FAIL
  result "0 repeatability" "$name" "second clean run, --writers 2" 1 0 "$lost" "$double" "$d" "-" "$status" "exit $rc"
  db_drop "$db"
}

# verdict NAME CLEAN: dumps chaos_NAME, compares it with the clean dump; sets LOST DOUBLE DIFF and
# CURSOR_OK.
verdict() {
  local name=$1 clean=$2
  dump_db "chaos_$name" "$OUT/$name/dump"
  read -r LOST DOUBLE DIFF < <(compare_dumps "$OUT/clean-$clean" "$OUT/$name/dump")
  CURSOR_OK=1
  cmp -s "$OUT/clean-$clean/cursor" "$OUT/$name/dump/cursor" || CURSOR_OK=0
}

# ---------------------------------------------------------------------------------------------
# 1. kill -9 at random moments, restart each time.

# kill_loop NAME CLEAN LAST MAXKILLS SCALE_MS SOURCE_ARGS...
# Lives end by one of four faults, chosen at random:
#   startup  - SIGKILL within the first SCALE/6 ms (connecting, migrations, skipping to the cursor)
#   random   - SIGKILL at a uniform moment in [0, SCALE] ms (mostly inside batches)
#   cursor   - SIGKILL about one save interval after the cursor was seen to move, i.e. around
#              the next cursor write (the keeper saves every second)
#   shutdown - SIGTERM at a uniform moment, then SIGKILL 0-500 ms later (during the drain)
# A capture file indexes 100k events in a few seconds, faster than MAXKILLS faults can come:
# once a life reaches the end of the file (and exits 0), the following lives replay the file with
# `--cursor 0` over the data already applied, and are killed the same way. After the last fault,
# one uninterrupted run (from the saved cursor) finishes the stream.
kill_loop() {
  local name=$1 clean=$2 last=$3 max=$4 scale=$5
  shift 5
  local db=chaos_$name dir=$OUT/$name relay=0
  [[ "$*" == *ws://* ]] && relay=1
  mkdir -p "$dir"
  db_fresh "$db"
  local lives=0 faults=0 crashes=0 replaying=0 first_pass=0 backwards=0
  local -A by_mode=()
  local recover=()
  while ((faults < max && lives < 4 * max)); do
    local prev mode r t0 deadline term_at=0 seen=0 pid rc c last_poll=0 now
    local extra=()
    ((replaying)) && extra=(--cursor 0)
    prev=$(cursor_of "$db")
    prev=${prev:--1}
    r=$(rand_between 0 99)
    if ((r < 10)); then mode=startup; elif ((r < 55)); then mode=random; elif ((r < 75)); then mode=cursor; else mode=shutdown; fi
    t0=$(now_ms)
    start_worker "$db" "$dir/life-$lives.log" "$@" "${extra[@]}"
    pid=$WORKER_PID
    lives=$((lives + 1))
    case $mode in
      startup) deadline=$((t0 + $(rand_between 0 $((scale / 6))))) ;;
      random) deadline=$((t0 + $(rand_between 0 "$scale"))) ;;
      cursor) deadline=$((t0 + 3 * scale + 3000)) ;;
      shutdown)
        term_at=$((t0 + $(rand_between 0 "$scale")))
        deadline=$((term_at + $(rand_between 0 500)))
        ;;
    esac
    local poll_every=100
    [ "$mode" = cursor ] && poll_every=20
    ((replaying)) && prev=-1
    while alive "$pid"; do
      now=$(now_ms)
      if ((term_at > 0 && now >= term_at)); then
        kill -TERM "$pid" 2>/dev/null
        term_at=0
      fi
      ((now >= deadline)) && break
      if ((now - last_poll >= poll_every)); then
        last_poll=$now
        c=$(cursor_of "$db")
        if [ -n "$c" ] && ((c > prev && seen == 0)); then
          seen=1
          ((replaying)) || recover+=($((now - t0)))
          # The next save is about one second after this one.
          [ "$mode" = cursor ] && deadline=$((now + $(rand_between 930 1050)))
        fi
      fi
      sleep 0.01
    done
    local fault=0 landed=$mode
    if alive "$pid"; then
      kill -9 "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      rc=$?
      fault=1
    else
      wait "$pid" 2>/dev/null
      rc=$?
      # SIGTERM drained and exited before the SIGKILL: a clean stop mid-stream, still a fault.
      if [ "$mode" = shutdown ] && [ "$rc" = 0 ] && [ "$term_at" = 0 ] &&
        ! grep -q 'stopped after .* cursor='"$last"'$' "$dir/life-$((lives - 1)).log"; then
        fault=1
        landed=shutdown-clean
      fi
    fi
    if ((fault)); then
      faults=$((faults + 1))
      ((replaying)) || first_pass=$((first_pass + 1))
      by_mode[$landed]=$((${by_mode[$landed]:-0} + 1))
    fi
    c=$(cursor_of "$db")
    ((!replaying && ${c:--1} < prev)) && backwards=$((backwards + 1))
    case $rc in
      0 | 137) ;;
      143)
        # Killed by the SIGTERM itself: it came before the handlers were installed (nothing
        # logged yet), which is the default action and harmless. Anything later is a failure.
        if [ "$mode" = shutdown ] && ! grep -q 'starting:' "$dir/life-$((lives - 1)).log"; then
          by_mode[shutdown-early]=$((${by_mode[shutdown-early]:-0} + 1))
        else
          crashes=$((crashes + 1))
          say "$name: life $lives exited $rc after starting; log $dir/life-$((lives - 1)).log"
        fi
        ;;
      *)
        crashes=$((crashes + 1))
        say "$name: life $lives exited $rc; log $dir/life-$((lives - 1)).log"
        ;;
    esac
    # A capture file indexed to its end: go on killing replays of it.
    if ((!relay && !replaying)) && [ "$rc" = 0 ] && [ "${c:-}" = "$last" ]; then
      replaying=1
    fi
  done
  say "$name: $faults faults over $lives lives ($first_pass before the stream was first complete); final uninterrupted run"
  local final_rc
  start_worker "$db" "$dir/final.log" "$@"
  if ((relay)); then
    wait_cursor "$db" "$last" 600 "$WORKER_PID"
    kill -TERM "$WORKER_PID" 2>/dev/null
  fi
  wait_exit "$WORKER_PID" 600
  final_rc=$?
  verdict "$name" "$clean"
  local status=ok note m
  note="faults before the stream was first complete: $first_pass, during --cursor 0 replays: $((faults - first_pass)); by kind: "
  for m in startup random cursor shutdown shutdown-clean shutdown-early; do
    [ -n "${by_mode[$m]:-}" ] && note="$note$m ${by_mode[$m]}, "
  done
  note="${note%, }; final exit $final_rc"
  ((crashes > 0)) && note="$note; $crashes unexpected exits"
  ((backwards > 0)) && note="$note; the saved cursor went back in $backwards lives"
  { [ "$final_rc" = 0 ] && ((crashes == 0 && backwards == 0 && faults == max)) && [ "$DIFF" = 0 ] && ((CURSOR_OK)); } || status=FAIL
  ((CURSOR_OK)) || note="$note; cursor differs"
  result "${KILL_LABEL:-1 kill -9}" "${KILL_INPUT:-$clean}" "$(describe "$@"), $max kills, scale ${scale} ms" \
    $((lives + 1)) "$faults" "$LOST" "$DOUBLE" "$DIFF" "$(ms_summary "${recover[@]}")" "$status" "$note"
  db_drop "$db"
}

scenario_kill() {
  kill_loop kill_gen_file gen 100000 "$KILLS" 1300 --relay "file:$GEN"
  start_replay "$GEN" 1500 "$OUT/replay-kill-gen.log" || return
  kill_loop kill_gen_relay gen 100000 "$KILLS" 2500 --relay "$REPLAY_URL"
  stop_replay
  kill_loop kill_pds_file pds 999 "$KILLS_PDS" 300 --relay "file:$PDS"
  start_replay "$PDS" 200 "$OUT/replay-kill-pds.log" || return
  kill_loop kill_pds_relay pds 999 "$KILLS_PDS" 1800 --relay "$REPLAY_URL"
  stop_replay
}

# ---------------------------------------------------------------------------------------------
# 2. PostgreSQL restarted under the worker.

PG_RESTART="pg_ctlcluster --skip-systemctl-redirect ${PG_CLUSTER_VERSION:-15} ${PG_CLUSTER_NAME:-main} restart"

# pg_restart_run NAME CLEAN LAST RESTARTS FIRST_MS GAP_MS SOURCE_ARGS...
pg_restart_run() {
  local name=$1 clean=$2 last=$3 restarts=$4 first=$5 gap=$6
  shift 6
  local db=chaos_$name dir=$OUT/$name relay=0 i done_restarts=0 down=() recover=() crashed=0
  [[ "$*" == *ws://* ]] && relay=1
  mkdir -p "$dir"
  db_fresh "$db"
  local t0
  t0=$(now_ms)
  start_worker "$db" "$dir/run.log" "$@"
  local pid=$WORKER_PID
  for i in $(seq 1 "$restarts"); do
    local at=$((t0 + first + (i - 1) * gap + $(rand_between 0 500))) before r0 r1
    while (($(now_ms) < at)) && alive "$pid"; do sleep 0.05; done
    alive "$pid" || break
    before=$(cursor_of "$db")
    before=${before:--1}
    ((before >= last)) && break
    say "$name: restarting PostgreSQL (cursor $before)"
    r0=$(now_ms)
    $PG_RESTART >>"$dir/pg_ctl.log" 2>&1 || say "$name: pg restart failed: $(tail -n 2 "$dir/pg_ctl.log")"
    pg_wait_ready
    r1=$(now_ms)
    down+=($((r1 - r0)))
    done_restarts=$((done_restarts + 1))
    # Recovered: the saved cursor moves past where it was (or the stream is done).
    while :; do
      local c
      c=$(cursor_of "$db")
      if [ -n "$c" ] && ((c > before)); then
        recover+=($(($(now_ms) - r1)))
        break
      fi
      if ! alive "$pid"; then
        crashed=1
        break
      fi
      (($(now_ms) - r1 > 120000)) && break
      sleep 0.1
    done
  done
  if ((relay)); then
    wait_cursor "$db" "$last" 600 "$pid"
    kill -TERM "$pid" 2>/dev/null
  fi
  wait_exit "$pid" 600
  local rc=$?
  local stats
  stats=$(last_stats "$dir/run.log")
  verdict "$name" "$clean"
  local status=ok note="restart took $(ms_summary "${down[@]}"); db_retries=$(field "$stats" db_retries); exit $rc; torn log lines: $(torn_lines "$dir/run.log")"
  { [ "$rc" = 0 ] && ((crashed == 0)) && [ "$DIFF" = 0 ] && ((CURSOR_OK)) && ((done_restarts > 0)); } || status=FAIL
  ((CURSOR_OK)) || note="$note; cursor $(cat "$OUT/$name/dump/cursor"), clean $(cat "$OUT/clean-$clean/cursor")"
  result "${PG_LABEL:-2 PostgreSQL restart}" "$clean" "$(describe "$@")" \
    1 "$done_restarts" "$LOST" "$DOUBLE" "$DIFF" "$(ms_summary "${recover[@]}")${recover:+ after the server is up}" "$status" "$note"
  db_drop "$db"
}

# The cursor keeper's connection dies just before a SIGTERM: the final save must still happen
# (the log's "stopped after ... cursor=N" must be what the database holds).
# keeper_loss_run NAME CLEAN LAST ROUNDS SOURCE_ARGS...
keeper_loss_run() {
  local name=$1 clean=$2 last=$3 rounds=$4
  shift 4
  local db=chaos_$name dir=$OUT/$name i stale=0 worst=0 crashed=0
  mkdir -p "$dir"
  db_fresh "$db"
  for i in $(seq 1 "$rounds"); do
    local before
    before=$(cursor_of "$db")
    start_worker "$db" "$dir/stop-$i.log" "$@"
    local pid=$WORKER_PID
    wait_cursor "$db" $((${before:-0} + 1)) 60 "$pid"
    sleep_ms "$(rand_between 0 800)"
    psql_on postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%firehose_cursor%'" >/dev/null
    kill -TERM "$pid"
    wait_exit "$pid" 30
    local rc=$? logged saved
    [ "$rc" = 0 ] || crashed=$((crashed + 1))
    logged=$(sed -n 's/.*stopped after .* cursor=\([0-9]*\).*/\1/p' "$dir/stop-$i.log")
    saved=$(cursor_of "$db")
    if [ "${logged:-x}" != "${saved:-y}" ]; then
      stale=$((stale + 1))
      ((${logged:-0} - ${saved:-0} > worst)) && worst=$((${logged:-0} - ${saved:-0}))
      say "$name: stop $i logged cursor=$logged, database holds $saved"
    fi
  done
  start_worker "$db" "$dir/final.log" "$@"
  wait_cursor "$db" "$last" 600 "$WORKER_PID"
  kill -TERM "$WORKER_PID"
  wait_exit "$WORKER_PID" 30
  local rc=$?
  verdict "$name" "$clean"
  local status=ok
  { [ "$rc" = 0 ] && ((crashed == 0 && stale == 0)) && [ "$DIFF" = 0 ] && ((CURSOR_OK)); } || status=FAIL
  result "2 keeper connection lost, then SIGTERM" "$clean" "$(describe "$@")" \
    $((rounds + 1)) "$rounds" "$LOST" "$DOUBLE" "$DIFF" "-" "$status" \
    "final cursor not saved in $stale of $rounds stops (database behind the logged cursor by up to $worst events, replayed on the next start); $crashed unclean exits"
  db_drop "$db"
}

scenario_pg_restart() {
  say "scenario 2 restarts the shared PostgreSQL server $PG_RESTARTS_TOTAL times in the next minutes"
  pg_restart_run pg_gen_file gen 100000 1 2500 5000 --relay "file:$GEN"
  start_replay "$GEN" 2000 "$OUT/replay-pg-gen.log" || return
  pg_restart_run pg_gen_relay gen 100000 "$PG_RESTARTS" 6000 12000 --relay "$REPLAY_URL"
  stop_replay
  # A crash instead of a clean restart: an immediate stop writes no checkpoint and loses what is
  # not flushed; every commit skyindex saw acknowledged must still be there (synchronous_commit
  # on), and the run must end equal to the clean one.
  start_replay "$GEN" 2000 "$OUT/replay-pg-crash.log" || return
  PG_LABEL="2 PostgreSQL crash (-m immediate)" \
    PG_RESTART="pg_ctlcluster --skip-systemctl-redirect -m immediate ${PG_CLUSTER_VERSION:-15} ${PG_CLUSTER_NAME:-main} restart" \
    pg_restart_run pg_gen_crash gen 100000 "$PG_RESTARTS" 6000 12000 --relay "$REPLAY_URL"
  stop_replay
  start_replay "$PDS" 200 "$OUT/replay-pg-pds.log" || return
  pg_restart_run pg_pds_relay pds 999 1 2000 5000 --relay "$REPLAY_URL"
  stop_replay
}

scenario_keeper_loss() {
  start_replay "$GEN" 2000 "$OUT/replay-keeper.log" || return
  keeper_loss_run keeper_gen_relay gen 100000 "$KEEPER_ROUNDS" --relay "$REPLAY_URL"
  stop_replay
}

# ---------------------------------------------------------------------------------------------
# 3. Relay faults: in tests/it/chaos.rs (the replay server's faults are a library API).

scenario_relay_faults() {
  local inputs=gen,pds rows_before
  ((QUICK)) && inputs=pds
  rows_before=$(wc -l <"$RESULTS")
  say "scenario 3: cargo test chaos::relay_faults::scale_relay_faults (ignored by default)"
  (
    cd "$ROOT" &&
      CHAOS_BIN=$BIN CHAOS_CAPTURE=$GEN CHAOS_INPUTS=$inputs CHAOS_RESULTS=$RESULTS \
        CHAOS_CLEAN_GEN=$(db_url chaos_clean_gen) CHAOS_CLEAN_PDS=$(db_url chaos_clean_pds) \
        cargo test --quiet --test it chaos::relay_faults::scale_relay_faults -- --ignored --exact --nocapture
  ) >"$OUT/relay-faults.log" 2>&1
  local rc=$?
  if [ "$rc" != 0 ] || (($(wc -l <"$RESULTS") == rows_before)); then
    say "scenario 3: cargo test failed or ran nothing (exit $rc); see $OUT/relay-faults.log"
    result "3 relay faults" "$inputs" "cargo test chaos::relay_faults::scale_relay_faults" 0 0 - - - - FAIL "cargo test exit $rc, $(($(wc -l <"$RESULTS") - rows_before)) rows"
  fi
}

# ---------------------------------------------------------------------------------------------
# 4. A stuck database: users locked for LOCK_SECONDS.

scenario_lock() {
  local name=lock_gen db=chaos_lock_gen dir=$OUT/lock_gen hold=$LOCK_SECONDS
  mkdir -p "$dir"
  db_fresh "$db"
  start_worker "$db" "$dir/run.log" --relay "file:$GEN"
  local pid=$WORKER_PID
  wait_cursor "$db" 10000 120 "$pid"
  local hwm_before
  hwm_before=$(vm_hwm "$pid")
  # The lock holder: one transaction that sleeps while it holds the lock.
  psql_on "$db" -c "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($hold); COMMIT;" \
    >"$dir/lock.log" 2>&1 &
  local holder=$!
  local t_lock i
  for i in $(seq 1 100); do
    [ "$(psql_on "$db" -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'users' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && break
    sleep 0.05
  done
  t_lock=$(now_ms)
  say "lock_gen: users locked for $hold s (cursor $(cursor_of "$db"))"
  # Let what was committed before the lock reach the cursor, then watch it stand still.
  sleep 3
  local c_during rss_early rss_late
  c_during=$(cursor_of "$db")
  rss_early=$(vm_rss "$pid")
  local hwm=0
  while alive "$holder"; do
    hwm=$(vm_hwm "$pid")
    rss_late=$(vm_rss "$pid")
    (($(now_ms) - t_lock > (hold - 1) * 1000)) && break
    sleep 0.5
  done
  local c_end t_end
  c_end=$(cursor_of "$db")
  wait "$holder"
  t_end=$(now_ms)
  # Stats lines logged while the lock was held (from 3 s in until its end).
  local from to
  from=$(date -u -d "@$(((t_lock + 3000) / 1000))" +%FT%T)
  to=$(date -u -d "@$(((t_end - 500) / 1000))" +%FT%T)
  gawk -v from="$from" -v to="$to" '/ stats / && substr($1, 1, 19) >= from && substr($1, 1, 19) <= to' \
    "$dir/run.log" >"$dir/stats-during-lock.log"
  local lines zero queues
  lines=$(wc -l <"$dir/stats-during-lock.log")
  zero=$(grep -c 'events/sec=0.0 ' "$dir/stats-during-lock.log")
  queues=$(sed -n 's/.* queue=\([0-9]*\).*/\1/p' "$dir/stats-during-lock.log" | sort -n | uniq | tr '\n' ' ')
  local rec=-
  while alive "$pid"; do
    local c
    c=$(cursor_of "$db")
    if [ -n "$c" ] && ((c > c_end)); then
      rec=$(($(now_ms) - t_end))
      break
    fi
    hwm=$(vm_hwm "$pid")
    sleep 0.1
  done
  while alive "$pid"; do
    local h
    h=$(vm_hwm "$pid")
    [ -n "$h" ] && ((h > hwm)) && hwm=$h
    sleep 0.2
  done
  wait_exit "$pid" 600
  local rc=$?
  verdict "$name" gen
  local status=ok
  local note="VmHWM ${hwm_before} kB before the lock, ${hwm} kB at the end; VmRSS ${rss_early} kB at +3 s, ${rss_late} kB at +$((hold - 1)) s; cursor ${c_during} at +3 s, ${c_end} at the end of the lock; stats lines during the lock: ${lines}, events/sec=0.0 in ${zero}; queue values: ${queues% }(max $((4 * 2000))); exit $rc"
  { [ "$rc" = 0 ] && [ "$DIFF" = 0 ] && ((CURSOR_OK)) && [ "$c_during" = "$c_end" ] &&
    ((lines > 0 && zero == lines)) && [ "$rec" != - ] && ((rss_late <= rss_early + 20000)); } || status=FAIL
  result "4 users locked" gen "LOCK TABLE users IN ACCESS EXCLUSIVE MODE for $hold s, file" 1 1 \
    "$LOST" "$DOUBLE" "$DIFF" "${rec} ms after release" "$status" "$note"
  db_drop "$db"
}

# ---------------------------------------------------------------------------------------------
# 5. Hostile input at scale: 1% corrupted frames.

scenario_hostile() {
  local name=hostile_gen db=chaos_hostile_gen dir=$OUT/hostile_gen sidecar=$GEN_BAD.corruptions.json
  mkdir -p "$dir"
  db_fresh "$db"
  start_worker "$db" "$dir/run.log" --relay "file:$GEN_BAD"
  wait_exit "$WORKER_PID" 600
  local rc=$?
  local log=$dir/run.log stats
  stats=$(last_stats "$log")
  local bad_frames bad_ops want_frames want_ops want_total committed frames
  bad_frames=$(field "$stats" bad_frames)
  bad_ops=$(field "$stats" bad_ops)
  want_frames=$(jq .frames_failing "$sidecar")
  want_ops=$(jq .invalid_ops "$sidecar")
  want_total=$(jq .total "$sidecar")
  frames=$(jq '.frames | length' "$sidecar")
  committed=$(sed -n 's/.*stopped after .*: \([0-9]*\) events committed.*/\1/p' "$log" | tail -n 1)
  # Every corrupted seq must be logged once, with a reason: ops as "invalid record skipped: seq=S",
  # frames as "bad frame (...) skipped: ... seq=S ...".
  # comm and uniq want the lexical order of the C locale.
  local LC_ALL=C
  jq -r '.frames[] | select(.detect == "op") | .seq' "$sidecar" | sort >"$dir/want-op-seqs"
  jq -r '.frames[] | select(.detect == "frame") | .seq' "$sidecar" | sort >"$dir/want-frame-seqs"
  sed -n 's/.*invalid record skipped: seq=\([0-9]*\) .*reason=.*/\1/p' "$log" | sort >"$dir/got-op-seqs"
  # A frame damaged before its seq is placed by the seq before it: `after_seq=N` names N+1.
  { grep 'bad frame (' "$log" | sed -n 's/.* seq=\([0-9]*\) .*/\1/p'
    grep 'bad frame (' "$log" | grep -v ' seq=[0-9]' | sed -n 's/.* after_seq=\([0-9]*\).*/\1/p' | awk '{print $1 + 1}'
  } | sort >"$dir/got-frame-seqs"
  local ops_once ops_missing ops_dup frames_once frames_unlabelled frames_missing stray
  ops_once=$(comm -12 "$dir/want-op-seqs" <(uniq -u "$dir/got-op-seqs") | wc -l)
  ops_dup=$(uniq -d "$dir/got-op-seqs" | wc -l)
  ops_missing=$(comm -23 "$dir/want-op-seqs" "$dir/got-op-seqs" | wc -l)
  frames_once=$(comm -12 "$dir/want-frame-seqs" <(uniq -u "$dir/got-frame-seqs") | wc -l)
  frames_missing=$(comm -23 "$dir/want-frame-seqs" "$dir/got-frame-seqs" | wc -l)
  frames_unlabelled=$(grep 'bad frame (' "$log" | grep -v ' seq=[0-9]' | grep -vc ' after_seq=[0-9]')
  stray=$(cat "$dir/got-op-seqs" "$dir/got-frame-seqs" | sort | comm -23 - <(cat "$dir/want-op-seqs" "$dir/want-frame-seqs" | sort) | wc -l)
  local cursor last_good
  cursor=$(cursor_of "$db")
  # The last seq whose frame decodes (a frame-detected corruption may be the last one).
  last_good=100000
  while grep -qx "$last_good" "$dir/want-frame-seqs"; do last_good=$((last_good - 1)); done
  dump_db "$db" "$dir/reference"

  # The same capture again, killed KILLS_HOSTILE times: it must end equal to the run above.
  local again=hostile_gen_killed
  mkdir -p "$OUT/clean-hostile"
  cp -r "$dir/reference/." "$OUT/clean-hostile/"
  KILL_LABEL="5 hostile + kill -9" KILL_INPUT=gen-1%-corrupt kill_loop "$again" hostile 100000 "$KILLS_HOSTILE" 1200 --relay "file:$GEN_BAD"
  local killed_row
  killed_row=$(tail -n 1 "$RESULTS")

  local status=ok
  local note="exit $rc; stats bad_frames=$bad_frames bad_ops=$bad_ops, sidecar frames_failing=$want_frames invalid_ops=$want_ops (total $want_total, $frames listed); committed $committed of 100000 (want $((100000 - want_frames))); cursor $cursor (last decodable seq $last_good); op seqs logged once: $ops_once/$want_ops (missing $ops_missing, twice $ops_dup); frame seqs logged once: $frames_once/$want_frames ($frames_missing not named: $frames_unlabelled bad-frame lines carry no seq); log lines naming a seq not in the sidecar: $stray"
  { [ "$rc" = 0 ] && [ "$bad_frames" = "$want_frames" ] && [ "$bad_ops" = "$want_ops" ] &&
    [ "$committed" = $((100000 - want_frames)) ] && [ "$cursor" = "$last_good" ] &&
    [ "$ops_once" = "$want_ops" ] && [ "$frames_once" = "$want_frames" ] && [ "$stray" = 0 ]; } || status=FAIL
  result "5 hostile input" gen-1%-corrupt "--corrupt-per-mille 10, file, uninterrupted" 1 "$want_total" \
    0 0 0 "-" "$status" "$note"
  say "hostile (killed run vs the uninterrupted one): $killed_row"
  db_drop "$db"
}

# ---------------------------------------------------------------------------------------------
# 6. A read-only database, then a full disk.

# read_only_run NAME CLEAN LAST HOLD_S SOURCE_ARGS...
read_only_run() {
  local name=$1 clean=$2 last=$3 hold=$4
  shift 4
  local db=chaos_$name dir=$OUT/$name relay=0
  [[ "$*" == *ws://* ]] && relay=1
  mkdir -p "$dir"
  db_fresh "$db"
  start_worker "$db" "$dir/run.log" "$@"
  local pid=$WORKER_PID
  wait_cursor "$db" $((last / 10)) 120 "$pid"
  psql_on postgres -c "ALTER DATABASE $db SET default_transaction_read_only = on"
  terminate_backends "$db" >/dev/null
  local t_ro c_ro c_mid
  t_ro=$(now_ms)
  sleep 2
  c_ro=$(cursor_of "$db")
  sleep $((hold - 2))
  c_mid=$(cursor_of "$db")
  psql_on postgres -c "ALTER DATABASE $db RESET default_transaction_read_only"
  local t_reset rec_alone=- rec=-
  t_reset=$(now_ms)
  # Does it come back on its own (connections made while read-only keep the setting)?
  while (($(now_ms) - t_reset < 8000)) && alive "$pid"; do
    local c
    c=$(cursor_of "$db")
    if [ -n "$c" ] && ((c > c_mid)); then
      rec_alone=$(($(now_ms) - t_reset))
      break
    fi
    sleep 0.1
  done
  local t_term=-
  if [ "$rec_alone" = - ]; then
    terminate_backends "$db" >/dev/null
    t_term=$(now_ms)
    while alive "$pid"; do
      local c
      c=$(cursor_of "$db")
      if [ -n "$c" ] && ((c > c_mid)); then
        rec=$(($(now_ms) - t_term))
        break
      fi
      (($(now_ms) - t_term > 120000)) && break
      sleep 0.1
    done
  fi
  if ((relay)); then
    wait_cursor "$db" "$last" 600 "$pid"
    kill -TERM "$pid" 2>/dev/null
  fi
  wait_exit "$pid" 600
  local rc=$?
  local log=$dir/run.log stats
  stats=$(last_stats "$log")
  local ro_errors save_errors
  ro_errors=$(grep -c 'read-only' "$log")
  save_errors=$(grep -c 'saving cursor=.* failed' "$log")
  verdict "$name" "$clean"
  local status=ok recover
  if [ "$rec_alone" != - ]; then
    recover="$rec_alone ms after RESET"
  else
    recover="$rec ms after RESET + reconnect (RESET alone: none in 8 s)"
  fi
  local note="cursor $c_ro at +2 s, $c_mid at +$hold s; log lines naming the read-only transaction: $ro_errors, failed cursor saves: $save_errors; db_retries=$(field "$stats" db_retries); exit $rc; torn log lines: $(torn_lines "$log"); first error: $(grep -m 1 'read-only' "$log" | cut -c 31-220)"
  { [ "$rc" = 0 ] && [ "$DIFF" = 0 ] && ((CURSOR_OK)) && [ "$c_ro" = "$c_mid" ] && ((ro_errors > 0)) &&
    { [ "$rec_alone" != - ] || [ "$rec" != - ]; }; } || status=FAIL
  result "6 read-only database" "$clean" "default_transaction_read_only for $hold s + backends terminated, $(describe "$@")" \
    1 1 "$LOST" "$DOUBLE" "$DIFF" "$recover" "$status" "$note"
  db_drop "$db"
}

# A full disk: the database lives in a tablespace on a small tmpfs; when it is full the worker
# must retry (not skip events), and go on once the tmpfs is grown.
disk_full_run() {
  local name=diskfull_gen db=chaos_diskfull_gen dir=$OUT/diskfull_gen mnt=/mnt/chaos_tablespace
  mkdir -p "$dir"
  if [ "$(id -u)" != 0 ]; then
    result "6 disk full" gen "tmpfs tablespace" 0 0 - - - - skipped "needs root to mount a tmpfs"
    return
  fi
  db_drop "$db"
  psql_on postgres -c "DROP TABLESPACE IF EXISTS chaos_ts" 2>/dev/null
  mountpoint -q "$mnt" && umount "$mnt"
  mkdir -p "$mnt"
  mount -t tmpfs -o size=48m,mode=0700 tmpfs "$mnt" || {
    result "6 disk full" gen "tmpfs tablespace" 0 0 - - - - skipped "mount failed"
    return
  }
  chown postgres:postgres "$mnt"
  psql_on postgres -c "CREATE TABLESPACE chaos_ts LOCATION '$mnt'" -c "CREATE DATABASE $db TABLESPACE chaos_ts"
  start_worker "$db" "$dir/run.log" --relay "file:$GEN"
  local pid=$WORKER_PID t0 t_full=- c_full=-
  t0=$(now_ms)
  while alive "$pid" && (($(now_ms) - t0 < 120000)); do
    if grep -q 'No space left on device' "$dir/run.log"; then
      t_full=$(now_ms)
      break
    fi
    sleep 0.2
  done
  local rec=- c_mid
  if [ "$t_full" != - ]; then
    sleep 2
    c_full=$(cursor_of "$db")
    sleep 8
    c_mid=$(cursor_of "$db")
    mount -o remount,size=1g "$mnt"
    local t_grow
    t_grow=$(now_ms)
    while alive "$pid"; do
      local c
      c=$(cursor_of "$db")
      if [ -n "$c" ] && ((c > c_mid)); then
        rec=$(($(now_ms) - t_grow))
        break
      fi
      (($(now_ms) - t_grow > 120000)) && break
      sleep 0.1
    done
  fi
  wait_exit "$pid" 600
  local rc=$?
  local stats log=$dir/run.log
  stats=$(last_stats "$log")
  verdict "$name" gen
  local status=ok
  local enospc
  enospc=$(grep -c 'No space left on device' "$log")
  local note="48 MB tmpfs, grown to 1 GB 10 s after the first error; cursor $c_full then ${c_mid:-} while full; log lines naming ENOSPC: $enospc; failed_events=$(field "$stats" failed_events) db_retries=$(field "$stats" db_retries); exit $rc; torn log lines: $(torn_lines "$log")"
  { [ "$rc" = 0 ] && [ "$DIFF" = 0 ] && ((CURSOR_OK)) && [ "$t_full" != - ] && [ "$c_full" = "$c_mid" ] &&
    [ "$(field "$stats" failed_events)" = 0 ]; } || status=FAIL
  result "6 disk full" gen "tablespace on a full tmpfs, file" 1 1 "$LOST" "$DOUBLE" "$DIFF" "${rec} ms after growing it" "$status" "$note"
  db_drop "$db"
  psql_on postgres -c "DROP TABLESPACE IF EXISTS chaos_ts"
  umount "$mnt" && rmdir "$mnt"
}

scenario_read_only() {
  read_only_run ro_gen_file gen 100000 "$RO_SECONDS" --relay "file:$GEN"
  start_replay "$PDS" 100 "$OUT/replay-ro-pds.log" || return
  read_only_run ro_pds_relay pds 999 "$RO_SECONDS" --relay "$REPLAY_URL"
  stop_replay
  ((DISK_FULL)) && disk_full_run
}
