#!/usr/bin/env bash
# Installs what building and testing ranklog needs, and only what is missing:
#   - Open MPI (mpirun, mpicc, headers) and libclang: feature `mpi` (rsmpi runs bindgen)
#   - pkg-config: how rsmpi's build script finds the MPI library
#   - a C compiler: rsmpi compiles a small C shim
#   - cargo, with the rustfmt and clippy components
# Idempotent: a second run installs nothing. Debian/Ubuntu (apt-get) only; elsewhere it
# says what to install. Prints one line per thing it finds or installs.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

have() { command -v "$1" >/dev/null 2>&1; }

# bindgen (rsmpi's build) loads libclang and needs clang's own headers (stddef.h), which
# Debian ships in libclang-common-*-dev, a dependency of libclang-*-dev.
have_libclang() {
    if have dpkg-query; then
        local status
        status=$(dpkg-query -W -f '${Status}\n' 'libclang-*-dev' 2>/dev/null || true)
        [[ $status == *"install ok installed"* ]]
    else
        compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null \
            || compgen -G '/usr/lib/*/libclang*.so*' >/dev/null \
            || { [[ -n "${LIBCLANG_PATH:-}" ]] && compgen -G "${LIBCLANG_PATH}/libclang*.so*" >/dev/null; }
    fi
}

# The MPI development files: the compiler wrapper must run (`mpicc -showme` for Open MPI,
# `mpicc -show` for MPICH); rsmpi's build script asks it (or pkg-config) for the flags.
have_mpi_dev() {
    have mpicc && { mpicc -showme >/dev/null 2>&1 || mpicc -show >/dev/null 2>&1; }
}

# --- system packages -------------------------------------------------------------------
missing=()
check() { # check <description> <test command...>
    local what=$1
    shift
    if "$@"; then
        say "found $what"
    else
        say "missing $what"
        missing+=("$what")
    fi
}
check "mpirun" have mpirun
check "mpicc (MPI headers)" have_mpi_dev
check "libclang" have_libclang
check "pkg-config" have pkg-config
check "C compiler (cc)" have cc

if ((${#missing[@]} > 0)); then
    packages=(libopenmpi-dev openmpi-bin libclang-dev pkg-config)
    have cc || packages+=(gcc libc6-dev)
    if ! have apt-get; then
        die "no apt-get here; install by hand: an MPI (Open MPI or MPICH, with headers and mpirun), libclang, pkg-config and a C compiler (missing: ${missing[*]})"
    fi
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if have sudo; then
            sudo=(sudo)
        else
            die "not root and no sudo; run as root: apt-get update && apt-get install -y --no-install-recommends ${packages[*]}"
        fi
    fi
    say "installing ${packages[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
    have mpirun || die "mpirun still missing after installing ${packages[*]}"
    have_mpi_dev || die "mpicc still missing after installing ${packages[*]}"
    have_libclang || die "libclang still missing after installing ${packages[*]}"
    have pkg-config || die "pkg-config still missing after installing ${packages[*]}"
    have cc || die "no C compiler (cc) after installing ${packages[*]}"
    say "installed ${packages[*]}"
fi

# --- Rust toolchain --------------------------------------------------------------------
if [[ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
have cargo || die "cargo not found; install Rust from https://rustup.rs (or put cargo on PATH)"
say "found $(cargo --version)"

for component in rustfmt clippy; do
    if [[ $component == rustfmt ]]; then probe=(cargo fmt --version); else probe=(cargo clippy --version); fi
    if "${probe[@]}" >/dev/null 2>&1; then
        say "found $component"
    elif have rustup; then
        say "installing rustup component $component"
        rustup component add "$component"
    else
        die "$component missing and no rustup to add it; install the $component component"
    fi
done
