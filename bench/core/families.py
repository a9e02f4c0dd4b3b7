#!/usr/bin/env python3
"""Provider families side by side, from one `cargo bench --bench hot_path` run: each family's
build / parse / 200-chunk stream decode against the OpenAI figure of the same run (criterion's
median estimates). Prints a Markdown table; with --jsonl FILE also appends one JSON line.

Usage: families.py CRITERION_DIR [--jsonl bench/results/core-families.jsonl]
"""

import json
import os
import sys
import time
from pathlib import Path

# (what, OpenAI benchmark id, {family: benchmark id}, elements per iteration)
PAIRS = [
    ("build request", "build chat request",
     {"anthropic": "anthropic: build messages request",
      "gemini": "gemini: build generateContent request",
      "bedrock": "bedrock: build converse request"}, 1),
    ("parse a whole answer (recording)", "parse chat response",
     {"anthropic": "anthropic: parse messages response",
      "gemini": "gemini: parse generateContent response",
      "bedrock": "bedrock: parse converse response"}, 1),
    ("decode a 200-chunk stream", "stream/decode 200-chunk stream (per element = per chunk)",
     {"anthropic": "stream/anthropic: decode 200-chunk stream (per element = per chunk)",
      "gemini (SSE)": "stream/gemini: decode 200-chunk SSE stream (per element = per chunk)",
      "gemini (JSON array)": "stream/gemini: decode 200-chunk JSON-array stream (per element = per chunk)",
      "bedrock (eventstream)": "stream/bedrock: decode 200-frame eventstream (per element = per frame)"}, 200),
    ("SigV4-sign a request (vs building it)", "build chat request",
     {"bedrock": "bedrock: SigV4-sign a converse request"}, 1),
]


def medians(root: Path) -> dict:
    out = {}
    for bench in root.rglob("new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        out[meta["full_id"]] = est["median"]["point_estimate"]  # ns per iteration
    return out


def main() -> None:
    args = sys.argv[1:]
    jsonl = None
    if "--jsonl" in args:
        i = args.index("--jsonl")
        jsonl = args[i + 1]
        del args[i : i + 2]
    root = Path(args[0] if args else "target/criterion")
    m = medians(root)
    rows = []
    print("| step | family | ns (per chunk for streams) | OpenAI, same run | ratio |")
    print("|---|---|---|---|---|")
    for what, ref_id, fams, per in PAIRS:
        if ref_id not in m:
            continue
        ref = m[ref_id] / per
        for fam, fid in fams.items():
            if fid not in m:
                continue
            v = m[fid] / per
            rows.append({"step": what, "family": fam, "ns": round(v, 1), "openai_ns": round(ref, 1),
                         "ratio": round(v / ref, 3)})
            print(f"| {what} | {fam} | {v:,.0f} | {ref:,.0f} | {v / ref:.2f}× |")
    if jsonl and rows:
        with open(jsonl, "a") as f:
            f.write(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "host_cpus": os.cpu_count(),
                                "rows": rows}) + "\n")


if __name__ == "__main__":
    main()
