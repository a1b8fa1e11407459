#!/usr/bin/env bash
# Runs ranklog and its peers on the same work, on this machine, and writes a report.
#
#   bash scripts/bench.sh               # the full run: a few minutes on a 2-core machine
#   bash scripts/bench.sh --quick       # small counts: a smoke run, well under a minute
#   bash scripts/bench.sh --criterion   # also cargo bench --bench caller_path, throughput, flush
#
# Peers: ranklog; slog + slog-async (slog-json, slog-term); tracing (tracing-subscriber's
# fmt over tracing-appender's non_blocking); Python's logging set up like vLLM's, run with
# this machine's python3; and ranklog's Python package (ranklog-python: cases 1, 3, 4, 7,
# in a venv with `pip install ./python`). Each (peer, case) runs in its own process
# (examples/bench_peers.rs, scripts/bench_peers.py) and prints one JSON line into
# target/bench/results.jsonl; scripts/bench_report.py turns them into
# target/bench/report.md, which is printed at the end. docs/bench.md explains the cases.
#
# Needs cargo (with a C compiler to link) and python3; installs python3 with apt-get when
# it is missing. Log files go to target/bench/tmp, removed after each run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

quick=0
criterion=0
for arg in "$@"; do
    case $arg in
        --quick) quick=1 ;;
        --criterion) criterion=1 ;;
        -h | --help)
            sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown option $arg (expected --quick, --criterion)" ;;
    esac
done

# --- prerequisites ---------------------------------------------------------------------
if [[ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
have cargo || die "cargo not found; install Rust from https://rustup.rs (or put cargo on PATH)"
have cc || die "no C compiler (cc) to link with; run scripts/setup.sh"
if ! have python3; then
    have apt-get || die "python3 not found and no apt-get; install python3 by hand"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        have sudo || die "python3 not found; as root: apt-get install -y python3"
        sudo=(sudo)
    fi
    say "installing python3 (apt-get)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3
    have python3 || die "python3 still missing after apt-get install python3"
fi
say "found $(cargo --version), $(python3 --version)"

# --- counts ------------------------------------------------------------------------------
if ((quick)); then
    calls=100000      # cases 1, 2, 3, 7
    per_call=10240    # cases 4, 6 (10 bursts of 1024)
    sustained=200000  # case 5
    burst=1000000     # case 5, peak RSS
else
    calls=1000000
    per_call=102400
    sustained=2000000
    burst=10000000
fi
# Python's logging is about 30x slower: a tenth of the records for case 5 and the burst
# (records/s is a rate; its RSS does not grow with the count: it has no queue).
py_sustained=$((sustained / 10))
py_burst=$((burst / 10))

out=target/bench
tmp=$out/tmp
results=$out/results.jsonl
errors=$out/stderr.log
mkdir -p "$out"
rm -rf "$tmp"
: >"$results"
: >"$errors"
trap 'rm -rf "$tmp"' EXIT

# --- build -------------------------------------------------------------------------------
say "building examples/bench_peers (release)"
cargo build --release --features tracing --example bench_peers
exe="${CARGO_TARGET_DIR:-target}/release/examples/bench_peers"
[[ -x $exe ]] || die "$exe was not built"

# run_one LABEL COMMAND...: runs one (peer, case) in its own process with a fresh --dir,
# keeps its JSON line, removes its files.
run_one() {
    local label=$1 dir line
    shift
    dir="$tmp/$label"
    mkdir -p "$dir"
    say "$label"
    # Anything else a run prints on stdout (tracing-appender prints there) is shown.
    if ! line=$("$@" --dir "$dir" 2>>"$errors" |
        awk '/^\{/ { json = $0; next } { print > "/dev/stderr" } END { print json }'); then
        tail -n 20 "$errors" >&2
        die "$label failed: $* (its stderr is in $errors)"
    fi
    [[ -n $line ]] || die "$label printed no JSON line: $*"
    printf '%s\n' "$line" >>"$results"
    rm -rf "$dir"
}

start=$SECONDS
for peer in ranklog slog-async tracing; do
    for case in 1 2 3 7; do
        run_one "$peer-case$case" "$exe" --peer "$peer" --case "$case" --records "$calls"
    done
    for case in 4 6; do
        run_one "$peer-case$case" "$exe" --peer "$peer" --case "$case" --records "$per_call"
    done
    for threads in 1 2; do
        run_one "$peer-case5-t$threads" "$exe" --peer "$peer" --case 5 --threads "$threads" \
            --records "$sustained"
    done
    run_one "$peer-case5-burst" "$exe" --peer "$peer" --case 5 --records "$burst" --tag 5-burst
done
# tracing events through ranklog's layer (Guard::tracing_layer): gated out, level-disabled,
# accepted.
for case in 1 3; do
    run_one "tracing-ranklog-case$case" "$exe" --peer tracing-ranklog --case "$case" --records "$calls"
done
run_one "tracing-ranklog-case4" "$exe" --peer tracing-ranklog --case 4 --records "$per_call"

py=(python3 scripts/bench_peers.py)
for case in 1 2 3 7; do
    run_one "python-case$case" "${py[@]}" --case "$case" --records "$calls"
done
for case in 4 6; do
    run_one "python-case$case" "${py[@]}" --case "$case" --records "$per_call"
done
for threads in 1 2; do
    run_one "python-case5-t$threads" "${py[@]}" --case 5 --threads "$threads" \
        --records "$py_sustained"
done
run_one "python-case5-burst" "${py[@]}" --case 5 --records "$py_burst" --tag 5-burst

# ranklog's Python package (python/), peer ranklog-python: the venv scripts/test.sh made
# when it imports ranklog, else a fresh one with `pip install ./python` (a release build
# through maturin; cargo's output stays in python/target for the next time).
pyvenv=target/python-venv
if ! "$pyvenv/bin/python" -c 'import ranklog' 2>/dev/null; then
    pyvenv=$out/venv
    say "installing ranklog's Python package into $pyvenv (pip install ./python)"
    rm -rf "$pyvenv"
    python3 -m venv "$pyvenv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$pyvenv/bin/pip" install -q ./python || die "pip install ./python failed"
fi
rpy=("$pyvenv/bin/python" scripts/bench_peers.py --ranklog)
for case in 1 3 7; do
    run_one "ranklog-python-case$case" "${rpy[@]}" --case "$case" --records "$calls"
done
run_one "ranklog-python-case4" "${rpy[@]}" --case 4 --records "$per_call"
say "all runs done in $((SECONDS - start)) s"

crit_args=()
if ((criterion)); then
    : >"$out/criterion.txt"
    for bench in caller_path throughput flush; do
        # Bounded: a bench that hangs must not hang the report.
        say "cargo bench --bench $bench (at most 10 minutes)"
        if ! timeout 600 cargo bench --bench "$bench" 2>&1 | tee -a "$out/criterion.txt" >&2; then
            say "warning: cargo bench --bench $bench failed or timed out; its results are missing"
            printf 'cargo bench --bench %s failed or timed out\n' "$bench" >>"$out/criterion.txt"
        fi
    done
    crit_args=(--criterion "$out/criterion.txt")
fi

command="scripts/bench.sh"
(($# > 0)) && command+=" $*"
python3 scripts/bench_report.py "$results" -o "$out/report.md" --command "$command" \
    "${crit_args[@]}"
cat "$out/report.md"
say "report: $out/report.md; raw results: $results"
