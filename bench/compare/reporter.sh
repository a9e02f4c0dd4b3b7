#!/usr/bin/env bash
# The usage reporter's cost in Python: the same wheel with and without a `collector:`,
# alternated in one session against aiohttp (ROUNDS, default 5). The "collector" is the
# yardstick's nginx: the reporter appends /v1/events to the URL, so a URL ending in `?to=` lands
# its POSTs on a route nginx answers 200 from a canned file — the receiver costs next to nothing,
# and what is measured is the client. Needs the yardstick venv with the wheel installed and its
# upstream (make bench-python sets both up). Summarise with
#   python3 bench/compare/summary.py OUT aiohttp
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/../results/python-reporter.jsonl}"; : > "$out"
venv="${BENCH_VENV:-/tmp/benchvenv}"
collector="http://127.0.0.1:18080/v1/chat/completions?to="
for round in $(seq 1 "${ROUNDS:-5}"); do
  for v in off on; do
    tmp=$(mktemp)
    url=""; [ $v = on ] && url=$collector
    MODELPLUG_BENCH_COLLECTOR="$url" BENCH_PLUGINS="$here/../python/modelplug_plugin.py" PY="$venv/bin/python" OUT="$tmp" \
      "${BENCH_DIR:-$here/../../../shared/bench}/run_python.sh" -r 1 -m "seq conc stream" modelplug aiohttp > /dev/null
    sed "s/\"client\": \"modelplug\"/\"client\": \"modelplug-reporter-$v\"/; s/\"client\": \"aiohttp\"/\"client\": \"aiohttp-with-$v\"/" "$tmp" >> "$out"
    rm -f "$tmp"
  done
done
echo "$out"
