#!/usr/bin/env bash
# Two builds of the Kotlin package against OkHttp, alternated in one session. Each round
# installs one build's jar (`mvn install` in its bindings-kotlin/jvm, with its release native
# library) and runs the harness in bench/kotlin (packaged once: make bench-kotlin).
#   OLD_JVM / NEW_JVM: the bindings-kotlin/jvm folders; OLD_NATIVE / NEW_NATIVE: the folders
#   holding each build's release libmodelplug_kotlin.so; ROUNDS (default 3).
# Summarise with: python3 bench/compare/summary.py OUT okhttp
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${OLD_JVM:?}" "${NEW_JVM:?}" "${OLD_NATIVE:?}" "${NEW_NATIVE:?}"
out="${OUT:-$here/../results/kotlin-ab.jsonl}"; : > "$out"
for round in $(seq 1 "${ROUNDS:-3}"); do
  for v in old new; do
    jvm=$OLD_JVM native=$OLD_NATIVE
    [ $v = new ] && jvm=$NEW_JVM native=$NEW_NATIVE
    (cd "$jvm" && mvn -B -q -Dstyle.color=never install -DskipTests -Dnative.dir="$native" > /dev/null)
    tmp=$(mktemp)
    OUT="$tmp" "$here/../kotlin/run.sh" -r 1 -m "seq conc stream" modelplug okhttp > /dev/null
    sed "s/\"client\":\"modelplug\"/\"client\":\"modelplug-$v\"/; s/\"client\":\"okhttp\"/\"client\":\"okhttp-with-$v\"/" "$tmp" >> "$out"
    rm -f "$tmp"
  done
done
echo "$out"
