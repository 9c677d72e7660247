#!/usr/bin/env bash
# The run store against a history of 1,000 runs (issue 6: `runs()` took
# 76.6 s and Ctrl-C acted 16 s late). Usage: bench/store/run.sh [FLOW_BINARY]
# Prints: the index rebuild (`flow runs` with no flow.db), a warm `flow runs`,
# a flow of 200 `when`s asking runs() twice each against the same flow
# without runs(), and how long `flow` takes to stop after SIGTERM at several
# instants of a run whose `skip if`, `let` and `when`s ask runs().
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flow=${1:-$here/../../target/release/flow}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/gen.py" "$work/base" 1000
ms() { date +%s%3N; }
t=$(ms); "$flow" runs --runs-dir "$work/base" >/dev/null; echo "flow runs, index rebuilt from 1,000 journals: $(( $(ms) - t )) ms"
t=$(ms); "$flow" runs --runs-dir "$work/base" >/dev/null; echo "flow runs, warm: $(( $(ms) - t )) ms"
for f in noask ask; do
  t=$(ms); "$flow" run "$here/$f.flow" --runs-dir "$work/base" --quiet --jobs 4 >/dev/null 2>&1
  echo "$f.flow (200 stages$([ $f = ask ] && echo ', 401 runs() calls')): $(( $(ms) - t )) ms"
done
for delay in 0.05 0.1 0.2 0.3 0.5 0.8; do
  "$flow" run "$here/sleepy.flow" --runs-dir "$work/base" --quiet --jobs 4 >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  # SIGTERM, not SIGINT: bash starts background jobs with SIGINT ignored,
  # so a SIGINT before flow installs its handler would be dropped.
  t=$(ms); kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || true
  echo "SIGTERM after ${delay}s: flow exited $(( $(ms) - t )) ms later"
done
