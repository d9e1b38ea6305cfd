#!/usr/bin/env bash
# Runs the Node EBICS client interoperability check end to end on loopback.
#
#   tests/interop-node/interop.sh            # against the kontor-bank emulator (the real check)
#   tests/interop-node/interop.sh stub       # against tools/stub-bank.mjs (self-test of run.mjs)
#
# Environment:
#   KONTOR_BANK_BIN   emulator binary (default: <repo>/target/debug/kontor-bank; build it first
#                     with `cargo build -p kontor-bank`)
#   KONTOR_BANK_CONFIG seed configuration (default: crates/kontor-bank/demo-bank.toml)
#   PARTNER_ID, USER_ID, HOST_ID, START_DATE, END_DATE, OUT_DIR   passed on to run.mjs
# Exit code: that of run.mjs (0 = every required step passed).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mode="${1:-emulator}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -d "$here/node_modules/ebics-client" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
fi

case "$mode" in
  emulator)
    bin="${KONTOR_BANK_BIN:-$repo/target/debug/kontor-bank}"
    config="${KONTOR_BANK_CONFIG:-$repo/crates/kontor-bank/demo-bank.toml}"
    [[ -x "$bin" ]] || { echo "emulator binary $bin not found: cargo build -p kontor-bank" >&2; exit 2; }
    "$bin" serve --config "$config" --listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.log" &
    server_pid=$!
    ;;
  stub)
    node "$here/tools/stub-bank.mjs" 0 >"$work/server.out" 2>"$work/server.log" &
    server_pid=$!
    ;;
  *)
    echo "usage: $0 [emulator|stub]" >&2
    exit 2
    ;;
esac

url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/server.out" | head -n1 || true)"
  [[ -n "$url" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [[ -z "$url" ]]; then
  echo "server did not start; its log:" >&2
  cat "$work/server.log" >&2
  exit 2
fi

set +e
BANK_URL="$url/ebicsweb" ADMIN_URL="$url/admin" \
  HOST_ID="${HOST_ID:-KONTORBANK}" PARTNER_ID="${PARTNER_ID:-PARTNER1}" USER_ID="${USER_ID:-USER1}" \
  OUT_DIR="${OUT_DIR:-$here/out}" \
  node "$here/run.mjs"
status=$?
set -e
if [[ $status -ne 0 ]]; then
  echo "--- server log (last 40 lines) ---" >&2
  tail -n 40 "$work/server.log" >&2
fi
exit $status
