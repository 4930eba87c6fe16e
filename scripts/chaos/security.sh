#!/usr/bin/env bash
# The security checks of RELIABILITY.md, run rather than claimed:
#   1 every SQL string built in src/ (sql_query, batch_execute, format! into SQL), listed
#   2 the length bounds applied before allocating (src/decode/limits.rs and their uses)
#   3 TLS: a wss:// relay whose certificate no trusted CA signed is refused; no flag turns checks off
#   4 the database password never reaches the log, errors or --help
#   5 the systemd unit: no root, a read-only system except its log directory
#
#   scripts/chaos/security.sh [BINARY]     (default target/release/skyindex)
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres) for check 4, openssl for 3,
# systemd-analyze for 5 (skipped when absent). Exits 1 if a check fails.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/target/release/skyindex}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; [ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null; psql -XAtq -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS chaos_security WITH (FORCE)" >/dev/null 2>&1' EXIT
failed=0
pass() { echo "  ok: $*"; }
fail() {
  echo "  FAIL: $*"
  failed=1
}

echo "1. SQL built from strings in src/ (everything else goes through Diesel's typed DSL):"
grep -rn --include=*.rs -E 'sql_query\(|batch_execute\(|copy_from\(' "$ROOT/src" | sed "s#$ROOT/##; s/^/  /"
echo "   format! strings that reach them:"
grep -rn --include=*.rs -E 'format!\(\s*"(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|COPY)' "$ROOT/src" | sed "s#$ROOT/##; s/^/  /"
grep -rn --include=*.rs -B1 -A4 'let sql = format!' "$ROOT/src" | sed "s#$ROOT/##; s/^/  /"

echo "2. Bounds (src/decode/limits.rs) and where they are enforced:"
grep -E '^pub const' "$ROOT/src/decode/limits.rs" | sed 's/^/  /'
grep -rn --include=*.rs -E 'MAX_[A-Z_]+' "$ROOT/src" | grep -v 'src/decode/limits.rs' |
  grep -E '>|max_message_size|max_frame_size' | sed "s#$ROOT/##; s/^/  /"

echo "3. TLS certificate checks:"
if "$BIN" run --help | grep -iqE 'insecure|no-verify|skip-verify|accept-invalid|danger'; then
  fail "run --help offers a way around certificate checks"
else
  pass "run --help has no flag to weaken TLS"
fi
if grep -rn --include=*.rs -iE 'dangerous|ServerCertVerifier|danger_accept|NoCertificateVerification' "$ROOT/src" >/dev/null; then
  fail "src/ touches rustls' dangerous API"
else
  pass "src/ never uses rustls' dangerous() API or a custom certificate verifier"
fi
if command -v openssl >/dev/null; then
  # A leaf certificate for localhost from a throwaway CA no trust store knows.
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=chaos-test-ca -days 1 \
    -keyout "$TMP/ca.key" -out "$TMP/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$TMP/key.pem" -out "$TMP/leaf.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$TMP/leaf.ext"
  openssl x509 -req -in "$TMP/leaf.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
    -days 1 -extfile "$TMP/leaf.ext" -out "$TMP/cert.pem" >/dev/null 2>&1
  port=$((30000 + RANDOM % 5000))
  openssl s_server -quiet -accept "$port" -cert "$TMP/cert.pem" -key "$TMP/key.pem" >/dev/null 2>&1 &
  SRV=$!
  sleep 0.5
  psql -XAtq -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS chaos_security WITH (FORCE)" -c "CREATE DATABASE chaos_security" >/dev/null 2>&1
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/chaos_security timeout -s TERM 4 \
    "$BIN" --log-file "$TMP/tls.log" run --relay "wss://localhost:$port" --service tls >/dev/null 2>&1
  line=$(grep -m 1 'relay connection failed' "$TMP/tls.log" | cut -c 31-)
  if [ -n "$line" ] && ! grep -q 'connected to wss' "$TMP/tls.log" && grep -qiE 'certificate|UnknownIssuer' <<<"$line"; then
    pass "wss://localhost:$port with a certificate from an unknown CA refused: $line"
  else
    fail "a self-signed relay was not refused as expected: $(head -c 600 "$TMP/tls.log")"
  fi
  kill "$SRV" 2>/dev/null
  SRV=
