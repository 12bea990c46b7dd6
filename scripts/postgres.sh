# Sourced by scripts/test and scripts/bench: starts a throwaway PostgreSQL server (installing
# Debian's postgresql when it is missing), exports PG_ADMIN_URL, and stops and removes it on
# exit.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

find_pg_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    done
    return 1
}

if ! PGBIN=$(find_pg_bin); then
    echo "postgres: installing PostgreSQL (Debian package postgresql)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    PGBIN=$(find_pg_bin) || { echo "postgres: PostgreSQL server binaries not found after install" >&2; exit 1; }
fi

# initdb refuses to run as root: run the server as the postgres user when we are root.
PGUSER_RUN=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
    PGUSER_RUN=(runuser -u postgres --)
fi

PGDIR=$(mktemp -d /tmp/clientele-pg.XXXXXX)
chmod 755 "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
cleanup() {
    (cd / && "${PGUSER_RUN[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" stop -m fast >/dev/null 2>&1) || true
    rm -rf "$PGDIR"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd / && "${PGUSER_RUN[@]}" "$PGBIN/initdb" -A trust -U postgres -D "$PGDIR/data" >/dev/null)
(cd / && "${PGUSER_RUN[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR -c max_connections=400 -c shared_buffers=256MB" start >/dev/null)
export PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
echo "postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2

