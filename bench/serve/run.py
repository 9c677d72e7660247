#!/usr/bin/env python3
"""Figures of `flow serve` (issue 8). Usage: bench/serve/run.py [FLOW_BINARY [PART…]]
(PART: burst, sse, cron; default all)

1. A burst of 1,000 submissions (16 client threads; 100 of them repeat a
   key submitted earlier) to a server with --jobs 4: none lost (every 201
   id ends succeeded, the API lists exactly them), duplicates refused (each
   409 names the run holding its key), p50/p99 submit latency, the server's
   peak RSS while the queue drains, drain time.
2. SSE: a finished 300-stage run's journal read through
   /api/runs/{id}/events, events per second.
3. A cron trigger (`*/2 * * * * * *`, every 2 s) over 10 ticks: how late
   each run was submitted and started after its tick.

With the burst, the runs' change stream (`GET /api/events`, what the
dashboard's list follows) is read throughout: every created run must reach
`finished` on it; and once drained, the server's CPU time over 10 s idle
with those runs in its store, with one subscriber on that stream and with
none (the cost of its index watcher).

Only the standard library; the server is the real binary on loopback.
"""
import json, os, re, shutil, statistics, subprocess, sys, tempfile, threading, time
import urllib.request, urllib.error
from datetime import datetime

here = os.path.dirname(os.path.abspath(__file__))
flow = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../target/release/flow")
flow = os.path.abspath(flow)


