#!/usr/bin/env bash
# Records tests/fixtures/pds-verify from a real PDS and PLC on loopback (../shared/tools/pds-capture):
# the firehose from seq 1 (frames.bin), the PDS's truth (truth.json, summary.json), and every account's DID
# document as the PLC serves it at the end (dids.json: {did: document}), so tests can verify
# every commit against its author's key with a loopback directory in place of the PLC.
#   scripts/make-verify-fixture.sh [--accounts 12] [--commits 400] [--out tests/fixtures/pds-verify]
# Needs node and `npm ci` in a copy of the tool (PDS_CAPTURE, default /tmp/pds-capture).
set -euo pipefail
cd "$(dirname "$0")/.."

ACCOUNTS=12
COMMITS=400
OUT=tests/fixtures/pds-verify
TOOL="${PDS_CAPTURE:-/tmp/pds-capture}"
PDS_PORT=3583
PLC_PORT=3582
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
trap 'kill $PDS 2>/dev/null || true; rm -rf "$WORK"' EXIT

node "$TOOL/bin/start-pds.js" --pds-port $PDS_PORT --plc-port $PLC_PORT \
  --data-dir "$WORK/data" > "$WORK/pds.json" 2> "$WORK/pds.log" & PDS=$!
for _ in $(seq 1 120); do [ -s "$WORK/pds.json" ] && break; sleep 0.5; done
[ -s "$WORK/pds.json" ] || { cat "$WORK/pds.log" >&2; exit 1; }

node "$TOOL/bin/capture.js" --url "ws://127.0.0.1:$PDS_PORT" --out "$OUT/frames.bin" --cursor 0 \
  --idle-ms 4000 > "$WORK/capture.json" 2>/dev/null & CAP=$!
sleep 1
node "$TOOL/bin/drive.js" --pds-url "http://localhost:$PDS_PORT" --accounts "$ACCOUNTS" \
  --commits "$COMMITS" --deletions 0 > "$WORK/drive.json" 2> "$WORK/drive.log"
wait $CAP
node "$TOOL/bin/dump-truth.js" --pds-url "http://127.0.0.1:$PDS_PORT" --out "$WORK/truth" 2>/dev/null
# In the shape run-capture.js writes (what tests/it/common/truth.rs reads): no account was
# deleted, and the derived counts under summary.json's "truth".
node -e '
const fs = require("node:fs");
const [dir, out] = process.argv.slice(1);
const truth = JSON.parse(fs.readFileSync(`${dir}/truth.json`));
truth.expectations = { deletedAccounts: [] };
fs.writeFileSync(`${out}/truth.json`, JSON.stringify(truth));
const summary = JSON.parse(fs.readFileSync(`${dir}/truth-summary.json`));
fs.writeFileSync(`${out}/summary.json`, JSON.stringify({ truth: summary }, null, 1));
' "$WORK/truth" "$OUT"

# Every DID named in the truth, and its document from the PLC.
node -e '
const truth = require(process.argv[1]);
const plc = process.argv[2];
(async () => {
  const docs = {};
  for (const a of truth.accounts) {
    const r = await fetch(`${plc}/${a.did}`);
    if (!r.ok) throw new Error(`${a.did}: HTTP ${r.status}`);
    docs[a.did] = await r.json();
  }
  process.stdout.write(JSON.stringify(docs, null, 1));
})().catch((e) => { console.error(e); process.exit(1) });
' "$PWD/$OUT/truth.json" "http://127.0.0.1:$PLC_PORT" > "$OUT/dids.json"
echo "wrote $OUT: $(wc -c < "$OUT/frames.bin") bytes of frames, $(grep -c '"did:' "$OUT/dids.json") DID lines" >&2
