#!/usr/bin/env bash
# Two builds of the Node package against undici, alternated in one session: OLD_DIR and
# NEW_DIR are harness folders (like make bench-node's /tmp/benchnode) whose node_modules hold
# undici and the old or new modelplug; ROUNDS (default 5) rounds. Summarise with
#   python3 bench/compare/summary.py OUT undici
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${OLD_DIR:?a harness folder with the old build}" "${NEW_DIR:?a harness folder with the new build}"
out="${OUT:-$here/../results/node-ab.jsonl}"; : > "$out"
for round in $(seq 1 "${ROUNDS:-5}"); do
  for v in old new; do
    dir=$OLD_DIR; [ $v = new ] && dir=$NEW_DIR
    tmp=$(mktemp)
    BENCH_PLUGINS_MJS="$here/../node/modelplug_plugin.mjs" NODE_DIR="$dir" OUT="$tmp" \
      "${BENCH_DIR:-$here/../../../shared/bench}/run_node.sh" -r 1 -m "seq conc stream" modelplug undici > /dev/null
    sed "s/\"client\":\"modelplug\"/\"client\":\"modelplug-$v\"/; s/\"client\":\"undici\"/\"client\":\"undici-with-$v\"/" "$tmp" >> "$out"
    rm -f "$tmp"
  done
done
echo "$out"
