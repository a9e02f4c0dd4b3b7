#!/usr/bin/env python3
"""The peer for the AWS figures of `cargo bench --bench hot_path` (run in the same session):
botocore — what boto3 and LiteLLM's Bedrock path use — signing the same Converse request
with SigV4, and decoding the same 200-frame ConverseStream body with its eventstream parser.
Prints µs per signature and per frame; with --jsonl FILE appends one JSON line with the
Rust figures read from CRITERION_DIR and the ratios.

Usage: aws_peer.py CRITERION_DIR [--jsonl bench/results/core-aws.jsonl]
Needs botocore (`pip install botocore`).
"""

import json
import sys
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer

URL = ("https://bedrock-runtime.us-east-1.amazonaws.com/model/"
       "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse")
BODY = json.dumps({"messages": [{"role": "user", "content": [
    {"text": "Give me a short overview of Rust for SDK cores."}]}],
    "system": [{"text": "You are a helpful assistant."}],
    "inferenceConfig": {"maxTokens": 128, "temperature": 0.2}}).encode()


def frame(event: str, payload: str) -> bytes:
    """One eventstream message as Bedrock frames it (the same bytes as the Rust bench)."""
    headers = b""
    for name, value in ((":event-type", event), (":content-type", "application/json"),
                        (":message-type", "event")):
        headers += bytes([len(name)]) + name.encode() + b"\x07" + len(value).to_bytes(2, "big") + value.encode()
    total = 12 + len(headers) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(headers).to_bytes(4, "big")
    prelude += zlib.crc32(prelude).to_bytes(4, "big")
    msg = prelude + headers + payload.encode()
    return msg + zlib.crc32(msg).to_bytes(4, "big")


def stream_body(frames: int) -> bytes:
    pad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    out = frame("messageStart", '{"p":"abcdefghijklmnopqr","role":"assistant"}')
    for i in range(frames - 4):
        out += frame("contentBlockDelta",
                     '{"contentBlockIndex":0,"delta":{"text":" word%d"},"p":"%s"}' % (i, pad[:10 + i % 40]))
    out += frame("contentBlockStop", '{"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyzABCDE"}')
    out += frame("messageStop", '{"p":"abcdefghijklmnopqrstuvwxyzABCDEFG","stopReason":"end_turn"}')
    out += frame("metadata", '{"metrics":{"latencyMs":1999},"p":"abcdefghijklmnop","usage":{"inputTokens":36,"outputTokens":197,"totalTokens":233}}')
    return out


def best_of(fn, n: int, rounds: int = 5) -> float:
    """Seconds per call: the best of `rounds` runs of `n` calls."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def main() -> None:
    args = sys.argv[1:]
    jsonl = None
    if "--jsonl" in args:
        i = args.index("--jsonl")
        jsonl = args[i + 1]
        del args[i:i + 2]
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example")
    signer = SigV4Auth(creds, "bedrock", "us-east-1")

    def sign():
        req = AWSRequest(method="POST", url=URL, data=BODY,
                         headers={"content-type": "application/json", "accept": "application/json"})
        signer.add_auth(req)

    body = stream_body(200)

    def decode():
        buf = EventStreamBuffer()
        for i in range(0, len(body), 1400):
            buf.add_data(body[i:i + 1400])
            for msg in buf:
                json.loads(msg.payload)

    sign_us = best_of(sign, 2000) * 1e6
    frame_us = best_of(decode, 50) * 1e6 / 200
    row = {"ts": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "botocore_sign_us": round(sign_us, 2), "botocore_decode_us_per_frame": round(frame_us, 3)}
    root = Path(args[0]) if args else None
    if root and root.exists():
        m = {}
        for bench in root.rglob("new/benchmark.json"):
            meta = json.loads(bench.read_text())
            est = json.loads((bench.parent / "estimates.json").read_text())
            m[meta["full_id"]] = est["median"]["point_estimate"]
        rust_sign = m.get("bedrock: SigV4-sign a converse request")
        rust_frame = m.get("stream/bedrock: decode 200-frame eventstream (per element = per frame)")
        if rust_sign:
            row["modelplug_sign_us"] = round(rust_sign / 1000, 2)
            row["sign_ratio_botocore_over_modelplug"] = round(sign_us / (rust_sign / 1000), 1)
        if rust_frame:
            row["modelplug_decode_us_per_frame"] = round(rust_frame / 200 / 1000, 3)
            row["decode_ratio_botocore_over_modelplug"] = round(frame_us / (rust_frame / 200 / 1000), 1)
    print(json.dumps(row))
    if jsonl:
        with open(jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
