#!/usr/bin/env bash
# Run a command beside a throwaway PostgreSQL server: scripts/with_postgres.sh make test
#
# initdb into a temp dir, start the server on a Unix socket in that dir (no TCP port, so no
# clash with other servers), export EDGEBATCH_TEST_POSTGRES_URL for the tests marked
# `postgres`, run the command, then stop the server and delete the dir, however it ended.
# Needs Debian's `postgresql` package (or any /usr/lib/postgresql/*/bin). As root, the
# server runs as the `postgres` user: initdb refuses to run as root.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
    echo "$0: no PostgreSQL server found under /usr/lib/postgresql/*/bin" \
         "(Debian: apt-get install -y postgresql)" >&2
    exit 1
fi

owner=$(id -un)
as_owner() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    owner=postgres
    as_owner() { runuser -u postgres -- "$@"; }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/edgebatch-pg.XXXXXX")
chown "$owner" "$dir"
stop() {
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

# --no-sync and fsync=off: a throwaway cluster needs no durability against power loss.
as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -c listen_addresses= -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }

export EDGEBATCH_TEST_POSTGRES_URL="postgresql://postgres@/postgres?host=$dir"
echo "PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') at $EDGEBATCH_TEST_POSTGRES_URL" >&2
"$@"
