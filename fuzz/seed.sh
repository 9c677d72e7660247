#!/usr/bin/env bash
# Copies the repository's .flow files into fuzz/corpus/check (the seed corpus
# of the `check` target). The corpus grows as the fuzzer runs; it is not
# committed (see .gitignore).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
corpus="$here/corpus/check"
mkdir -p "$corpus"
n=0
for f in "$root"/tests/check/*.flow "$root"/tests/run/*.flow \
         "$root"/pipelines/*.flow "$root"/std-skills/*.flow; do
  [ -f "$f" ] || continue
  # Named after the source so re-seeding overwrites instead of duplicating.
  rel="${f#"$root"/}"
  cp "$f" "$corpus/seed-${rel//\//_}"
  n=$((n + 1))
done
echo "seed: $n files in $corpus" >&2
