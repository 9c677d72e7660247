#!/usr/bin/env bash
# Runs the `check` fuzz target (parse + load + check on arbitrary input) for
# SECONDS seconds (default 60): installs cargo-fuzz if missing, seeds the
# corpus from the repository's .flow files, then fuzzes. Exits non-zero when
# the fuzzer finds a crash; the input is left in fuzz/artifacts/check/.
#
#   fuzz/run.sh 120
#
# The machine has stable Rust only: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass
# its -Z flags (sanitizer coverage) to the stable compiler.
# SANITIZER=address adds AddressSanitizer; the default, none, is about 3x
# faster (830 against 260 inputs/s here), and the code is safe Rust, so ASan
# finds little that a panic would not.
set -euo pipefail
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
# libfuzzer-sys compiles libFuzzer's C++ sources.
command -v c++ >/dev/null 2>&1 || { echo "fuzz: needs a C++ compiler (apt-get install g++)" >&2; exit 2; }
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

./seed.sh
export RUSTC_BOOTSTRAP=1
sanitizer="${SANITIZER:-none}"
# -a: debug assertions and overflow checks, so an arithmetic overflow on a
#     huge number in the input is found (release builds would wrap).
# -max_len: flows are text; long inputs only slow the search down.
# -timeout: a single input taking 10 s is a hang worth reporting.
exec cargo fuzz run -a --sanitizer "$sanitizer" check corpus/check -- \
  -dict=flow.dict -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -print_final_stats=1
