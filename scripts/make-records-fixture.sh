#!/usr/bin/env bash
# Records tests/fixtures/pds-records from a real PDS and PLC on loopback (../shared/tools/pds-capture):
# the driver's activity with --extras (feed generators, starter packs, postgates, verifications,
# profiles joined via starter packs) and then scripts/records-extras.js (every other typed
# collection: labeler service, status, declarations, threadgates with every rule, detached
# quotes), captured from seq 1 (frames.bin), with the PDS's own view of every record at the end
# (truth.json, summary.json), which tests compare our typed records with.
#   scripts/make-records-fixture.sh [--accounts 10] [--commits 800] [--out tests/fixtures/pds-records]
# Needs node and `npm ci` in a copy of the tool (PDS_CAPTURE, default /tmp/pds-capture).
set -euo pipefail
cd "$(dirname "$0")/.."

ACCOUNTS=10
COMMITS=800
OUT=tests/fixtures/pds-records
TOOL="${PDS_CAPTURE:-/tmp/pds-capture}"
# Ports no other fixture script or test uses.
PDS_PORT=4583
PLC_PORT=4582
while [ $# -gt 0 ]; do
  case "$1" in
    --accounts) ACCOUNTS="$2"; shift 2 ;;
    --commits) COMMITS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: $0 [--accounts N] [--commits N] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [ ! -d "$TOOL/node_modules" ]; then
  rm -rf "$TOOL"; cp -r ../shared/tools/pds-capture "$TOOL"
  (cd "$TOOL" && npm ci >/dev/null)
fi
mkdir -p "$OUT"
WORK=$(mktemp -d)
DATA=$(mktemp -d -p /dev/shm skyindex-records-pds.XXXXXX 2>/dev/null || mktemp -d)
trap 'kill $PDS 2>/dev/null || true; wait $PDS 2>/dev/null || true; rm -rf "$WORK" "$DATA"' EXIT

node "$TOOL/bin/start-pds.js" --pds-port $PDS_PORT --plc-port $PLC_PORT \
  --data-dir "$DATA" > "$WORK/pds.json" 2> "$WORK/pds.log" & PDS=$!
for _ in $(seq 1 120); do [ -s "$WORK/pds.json" ] && break; sleep 0.5; done
[ -s "$WORK/pds.json" ] || { cat "$WORK/pds.log" >&2; exit 1; }

node "$TOOL/bin/capture.js" --url "ws://127.0.0.1:$PDS_PORT" --out "$OUT/frames.bin" --cursor 0 \
  --idle-ms 4000 > "$WORK/capture.json" 2>/dev/null & CAP=$!
sleep 1
node "$TOOL/bin/drive.js" --pds-url "http://localhost:$PDS_PORT" --accounts "$ACCOUNTS" \
  --commits "$COMMITS" --deletions 0 --extras > "$WORK/drive.json" 2> "$WORK/drive.log"
node scripts/records-extras.js --pds-url "http://127.0.0.1:$PDS_PORT" > "$WORK/extras.json"
wait $CAP
node "$TOOL/bin/dump-truth.js" --pds-url "http://127.0.0.1:$PDS_PORT" --out "$WORK/truth" 2>/dev/null
node -e '
const fs = require("node:fs");
const [dir, out, capture] = process.argv.slice(1);
fs.copyFileSync(`${dir}/truth.json`, `${out}/truth.json`);
const summary = JSON.parse(fs.readFileSync(`${dir}/truth-summary.json`));
const cap = JSON.parse(fs.readFileSync(capture));
fs.writeFileSync(`${out}/summary.json`, JSON.stringify({ capture: cap, truth: summary }, null, 1));
' "$WORK/truth" "$OUT" "$WORK/capture.json"
echo "wrote $OUT: $(wc -c < "$OUT/frames.bin") bytes of frames" >&2
