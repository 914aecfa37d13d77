#!/usr/bin/env bash
# Coverage-guided fuzzing of one parser with libFuzzer (cargo fuzz, nightly Rust).
#
# Usage: bash scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#        bash scripts/fuzz.sh --list
#
# Installs what it needs on first use: the nightly toolchain (rustup) and cargo-fuzz (pinned,
# from crates.io). The corpus starts from the target's seeds (the committed fixtures, written
# by crates/scorewell-fuzz/examples/seeds.rs) and grows in fuzz/corpus/TARGET. A crash, panic,
# timeout (10 s) or allocation over 2 GiB stops the run and leaves its input in
# fuzz/artifacts/TARGET/; minimize it (`cargo +nightly fuzz tmin TARGET FILE` in fuzz/), fix
# the parser, and commit the input under crates/scorewell-fuzz/regressions/TARGET/ so
# tests/replay.rs runs it on every CI run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_FUZZ_VERSION=0.13.1

if [[ "${1:-}" == "--list" ]]; then
    cargo run -q --manifest-path "$ROOT/Cargo.toml" -p scorewell-fuzz --example seeds -- --list
    exit 0
fi
if [[ $# -lt 2 ]]; then
    echo "usage: bash scripts/fuzz.sh TARGET SECONDS [libFuzzer options...] | --list" >&2
    exit 2
fi
target="$1"
seconds="$2"
shift 2

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

corpus="$ROOT/fuzz/corpus/$target"
# A dictionary of the format's keys and syntax, where one is committed (fuzz/dicts/).
dict=()
if [[ -f "$ROOT/fuzz/dicts/$target.dict" ]]; then
    dict=(-dict="$ROOT/fuzz/dicts/$target.dict")
fi
cargo run -q --manifest-path "$ROOT/Cargo.toml" -p scorewell-fuzz --example seeds -- "$target" "$corpus"
cd "$ROOT/fuzz"
# -rss_limit_mb bounds memory (an allocation trusted from the input shows up as a finding);
# -timeout catches hangs; -max_len lets whole model files through.
exec cargo +nightly fuzz run "$target" "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -max_len=1048576 -print_final_stats=1 "${dict[@]}" "$@"
