#!/usr/bin/env bash
# Two builds of the Python package against aiohttp, alternated in one session (the machine's
# load cancels out): OLD_WHEEL and NEW_WHEEL are wheel files, ROUNDS (default 5) rounds.
# Needs the yardstick venv and upstream (make bench-python sets both up). Summarise with
#   python3 bench/compare/summary.py OUT aiohttp
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${OLD_WHEEL:?a wheel of the old build}" "${NEW_WHEEL:?a wheel of the new build}"
out="${OUT:-$here/../results/python-ab.jsonl}"; : > "$out"
venv="${BENCH_VENV:-/tmp/benchvenv}"
for round in $(seq 1 "${ROUNDS:-5}"); do
  for v in old new; do
    wheel=$OLD_WHEEL; [ $v = new ] && wheel=$NEW_WHEEL
    "$venv/bin/pip" install -q --force-reinstall --no-deps "$wheel"
    tmp=$(mktemp)
    BENCH_PLUGINS="$here/../python/modelplug_plugin.py" PY="$venv/bin/python" OUT="$tmp" \
      "${BENCH_DIR:-$here/../../../shared/bench}/run_python.sh" -r 1 -m "seq conc stream" modelplug aiohttp > /dev/null
    sed "s/\"client\": \"modelplug\"/\"client\": \"modelplug-$v\"/; s/\"client\": \"aiohttp\"/\"client\": \"aiohttp-with-$v\"/" "$tmp" >> "$out"
    rm -f "$tmp"
  done
done
echo "$out"
