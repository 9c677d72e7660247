#!/usr/bin/env python3
"""Benchmark `flow lsp` (issue 9): the time from a `didChange` to the
`publishDiagnostics` of that version, on pipelines/ai-implement.flow (or
FILE), over a real stdio session.

    python3 bench/lsp/run.py                   # release binary, 200 changes
    FLOW_BIN=target/release/flow ROUNDS=500 python3 bench/lsp/run.py [FILE]

Each round changes one character of a comment-free spot (the flow's
description), alternating two texts so every change is a real one, waits for
the diagnostics of that version, and then pauses PAUSE_MS (default 50 ms, an
editor's keystroke pace) so rounds do not merge. The figure includes the
server's debounce (`flow_cli::lsp::DEBOUNCE`, 10 ms): it is what an editor
sees. Diagnostics are the check's (shellcheck's, when installed, come later on
a worker thread and are not waited for). Target: within 20 ms.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def frame(obj):
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read(stream):
    length = None
    while True:
        line = stream.readline()
        if not line:
            raise SystemExit("flow lsp closed its output")
        line = line.strip()
        if not line:
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def main():
    path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "pipelines/ai-implement.flow"))
    flow = os.environ.get("FLOW_BIN") or os.path.join(ROOT, "target/release/flow")
    rounds = int(os.environ.get("ROUNDS", "200"))
    pause = int(os.environ.get("PAUSE_MS", "50")) / 1000
    text = open(path, encoding="utf-8").read()
    marker = 'description "'
    at = text.index(marker) + len(marker)
    texts = [text, text[:at] + "X" + text[at:]]
    uri = "file://" + path
    proc = subprocess.Popen([flow, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)

    def send(obj):
        proc.stdin.write(frame(obj))
        proc.stdin.flush()

    def wait(pred):
        while True:
            msg = read(proc.stdout)
            if pred(msg):
                return msg

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}})
    wait(lambda m: m.get("id") == 1)
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "flow", "version": 1, "text": text}}})

    def published(version):
        return lambda m: (m.get("method") == "textDocument/publishDiagnostics"
                          and m["params"]["uri"] == uri and m["params"].get("version") == version)

    first = wait(published(1))
    times = []
    for i in range(rounds):
        version = i + 2
        start = time.perf_counter()
        send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": texts[(i + 1) % 2]}]}})
        wait(published(version))
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(pause)
    send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    wait(lambda m: m.get("id") == 2)
    send({"jsonrpc": "2.0", "method": "exit"})
    proc.wait(timeout=10)
    times.sort()
    q = statistics.quantiles(times, n=10)
    lines = text.count("\n")
    print(f"file: {os.path.relpath(path, ROOT)} ({lines} lines), {len(first['params']['diagnostics'])} diagnostics")
    print(f"didChange -> publishDiagnostics over {rounds} changes (ms): "
          f"min {times[0]:.1f}, median {statistics.median(times):.1f}, p90 {q[8]:.1f}, max {times[-1]:.1f}")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
