#!/usr/bin/env bash
# Provisioning for the Meltano end-to-end tests (tests/test_meltano_e2e.py): a throwaway PostgreSQL
# cluster on a free loopback port plus Meltano in its own venv. Idempotent; works on a fresh Debian
# machine as root (installs PostgreSQL with apt when initdb/pg_ctl are missing, runs the cluster as
# the `postgres` user) and as an ordinary user when PostgreSQL is already installed.
#
#   eval "$(scripts/e2e_env.sh start [DIR])"   # prints export lines: PG_HOST PG_PORT PG_USER
#                                              # PG_PASSWORD PG_DATABASE MELTANO_BIN (+ PG_BIN,
#                                              # E2E_DIR); a cluster already running in DIR is reused
#   scripts/e2e_env.sh stop [DIR]              # stop the cluster and delete DIR
#   scripts/e2e_env.sh status [DIR]
#
# DIR defaults to $E2E_DIR or ${TMPDIR:-/tmp}/tap-facebook-pages-e2e; give each concurrent user
# (e.g. each test session) its own DIR. Progress goes to stderr, only the export lines to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MELTANO_VERSION=${MELTANO_VERSION:-4.4.1}
MELTANO_VENV=${MELTANO_VENV:-$ROOT/.venvs/meltano}
PYTHON=${PYTHON:-python3}
PG_SUPERUSER=postgres
DB_USER=tfp_e2e
DB_NAME=tfp_e2e

