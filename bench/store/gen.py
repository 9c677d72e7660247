#!/usr/bin/env python3
"""Writes N finished/interrupted run journals of flow `f` under BASE/runs/
(the store benchmark: `runs()` against a big history). Usage: gen.py BASE N"""
import json, os, sys

base, n = sys.argv[1], int(sys.argv[2])
outcomes = ["succeeded", "failed", "cancelled", None]  # None: interrupted
for i in range(n):
    rid = f"20200101T{i // 3600 % 24:02d}{i // 60 % 60:02d}{i % 60:02d}Z-{i:06d}"
    d = os.path.join(base, "runs", rid)
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    ts = "2020-01-01T00:00:00.000Z"
    lines = [{"ts": ts, "event": "run_started", "flow": "f", "run_id": rid, "nonce": f"{i:06d}",
              "params": {"n": i}, "file": "f.flow", "pid": 1}]
    for s in range(20):
        lines.append({"ts": ts, "event": "stage_started", "stage": f"s{s}", "visit": 1,
                      "attempt": 1, "pid": 1, "dir": "x"})
        lines.append({"ts": ts, "event": "stage_finished", "stage": f"s{s}", "visit": 1,
                      "attempt": 1, "exit_code": 0, "signal": None, "timed_out": False,
                      "cancelled": False, "status": None, "error": None, "duration_ms": 3})
    o = outcomes[i % len(outcomes)]
    if o:
        lines.append({"ts": ts, "event": "run_finished", "outcome": o, "reason": None,
                      "duration_ms": 100})
    with open(os.path.join(d, "journal.jsonl"), "w") as f:
        f.write("".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines))
