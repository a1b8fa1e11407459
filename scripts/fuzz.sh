#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets) for a bounded time with cargo-fuzz and
# libFuzzer, and prints what it found. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] (60).
#
# The machine's toolchain is stable Rust: cargo-fuzz runs without a sanitizer (`-s none`),
# and RUSTC_BOOTSTRAP=1 lets it pass the few unstable flags it needs. Findings are kept in
# fuzz/artifacts/<target>/, and the corpus grows in fuzz/corpus/<target>/ (both ignored).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

status=0
for target in launcher_env cuda_visible_devices console_escape; do
    echo "==> fuzz $target for ${seconds}s"
    mkdir -p "fuzz/corpus/$target"
    if cargo fuzz run -s none "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 | tee "/tmp/ranklog-fuzz-$target.log" \
        | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|thread .* panicked)"; then
        :
    fi
    if grep -q "panicked\|SUMMARY: libFuzzer" "/tmp/ranklog-fuzz-$target.log"; then
        echo "fuzz: $target FOUND A CRASH; see fuzz/artifacts/$target and /tmp/ranklog-fuzz-$target.log"
        status=1
    else
        echo "fuzz: $target: no crash in ${seconds}s"
    fi
done
exit $status
