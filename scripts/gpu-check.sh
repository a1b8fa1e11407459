#!/usr/bin/env bash
# ranklog's GPU logging on a real NVIDIA GPU, in two steps for a borrowed GPU machine that
# has the driver, nvidia-smi, PyTorch and torchrun, but no package registry, no MPI and no
# Rust toolchain:
#
#   bash scripts/gpu-check.sh build BUNDLE     # here (Rust): release binaries into BUNDLE
#   bash BUNDLE/gpu-check.sh run BUNDLE OUT    # on the GPU machine: at most 5 minutes
#
# build: `cargo build --release` (feature nvml, not mpi) of the ranklog CLI (feature cli)
#   and of examples/gpu_worker.rs, and `cargo test --release --no-run` of
#   tests/gpu_nvml_reads_real_devices.rs; copies the three binaries and this script into
#   BUNDLE. The binaries link against this machine's glibc (BUNDLE/BUILD-INFO says which):
#   build where glibc is not newer than the GPU machine's.
#
# run: while a PyTorch process keeps GPU 0 busy (matmuls) and holds memory, runs 4 ranks of
#   gpu_worker with `torchrun --no-python --standalone --nproc-per-node 4`, first with
#   RANKLOG_GPU=node, then rank, sampling every 200 ms; in each run local rank 0 times a
#   model load during which the PyTorch process allocates LOAD_GIB GiB (default 4). Then
#   the prebuilt test (NVML vs nvidia-smi, every field, the cost of an NVML round over 200
#   rounds, the sampler). Writes into OUT:
#     nvidia-smi.txt, nvidia-smi.csv       nvidia-smi before the runs (and -after.txt)
#     node/ and rank/                      the ranks' JSONL files, console.txt, summary.txt
#                                          (`ranklog summary`), plot.png (`ranklog plot`),
#                                          nvidia-smi-during.csv (every 200 ms)
#     gpu-sample-lines.txt                 the first `gpu sample` console lines of each run
#     load-vs-torch.txt                    the load's mem_delta_bytes against what PyTorch
#                                          allocated and reserved
#     test.txt, nvml-round-cost.txt        the test's output; its `NVML round` lines (µs)
#     torch.log, summary.txt               the PyTorch process's log; what passed and failed
#   Environment: PYTHON (default python3; the interpreter with torch), TORCHRUN (default
#   torchrun), NVIDIA_SMI (default nvidia-smi), LOAD_GIB (4), RUN_SECONDS (20 per run).
#   Exits non-zero when a step failed.
set -uo pipefail

die() { printf 'gpu-check: error: %s\n' "$*" >&2; exit 2; }
usage() { sed -n '2,33p' "${BASH_SOURCE[0]}" >&2; exit 2; }

build() {
    local bundle=$1 root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    [[ -f $root/Cargo.toml ]] || die "build runs from a ranklog checkout (no Cargo.toml in $root)"
    set -e
    cd "$root"
    if [[ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]]; then
        export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    fi
    local features=(--no-default-features --features nvml,cli)
    echo "==> cargo build --release ${features[*]} --bin ranklog --example gpu_worker"
    cargo build --release "${features[@]}" --bin ranklog --example gpu_worker
    echo "==> cargo test --release ${features[*]} --test gpu_nvml_reads_real_devices --no-run"
    local log test_exe
    log=$(cargo test --release "${features[@]}" --test gpu_nvml_reads_real_devices --no-run 2>&1) \
        || { printf '%s\n' "$log" >&2; die "building the test failed"; }
    printf '%s\n' "$log"
    test_exe=$(printf '%s\n' "$log" | sed -n 's/.*Executable .*gpu_nvml_reads_real_devices.rs (\(.*\))$/\1/p' | tail -1)
    [[ -n $test_exe && -x $test_exe ]] || die "cannot find the test binary in cargo's output"
    local target=${CARGO_TARGET_DIR:-target}
    mkdir -p "$bundle"
    cp "$target/release/ranklog" "$target/release/examples/gpu_worker" "$bundle/"
    cp "$test_exe" "$bundle/gpu_nvml_reads_real_devices"
    cp "${BASH_SOURCE[0]}" "$bundle/gpu-check.sh"
    {
        echo "ranklog $(git rev-parse HEAD 2>/dev/null || echo unknown) built $(date -u +%FT%TZ) on $(hostname)"
        echo "glibc $(ldd --version | head -1)"
        cargo --version
    } >"$bundle/BUILD-INFO"
    echo "==> $bundle: $(ls "$bundle" | tr '\n' ' ')"
    echo "copy it to the GPU machine and run: bash $bundle/gpu-check.sh run $bundle OUT"
}

