"""Medians of an old-against-new run (bench/compare/*.sh): each build's figure and its ratio to
the peer measured in the same round. Usage: summary.py RESULTS.jsonl PEER"""

import json
import statistics
import sys

METRICS = {"seq": ["p50_us", "cpu_us_per_req"], "conc": ["rps", "cpu_us_per_req"],
           "stream": ["total_p50_us", "cpu_us_per_stream"]}


def rounds(path: str) -> list[dict[str, dict[str, dict]]]:
    """The results grouped by round: {client: {mode: line}} for the build and its peer."""
    out, current = [], {}
    for line in open(path):
        row = json.loads(line)
        if row.get("error"):
            continue
        current.setdefault(row["client"], {})[row["mode"]] = row
        if len(current) == 2 and all(len(modes) == len(METRICS) for modes in current.values()):
            out.append(current)
            current = {}
    return out


def main(path: str, peer: str) -> None:
    runs = rounds(path)
    print(f"{len(runs)} runs (each build once per round)")
    for mode, metrics in METRICS.items():
        for metric in metrics:
            by_build: dict[str, list[tuple[float, float]]] = {}
            for run in runs:
                mine = next(k for k in run if k.startswith("modelplug"))
                theirs = next(k for k in run if k.startswith(peer))
                value, other = run[mine][mode][metric], run[theirs][mode][metric]
                by_build.setdefault(mine.rsplit("-", 1)[1], []).append((value, value / other))
            cells = ", ".join(
                f"{build} {statistics.median(v for v, _ in xs):,.1f} ({statistics.median(r for _, r in xs):.2f}x {peer})"
                for build, xs in by_build.items())
            print(f"{mode:7}{metric:20}{cells}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
