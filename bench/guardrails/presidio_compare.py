#!/usr/bin/env python3
"""Our PII detector against Microsoft Presidio's predefined recognizers, on the same corpus.

    python3 -m venv bench/guardrails/.venv
    bench/guardrails/.venv/bin/pip install presidio-analyzer
    export CARGO_BUILD_TARGET=x86_64-unknown-linux-gnu PYO3_BUILD_EXTENSION_MODULE=1
    bench/guardrails/.venv/bin/python bench/guardrails/presidio_compare.py [--errors]

Installs nothing. Presidio runs without a spaCy model: each recognizer's own analyze(text,
entities, nlp_artifacts=None), then Presidio's own duplicate removal (as AnalyzerEngine does),
so there is no context enhancement ("ssn", "phone" nearby do not raise scores) and no NER.
Results are kept at score > 0 (AnalyzerEngine's default threshold) and, in a second column,
at score >= 0.5. EmailRecognizer's domain check uses tldextract's bundled Public Suffix List
(the script stops it fetching one). Presidio has no recognizer for API keys or JWTs: those rows are ours only.

Ours: `cargo run --release -p modelplug-core --example pii_eval` on the same files (or
--pii-eval BIN). Both are scored the same way (core/examples/pii_eval.rs): a found span is a
true positive when its kind and exact text equal an expected (kind, value).

Prints a side-by-side table per corpus and appends one JSON line to
bench/results/guardrails-pii.jsonl (not with --no-append).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PII = REPO / "tests/guardrails/pii"
CORPORA = {
    "tuning": [PII / "tuning.jsonl", PII / "handwritten.jsonl"],
    "holdout": [PII / "holdout.jsonl"],
}
RESULTS = REPO / "bench/results/guardrails-pii.jsonl"
KINDS = ["credit_card", "email", "iban", "ip_address", "phone", "us_ssn", "api_key", "jwt"]
# Presidio entity -> our kind.
ENTITIES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "IP_ADDRESS": "ip_address",
}
# The default regions plus Japan (the corpus has Japanese national numbers; every other
# national form is British, German, French or North American).
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR", "JP")


def load(files: list[Path]) -> list[dict]:
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def presidio_recognizers() -> list:
    import types

    import tldextract
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    # EmailRecognizer validates the domain with tldextract, which would fetch the Public Suffix
    # List on first use: use the snapshot bundled with tldextract instead (no network).
    offline = tldextract.TLDExtract(suffix_list_urls=())
    email_recognizer.tldextract = types.SimpleNamespace(extract=offline)
    return [EmailRecognizer(), PhoneRecognizer(supported_regions=PHONE_REGIONS), CreditCardRecognizer(),
            IbanRecognizer(), UsSsnRecognizer(), IpRecognizer()]


def presidio_find(recognizers: list, text: str) -> list:
    from presidio_analyzer import EntityRecognizer

    results = []
    for r in recognizers:
        results.extend(r.analyze(text, r.supported_entities, None))
    return EntityRecognizer.remove_duplicates(results)


def score(cases: list[dict], found_per_case: list[list[tuple[str, int, int]]]) -> dict:
    """The same rules as core/examples/pii_eval.rs: exact (kind, text) and relaxed overlap."""
    counts = {k: {"tp": 0, "fp": 0, "fn": 0, "rtp": 0, "rfp": 0, "rfn": 0} for k in KINDS}
    errors = []
    for case, found in zip(cases, found_per_case):
        text = case["text"]
        used, rused = [False] * len(found), [False] * len(found)
        for e in case["expect"]:
            kind, value = e["kind"], e["value"]
            c = counts[kind]
            hit = next((i for i, (k, s, t) in enumerate(found)
                        if not used[i] and k == kind and text[s:t] == value), None)
            if hit is None:
                c["fn"] += 1
                errors.append({"error": "miss", "kind": kind, "value": value, "text": text})
            else:
                used[hit] = True
                c["tp"] += 1
            spans = []
            at = text.find(value)
            while at >= 0:
                spans.append((at, at + len(value)))
                at = text.find(value, at + 1)
            rhit = next((i for i, (k, s, t) in enumerate(found)
                         if not rused[i] and k == kind and any(s < b and a < t for a, b in spans)), None)
            if rhit is None:
                c["rfn"] += 1
            else:
                rused[rhit] = True
                c["rtp"] += 1
        for i, (k, s, t) in enumerate(found):
            counts[k]["rfp"] += not rused[i]
            if not used[i]:
                counts[k]["fp"] += 1
                errors.append({"error": "false_positive", "kind": k, "value": text[s:t], "text": text})

    def ratio(a: int, b: int) -> float:
        return 1.0 if a + b == 0 else a / (a + b)

    def summary(c: dict) -> dict:
        return {"tp": c["tp"], "fp": c["fp"], "fn": c["fn"],
                "precision": ratio(c["tp"], c["fp"]), "recall": ratio(c["tp"], c["fn"]),
                "relaxed_precision": ratio(c["rtp"], c["rfp"]), "relaxed_recall": ratio(c["rtp"], c["rfn"])}

    total = {key: sum(c[key] for c in counts.values()) for key in ["tp", "fp", "fn", "rtp", "rfp", "rfn"]}
    return {"kinds": {k: summary(c) for k, c in counts.items()}, "overall": summary(total), "errors": errors}


def run_presidio(cases: list[dict], min_seconds: float) -> dict:
    recognizers = presidio_recognizers()
    raw = [presidio_find(recognizers, c["text"]) for c in cases]  # also warms up
    passes, started = 0, time.perf_counter()
    while passes < 1 or time.perf_counter() - started < min_seconds:
        for c in cases:
            presidio_find(recognizers, c["text"])
        passes += 1
    took = time.perf_counter() - started
    out = {"us_per_text": took / (passes * len(cases)) * 1e6,
           "mb_per_s": sum(len(c["text"].encode()) for c in cases) * passes / took / 1e6,
           "us_per_text_by_recognizer": {}}
    for r in recognizers:  # one pass each: where the time goes
        t = time.perf_counter()
        for c in cases:
            r.analyze(c["text"], r.supported_entities, None)
        out["us_per_text_by_recognizer"][type(r).__name__] = round((time.perf_counter() - t) / len(cases) * 1e6, 1)
    for name, threshold in [("any_score", 0.0), ("score_0_5", 0.5)]:
        found = [[(ENTITIES[r.entity_type], r.start, r.end) for r in rs
                  if r.entity_type in ENTITIES and r.score >= threshold] for rs in raw]
        out[name] = score(cases, found)
    return out


def run_ours(files: list[Path], binary: str | None) -> dict:
    args = [str(f) for f in files]
    if binary:
        cmd = [binary, *args]
    else:
        cmd = ["cargo", "run", "-q", "--release", "-p", "modelplug-core", "--example", "pii_eval", "--", *args]
    out = json.loads(subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout)
    out["us_per_text"] = out["ns_per_text"] / 1000
    return out


def shared(score: dict) -> dict:
    """Exact P and R over the six kinds both detectors have."""
    t = {key: sum(score["kinds"][k][key] for k in ENTITIES.values()) for key in ["tp", "fp", "fn"]}
    p = 1.0 if t["tp"] + t["fp"] == 0 else t["tp"] / (t["tp"] + t["fp"])
    r = 1.0 if t["tp"] + t["fn"] == 0 else t["tp"] / (t["tp"] + t["fn"])
    return {**t, "precision": p, "recall": r}


def fmt(v: dict | None) -> str:
    return "     -      -" if v is None else f"{v['precision']:6.3f} {v['recall']:6.3f}"


def table(name: str, n: int, ours: dict, pres: dict) -> str:
    lines = [f"{name} ({n} texts): exact P R per kind",
             f"{'kind':<12}  {'ours':^13}  {'presidio >0':^13}  {'presidio >=.5':^13}"]
    for k in KINDS:
        has = k in ENTITIES.values()
        lines.append(f"{k:<12}  {fmt(ours['kinds'][k])}  {fmt(pres['any_score']['kinds'][k] if has else None)}"
                     f"  {fmt(pres['score_0_5']['kinds'][k] if has else None)}")
    lines.append(f"{'overall(6)':<12}  {fmt(shared(ours))}  {fmt(shared(pres['any_score']))}"
                 f"  {fmt(shared(pres['score_0_5']))}")
    lines.append(f"{'overall(8)':<12}  {fmt(ours['overall'])}")
    lines.append(f"{'µs/text':<12}  {ours['us_per_text']:13.2f}  {pres['us_per_text']:13.1f}"
                 f"   (presidio/ours: {pres['us_per_text'] / ours['us_per_text']:.0f}x; ours all 8 kinds,"
                 f" presidio 6; ours {ours['mb_per_s']:.1f} MB/s, presidio {pres['mb_per_s']:.2f} MB/s)")
    by = ", ".join(f"{k.removesuffix('Recognizer')} {v:.0f}" for k, v in pres["us_per_text_by_recognizer"].items())
    lines.append(f"{'':<12}  presidio µs/text by recognizer: {by}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pii-eval", help="a built pii_eval binary (default: cargo run --release)")
    ap.add_argument("--min-seconds", type=float, default=2.0, help="timing loop length per corpus")
    ap.add_argument("--errors", action="store_true", help="print every miss and false positive")
    ap.add_argument("--no-append", action="store_true", help=f"do not append to {RESULTS.relative_to(REPO)}")
    args = ap.parse_args()

    import presidio_analyzer  # noqa: F401  (fail early with a clear message)
    from importlib.metadata import version

    record = {"date": datetime.date.today().isoformat(), "bench": "guardrails-pii",
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                       capture_output=True, text=True).stdout.strip(),
              # the detector's source may be ahead of the commit (a dirty tree): pin it too
              "pii_rs_sha256": hashlib.sha256((REPO / "core/src/guardrails/pii.rs").read_bytes()).hexdigest()[:16],
              "presidio_analyzer": version("presidio-analyzer"), "phonenumbers": version("phonenumbers"),
              "python": platform.python_version(), "phone_regions": list(PHONE_REGIONS), "corpora": {}}
    for name, files in CORPORA.items():
        cases = load(files)
        ours = run_ours(files, args.pii_eval)
        pres = run_presidio(cases, args.min_seconds)
        print(table(name, len(cases), ours, pres), end="\n\n")
        if args.errors:
            for who, errs in [("ours", ours["errors"]), ("presidio>0", pres["any_score"]["errors"])]:
                for e in errs:
                    print(f"  {name} {who} {e['kind']} {e['error']}: {e['value']!r} in {e['text'][:160]!r}")
            print()
        record["corpora"][name] = {
            "texts": len(cases),
            "ours": {"us_per_text": round(ours["us_per_text"], 3), "mb_per_s": ours["mb_per_s"],
                     "kinds": ours["kinds"], "overall": ours["overall"], "overall_6": shared(ours)},
            "presidio": {"us_per_text": round(pres["us_per_text"], 1), "mb_per_s": round(pres["mb_per_s"], 3),
                         "us_per_text_by_recognizer": pres["us_per_text_by_recognizer"],
                         "any_score": {"kinds": pres["any_score"]["kinds"], "overall_6": shared(pres["any_score"])},
                         "score_0_5": {"kinds": pres["score_0_5"]["kinds"], "overall_6": shared(pres["score_0_5"])}},
        }
    if not args.no_append:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"appended to {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