# The PyTorch process: keeps GPU 0 busy, and allocates memory when a worker asks.
torch_process() { # torch_process <handshake dir> <stop file>
    "$PYTHON" - "$@" <<'PY'
import json, os, sys, time
import torch

hs, stop = sys.argv[1], sys.argv[2]
dev = torch.device("cuda:0")
a = torch.randn(4096, 4096, device=dev)
b = torch.randn(4096, 4096, device=dev)
held = torch.empty(2 << 30, dtype=torch.uint8, device=dev)  # 2 GiB held for the whole run
torch.cuda.synchronize()
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}: ready, "
      f"allocated {torch.cuda.memory_allocated()} reserved {torch.cuda.memory_reserved()}", flush=True)
open(os.path.join(hs, "ready"), "w").close()
load = None
while not os.path.exists(stop):
    for _ in range(20):
        c = a @ b  # keeps the GPU busy
    torch.cuda.synchronize()
    req = os.path.join(hs, "load-request")
    if os.path.exists(req):
        n = int(open(req).read())
        os.remove(req)
        alloc0, res0 = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
        load = torch.ones(n, dtype=torch.uint8, device=dev)
        torch.cuda.synchronize()
        answer = {"requested": n, "allocated_delta": torch.cuda.memory_allocated() - alloc0,
                  "reserved_delta": torch.cuda.memory_reserved() - res0}
        with open(os.path.join(hs, "load-done.tmp"), "w") as f:
            json.dump(answer, f)
        os.rename(os.path.join(hs, "load-done.tmp"), os.path.join(hs, "load-done"))
        print("load", answer, flush=True)
    rel = os.path.join(hs, "release")
    if os.path.exists(rel):
        load = None
        torch.cuda.empty_cache()
        os.remove(rel)
        print("released; reserved", torch.cuda.memory_reserved(), flush=True)
print("stopping", flush=True)
PY
}