else
  echo "  skipped: openssl not installed"
fi

echo "4. The database password:"
secret=S3cretPassw0rd
url="postgres://postgres:$secret@127.0.0.1:5432/chaos_security"
DATABASE_URL=$url timeout -s TERM 3 "$BIN" --log-file "$TMP/pw.log" run \
  --relay "file:$ROOT/tests/fixtures/pds-small/frames.bin" --service pw >/dev/null 2>&1
DATABASE_URL=$url "$BIN" --help >"$TMP/help.txt" 2>&1
DATABASE_URL=$url "$BIN" run --help >>"$TMP/help.txt" 2>&1
DATABASE_URL=$url "$BIN" status >>"$TMP/help.txt" 2>&1
DATABASE_URL="postgres://postgres:$secret@127.0.0.1:1/x" "$BIN" status >"$TMP/refused.txt" 2>&1
DATABASE_URL="postgres://postgres:$secret@127.0.0.1:1/x" timeout 3 "$BIN" --log-file "$TMP/pw2.log" run --relay "file:/nonexistent" >/dev/null 2>&1
if grep -q "$secret" "$TMP/pw.log" "$TMP/help.txt" "$TMP/refused.txt" "$TMP/pw2.log"; then
  fail "the password appears: $(grep -l "$secret" "$TMP"/*.log "$TMP"/*.txt)"
else
  pass "absent from the run log ($(wc -l <"$TMP/pw.log") lines, startup line: $(grep -o 'database=[^ ]*' "$TMP/pw.log" | head -n 1)), --help, run --help, status, and the errors of an unreachable server: $(head -n 1 "$TMP/refused.txt" | cut -c 1-160)"
fi

# libpq also takes the password as a query parameter of the URL.
DATABASE_URL="postgres://postgres@127.0.0.1:5432/chaos_security?password=$secret" timeout -s TERM 3 "$BIN" \
  --log-file "$TMP/pw3.log" run --relay "file:$ROOT/tests/fixtures/pds-small/frames.bin" --service pw3 >/dev/null 2>&1
if grep -q "$secret" "$TMP/pw3.log"; then
  fail "a password given as ?password= is logged: $(grep -m 1 -o "database=[^ ]*" "$TMP/pw3.log")"
else
  pass "a password given as ?password= is not logged"
fi

echo "5. The systemd unit (scripts/skyindex.service):"
unit=$ROOT/scripts/skyindex.service
for d in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
  PrivateDevices=yes CapabilityBoundingSet= LogsDirectory=skyindex RestrictSUIDSGID=yes; do
  if grep -qx "$d" "$unit"; then pass "$d"; else fail "missing $d"; fi
done
if grep -qE '^(User=root|ReadWritePaths=|ReadWriteDirectories=|PermissionsStartOnly=|AmbientCapabilities=)' "$unit"; then
  fail "the unit grants root, capabilities or writable paths: $(grep -E '^(User=|ReadWrite|Ambient)' "$unit")"
else
  pass "no User=root, no AmbientCapabilities, no ReadWritePaths: writable are only LogsDirectory (/var/log/skyindex) and the private /tmp"
fi
if command -v systemd-analyze >/dev/null; then
  sed "s#/usr/local/bin/skyindex#$BIN#" "$unit" >"$TMP/skyindex.service"
  out=$(systemd-analyze verify "$TMP/skyindex.service" 2>&1)
  if [ -z "$out" ]; then pass "systemd-analyze verify: clean"; else fail "systemd-analyze verify: $out"; fi
else
  echo "  skipped: systemd-analyze not installed"
fi

exit $failed
