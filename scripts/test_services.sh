#!/usr/bin/env bash
# Start the services the test suite can use and print the PostgreSQL URL on stdout (nothing when
# PostgreSQL cannot be had here: those tests are then skipped, and say so). Loopback only.
# Also installs Chromium for the browser collector's tests (skipped, and saying so, without it).
set -u
log() { echo "test services: $*" >&2; }
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=""
apt_install() {  # apt_install PACKAGE: one `apt-get update` per run
  { [ -n "$apt_updated" ] || apt-get update -qq; } >/dev/null 2>&1 && apt_updated=1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1
}
if ! command -v chromium >/dev/null 2>&1; then
  if can_apt; then
    log "installing Chromium (apt-get)"
    apt_install chromium || log "Chromium could not be installed: browser tests will be skipped"
  else
    log "no Chromium and no root/apt-get: browser tests will be skipped"
  fi
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if can_apt; then
    log "installing PostgreSQL (apt-get)"
    apt_install postgresql || { log "PostgreSQL could not be installed"; exit 0; }
  else
    log "no PostgreSQL and no root/apt-get: PostgreSQL tests will be skipped"; exit 0
  fi
fi
version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
[ -n "$version" ] || { log "no PostgreSQL cluster found"; exit 0; }
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
# the password differs from the user name, so that the tests can tell a redacted password from the user
su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='souverain'\"" 2>/dev/null | grep -q 1 \
  || su postgres -c "psql -qc \"create user souverain createdb\"" >/dev/null 2>&1
su postgres -c "psql -qc \"alter user souverain with password 'pg-test-secret'\"" >/dev/null 2>&1
su postgres -c "psql -qtAc \"select 1 from pg_database where datname='souverain_test'\"" 2>/dev/null | grep -q 1 \
  || su postgres -c "createdb -O souverain souverain_test" >/dev/null 2>&1
echo "postgresql+psycopg://souverain:pg-test-secret@127.0.0.1:5432/souverain_test"
