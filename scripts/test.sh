#!/usr/bin/env bash
# The whole check, as CI runs it (`.ci/run`): prerequisites, format, clippy, and the tests
# with every feature (unit, integration, doc tests; the mpirun tests run real
# `mpirun -np 4` jobs; the multinode_*, hydra_* and slurm_* tests run jobs across
# simulated nodes, under MPICH's Hydra and under a Slurm they start) and with none, then
# the Python package (`pip install ./python` in a fresh venv, its pytest tests). First,
# a two-node smoke job (scripts/multinode.sh) says in one line whether this machine can
# simulate nodes: under CI it must, elsewhere it is a skip. Runs every step even after a
# failure, prints a summary, and exits non-zero if any step failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
if [[ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# mpirun refuses to start as root without these, and needs oversubscription to run 4
# ranks on a 2-core machine. The tests set them too; this covers anything else.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
# Disk: every integration test is a binary linking all ~200 dependencies, twice (all
# features, then none). With full debug info and cargo's incremental cache a fresh run
# filled about 15 GB; line tables (backtraces keep file:line) and no incremental cache
# keep it to a few. Set either variable to override.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"

names=()
results=()
failed=0
start_all=$SECONDS

step() { # step <name> <command...>
    local name=$1
    shift
    printf '\n==> %s: %s\n' "$name" "$*"
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    local took=$((SECONDS - t0))
    names+=("$name")
    if ((rc == 0)); then
        results+=("ok      ${took}s")
    else
        results+=("FAILED  ${took}s (exit $rc)")
        failed=1
    fi
}

ci_set() { [[ -n ${CI:-} && ${CI} != 0 && ${CI} != false ]]; }

# Two simulated nodes, each with its own host name; exit 77 from multinode.sh means this
# machine cannot do it (not root, no namespaces), and says why in one line.
multinode_smoke() {
    local rc=0 out
    out=$(bash scripts/multinode.sh --nodes rlsmokeA:1,rlsmokeB:1 -- hostname 2>&1) || rc=$?
    if ((rc == 77)); then
        if ci_set; then
            printf '%s\n' "$out" >&2
            return 1
        fi
        printf 'skipped: %s\n' "$out"
        return 0
    fi
    if ((rc != 0)) || [[ $(sort <<<"$out" | tr '\n' ' ') != "rlsmokeA rlsmokeB " ]]; then
        printf 'multinode smoke job failed (exit %s):\n%s\n' "$rc" "$out" >&2
        return 1
    fi
    printf 'ran one rank on each of rlsmokeA and rlsmokeB\n'
}

step "multinode smoke" multinode_smoke
step "format" cargo fmt --all -- --check
step "clippy" cargo clippy --all-targets --all-features -- -D warnings
# The test and example binaries of one feature set are not reused by the next: they go
# once they have run (proc-macro libraries, also executable, stay).
drop_test_binaries() {
    local dir=${CARGO_TARGET_DIR:-target}/debug
    find "$dir/deps" "$dir/examples" -maxdepth 1 -type f -perm -u+x ! -name '*.so' -delete 2>/dev/null
    return 0
}
step "test (all features)" cargo test --all-features
drop_test_binaries
step "test (no default features)" cargo test --no-default-features
drop_test_binaries
# The Python package (python/): `pip install ./python` into a fresh venv (a release build
# of the crate through maturin), then its pytest tests, real `mpirun -np 4` jobs among
# them, which call the `ranklog` CLI built here.
python_package() {
    local venv=target/python-venv cli
    rm -rf "$venv"
    cargo fmt --manifest-path python/Cargo.toml -- --check &&
        python3 -m venv "$venv" &&
        "$venv/bin/pip" install -q pytest ./python &&
        cargo build --all-features --bin ranklog || return 1
    cli="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/ranklog"
    (cd python/tests && RANKLOG_CLI=$cli "../../$venv/bin/python" -m pytest -q -p no:cacheprovider .)
}
step "python package" python_package
# The side-by-side benchmark with small counts: it must keep running (the numbers of a
# smoke run are not checked; scripts/bench.sh alone gives the real ones).
step "benchmark smoke" bash scripts/bench.sh --quick

printf '\n==> summary (%ss in all)\n' "$((SECONDS - start_all))"
for i in "${!names[@]}"; do
    printf '  %-28s %s\n' "${names[$i]}" "${results[$i]}"
done
if ((failed)); then
    printf 'test.sh: FAILED\n'
    exit 1
fi
printf 'test.sh: all passed\n'
