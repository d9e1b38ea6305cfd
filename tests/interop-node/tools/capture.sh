#!/usr/bin/env bash
# Regenerates captures/: runs run.mjs (INI, HIA, HPB, STA, C53 and a CCT upload) against the
# study stub (tools/stub-bank.mjs), which writes every request, the decoded order data and its own
# response to the capture directory. Loopback only.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$here/captures}"
port="${PORT:-18779}"
work="$(mktemp -d)"
trap 'kill "$stub_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

rm -rf "$dest" && mkdir -p "$dest"
CAPTURE_DIR="$dest" node "$here/tools/stub-bank.mjs" "$port" > "$work/stub.log" 2>&1 &
stub_pid=$!
for _ in $(seq 1 50); do grep -q listening "$work/stub.log" && break; sleep 0.1; done

BANK_URL="http://127.0.0.1:$port/ebicsweb" HOST_ID=KONTORBANK PARTNER_ID=PARTNER1 USER_ID=USER1 \
  START_DATE=2024-03-01 END_DATE=2024-03-07 OUT_DIR="$work/out" \
  UPLOAD_CCT_FILE="$here/tools/fixtures/pain.001-minimal.xml" \
  node "$here/run.mjs" > "$work/summary.json"
cp "$work/out/ini-letter.html" "$dest/ini-letter.html"
echo "captures written to $dest"
