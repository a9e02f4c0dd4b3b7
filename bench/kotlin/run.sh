#!/usr/bin/env bash
# Runs the Kotlin harness the way ../shared/bench/run_node.sh runs node_bench: each client and
# mode in its own JVM, REPS times, one JSON line each appended to OUT.
# Usage: bench/kotlin/run.sh [-r REPS] [-m "import seq conc stream"] CLIENT [CLIENT...]
#   CLIENT: modelplug | okhttp | jdk-http. Needs `mvn package` here first (make bench-kotlin).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
reps=3; modes="import seq conc stream"
while getopts "r:m:" o; do case $o in r) reps=$OPTARG;; m) modes=$OPTARG;; *) exit 2;; esac; done
shift $((OPTIND-1))
clients="${*:-modelplug okhttp jdk-http}"
out="${OUT:-$here/../results/kotlin.jsonl}"; mkdir -p "$(dirname "$out")"
classpath="$(cat "$here/target/classpath.txt"):$here/target/classes"
curl -sf -o /dev/null http://127.0.0.1:18080/health || { echo "the yardstick upstream is not running (../shared/bench/upstream.sh start)" >&2; exit 2; }
status=0
for rep in $(seq 1 "$reps"); do
  for mode in $modes; do
    for client in $clients; do
      line=$(java -cp "$classpath" dev.modelplug.bench.MainKt "$client" "$mode" --rep "$rep" 2>>"$here/target/bench.stderr" | tail -1)
      if [ -z "$line" ]; then
        status=1
        line="{\"lang\":\"jvm\",\"client\":\"$client\",\"mode\":\"$mode\",\"rep\":$rep,\"error\":true}"
      fi
      echo "$line" | tee -a "$out"
    done
  done
done
exit $status
