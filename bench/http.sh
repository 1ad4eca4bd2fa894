#!/usr/bin/env bash
# Requests per second over HTTP, served as `make run` serves the site: gunicorn + WhiteNoise,
# DEBUG off, 2 sync workers, the demo content in a temporary SQLite database, static
# files collected into the gitignored staticfiles/. Measured with wrk on loopback only
# (127.0.0.1), every load bounded in time: per address a warm-up, then DURATION seconds
# with THREADS threads and CONNECTIONS connections.
#
# Three servers run side by side, started the same way:
#   cached    PAGE_CACHE=true (the default): the page cache answers repeated visits;
#             also serves the ceiling /bench/hello/ (BENCH_HELLO=true: a view that
#             only says hello, through the whole middleware stack)
#   uncached  PAGE_CACHE=false: every request renders the page again (the honest
#             uncached figure, not a query string that happens to miss)
#   varnish   varnishd (when installed) on a loopback port in front of "cached", with
#             deploy/varnish/default.vcl (its backends.vcl written into the temporary
#             folder for the one "cached" node), or, when that file is missing or does
#             not compile here, a minimal VCL written there (the output says which, and
#             the guide's X-Cache and Age after the run)
#
# Prints requests/s of each address and its ratio to hello (the mean of hello measured
# first and last), then the resident memory (RSS, from /proc) of every gunicorn worker
# after the run. Ratios are the figure to read: a shared or busy machine moves the bare
# numbers from one run to the next, and wrk runs on the same CPUs as the servers.
# Targets (issue "Speed and scale-out"): page cache >= 0.9 x hello, uncached guide
# >= 0.1 x hello, Varnish >= 10 x hello, worker RSS <= 120 MB. Asserts nothing.
#
#   bench/http.sh                      # defaults below
#   DURATION=5 CONNECTIONS=16 bench/http.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10}"       # seconds measured per address
WARMUP="${WARMUP:-2}"            # seconds of load before each measurement
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-8}"
WORKERS="${WORKERS:-2}"
CACHED_PORT="${CACHED_PORT:-8771}"
UNCACHED_PORT="${UNCACHED_PORT:-8772}"
VARNISH_PORT="${VARNISH_PORT:-8773}"
HOST=127.0.0.1

GUIDE="/en/social-security-inquiry/how-to-activate-alipay-medical-insurance-card/"
CATEGORY="/en/social-security-inquiry/"
SEARCH="/en/search/?q=medical+card"

