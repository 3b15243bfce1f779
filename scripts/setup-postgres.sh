#!/usr/bin/env bash
# Installs PostgreSQL 15 from the Debian packages, for test/sinks (the Redshift sink's staging and
# merge SQL run against a real PostgreSQL). Only the binaries are needed: the tests create their own
# throw-away cluster with initdb in a temp folder, start it on a loopback port and remove it.
# Idempotent. Elsewhere than Debian/Ubuntu, set PG_BIN to a PostgreSQL 15 bin folder.
set -euo pipefail
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ -x "$BIN/initdb" ] && [ -x "$BIN/postgres" ]; then
  echo "postgresql ready: $("$BIN/postgres" --version)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL 15 not found and apt-get is not available: install PostgreSQL 15 and set PG_BIN to its bin folder" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15
echo "postgresql ready: $("$BIN/postgres" --version)"