log() { printf 'e2e_env: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# -- PostgreSQL binaries ------------------------------------------------------------------------

find_pg_bin() {
  local dir
  # Newest major version first.
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return 0
  fi
  return 1
}

ensure_postgres_installed() {
  if PG_BIN=$(find_pg_bin); then
    return 0
  fi
  is_root || die "PostgreSQL (initdb, pg_ctl) is not installed and installing it needs root: apt-get install postgresql"
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available"
  log "installing PostgreSQL with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql postgresql-client >&2
  PG_BIN=$(find_pg_bin) || die "PostgreSQL installed but initdb/pg_ctl not found under /usr/lib/postgresql/*/bin"
}

# Run a command as the cluster owner: `postgres` when we are root, else ourselves.
as_owner() {
  if is_root; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u "$PG_SUPERUSER" -- "$@"
    else
      su -s /bin/sh "$PG_SUPERUSER" -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

ensure_owner_user() {
  if is_root && ! id "$PG_SUPERUSER" >/dev/null 2>&1; then
    log "creating system user $PG_SUPERUSER"
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh "$PG_SUPERUSER"
  fi
}

free_port() {
  "$PYTHON" - <<'PY'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
PY
}

# -- cluster ------------------------------------------------------------------------------------

cluster_running() {
  [ -f "$DIR/env" ] && [ -d "$DIR/pgdata" ] && as_owner "$PG_BIN/pg_ctl" -D "$DIR/pgdata" status >/dev/null 2>&1
}

psql_super() {
  # Local socket connections are trusted for the cluster owner (initdb --auth-local=trust).
  as_owner "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR/socket" -p "$PG_PORT" -U "$PG_SUPERUSER" "$@"
}

start_cluster() {
  ensure_owner_user
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  if is_root && ! as_owner test -x "$DIR"; then
    die "$DIR is not reachable by the $PG_SUPERUSER user (a parent directory is private); use a DIR under /tmp"
  fi
  rm -rf "$DIR/pgdata" "$DIR/socket"
  mkdir -p "$DIR/pgdata" "$DIR/socket"
  if is_root; then
    chown "$PG_SUPERUSER" "$DIR/pgdata" "$DIR/socket"
  fi
  chmod 700 "$DIR/pgdata"
  log "initdb in $DIR/pgdata"
  as_owner "$PG_BIN/initdb" -D "$DIR/pgdata" -U "$PG_SUPERUSER" -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  local attempt
  for attempt in 1 2 3; do
    PG_PORT=$(free_port)
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (attempt $attempt)"
    if as_owner "$PG_BIN/pg_ctl" -D "$DIR/pgdata" -l "$DIR/pgdata/server.log" -w -t 60 \
      -o "-p $PG_PORT -k $DIR/socket -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >&2; then
      break
    fi
    [ "$attempt" -lt 3 ] || { cat "$DIR/pgdata/server.log" >&2 || true; die "PostgreSQL did not start"; }
  done
  PG_PASSWORD=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')
  psql_super -d postgres -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$PG_PASSWORD'" >&2
  psql_super -d postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >&2
  {
    printf 'PG_HOST=%q\n' 127.0.0.1
    printf 'PG_PORT=%q\n' "$PG_PORT"
    printf 'PG_USER=%q\n' "$DB_USER"
    printf 'PG_PASSWORD=%q\n' "$PG_PASSWORD"
    printf 'PG_DATABASE=%q\n' "$DB_NAME"
    printf 'PG_BIN=%q\n' "$PG_BIN"
  } >"$DIR/env"
  chmod 600 "$DIR/env"
}

# -- Meltano ------------------------------------------------------------------------------------

ensure_meltano() {
  local bin=$MELTANO_VENV/bin/meltano
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "version $MELTANO_VERSION\$"; then
    return 0
  fi
  log "installing meltano==$MELTANO_VERSION into $MELTANO_VENV"
  if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    if is_root && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >&2
    fi
  fi
  rm -rf "$MELTANO_VENV"
  "$PYTHON" -m venv "$MELTANO_VENV"
  "$MELTANO_VENV/bin/python" -m pip install -q --disable-pip-version-check "meltano==$MELTANO_VERSION" \
    >"$MELTANO_VENV.install.log" 2>&1 || { cat "$MELTANO_VENV.install.log" >&2; die "pip install meltano failed"; }
  "$bin" --version >&2
}

# -- commands -----------------------------------------------------------------------------------

print_exports() {
  # shellcheck disable=SC1091
  . "$DIR/env"
  printf 'export PG_HOST=%q\n' "$PG_HOST"
  printf 'export PG_PORT=%q\n' "$PG_PORT"
  printf 'export PG_USER=%q\n' "$PG_USER"
  printf 'export PG_PASSWORD=%q\n' "$PG_PASSWORD"
  printf 'export PG_DATABASE=%q\n' "$PG_DATABASE"
  printf 'export PG_BIN=%q\n' "$PG_BIN"
  printf 'export MELTANO_BIN=%q\n' "$MELTANO_VENV/bin/meltano"
  printf 'export E2E_DIR=%q\n' "$DIR"
}

cmd_start() {
  ensure_postgres_installed
  if cluster_running; then
    log "reusing the cluster running in $DIR"
  else
    start_cluster
  fi
  ensure_meltano
  print_exports
}

cmd_stop() {
  if [ ! -d "$DIR" ]; then
    log "nothing to stop in $DIR"
    return 0
  fi
  PG_BIN=$(find_pg_bin || true)
  if [ -n "$PG_BIN" ] && [ -f "$DIR/pgdata/postmaster.pid" ]; then
    log "stopping PostgreSQL in $DIR"
    as_owner "$PG_BIN/pg_ctl" -D "$DIR/pgdata" -m immediate -w stop >&2 || true
  fi
  rm -rf "$DIR"
}

cmd_status() {
  PG_BIN=$(find_pg_bin) || die "PostgreSQL is not installed"
  if cluster_running; then
    log "running in $DIR"
    print_exports
  else
    log "not running ($DIR)"
    return 3
  fi
}

COMMAND=${1:-start}
DIR=${2:-${E2E_DIR:-${TMPDIR:-/tmp}/tap-facebook-pages-e2e}}
case "$DIR" in /*) ;; *) DIR=$PWD/$DIR ;; esac
case "$COMMAND" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) die "usage: $0 start|stop|status [DIR]" ;;
esac
