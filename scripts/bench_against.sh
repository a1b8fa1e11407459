#!/usr/bin/env bash
# ranklog's own cases of the side-by-side benchmark, this working tree against an earlier
# commit, in one session: both builds of examples/bench_peers run each case in turn, three
# times, and the medians go in one table.
#
#   bash scripts/bench_against.sh REV            # e.g. HEAD~5, a tag, a commit
#   bash scripts/bench_against.sh REV --quick    # small counts: a smoke run
#
# REV is built in a temporary git worktree (target/bench-against/REV, kept for the next
# run). Cases (docs/bench.md): 1 gated out by the record's scope, 2 logger bound to the
# scope, 3 level-disabled, 4 accepted to JSONL (p50/p99 of the caller), 5 sustained with 1
# and 2 producers (records/s), 5-burst peak RSS. Prints a Markdown table and writes it to
# target/bench/against.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
die() { printf 'bench_against: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench_against: %s\n' "$*" >&2; }

rev=${1:-}
[[ -n $rev ]] || die "usage: scripts/bench_against.sh REV [--quick]"
quick=0
[[ ${2:-} == --quick ]] && quick=1
commit=$(git rev-parse --verify --quiet "$rev^{commit}") || die "no commit $rev"
if ((quick)); then
    calls=100000 per_call=10240 sustained=200000 burst=1000000
else
    calls=1000000 per_call=102400 sustained=2000000 burst=10000000
fi

base=target/bench-against
tree="$base/${commit:0:12}"
mkdir -p "$base" target/bench
if [[ ! -d $tree ]]; then
    say "making a worktree of $rev (${commit:0:12}) in $tree"
    git worktree add --detach --quiet "$tree" "$commit"
fi
say "building examples/bench_peers of $rev (release)"
(cd "$tree" && CARGO_TARGET_DIR="$PWD/target" cargo build --release --quiet --example bench_peers)
say "building examples/bench_peers of this tree (release)"
cargo build --release --quiet --example bench_peers
old="$tree/target/release/examples/bench_peers"
new="${CARGO_TARGET_DIR:-target}/release/examples/bench_peers"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.jsonl"
one() { # one BUILD LABEL ARGS...
    local build=$1 label=$2 exe
    shift 2
    exe=$old
    [[ $build == new ]] && exe=$new
    rm -rf "$tmp/dir" && mkdir -p "$tmp/dir"
    "$exe" --peer ranklog "$@" --dir "$tmp/dir" 2>/dev/null |
        awk -v b="$build" -v l="$label" '/^\{/ { sub(/^\{/, "{\"build\":\"" b "\",\"label\":\"" l "\","); print }' \
            >>"$results"
}
for round in 1 2 3; do
    say "round $round of 3"
    for build in old new; do
        for case in 1 2 3; do one $build "case $case" --case $case --records $calls; done
        one $build "case 4" --case 4 --records $per_call
        one $build "case 5, 1 producer" --case 5 --threads 1 --records $sustained
        one $build "case 5, 2 producers" --case 5 --threads 2 --records $sustained
        one $build "case 5 burst" --case 5 --records $burst --tag 5-burst
    done
done

python3 - "$results" "$rev" <<'EOF' | tee target/bench/against.md
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rev = sys.argv[2]
def med(label, build, key):
    vals = [r[key] for r in rows if r["label"] == label and r["build"] == build]
    return statistics.median(vals) if vals else float("nan")
print(f"| case | metric | {rev} | this tree | this / {rev} |")
print("| --- | --- | --- | --- | --- |")
spec = [
    ("case 1", "p50_ns", "caller p50, ns"),
    ("case 2", "p50_ns", "caller p50, ns"),
    ("case 3", "p50_ns", "caller p50, ns"),
    ("case 4", "p50_ns", "caller p50, ns"),
    ("case 4", "p99_ns", "caller p99, ns"),
    ("case 4", "records_per_s", "records/s"),
    ("case 5, 1 producer", "records_per_s", "records/s"),
    ("case 5, 2 producers", "records_per_s", "records/s"),
    ("case 5 burst", "peak_rss_bytes", "peak RSS, MiB"),
]
for label, key, metric in spec:
    o, n = med(label, "old", key), med(label, "new", key)
    scale = 1 / 2**20 if key == "peak_rss_bytes" else 1
    def show(v):
        v = v * scale
        return f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
    ratio = n / o if o else float("nan")
    print(f"| {label} | {metric} | {show(o)} | {show(n)} | {ratio:.2f} |")
EOF
