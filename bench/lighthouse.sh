#!/usr/bin/env bash
# Lighthouse scores (performance, accessibility, best practices, SEO) of every page
# type, served as `make run` serves them: gunicorn + WhiteNoise, DEBUG off, demo content.
# Uses Debian's Chromium and the lighthouse npm package (12.x runs on Node.js 20).
# Prints a table; asserts nothing. Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8765}"
LIGHTHOUSE_VERSION="12.8.2"
LH_DIR=".venv/lighthouse"
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

[ -x .venv/bin/python ] || make install >/dev/null
if [ ! -f "$LH_DIR/node_modules/lighthouse/cli/index.js" ]; then
  npm install --no-save --no-audit --no-fund --no-package-lock --silent \
    --prefix "$LH_DIR" "lighthouse@$LIGHTHOUSE_VERSION"
fi

export SECRET_KEY="lighthouse-only-not-secret" DEBUG=false ALLOWED_HOSTS=127.0.0.1
export DATABASE_URL="sqlite:///$WORK/lighthouse.sqlite3" SITE_URL="http://127.0.0.1:$PORT"
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py load_demo_content -v0
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/gunicorn helpcentre.wsgi --bind "127.0.0.1:$PORT" --workers 2 --log-level warning &
SERVER_PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/en/" >/dev/null && break; sleep 0.2; done

pages=(
  "home /en/"
  "category /en/social-security-inquiry/"
  "tag /en/tags/alipay/"
  "guide /en/social-security-inquiry/how-to-activate-alipay-medical-insurance-card/"
  "law /en/laws/social-insurance-law/"
  "laws /en/laws/"
  "search /en/search/?q=activate+medical+insurance+card"
  "search-empty /en/search/?q=zzqqxx"
  "zh-home /zh-hans/"
  "zh-category /zh-hans/social-security-inquiry/"
  "zh-tag /zh-hans/tags/%E5%8C%BB%E4%BF%9D%E5%8D%A1/"
  "zh-guide /zh-hans/social-security-inquiry/%E6%94%AF%E4%BB%98%E5%AE%9D%E5%8C%BB%E4%BF%9D%E5%8D%A1%E6%BF%80%E6%B4%BB/"
  "zh-law /zh-hans/laws/social-insurance-law/"
  "zh-search /zh-hans/search/?q=%E5%8C%BB%E4%BF%9D%E5%8D%A1"
)
printf '%-14s %12s %14s %15s %5s\n' page performance accessibility best-practices seo
for entry in "${pages[@]}"; do
  name="${entry%% *}" path="${entry#* }"
  CHROME_PATH=/usr/bin/chromium timeout 180 node "$LH_DIR/node_modules/lighthouse/cli/index.js" \
    "http://127.0.0.1:$PORT$path" --quiet --output=json --output-path="$WORK/$name.json" \
    --only-categories=performance,accessibility,best-practices,seo \
    --chrome-flags="--headless --no-sandbox --disable-gpu --disable-background-networking" \
    || { echo "$name: lighthouse failed"; continue; }
  .venv/bin/python - "$WORK/$name.json" "$name" <<'PY'
import json, sys
scores = {k: round(v["score"] * 100) for k, v in json.load(open(sys.argv[1]))["categories"].items()}
print(f"{sys.argv[2]:<14} {scores['performance']:>12} {scores['accessibility']:>14} "
      f"{scores['best-practices']:>15} {scores['seo']:>5}")
PY
done
