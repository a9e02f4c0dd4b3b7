#!/usr/bin/env bash
# Runs a command with the mock upstream running: starts the binary, exports its address as
# MODELPLUG_DEMO_UPSTREAM (what examples/modelplug.yaml reads), runs "$@", stops the server.
# Usage: tests/with-mock-upstream.sh CMD [ARGS...]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
binary="${MODELPLUG_MOCK_UPSTREAM:-${CARGO_TARGET_DIR:-$here/target}/${CARGO_BUILD_TARGET:-x86_64-unknown-linux-gnu}/debug/modelplug-mock-upstream}"
[ -x "$binary" ] || { echo "with-mock-upstream: $binary is missing (cargo build -p modelplug-mock-upstream)" >&2; exit 2; }
fifo="$(mktemp -u)"; mkfifo "$fifo"
"$binary" > "$fifo" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r line < "$fifo"
case "$line" in listening\ *) ;; *) echo "with-mock-upstream: unexpected output: $line" >&2; exit 2 ;; esac
export MODELPLUG_DEMO_UPSTREAM="${line#listening }"
"$@"
