#!/usr/bin/env bash
# Records tests/fixtures/labels from a real labeler on loopback (../shared/tools/pds-capture:
# PLC, PDS and @atproto/ozone, see its README "A real labeler"), so `cargo test` replays it with
# no node:
#   live.bin      subscribeLabels read live while emit-labels wrote (every write, seq 1..N)
#   replay.bin    subscribeLabels?cursor=0 read afterwards (current rows only, seq gaps)
#   labels.json   dump-labels: Ozone's queryLabels rows (its labels in force at summary.now),
#                 the replay decoded, and the summary
#   emitted.json  what emit-labels did (ops and its expected end state)
#   did.json      the labeler's DID document as the PLC served it (legacy key form)
#   firehose.bin  the PDS's firehose from seq 1 (accounts, records, the labeler's
#                 app.bsky.labeler.service record), for `--labelers seen`
#   verify.json   verify-labels' report over live.bin and labels.json (all signatures valid)
#   scripts/make-labels-fixture.sh [--accounts 15] [--commits 400] [--count 60] [--out tests/fixtures/labels]
# Needs node and `npm ci` in a copy of the tool (PDS_CAPTURE, default /tmp/pds-capture).
set -euo pipefail
cd "$(dirname "$0")/.."

ACCOUNTS=15
COMMITS=400
COUNT=60
OUT=tests/fixtures/labels
TOOL="${PDS_CAPTURE:-/tmp/pds-capture}"
PDS_PORT=6583
PLC_PORT=6582
OZONE_PORT=6585
PG_PORT=6442
while [ $# -gt 0 ]; do
  case "$1" in
    --accounts) ACCOUNTS="$2"; shift 2 ;;
    --commits) COMMITS="$2"; shift 2 ;;
    --count) COUNT="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: $0 [--accounts N] [--commits N] [--count N] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [ ! -d "$TOOL/node_modules" ]; then
  rm -rf "$TOOL"; cp -r ../shared/tools/pds-capture "$TOOL"
  (cd "$TOOL" && npm ci >/dev/null)
fi
mkdir -p "$OUT"
# The harness runs PostgreSQL as `postgres`, which must be able to enter the data directory.
WORK=$(mktemp -d)
chmod 755 "$WORK"
LAB=
trap '[ -n "$LAB" ] && kill -TERM $LAB 2>/dev/null && wait $LAB 2>/dev/null; rm -rf "$WORK"' EXIT

node "$TOOL/bin/start-labeler.js" --pds-port $PDS_PORT --plc-port $PLC_PORT --ozone-port $OZONE_PORT \
  --pg-port $PG_PORT --data-dir "$WORK/data" > "$WORK/labeler.json" 2> "$WORK/labeler.log" & LAB=$!
for _ in $(seq 1 240); do [ -s "$WORK/labeler.json" ] && break; sleep 0.5; done
[ -s "$WORK/labeler.json" ] || { cat "$WORK/labeler.log" >&2; exit 1; }
OZONE="http://localhost:$OZONE_PORT"
PDS="http://localhost:$PDS_PORT"
PLC="http://localhost:$PLC_PORT"
DID=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).labelerDid)' "$WORK/labeler.json")

node "$TOOL/bin/drive.js" --pds-url "$PDS" --accounts "$ACCOUNTS" --commits "$COMMITS" \
  --seed labels > "$WORK/drive.json" 2> "$WORK/drive.log"

# The live tail first (no cursor), then the labels, so every write is recorded as it happens.
node "$TOOL/bin/dump-labels.js" --ozone "$OZONE" --out "$WORK/live.json" --frames "$OUT/live.bin" \
  --cursor -1 --idle-ms 6000 > /dev/null 2> "$WORK/live.log" & LIVE=$!
sleep 2
node "$TOOL/bin/emit-labels.js" --ozone "$OZONE" --pds "$PDS" --count "$COUNT" --seed labels \
  --out "$OUT/emitted.json" > /dev/null 2> "$WORK/emit.log"
wait $LIVE

# A subscriber that joins afterwards, and Ozone's own view of its labels.
node "$TOOL/bin/dump-labels.js" --ozone "$OZONE" --out "$OUT/labels.json" --frames "$OUT/replay.bin" \
  --cursor 0 --idle-ms 3000 > /dev/null 2> "$WORK/replay.log"
curl -sf "$PLC/$DID" > "$OUT/did.json"
node "$TOOL/bin/verify-labels.js" --plc "$PLC" --frames "$OUT/live.bin" --dump "$OUT/labels.json" \
  --ozone "$OZONE" > "$OUT/verify.json"

node "$TOOL/bin/capture.js" --url "ws://127.0.0.1:$PDS_PORT" --out "$OUT/firehose.bin" --cursor 0 \
  --idle-ms 3000 > /dev/null 2>&1
echo "wrote $OUT: $(wc -c < "$OUT/live.bin") bytes live, $(wc -c < "$OUT/replay.bin") bytes replayed, labeler $DID" >&2