run() {
    local bundle out
    bundle=$(cd "$1" && pwd) || die "no bundle directory $1"
    mkdir -p "$2" || die "cannot make $2"
    out=$(cd "$2" && pwd)
    PYTHON=${PYTHON:-python3}
    local torchrun=${TORCHRUN:-torchrun} smi=${NVIDIA_SMI:-nvidia-smi}
    local load_bytes=$(( ${LOAD_GIB:-4} << 30 )) seconds=${RUN_SECONDS:-20}
    local started=$SECONDS failed=0
    local results=()
    for f in ranklog gpu_worker gpu_nvml_reads_real_devices; do
        [[ -x $bundle/$f ]] || die "$bundle/$f missing: make the bundle with 'gpu-check.sh build'"
    done
    command -v "$torchrun" >/dev/null || die "$torchrun not found (set TORCHRUN)"
    command -v "$smi" >/dev/null || die "$smi not found (set NVIDIA_SMI)"
    result() { results+=("$1"); [[ $1 == ok* ]] || failed=1; printf 'gpu-check: %s\n' "$1"; }
    # Worst case within 5 minutes: PyTorch's start 60 s, two runs of RUN_SECONDS + 30 s,
    # the test 90 s.

    echo "bundle: $(cat "$bundle/BUILD-INFO" 2>/dev/null | tr '\n' ';')" | tee "$out/summary.txt"
    echo "this machine: $(ldd --version 2>&1 | head -1); $(uname -r)" | tee -a "$out/summary.txt"
    "$smi" >"$out/nvidia-smi.txt" 2>&1
    "$smi" --query-gpu=index,uuid,name,memory.used,memory.total,utilization.gpu,power.draw \
        --format=csv >"$out/nvidia-smi.csv" 2>&1

    local hs=$out/.handshake stop=$out/.handshake/stop
    rm -rf "$hs"
    mkdir -p "$hs"
    torch_process "$hs" "$stop" >"$out/torch.log" 2>&1 &
    local torch_pid=$!
    local waited=0
    while [[ ! -e $hs/ready ]] && kill -0 "$torch_pid" 2>/dev/null && ((waited < 600)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    local load_args=()
    if [[ -e $hs/ready ]]; then
        result "ok      PyTorch process up in $((waited / 10)) s (pid $torch_pid)"
        load_args=(--handshake "$hs" --load-bytes "$load_bytes")
    else
        result "FAILED  PyTorch process did not start: see torch.log; the ranks run without a load"
    fi

    local mode
    for mode in node rank; do
        local dir=$out/$mode
        rm -rf "$dir"
        mkdir -p "$dir"
        "$smi" --query-gpu=timestamp,memory.used,utilization.gpu,power.draw --format=csv \
            -lms 200 >"$dir/nvidia-smi-during.csv" 2>&1 &
        local smi_pid=$!
        local rc=0
        env RANKLOG_DIR="$dir" RANKLOG_GPU=$mode RANKLOG_GPU_INTERVAL=200ms RANKLOG_COLOR=never \
            timeout $((seconds + 30)) "$torchrun" --no-python --standalone --nproc-per-node 4 \
            "$bundle/gpu_worker" --seconds "$seconds" "${load_args[@]}" \
            >"$dir/console.txt" 2>&1 || rc=$?
        kill "$smi_pid" 2>/dev/null
        wait "$smi_pid" 2>/dev/null
        touch "$hs/release"
        if ((rc == 0)) && grep -q "gpu sample: " "$dir/console.txt"; then
            result "ok      RANKLOG_GPU=$mode: 4 ranks under torchrun, GPU samples logged"
        else
            result "FAILED  RANKLOG_GPU=$mode: exit $rc or no 'gpu sample' line: see $mode/console.txt"
        fi
        { echo "== RANKLOG_GPU=$mode"; grep -m 3 "gpu sample: " "$dir/console.txt"; } >>"$out/gpu-sample-lines.txt"
        if "$bundle/ranklog" summary "$dir" >"$dir/summary.txt" 2>&1; then
            result "ok      ranklog summary $mode"
        else
            result "FAILED  ranklog summary $mode: see $mode/summary.txt"
        fi
        if "$bundle/ranklog" plot "$dir" -o "$dir/plot.png" >"$dir/plot.txt" 2>&1; then
            result "ok      ranklog plot $mode: $mode/plot.png"
        else
            result "FAILED  ranklog plot $mode: see $mode/plot.txt"
        fi
        "$PYTHON" - "$dir/rank-00000.jsonl" "$mode" >>"$out/load-vs-torch.txt" 2>&1 <<'PY'
import json, sys
path, mode = sys.argv[1], sys.argv[2]
recs = [json.loads(l) for l in open(path)]
load = [r for r in recs if r.get("kind") == "model_load"]
peer = [r for r in recs if r.get("kind") == "load_peer"]
if not load or not peer:
    print(f"RANKLOG_GPU={mode}: no model_load/load_peer record in {path}")
    sys.exit(0)
delta = load[0].get("mem_delta_bytes")
torch = json.loads(peer[0]["peer"])
mib = lambda b: "none" if b is None else f"{b / 2**20:.1f} MiB"
print(f"RANKLOG_GPU={mode}: ranklog mem_delta_bytes {mib(delta)} over {load[0].get('ms')} ms; "
      f"PyTorch requested {mib(torch['requested'])}, allocated {mib(torch['allocated_delta'])}, "
      f"reserved {mib(torch['reserved_delta'])}"
      + ("" if delta is None else f"; ranklog - reserved = {mib(delta - torch['reserved_delta'])}"))
PY
    done

    local rc=0
    timeout 90 "$bundle/gpu_nvml_reads_real_devices" --ignored --nocapture --test-threads 1 \
        >"$out/test.txt" 2>&1 || rc=$?
    grep '^NVML round\|^NVML sampler round' "$out/test.txt" >"$out/nvml-round-cost.txt"
    if ((rc == 0)); then
        result "ok      gpu_nvml_reads_real_devices: $(tr '\n' ' ' <"$out/nvml-round-cost.txt")"
    else
        result "FAILED  gpu_nvml_reads_real_devices (exit $rc): see test.txt"
    fi

    touch "$stop"
    wait "$torch_pid" 2>/dev/null
    "$smi" >"$out/nvidia-smi-after.txt" 2>&1
    rm -rf "$hs"
    {
        printf '%s\n' "${results[@]}"
        cat "$out/load-vs-torch.txt"
        echo "took $((SECONDS - started)) s"
    } >>"$out/summary.txt"
    echo "gpu-check: took $((SECONDS - started)) s; results in $out (summary.txt)"
    return $failed
}

case ${1:-} in
build) [[ $# -eq 2 ]] || usage; build "$2" ;;
run) [[ $# -eq 3 ]] || usage; run "$2" "$3" ;;
*) usage ;;
esac
