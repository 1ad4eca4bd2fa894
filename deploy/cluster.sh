#!/usr/bin/env bash
# Two gunicorn nodes of the help centre behind Varnish, on loopback only: the
# scale-out set-up (README, "Running more than one node") on one machine.
#
#   deploy/cluster.sh start    prepare the database once, start both nodes and Varnish
#   deploy/cluster.sh status   what runs, and whether each part answers
#   deploy/cluster.sh stop     stop everything this script started, forget its cache keys
#   deploy/cluster.sh manage … manage.py with the cluster's settings (createsuperuser, shell…)
#   deploy/cluster.sh reset    drop the cluster's database (while stopped)
#
# `make cluster` runs `start`. Both nodes share PostgreSQL (a database of their own,
# migrated and loaded with the demo content the first time) and Redis (one key
# prefix per run, the same for both nodes); they purge Varnish after content changes
# (FRONT_CACHES). Every process runs under `timeout`: nothing outlives
# CLUSTER_TTL seconds even if `stop` is never called.
#
# Settings (environment):
#   CLUSTER_DIR          work folder: pids, logs, settings, Varnish's (default .cluster/)
#   NODE_A_PORT, NODE_B_PORT   the gunicorn nodes (8101, 8102)
#   VARNISH_PORT         the site (6081); VARNISH_ADMIN_PORT its CLI (6082)
#   CLUSTER_WORKERS, CLUSTER_THREADS   per node (2 and 2); DATABASE_POOL_SIZE = threads
#   CLUSTER_DATABASE     the PostgreSQL database (helpcentre_cluster), on PGHOST,
#                        PGPORT, PGUSER (127.0.0.1, 5432, postgres; trust or ~/.pgpass)
#   CLUSTER_REDIS_URL    redis://127.0.0.1:6379/0
#   CLUSTER_TTL          hard limit on every process's life, seconds (3600)
#   VARNISH_MEMORY       cache size (64m)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

