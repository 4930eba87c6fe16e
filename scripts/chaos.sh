#!/usr/bin/env bash
# Crash, fault and hostile-input scenarios for skyindex, with figures (see RELIABILITY.md).
#
#   scripts/chaos.sh [--quick] [--only 1,2,3,4,5,6] [--no-pg-restart] [--no-disk-full] [--keep]
#
# Every scenario runs the release binary against the PostgreSQL on $PGHOST:$PGPORT (default
# 127.0.0.1:5432, user postgres, trust auth) in databases named chaos_*, over a generated capture
# of 100k events and over the real-PDS fixture, and ends by comparing every table (counters
# included) with a clean, uninterrupted run. Prints one table; exits 1 if any scenario failed,
# 2 if it could not run.
#
#   1 kill -9 at random moments (startup, batches, cursor writes, SIGTERM then SIGKILL), restarts
#   2 PostgreSQL restarted under the worker (restarts the whole server: other users notice!);
#     the cursor keeper's connection terminated just before a SIGTERM
#   3 relay faults through the replay server: drops, a stall, FutureCursor, ConsumerTooSlow,
#     garbage frames (cargo test chaos::relay_faults::scale_relay_faults, ignored by default)
#   4 users locked for 30 s: the pipeline stalls with flat memory and resumes
#   5 a capture with 1% hostile frames: counted, logged and skipped exactly; then killed runs of it
#   6 the database read-only for a while, then a full disk (a tablespace on a small tmpfs; root)
#
# Captures live outside the repository, in $CHAOS_BENCH (default /work/bench); they are generated
# when missing. Each run writes logs, dumps and results.tsv to $CHAOS_BENCH/chaos/run-DATE.
# CHAOS_SEED fixes the random fault moments (default: the date).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/chaos/lib.sh"
source "$ROOT/scripts/chaos/scenarios.sh"

QUICK=0 KEEP=0 PG_RESTART_OK=1 DISK_FULL=1 ONLY=1,2,3,4,5,6
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --no-pg-restart) PG_RESTART_OK=0 ;;
    --no-disk-full) DISK_FULL=0 ;;
    --only)
      ONLY=$2
      shift
      ;;
    -h | --help)
      sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument $1 (see --help)" >&2
      exit 2
      ;;
  esac
  shift
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
BENCH=${CHAOS_BENCH:-/work/bench}
GEN=$BENCH/chaos100k.bin
GEN_BAD=$BENCH/chaos100k-corrupt.bin
PDS=$ROOT/tests/fixtures/pds-small/frames.bin
SEED=${CHAOS_SEED:-$(date +%Y%m%d)}
RANDOM=$SEED

if ((QUICK)); then
  KILLS=10 KILLS_PDS=5 KILLS_HOSTILE=3 PG_RESTARTS=1 KEEPER_ROUNDS=2 LOCK_SECONDS=10 RO_SECONDS=5
else
  KILLS=50 KILLS_PDS=25 KILLS_HOSTILE=5 PG_RESTARTS=3 KEEPER_ROUNDS=5 LOCK_SECONDS=30 RO_SECONDS=15
fi
PG_RESTARTS_TOTAL=$((2 * PG_RESTARTS + 2))

OUT=$BENCH/chaos/run-$(date +%Y%m%d-%H%M%S)
RESULTS=$OUT/results.tsv
mkdir -p "$OUT"
: >"$RESULTS"

# ---------------------------------------------------------------------------------------------
# Prerequisites: PostgreSQL, the binary (a private copy, so a rebuild meanwhile changes nothing),
# the captures.

pg_isready -q -h "$PGHOST" -p "$PGPORT" || {
  echo "PostgreSQL is not answering on $PGHOST:$PGPORT" >&2
  exit 2
}
for tool in psql jq gawk; do
  command -v "$tool" >/dev/null || {
    echo "$tool is needed" >&2
    exit 2
  }
done
say "building (cargo build --release, the gen_stream example)"
(cd "$ROOT" && cargo build --release --quiet && cargo build --release --quiet --example gen_stream) || exit 2
BIN=$OUT/skyindex
cp "$ROOT/target/release/skyindex" "$BIN"
GEN_STREAM=$ROOT/target/release/examples/gen_stream
[ -s "$GEN" ] || "$GEN_STREAM" --events 100000 --seed 7 --out "$GEN" 2>"$OUT/gen.log" || exit 2
[ -s "$GEN_BAD.corruptions.json" ] ||
  "$GEN_STREAM" --events 100000 --seed 7 --corrupt-per-mille 10 --out "$GEN_BAD" 2>"$OUT/gen-bad.log" || exit 2

cleanup() {
  stop_replay
  jobs -p | xargs -r kill 2>/dev/null
  if ((!KEEP)); then
    for db in $(psql_on postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'chaos\_%'"); do
      db_drop "$db"
    done
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(cd "$ROOT" && git describe --always --dirty 2>/dev/null)"
  echo "binary sha256: $(sha256sum "$BIN" | cut -d' ' -f1)"
  echo "machine: nproc $(nproc), kernel $(uname -r), $(psql_on postgres -c 'SHOW server_version') PostgreSQL"
  echo "seed: $SEED; quick: $QUICK"
  echo "captures: $GEN ($(stat -c %s "$GEN") bytes), $GEN_BAD, $PDS"
} | tee "$OUT/about.txt" >&2

# ---------------------------------------------------------------------------------------------

started=$(now_ms)
baseline gen "$GEN" || exit 2
baseline pds "$PDS" || exit 2
baseline_repeatable gen "$GEN"
baseline_repeatable pds "$PDS"
wants 1 && scenario_kill
if wants 2; then
  if ((PG_RESTART_OK)); then scenario_pg_restart; else result "2 PostgreSQL restart" - - 0 0 - - - - skipped "--no-pg-restart"; fi
  scenario_keeper_loss
fi
wants 3 && scenario_relay_faults
wants 4 && scenario_lock
wants 5 && scenario_hostile
wants 6 && scenario_read_only

# ---------------------------------------------------------------------------------------------
# The table.

say "all scenarios done in $((($(now_ms) - started) / 1000)) s; results in $RESULTS"
header=$'scenario\tinput\tparameters\truns\tfaults\tlost\tdouble-applied\tdiffering rows\ttime to recover\tstatus'
{
  echo "$header"
  cut -f 1-10 "$RESULTS"
} | column -t -s $'\t'
{
  echo "| ${header//$'\t'/ | } |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  cut -f 1-10 "$RESULTS" | sed 's/^/| /; s/\t/ | /g; s/$/ |/'
} >"$OUT/table.md"
echo
echo "notes:"
cut -f 1,2,11 "$RESULTS" | sed 's/\t/ | /g; s/^/  /'
if cut -f 10 "$RESULTS" | grep -qv '^\(ok\|skipped\)$'; then
  echo "FAILED: $(cut -f 10 "$RESULTS" | grep -cv '^\(ok\|skipped\)$') scenario row(s); see $OUT"
  exit 1
fi
echo "all scenarios passed"
