#!/usr/bin/env bash
# Installs skyindex as a systemd service. Idempotent: run it again after every upgrade.
#   sudo scripts/install.sh [path/to/skyindex]   (default: target/release/skyindex, built if missing)
# Installs: /usr/local/bin/skyindex, /etc/systemd/system/skyindex.service,
#           /etc/skyindex/skyindex.env (only if absent: your settings are never overwritten),
#           /var/log/skyindex, /etc/logrotate.d/skyindex, /usr/local/share/doc/skyindex/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${PREFIX:-}"   # for a dry run into a directory: PREFIX=/tmp/root scripts/install.sh

bin="${1:-target/release/skyindex}"
if [ ! -x "$bin" ]; then
  cargo build --release --locked
fi

install -D -m 0755 "$bin" "$PREFIX/usr/local/bin/skyindex"
install -D -m 0644 scripts/skyindex.service "$PREFIX/etc/systemd/system/skyindex.service"
install -d -m 0750 "$PREFIX/etc/skyindex"
if [ ! -e "$PREFIX/etc/skyindex/skyindex.env" ]; then
  install -m 0640 scripts/skyindex.env.example "$PREFIX/etc/skyindex/skyindex.env"
  echo "created /etc/skyindex/skyindex.env: set DATABASE_URL in it before starting"
fi
# systemd creates /var/log/skyindex (LogsDirectory=) owned by the dynamic user; create it here too
# so logrotate and operators find it before the first start.
install -d -m 0750 "$PREFIX/var/log/skyindex"
install -D -m 0644 scripts/logrotate.conf "$PREFIX/etc/logrotate.d/skyindex"
install -D -m 0644 README.md "$PREFIX/usr/local/share/doc/skyindex/README.md"

if [ -z "$PREFIX" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "installed. Start with: systemctl enable --now skyindex"
else
  echo "installed under ${PREFIX:-/} (systemd not running here: no daemon-reload)"
fi