CLUSTER_DIR="${CLUSTER_DIR:-$ROOT/.cluster}"
case "$CLUSTER_DIR" in /*) ;; *) CLUSTER_DIR="$ROOT/$CLUSTER_DIR" ;; esac
NODE_A_PORT="${NODE_A_PORT:-8101}"
NODE_B_PORT="${NODE_B_PORT:-8102}"
VARNISH_PORT="${VARNISH_PORT:-6081}"
VARNISH_ADMIN_PORT="${VARNISH_ADMIN_PORT:-6082}"
CLUSTER_WORKERS="${CLUSTER_WORKERS:-2}"
CLUSTER_THREADS="${CLUSTER_THREADS:-2}"
CLUSTER_DATABASE="${CLUSTER_DATABASE:-helpcentre_cluster}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER
CLUSTER_REDIS_URL="${CLUSTER_REDIS_URL:-redis://127.0.0.1:6379/0}"
CLUSTER_TTL="${CLUSTER_TTL:-3600}"
VARNISH_MEMORY="${VARNISH_MEMORY:-64m}"
HOST=127.0.0.1
PYTHON="$ROOT/.venv/bin/python"
GUNICORN="$ROOT/.venv/bin/gunicorn"
COMPONENTS=(node-a node-b varnish)

die() { echo "cluster: $*" >&2; exit 1; }
say() { echo "cluster: $*"; }

find_varnishd() {
  command -v varnishd 2>/dev/null || { [ -x /usr/sbin/varnishd ] && echo /usr/sbin/varnishd; } || true
}

pid_of() { cat "$CLUSTER_DIR/$1.pid" 2>/dev/null || true; }
alive() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

http_code() {
  curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$HOST:$1$2" 2>/dev/null || true
}

# The settings both nodes (and `manage`) run with, kept in $CLUSTER_DIR/env (0600).
write_env() {
  local run prefix secret pool="$CLUSTER_THREADS"
  # Django's pool needs psycopg's pool package (psycopg[pool]); without it each worker
  # thread keeps one connection open instead (DATABASE_CONN_MAX_AGE), the same count.
  if ! "$PYTHON" -c "import psycopg_pool" 2>/dev/null; then
    say "psycopg_pool is not installed (psycopg[pool]): running without a connection pool"
    pool=0
  fi
  run="$(date +%Y%m%d%H%M%S)-$$"
  prefix="helpcentre-cluster-$run"
  secret="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')"
  (
    umask 077
    cat >"$CLUSTER_DIR/env" <<EOF
DJANGO_SETTINGS_MODULE=helpcentre.settings.base
DATABASE_URL=postgres://$PGUSER@$PGHOST:$PGPORT/$CLUSTER_DATABASE
DATABASE_POOL_SIZE=$pool
REDIS_URL=$CLUSTER_REDIS_URL
CACHE_KEY_PREFIX=$prefix
SECRET_KEY=$secret
FRONT_CACHES=http://$HOST:$VARNISH_PORT
# Pages render in milliseconds here: the second purge of each change can follow soon.
FRONT_CACHE_REPURGE_DELAY=2
TRUSTED_PROXY_COUNT=1
SITE_URL=http://$HOST:$VARNISH_PORT
ALLOWED_HOSTS=$HOST,localhost
DEBUG=false
EOF
  )
}

load_env() {
  [ -f "$CLUSTER_DIR/env" ] || die "no $CLUSTER_DIR/env: run '$0 start' first"
  set -a
  # shellcheck disable=SC1091
  . "$CLUSTER_DIR/env"
  set +a
}

# --foreground: createsuperuser and shell may read the terminal.
# The caller's FRONT_CACHES, when set (even empty), wins over the file's.
manage() {
  local front="${FRONT_CACHES-unset}"
  (
    load_env
    [ "$front" = unset ] || FRONT_CACHES="$front"
    timeout --foreground 600 "$PYTHON" manage.py "$@"
  )
}

prepare_database() {
  pg_isready -q -h "$PGHOST" -p "$PGPORT" || die "PostgreSQL does not answer on $PGHOST:$PGPORT"
  if [ "$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$CLUSTER_DATABASE'")" != 1 ]; then
    say "creating database $CLUSTER_DATABASE"
    createdb "$CLUSTER_DATABASE"
  fi
  # Varnish is not up yet and starts empty: nothing to purge while loading.
  FRONT_CACHES="" manage migrate --noinput -v0
  FRONT_CACHES="" manage createcachetable
  FRONT_CACHES="" manage load_demo_content --if-empty -v0
  manage collectstatic --noinput -v0
}

write_backends() {
  cp "$ROOT/deploy/varnish/default.vcl" "$CLUSTER_DIR/default.vcl"
  cat >"$CLUSTER_DIR/backends.vcl" <<EOF
# Written by deploy/cluster.sh for this run (included by default.vcl).
backend node_a { .host = "$HOST"; .port = "$NODE_A_PORT"; .probe = node_health; }
backend node_b { .host = "$HOST"; .port = "$NODE_B_PORT"; .probe = node_health; }
sub vcl_init {
    nodes.add_backend(node_a);
    nodes.add_backend(node_b);
}
EOF
}

# Runs "$@" in the background under timeout; timeout leads a process group of its own
# and passes TERM on to the command, so stopping its pid stops the whole component.
launch() {
  local name="$1"
  shift
  timeout --kill-after=10 "$CLUSTER_TTL" "$@" >>"$CLUSTER_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$CLUSTER_DIR/$name.pid"
}

start_node() {
  local name="$1" port="$2"
  (
    load_env
    launch "$name" "$GUNICORN" helpcentre.wsgi \
      --bind "$HOST:$port" --workers "$CLUSTER_WORKERS" --threads "$CLUSTER_THREADS" \
      --name "helpcentre-$name" --graceful-timeout 5 \
      --access-logfile "$CLUSTER_DIR/$name.access.log"
  )
}

start_varnish() {
  local varnishd="$1"
  # The secret of Varnish's CLI (varnishadm -T 127.0.0.1:6082 -S …).
  [ -f "$CLUSTER_DIR/varnish.secret" ] || (umask 077 && head -c 32 /dev/urandom | base64 >"$CLUSTER_DIR/varnish.secret")
  launch varnish "$varnishd" -F -n "$CLUSTER_DIR/varnish" \
    -a "$HOST:$VARNISH_PORT" -T "$HOST:$VARNISH_ADMIN_PORT" -S "$CLUSTER_DIR/varnish.secret" \
    -p vcl_path="$CLUSTER_DIR:/usr/share/varnish/vcl" -f "$CLUSTER_DIR/default.vcl" \
    -s "malloc,$VARNISH_MEMORY"
}

wait_for() {
  local name="$1" port="$2" deadline=$((SECONDS + 60))
  until [ "$(http_code "$port" /robots.txt)" = 200 ]; do
    if ! alive "$name"; then
      tail -n 30 "$CLUSTER_DIR/$name.log" >&2
      echo "cluster: $name stopped while starting" >&2
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$CLUSTER_DIR/$name.log" >&2
      echo "cluster: $name did not answer on port $port within 60s" >&2
      return 1
    fi
    sleep 0.3
  done
}

cmd_start() {
  local varnishd name running=""
  for name in "${COMPONENTS[@]}"; do alive "$name" && running=yes; done
  if [ -n "$running" ]; then
    say "already running (stop it first to start again)"
    cmd_status
    return 0
  fi
  varnishd="$(find_varnishd)"
  [ -n "$varnishd" ] || die "varnishd not found (apt-get install varnish varnish-modules)"
  [ -x "$GUNICORN" ] || die "no $GUNICORN: run make install"
  for port in "$NODE_A_PORT" "$NODE_B_PORT" "$VARNISH_PORT" "$VARNISH_ADMIN_PORT"; do
    port_busy "$port" && die "port $port on $HOST is in use"
  done
  "$PYTHON" -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).ping()" "$CLUSTER_REDIS_URL" \
    2>/dev/null || die "Redis does not answer at $CLUSTER_REDIS_URL"

  mkdir -p "$CLUSTER_DIR"
  # Varnish's compiler and cache process run as the unprivileged users of its jail:
  # they read the VCL and the work folder here.
  chmod 755 "$CLUSTER_DIR"
  rm -f "$CLUSTER_DIR"/*.log "$CLUSTER_DIR"/*.pid
  write_env
  prepare_database
  write_backends

  start_node node-a "$NODE_A_PORT"
  start_node node-b "$NODE_B_PORT"
  start_varnish "$varnishd"
  if ! { wait_for node-a "$NODE_A_PORT" && wait_for node-b "$NODE_B_PORT" && wait_for varnish "$VARNISH_PORT"; }; then
    cmd_stop
    exit 1
  fi

  cat <<EOF

The help centre runs behind Varnish:  http://$HOST:$VARNISH_PORT/en/
  node A (gunicorn):  http://$HOST:$NODE_A_PORT/   node B: http://$HOST:$NODE_B_PORT/
  each node: $CLUSTER_WORKERS workers x $CLUSTER_THREADS threads; DATABASE_POOL_SIZE=$(grep ^DATABASE_POOL_SIZE= "$CLUSTER_DIR/env" | cut -d= -f2) per worker (0: no pool)
  database: $CLUSTER_DATABASE on $PGHOST:$PGPORT; Redis key prefix: $(grep ^CACHE_KEY_PREFIX= "$CLUSTER_DIR/env" | cut -d= -f2)
  logs and pids: $CLUSTER_DIR/; everything stops by itself after ${CLUSTER_TTL}s
  a staff account:  $0 manage createsuperuser
  cache activity:   varnishlog -n $CLUSTER_DIR/varnish   (or varnishstat -n …)
  stop:             $0 stop
EOF
}

cmd_status() {
  local name port code state=0
  for name in "${COMPONENTS[@]}"; do
    case "$name" in node-a) port="$NODE_A_PORT" ;; node-b) port="$NODE_B_PORT" ;; *) port="$VARNISH_PORT" ;; esac
    if alive "$name"; then
      code="$(http_code "$port" /robots.txt)"
      echo "$name: running (pid $(pid_of "$name")), http://$HOST:$port/robots.txt answers ${code:-nothing}"
      [ "$code" = 200 ] || state=1
    else
      echo "$name: stopped"
      state=1
    fi
  done
  return $state
}

# Stops a component: TERM to its timeout (passed on to the command), then after 15s
# KILL to the process group that timeout leads.
stop_component() {
  local name="$1" pid
  pid="$(pid_of "$name")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name did not stop in 15s: killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    say "$name stopped"
  fi
  rm -f "$CLUSTER_DIR/$name.pid"
}

# Drops this run's keys (both prefixes: default and -limits) from the shared Redis.
forget_cache_keys() {
  [ -f "$CLUSTER_DIR/env" ] || return 0
  (
    load_env
    timeout 60 "$PYTHON" - "$REDIS_URL" "$CACHE_KEY_PREFIX" <<'EOF' || true
import sys

import redis

client = redis.Redis.from_url(sys.argv[1])
prefix = sys.argv[2]
escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix)
for pattern in (f"{escaped}:*", f"{escaped}-limits:*"):
    batch = []
    for key in client.scan_iter(match=pattern, count=500):
        batch.append(key)
        if len(batch) == 500:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)
EOF
  )
}

cmd_stop() {
  local name
  # Varnish first, so no request reaches a node that is going away.
  for name in varnish node-b node-a; do stop_component "$name"; done
  forget_cache_keys
}

cmd_reset() {
  local name
  for name in "${COMPONENTS[@]}"; do alive "$name" && die "running: '$0 stop' first"; done
  dropdb --if-exists "$CLUSTER_DATABASE"
  say "dropped database $CLUSTER_DATABASE (the next start creates and loads it again)"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  manage) shift; manage "$@" ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 start|stop|status|manage ARGS…|reset" >&2; exit 2 ;;
esac
