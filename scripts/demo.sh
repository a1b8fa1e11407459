#!/usr/bin/env bash
# Runs the tensor-parallel inference example as a real MPI job and summarizes its logs.
#
#   bash scripts/demo.sh [extra tp_inference args...]
#   NP=8 bash scripts/demo.sh          # world size (default 4)
#
# Builds `examples/tp_inference.rs` (feature `mpi`, release), makes a fresh log directory
# logs/demo-<timestamp>, runs `ranklog run --dir <that dir> -- mpirun -np $NP tp_inference
# "$@"` (one live console for the job's ranks, then its summary), keeps that console in
# <dir>/console.log, then prints the files written (lines of the logs, bytes of anything
# else) and the number of records per level.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

np=${NP:-4}
bash scripts/setup.sh
if [[ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

echo "==> building tp_inference and the ranklog command (release, features mpi and cli)"
cargo build --release --features mpi,cli --example tp_inference --bin ranklog
exe="${CARGO_TARGET_DIR:-target}/release/examples/tp_inference"
ranklog="${CARGO_TARGET_DIR:-target}/release/ranklog"

dir="logs/demo-$(date +%Y%m%d-%H%M%S)"
[[ -e $dir ]] && dir="$dir-$$"
mkdir -p "$dir"
echo "==> log directory: $dir"

mpirun_args=(-np "$np" --oversubscribe)
if [[ $(id -u) -eq 0 ]]; then
    mpirun_args+=(--allow-run-as-root)
fi
echo "==> ranklog run --dir $dir -- mpirun ${mpirun_args[*]} $exe $*"
rc=0
"$ranklog" run --dir "$dir" -- mpirun "${mpirun_args[@]}" "$exe" "$@" 2>&1 \
    | tee "$dir/console.log" || rc=$?

echo
echo "==> summary of $dir"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$dir" <<'PY'
import collections, json, os, sys

d = sys.argv[1]
levels = collections.Counter()
records = 0
print("files written:")
for name in sorted(os.listdir(d)):
    path = os.path.join(d, name)
    if not os.path.isfile(path):
        continue
    if name.endswith(".jsonl"):
        n = bad = 0
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                n += 1
                try:
                    levels[json.loads(line).get("level", "?")] += 1
                except ValueError:
                    bad += 1
        records += n
        note = f" ({bad} not JSON)" if bad else ""
        print(f"  {name:<24} {n:>8} lines{note}")
    elif name == "console.log":
        with open(path, encoding="utf-8", errors="replace") as f:
            shown = sum(1 for _ in f)
        print(f"  {name:<24} {shown:>8} lines (what the job printed)")
    else:
        print(f"  {name:<24} {os.path.getsize(path):>8} bytes")
print(f"records per level ({records} records in all files):")
order = ["critical", "error", "warning", "info", "debug", "trace"]
for level in order + sorted(set(levels) - set(order)):
    if levels[level]:
        print(f"  {level:<10} {levels[level]:>8}")
PY
else
    echo "files written:"
    for f in "$dir"/*; do
        case $f in
            *.jsonl | *.log) printf '  %-24s %8s lines\n' "$(basename "$f")" "$(wc -l <"$f")" ;;
            *) printf '  %-24s %8s bytes\n' "$(basename "$f")" "$(wc -c <"$f")" ;;
        esac
    done
    echo "records per level (all files):"
    for level in critical error warning info debug trace; do
        n=$(cat "$dir"/*.jsonl 2>/dev/null | grep -c "\"level\":\"$level\"" || true)
        if ((n > 0)); then
            printf '  %-10s %8s\n' "$level" "$n"
        fi
    done
fi

# One story from the per-rank files: merged, identical lines collapsed across ranks,
# a summary, and a picture.
echo
echo "==> ranklog merge --collapse $dir"
"$ranklog" merge --collapse "$dir"
echo
echo "==> ranklog summary $dir"
"$ranklog" summary "$dir"
echo
echo "==> ranklog plot $dir -o $dir/job.svg"
"$ranklog" plot "$dir" -o "$dir/job.svg"

if ((rc != 0)); then
    echo "demo.sh: mpirun failed (exit $rc); the logs above are what the job wrote" >&2
    exit "$rc"
fi
echo "demo.sh: done; logs in $dir; the picture is $dir/job.svg"