def start(project, *extra):
    log = open(os.path.join(project, "serve.log"), "w+")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOW_")}
    proc = subprocess.Popen([flow, "serve", "--bind", "127.0.0.1:0", *extra], cwd=project,
                            stdout=subprocess.DEVNULL, stderr=log, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        text = open(log.name).read()
        m = re.search(r"listening on (http://\S+)", text)
        if m:
            return proc, m.group(1)
        time.sleep(0.05)
    proc.kill()
    sys.exit("flow serve did not start:\n" + open(log.name).read())


def call(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def project(flows):
    d = tempfile.mkdtemp(prefix="flow-serve-bench-")
    os.makedirs(os.path.join(d, "pipelines"))
    for name, text in flows.items():
        open(os.path.join(d, "pipelines", name + ".flow"), "w").write(text)
    return d


def cpu_s(pid):
    """utime + stime of `pid`, in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Changes(threading.Thread):
    """Reads /api/events: the last state each run reached, and the count."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.last, self.count, self.opened = url, {}, 0, threading.Event()

    def run(self):
        with urllib.request.urlopen(self.url + "/api/events", timeout=600) as r:
            self.opened.set()
            for line in r:
                if line.startswith(b"data:"):
                    v = json.loads(line[5:])
                    if "state" in v:
                        self.count += 1
                        self.last[v["id"]] = v["state"]


def burst():
    d = project({"burst": 'flow burst {\n  timeout 1m\n  stage a { run "true" }\n}\n'})
    proc, url = start(d, "--jobs", "4")
    changes = Changes(url)
    changes.start()
    changes.opened.wait(60)
    try:
        n, threads = 1000, 16
        keys = [f"k{i}" for i in range(900)] + [f"k{i}" for i in range(100)]
        answers, lat = [None] * n, [0.0] * n

        def worker(part, t):
            for i in part[t::threads]:
                t1 = time.perf_counter()
                answers[i] = call(url + "/api/runs", "POST", {"flow": "burst", "key": keys[i]})
                lat[i] = (time.perf_counter() - t1) * 1000

        # The 900 first keys go first, then the 100 repeats of earlier keys.
        t0 = time.time()
        for part in (list(range(0, 900)), list(range(900, 1000))):
            ts = [threading.Thread(target=worker, args=(part, t)) for t in range(threads)]
            for th in ts:
                th.start()
            for th in ts:
                th.join()
        submit_s = time.time() - t0
        created = {a[1]["id"] for a in answers if a[0] == 201}
        refused = [(keys[i], a[1]["id"]) for i, a in enumerate(answers) if a[0] == 409]
        other = [a for a in answers if a[0] not in (201, 409)]
        peak, t0 = 0, time.time()
        while True:
            peak = max(peak, rss_kib(proc.pid))
            _, left = call(url + "/api/runs?state=queued")
            _, running = call(url + "/api/runs?state=running")
            if not left and not running:
                break
            time.sleep(0.2)
        drain_s = time.time() - t0
        _, runs = call(url + "/api/runs")
        ids = {r["id"] for r in runs}
        ok = [r for r in runs if r["outcome"] == "succeeded"]
        key_of = {r["id"]: r["key"] for r in runs}
        dup_ok = all(key_of.get(holder) == key for key, holder in refused)
        lat.sort()
        print(f"burst: {n} submissions in {submit_s:.2f} s from {threads} threads: "
              f"{len(created)} created (201), {len(refused)} refused (409, each naming its key's run: {dup_ok}), "
              f"{len(other)} other answers")
        print(f"burst: none lost: {ids == created} ({len(ids)} runs listed, {len(ok)} succeeded)")
        print(f"burst: submit latency p50 {statistics.median(lat):.1f} ms, p99 {lat[int(len(lat) * 0.99) - 1]:.1f} ms, max {lat[-1]:.1f} ms")
        print(f"burst: drained in {drain_s:.1f} s ({len(created) / drain_s:.1f} runs/s with --jobs 4); "
              f"server peak RSS while draining {peak / 1024:.1f} MiB")
        time.sleep(1.5)  # the watcher's next looks
        seen_done = sum(1 for i in created if changes.last.get(i) == "finished")
        print(f"events: {changes.count} run changes on /api/events; {seen_done} of {len(created)} "
              f"created runs seen finished on it")
        c0 = cpu_s(proc.pid); time.sleep(10); c1 = cpu_s(proc.pid)
        print(f"idle with {len(ids)} runs in the store, one /api/events subscriber: "
              f"server CPU {(c1 - c0) * 100 / 10:.1f}% of a core")
    finally:
        proc.kill(); proc.wait()
    # The same store, nobody subscribed: the watcher reads no journal.
    proc, url = start(d)
    try:
        time.sleep(2)
        c0 = cpu_s(proc.pid); time.sleep(10); c1 = cpu_s(proc.pid)
        print(f"idle with the same runs, no subscriber: server CPU {(c1 - c0) * 100 / 10:.1f}% of a core")
    finally:
        proc.kill(); proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def sse():
    stages = "\n".join(f'  stage s{i} {{ run "true" }}' for i in range(300))
    d = project({"wide": f"flow wide {{\n  timeout 10m\n{stages}\n}}\n"})
    proc, url = start(d, "--jobs", "1")
    try:
        _, a = call(url + "/api/runs", "POST", {"flow": "wide"})
        rid = a["id"]
        while call(url + f"/api/runs/{rid}")[1]["state"] != "finished":
            time.sleep(0.2)
        t0 = time.perf_counter()
        count = 0
        with urllib.request.urlopen(url + f"/api/runs/{rid}/events", timeout=60) as r:
            for line in r:
                if line.startswith(b"data:"):
                    count += 1
                    if b'"run_finished"' in line:
                        break
        dt = time.perf_counter() - t0
        lines = sum(1 for _ in open(os.path.join(d, ".flow/runs", rid, "journal.jsonl")))
        print(f"sse: {count} events (journal has {lines} lines) in {dt * 1000:.0f} ms: {count / dt:.0f} events/s")
    finally:
        proc.kill(); proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def cron():
    d = project({"tick": 'flow tick {\n  trigger cron "*/2 * * * * * *"\n  timeout 1m\n  stage a { run "true" }\n}\n'})
    proc, url = start(d, "--jobs", "2")
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            _, runs = call(url + "/api/runs?flow=tick&state=finished")
            if len(runs) >= 10:
                break
            time.sleep(0.5)
        runs = sorted(runs, key=lambda r: r["submitted_ms"])[:10]
        late_sub, late_start = [], []
        for r in runs:
            tick = datetime.fromisoformat(r["description"].split("trigger tick ")[1].replace("Z", "+00:00"))
            tick_ms = tick.timestamp() * 1000
            late_sub.append(r["submitted_ms"] - tick_ms)
            late_start.append(r["started_ms"] - tick_ms)
        gaps = [b - a for a, b in zip([r["submitted_ms"] for r in runs], [r["submitted_ms"] for r in runs][1:])]
        print(f"cron */2 s, {len(runs)} ticks: submitted {statistics.mean(late_sub):.1f} ms after the tick "
              f"(max {max(late_sub):.1f}), run_started {statistics.mean(late_start):.1f} ms after (max {max(late_start):.1f}); "
              f"intervals {min(gaps)}–{max(gaps)} ms")
    finally:
        proc.kill(); proc.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    print(f"flow: {flow}")
    only = sys.argv[2:] or ["burst", "sse", "cron"]
    for part in only:
        {"burst": burst, "sse": sse, "cron": cron}[part]()
