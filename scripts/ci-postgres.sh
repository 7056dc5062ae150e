#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the tests on 127.0.0.1 and prints the line that points them at it:
#   eval "$(scripts/ci-postgres.sh)"   # then KILN_TEST_DATABASE_URL is set in this shell
# Installs (or confirms) Debian's postgresql package with apt-get; a machine whose package sources cannot be reached
# goes on with PostgreSQL binaries it already has. The cluster lives in a temp directory
# owned by the `postgres` user (the server refuses to run as root), accepts only local TCP connections with trust
# auth, and is left running: the CI machine is thrown away afterwards. Everything but the export goes to stderr.
set -euo pipefail

PORT="${KILN_TEST_POSTGRES_PORT:-54329}"

find_bindir () {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

# A server already answering on the port (a second run of this script) is used as it is.
if command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p "$PORT" -U postgres -q; then
  echo "ci-postgres: PostgreSQL already running on 127.0.0.1:$PORT" >&2
  echo "export KILN_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  echo "ci-postgres: apt-get install postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } >&2; then
    find_bindir >/dev/null || { echo "ci-postgres: apt-get failed and no PostgreSQL is installed" >&2; exit 1; }
    echo "ci-postgres: apt-get failed; using the PostgreSQL already installed" >&2
  fi
fi
BINDIR="$(find_bindir)" || { echo "ci-postgres: no PostgreSQL server binaries (initdb, pg_ctl) found" >&2; exit 1; }

# The server runs as an unprivileged user: `postgres` when we are root, else ourselves.
if [ "$(id -u)" = "0" ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  as_pg () { runuser -u postgres -- "$@"; }
else
  as_pg () { "$@"; }
fi

DATA="$(mktemp -d "${TMPDIR:-/tmp}/kiln-ci-pg.XXXXXX")"
[ "$(id -u)" = "0" ] && chown postgres "$DATA"
as_pg "$BINDIR/initdb" -D "$DATA" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >&2
# Only TCP on 127.0.0.1, no Unix socket directory to own; trust auth from 127.0.0.1 only.
printf 'host all all 127.0.0.1/32 trust\n' > "$DATA/pg_hba.conf"
[ "$(id -u)" = "0" ] && chown postgres "$DATA/pg_hba.conf"
as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories='' -c max_connections=200 -c fsync=on" start >&2

for _ in $(seq 1 60); do
  if "$BINDIR/pg_isready" -h 127.0.0.1 -p "$PORT" -U postgres -q; then
    echo "ci-postgres: PostgreSQL ready on 127.0.0.1:$PORT (data in $DATA)" >&2
    echo "export KILN_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    exit 0
  fi
  sleep 1
done
echo "ci-postgres: PostgreSQL did not become ready on 127.0.0.1:$PORT; its log:" >&2
cat "$DATA/server.log" >&2
exit 1
