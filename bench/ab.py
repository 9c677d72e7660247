#!/usr/bin/env python3
"""Interleaved A/B timing of two (or more) binaries on one command line.

    python3 bench/ab.py 40 /tmp/flow-old /tmp/flow-new -- check --shellcheck off big.flow
    FLOW_AB_FRESH=.flow python3 bench/ab.py 15 /tmp/flow-old /tmp/flow-new -- run w1.flow

With FLOW_AB_FRESH set, that path is removed before every run (untimed), as the
shared harness's PREP removes `.flow` before each `flow run`.

Runs each binary N times with the same arguments, alternating the order every
round (A B, B A, …) so that a machine whose speed drifts (a shared VM) drifts
for all of them alike, and prints min, 25th percentile and median wall time
per binary, in milliseconds. Output of the runs is discarded. For figures
that do not drift at all, count instructions instead:
`valgrind --tool=callgrind --callgrind-out-file=/dev/null BIN ARGS…`.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time


def main() -> None:
    args = sys.argv[1:]
    if "--" not in args or len(args) < 4:
        sys.exit(__doc__)
    sep = args.index("--")
    rounds, binaries, rest = int(args[0]), args[1:sep], args[sep + 1 :]
    fresh = os.environ.get("FLOW_AB_FRESH")
    times: dict[str, list[float]] = {b: [] for b in binaries}
    for i in range(rounds):
        for b in binaries if i % 2 == 0 else binaries[::-1]:
            if fresh:
                shutil.rmtree(fresh, ignore_errors=True)
            start = time.perf_counter()
            subprocess.run([b, *rest], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[b].append(time.perf_counter() - start)
    for b, ts in times.items():
        ts.sort()
        print(
            f"{b:28} min {ts[0] * 1e3:7.1f}  p25 {ts[len(ts) // 4] * 1e3:7.1f}"
            f"  median {statistics.median(ts) * 1e3:7.1f} ms"
        )


if __name__ == "__main__":
    main()
