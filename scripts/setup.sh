#!/usr/bin/env bash
# Installs what building and testing ranklog needs, and only what is missing:
#   - Open MPI (mpirun, mpicc, headers) and libclang: feature `mpi` (rsmpi runs bindgen)
#   - pkg-config: how rsmpi's build script finds the MPI library
#   - a C compiler: rsmpi compiles a small C shim
#   - cargo, with the rustfmt and clippy components
#   - for the multi-node and launcher tests (scripts/multinode.sh, tests/multinode_*,
#     hydra_*, slurm_*): iproute2 and util-linux (network, UTS and mount namespaces),
#     MPICH's Hydra (mpich) next to Open MPI, which keeps `mpirun` and `mpicc`, and a
#     single-node Slurm (slurm-wlm, munge, with munge's key)
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
    apt_updated=1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
    have mpirun || die "mpirun still missing after installing ${packages[*]}"
    have_mpi_dev || die "mpicc still missing after installing ${packages[*]}"
    have_libclang || die "libclang still missing after installing ${packages[*]}"
    have pkg-config || die "pkg-config still missing after installing ${packages[*]}"
    have cc || die "no C compiler (cc) after installing ${packages[*]}"
    say "installed ${packages[*]}"
fi

# --- launchers and namespaces for the multi-node tests --------------------------------
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "not root and no sudo; run as root: $*"
    fi
}
# Daemons live in /usr/sbin, which a user's PATH may lack.
have_any() { have "$1" || [[ -x /usr/sbin/$1 || -x /sbin/$1 ]]; }
have_util_linux() { have unshare && have nsenter && have setpriv; }
have_slurm_client() { have srun && have sbatch && have sinfo && have squeue; }
# Open MPI's mpirun, whatever else is installed (MPICH's alternatives have a lower priority).
mpirun_is_open_mpi() { mpirun --version 2>/dev/null | grep -q 'Open MPI'; }

extra=()
check_pkg() { # check_pkg <description> <package> <test command...>
    local what=$1 package=$2
    shift 2
    if "$@"; then
        say "found $what"
    else
        say "missing $what"
        extra+=("$package")
    fi
}
check_pkg "ip netns (iproute2)" iproute2 have_any ip
check_pkg "unshare, nsenter, setpriv (util-linux)" util-linux have_util_linux
check_pkg "mpiexec.hydra (MPICH)" mpich have mpiexec.hydra
check_pkg "slurmctld" slurmctld have_any slurmctld
check_pkg "slurmd" slurmd have_any slurmd
check_pkg "srun, sbatch, sinfo, squeue (slurm-client)" slurm-wlm have_slurm_client
check_pkg "munged" munge have_any munged
# `ranklog plot -o FILE.png` draws its text with a TrueType font (SVG needs none).
have_font() { [[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]]; }
check_pkg "DejaVu Sans font (PNG plots)" fonts-dejavu-core have_font
# The Python package's tests (scripts/test.sh) run in a fresh venv: python3 with venv and pip.
have_venv() { have python3 && python3 -c 'import ensurepip, venv' 2>/dev/null; }
check_pkg "python3 with venv and ensurepip (Python package tests)" python3-venv have_venv

if ((${#extra[@]} > 0)); then
    have apt-get || die "no apt-get here; install by hand: ${extra[*]} (or their equivalents)"
    say "installing ${extra[*]} (apt-get)"
    if [[ -z ${apt_updated:-} ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${extra[@]}"
    have_any ip || die "ip still missing after installing ${extra[*]}"
    have_util_linux || die "unshare, nsenter or setpriv still missing after installing ${extra[*]}"
    have mpiexec.hydra || die "mpiexec.hydra still missing after installing ${extra[*]}"
    { have_any slurmctld && have_any slurmd && have_slurm_client; } || die "Slurm still missing after installing ${extra[*]}"
    have_any munged || die "munged still missing after installing ${extra[*]}"
    have_font || die "the DejaVu Sans font is still missing after installing ${extra[*]}"
    have_venv || die "python3's venv is still missing after installing ${extra[*]}"
    say "installed ${extra[*]}"
fi

if [[ -f /etc/munge/munge.key ]]; then
    say "found munge key"
else
    say "creating munge key (mungekey)"
    as_root /usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key
    as_root chown munge:munge /etc/munge/munge.key
fi

# MPICH registers mpirun/mpicc alternatives at a lower priority than Open MPI's; if they
# were ever switched by hand, put them back to automatic (Open MPI's).
if mpirun_is_open_mpi; then
    say "found mpirun = Open MPI ($(readlink -f "$(command -v mpirun)"))"
else
    say "mpirun is not Open MPI's ($(readlink -f "$(command -v mpirun)")); update-alternatives --auto"
    as_root update-alternatives --auto mpirun
    as_root update-alternatives --auto mpi
    mpirun_is_open_mpi || die "mpirun is still not Open MPI's: see update-alternatives --display mpirun"
fi

# --- an OpenTelemetry Collector for the OTLP tests (feature `otlp`) -------------------
# rotel, a Rust collector, ships its `rotel-agent` binary inside its PyPI package (only
# pre-releases so far, hence the pinned version); tests/common/collector.rs finds it there.
ROTEL_VERSION=0.0.1a15
have_rotel() {
    python3 -c 'import os, sys, rotel; sys.exit(not os.access(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"), os.X_OK))' 2>/dev/null
}
if have_rotel; then
    say "found rotel-agent (pip package rotel)"
else
    have python3 || die "python3 not found; install Python 3 with pip, then: python3 -m pip install rotel==$ROTEL_VERSION"
    say "installing rotel==$ROTEL_VERSION (pip)"
    # Debian's own python3 refuses user installs (PEP 668) unless told otherwise.
    python3 -m pip install -q --disable-pip-version-check "rotel==$ROTEL_VERSION" \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages "rotel==$ROTEL_VERSION" \
        || die "cannot install rotel with pip (is python3-pip installed?)"
    have_rotel || die "rotel-agent still missing after pip install rotel==$ROTEL_VERSION"
    say "installed rotel==$ROTEL_VERSION"
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
