#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (issue #20): initdb in a
# temporary folder, run as the `postgres` user (initdb and postgres refuse
# root), listening on 127.0.0.1 only, on a free port; trust authentication
# for loopback (a test cluster: nothing else reaches it). Writes the URL to
# $DMC_PG_DIR/url (default /tmp/dmc-pg); the tests read it from
# DMC_TEST_PG_URL (.ci/run exports it). Needs Debian's postgresql package.
#
#   scripts/pg-cluster.sh start | stop | url | halt | resume
#
# halt stops the server and keeps its data; resume starts it again on the
# same port (a fault test stops PostgreSQL in the middle of a run).
set -euo pipefail

DIR=${DMC_PG_DIR:-/tmp/dmc-pg}

bin() {
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$v" ] || { echo "pg-cluster: PostgreSQL is not installed: apt-get install postgresql" >&2; exit 1; }
  echo "/usr/lib/postgresql/$v/bin"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  if [ -f "$DIR/data/postmaster.pid" ]; then as_pg "$(bin)/pg_ctl" -D "$DIR/data" -m immediate -w stop > /dev/null 2>&1 || true; fi
  rm -rf "$DIR"
}

start() {
  local b port
  b=$(bin)
  stop
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
  as_pg "$b/initdb" -D "$DIR/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 > "$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log"; exit 1; }
  port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  # fsync off: a throwaway cluster; the durability tests of the product kill the product, not PostgreSQL's host.
  echo "-c listen_addresses=127.0.0.1 -p $port -k $DIR -c fsync=off -c max_connections=200" > "$DIR/options"
  as_pg "$b/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 -o "$(cat "$DIR/options")" start > /dev/null ||
    { cat "$DIR/server.log"; exit 1; }
  echo "postgres://postgres@127.0.0.1:$port/postgres" > "$DIR/url"
  cat "$DIR/url"
}

halt() {
  as_pg "$(bin)/pg_ctl" -D "$DIR/data" -m fast -w stop > /dev/null
}

resume() {
  as_pg "$(bin)/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 -o "$(cat "$DIR/options")" start > /dev/null ||
    { cat "$DIR/server.log"; exit 1; }
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) cat "$DIR/url" ;;
  halt) halt ;;
  resume) resume ;;
  *) echo "usage: $0 start|stop|url|halt|resume" >&2; exit 2 ;;
esac