command -v wrk >/dev/null || { echo "bench/http.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x .venv/bin/gunicorn ] || make install >/dev/null

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  # Only the processes this script started, by their id.
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

export SECRET_KEY="benchmark-only-not-secret" DEBUG=false ALLOWED_HOSTS=127.0.0.1,localhost
export DATABASE_URL="sqlite:///$WORK/http.sqlite3" SITE_URL="http://$HOST:$CACHED_PORT"
export BENCH_HELLO=true LOG_LEVEL=WARNING
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py createcachetable
.venv/bin/python manage.py load_demo_content --if-empty -v0
.venv/bin/python manage.py collectstatic --noinput -v0

serve() {  # serve PORT PAGE_CACHE: gunicorn as `make serve` runs it (access log off)
  PAGE_CACHE="$2" .venv/bin/gunicorn helpcentre.wsgi --bind "$HOST:$1" \
    --workers "$WORKERS" --log-level warning >"$WORK/gunicorn-$1.log" 2>&1 &
  PIDS+=("$!")
}
wait_for() {  # wait_for URL: up to 20 s
  for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "no answer from $1" >&2
  return 1
}

serve "$CACHED_PORT" true
CACHED_MASTER=$!
serve "$UNCACHED_PORT" false
UNCACHED_MASTER=$!
wait_for "http://$HOST:$CACHED_PORT/bench/hello/"
wait_for "http://$HOST:$UNCACHED_PORT$GUIDE"

# The fingerprinted stylesheet, as the home page links it.
CSS="$(curl -sf "http://$HOST:$CACHED_PORT/en/" | grep -o '/static/css/site\.[0-9a-f]*\.css' | head -1)"
[ -n "$CSS" ] || { echo "no fingerprinted site.css linked from /en/" >&2; exit 1; }

VARNISH_NOTE="varnishd not installed: no Varnish row"
if command -v varnishd >/dev/null; then
  VCL="$PWD/deploy/varnish/default.vcl"
  VCL_DIR="$WORK/vcl"
  mkdir -p "$VCL_DIR"
  # deploy/varnish/default.vcl includes "backends.vcl" from vcl_path (one backend per
  # node, added to its `nodes` director): here, the one "cached" server.
  cat >"$VCL_DIR/backends.vcl" <<EOF
backend node_bench { .host = "$HOST"; .port = "$CACHED_PORT"; .probe = node_health; }
sub vcl_init { nodes.add_backend(node_bench); }
EOF
  cat >"$VCL_DIR/minimal.vcl" <<EOF
vcl 4.1;
# bench/http.sh's stand-in: cache anonymous GETs as the app's Cache-Control allows.
backend default { .host = "$HOST"; .port = "$CACHED_PORT"; }
sub vcl_recv {
  if (req.method != "GET" && req.method != "HEAD") { return (pass); }
  unset req.http.Cookie;
  return (hash);
}
sub vcl_backend_response {
  if (beresp.http.Set-Cookie) { set beresp.uncacheable = true; }
}
EOF
  VARNISH_DIR="$WORK/varnish"
  VCL_PATH="$VCL_DIR:/etc/varnish:/usr/share/varnish/vcl"
  chmod 755 "$WORK"
  USED_VCL="$VCL_DIR/minimal.vcl"
  VERSION="$(varnishd -V 2>&1 | grep -o 'varnish-[0-9.]*' | head -1)"
  if [ -f "$VCL" ]; then
    cp "$VCL" "$VCL_DIR/default.vcl"
    if varnishd -C -n "$VARNISH_DIR" -p vcl_path="$VCL_PATH" -f "$VCL_DIR/default.vcl" \
      >/dev/null 2>"$WORK/vcl-errors.txt"; then
      USED_VCL="$VCL_DIR/default.vcl"
      VARNISH_NOTE="$VERSION with deploy/varnish/default.vcl"
    else
      VARNISH_NOTE="$VERSION; deploy/varnish/default.vcl does not compile here ($(grep -m1 -v '^$' "$WORK/vcl-errors.txt" | cut -c1-100)): used a minimal VCL of bench/http.sh"
    fi
  else
    VARNISH_NOTE="$VERSION; deploy/varnish/default.vcl not found: used a minimal VCL of bench/http.sh"
  fi
  # -F: in the foreground of this job, so its id is the one to stop.
  varnishd -F -n "$VARNISH_DIR" -a "$HOST:$VARNISH_PORT" -p vcl_path="$VCL_PATH" \
    -f "$USED_VCL" -s malloc,64m \
    >"$WORK/varnish.log" 2>&1 &
  PIDS+=("$!")
  wait_for "http://$HOST:$VARNISH_PORT$GUIDE" || { cat "$WORK/varnish.log" >&2; exit 1; }
fi

RESULTS="$WORK/results.txt"
: >"$RESULTS"
measure() {  # measure NAME URL: warm-up, then the timed run; appends "NAME RPS ERRORS P50 P99"
  local name="$1" url="$2" out="$WORK/wrk-$1.txt"
  local status
  status="$(curl -s -o /dev/null -w '%{http_code}' "$url")"
  timeout $((WARMUP + 20)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null
  timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" >"$out"
  local rps errors p50 p99
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  errors="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  p50="$(awk '$1 == "50%" {print $2}' "$out")"
  p99="$(awk '$1 == "99%" {print $2}' "$out")"
  echo "$name ${rps:-0} ${errors:-0} ${p50:--} ${p99:--} $status" >>"$RESULTS"
  echo "  $name: ${rps:-0} requests/s (HTTP $status)" >&2
}

C="http://$HOST:$CACHED_PORT" U="http://$HOST:$UNCACHED_PORT" V="http://$HOST:$VARNISH_PORT"
echo "Measuring (${DURATION}s per address after ${WARMUP}s warm-up, wrk -t$THREADS -c$CONNECTIONS)…" >&2
measure hello-first "$C/bench/hello/"
measure guide-uncached "$U$GUIDE"
measure guide-page-cache "$C$GUIDE"
if command -v varnishd >/dev/null; then
  measure guide-varnish "$V$GUIDE"
  header() { curl -s -o /dev/null -D - "$V$GUIDE" | tr -d '\r' | awk -F': ' -v h="$1" 'tolower($1) == h {print $2}'; }
  VARNISH_NOTE="$VARNISH_NOTE; the guide after the run: X-Cache $(header x-cache), Age $(header age)"
fi
measure home "$C/en/"
measure category "$C$CATEGORY"
measure search "$C$SEARCH"
measure static-css "$C$CSS"
measure hello-last "$C/bench/hello/"

rss_rows() {  # rss_rows NAME MASTER_PID: one line per worker (children of that master)
  local name="$1" master="$2" pid
  for pid in $(ps -o pid= --ppid "$master"); do
    awk -v n="$name" -v p="$pid" '/^VmRSS:/ {printf "%-10s %8s %8.1f\n", n, p, $2 / 1024}' "/proc/$pid/status"
  done
}

echo
echo "bench/http.sh $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s per address after ${WARMUP}s warm-up; gunicorn --workers $WORKERS (sync); $VARNISH_NOTE"
"$PWD/.venv/bin/python" - "$RESULTS" <<'PY'
import sys

rows = [line.split() for line in open(sys.argv[1])]
rps = {name: float(value) for name, value, *_ in rows}
hello = (rps["hello-first"] + rps["hello-last"]) / 2
labels = {
    "hello-first": "hello (first)",
    "hello-last": "hello (last)",
    "guide-uncached": "guide, PAGE_CACHE=false",
    "guide-page-cache": "guide, page cache",
    "guide-varnish": "guide, through Varnish",
    "home": "home /en/",
    "category": "category page",
    "search": "search ?q=medical+card",
    "static-css": "site.css (WhiteNoise)",
}
targets = {"guide-uncached": 0.1, "guide-page-cache": 0.9, "guide-varnish": 10}
print(f"{'address':26} {'HTTP':>4} {'requests/s':>11} {'x hello':>8} {'target':>10} "
      f"{'p50':>9} {'p99':>9} {'non-2xx':>7}")
for name, value, errors, p50, p99, status in rows:
    ratio = float(value) / hello if hello else 0
    target = targets.get(name)
    mark = "" if target is None else (f">= {target:g}" + (" ok" if ratio >= target else " NO"))
    print(f"{labels.get(name, name):26} {status:>4} {float(value):11.0f} {ratio:8.2f} {mark:>10} "
          f"{p50:>9} {p99:>9} {errors:>7}")
print(f"hello used for the ratios: {hello:.0f} requests/s (mean of first and last)")
PY
echo
echo "Worker RSS after the run (target <= 120 MB):"
printf '%-10s %8s %8s\n' server pid "RSS MB"
rss_rows cached "$CACHED_MASTER"
rss_rows uncached "$UNCACHED_MASTER"
