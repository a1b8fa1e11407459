#!/usr/bin/env bash
# Runs a program under Open MPI's `mpirun` (or MPICH's `mpiexec.hydra`) across several
# simulated nodes on this machine.
#
#   scripts/multinode.sh --nodes nodeA:2,nodeB:2 [--map-by node] [--launcher hydra]
#                        [-x VAR[=VALUE]]... [--id ID] [--timeout SECONDS] -- PROGRAM [ARGS...]
#   scripts/multinode.sh --cleanup ID
#
# Each node is a network namespace (its own address on a private bridge, 10.77.0.0/16, that
# exists only inside this run's namespaces), a UTS namespace (its own host name) and a
# mount namespace (its own /etc/hosts naming every node). `mpirun` runs on the first node
# and starts Open MPI's daemons on the others through an ssh stand-in (`plm_rsh_agent`;
# Hydra's `-launcher-exec`) that enters the node's namespaces. /tmp and the rest of the file system are shared, like
# a shared file system on a cluster.
#
# Options:
#   --nodes NAME:SLOTS,...  the nodes and how many ranks each runs (-np is their sum)
#   --map-by POLICY         passed to mpirun (`node`: round robin over the nodes); Open
#                           MPI only (Hydra fills each node in turn)
#   --launcher NAME         openmpi (default): Open MPI's mpirun; hydra: MPICH's
#                           mpiexec.hydra, started the same way (ssh launcher = the stand-in)
#   -x VAR | -x VAR=VALUE   passes a variable to every rank (repeatable); every RANKLOG_*
#                           variable of the caller is passed as well
#   --id ID                 names this run's namespaces (rl-ID-...); default: from the pid.
#                           At most 20 of [A-Za-z0-9_-]; see --cleanup
#   --timeout SECONDS       stops the job (SIGTERM to mpirun, then SIGKILL) after this long
#   --cleanup ID            removes what a run with this id left (after a SIGKILL)
#   --hide-on-others DIR    DIR (an existing directory) is seen by the first node only: the
#                           others see an empty tmpfs there (a directory that is not on a
#                           filesystem every node sees)
#   --no-forward            Open MPI only: pass the RANKLOG_* and -x variables to mpirun
#                           but not with mpirun -x, and pass OMPI_MCA_mca_base_env_list on:
#                           ranks on other nodes then get only what Open MPI forwards of
#                           its own accord (what `ranklog run` relies on)
#
# The ranks get a clean environment, as after ssh: PATH, HOME, LANG, the -x variables and
# RANKLOG_*, plus what Open MPI sets. Standard input is not forwarded. The exit status is
# mpirun's (the program's), 124 on --timeout, and 77 when this machine cannot run it (not
# root, no `ip netns`, no unshare, no mpirun or not Open MPI's): then one line on stderr
# says why. Needs root: CAP_NET_ADMIN and CAP_SYS_ADMIN.
# Everything a run creates is removed when it ends, also on SIGINT/SIGTERM and on error.
set -euo pipefail

readonly CANNOT=77
prog=multinode.sh
cannot() { printf '%s: cannot run here: %s\n' "$prog" "$*" >&2; exit "$CANNOT"; }
usage() { printf '%s: usage: %s\n' "$prog" "$*" >&2; exit 2; }

# ---- internal entry points ----------------------------------------------------------------

# __enter RUNDIR NODE CMD...: runs CMD on NODE (its netns, host name and /etc/hosts).
enter() {
    local run=$1 node=$2
    shift 2
    local ns hide=""
    ns=$(cat "$run/ns.$node")
    # --hide-on-others: an empty tmpfs over the directory on every node but the first.
    if [[ -e $run/hide && $node != "$(cat "$run/first")" ]]; then hide=$(cat "$run/hide"); fi
    # The mount namespace of `unshare --mount` is private: the mounts stay inside it.
    # shellcheck disable=SC2016 # $1, $2, $3 and $@ are the inner shell's
    exec ip netns exec "$ns" unshare --uts --mount \
        sh -c 'mount --bind "$1" /etc/hosts && hostname "$2" &&
            { [ -z "$3" ] || mount -t tmpfs ranklog-hidden "$3"; } && shift 3 && exec "$@"' \
        sh "$run/hosts" "$node" "$hide" "$@"
}

# __agent RUNDIR [ssh options] HOST COMMAND...: what Open MPI calls instead of ssh.
agent() {
    local run=$1
    shift
    while (($# > 0)); do
        case $1 in
            -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;
            -*) shift ;;
            *) break ;;
        esac
    done
    (($# >= 2)) || { echo "$prog agent: expected HOST COMMAND, got: $*" >&2; exit 255; }
    local host=$1
    shift
    [[ -f $run/ns.$host ]] || { echo "$prog agent: unknown host $host" >&2; exit 255; }
    # Like sshd: a login environment, the command line joined and run by a shell.
    enter "$run" "$host" env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 \
        sh -c "$*"
}

# Stops whatever still runs in this run's namespaces and removes them and the run dir.
teardown() { # teardown ID [RUNDIR]
    local id=$1 run=${2:-} ns pids
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^rl-${id}-" || true); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [[ -n $pids ]]; then
            # shellcheck disable=SC2086 # one pid per word
            kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$ns" 2>/dev/null || true
    done
    if [[ -n $run && -d $run ]]; then rm -rf -- "$run"; fi
}

case ${1:-} in
    __enter) shift; enter "$@" ;;
    __agent) shift; agent "$@" ;;
    --cleanup)
        [[ $# -eq 2 && $2 =~ ^[A-Za-z0-9_-]{1,20}$ ]] || usage "$0 --cleanup ID"
        teardown "$2" "$(cat "/tmp/ranklog-multinode-$2.dir" 2>/dev/null || true)"
        rm -f "/tmp/ranklog-multinode-$2.dir"
        exit 0
        ;;
esac

# ---- arguments ----------------------------------------------------------------------------

nodes_spec="" map_by="" id="" limit="" launcher=openmpi no_forward="" hide=""
forward=()
while (($# > 0)); do
    case $1 in
        --nodes) nodes_spec=${2:?--nodes needs NAME:SLOTS,...}; shift 2 ;;
        --map-by) map_by=${2:?--map-by needs a policy}; shift 2 ;;
        --launcher) launcher=${2:?--launcher needs openmpi or hydra}; shift 2 ;;
        -x) forward+=("${2:?-x needs VAR or VAR=VALUE}"); shift 2 ;;
        --id) id=${2:?--id needs an id}; shift 2 ;;
        --timeout) limit=${2:?--timeout needs seconds}; shift 2 ;;
        --no-forward) no_forward=1; shift ;;
        --hide-on-others) hide=${2:?--hide-on-others needs a directory}; shift 2 ;;
        --) shift; break ;;
        *) usage "$0 --nodes NAME:SLOTS,... [--map-by POLICY] [-x VAR]... [--id ID] [--timeout S] -- PROGRAM [ARGS...] (unknown argument: $1)" ;;
    esac
done
(($# > 0)) || usage "$0 --nodes NAME:SLOTS,... [options] -- PROGRAM [ARGS...] (no program given)"
[[ -n $nodes_spec ]] || usage "--nodes NAME:SLOTS,... is required"
[[ $launcher == openmpi || $launcher == hydra ]] || usage "--launcher takes openmpi or hydra, got $launcher"
[[ $launcher == openmpi || -z $map_by ]] || usage "--map-by is for --launcher openmpi only"
[[ -z $limit || $limit =~ ^[0-9]+$ ]] || usage "--timeout takes whole seconds, got $limit"
id=${id:-$$}
[[ $id =~ ^[A-Za-z0-9_-]{1,20}$ ]] || usage "--id takes 1 to 20 of [A-Za-z0-9_-], got $id"

names=() slots=()
IFS=, read -r -a items <<<"$nodes_spec"
for item in "${items[@]}"; do
    [[ $item =~ ^([A-Za-z][A-Za-z0-9-]{0,30}):([1-9][0-9]*)$ ]] \
        || usage "--nodes: $item is not NAME:SLOTS (a host name, a positive count)"
    for known in "${names[@]}"; do
        [[ $known != "${BASH_REMATCH[1]}" ]] || usage "--nodes: $known named twice"
    done
    names+=("${BASH_REMATCH[1]}")
    slots+=("${BASH_REMATCH[2]}")
done
((${#names[@]} <= 200)) || usage "--nodes: at most 200 nodes"
np=0
for s in "${slots[@]}"; do np=$((np + s)); done

# ---- can this machine do it? --------------------------------------------------------------

[[ $(id -u) -eq 0 ]] || cannot "needs root (network, UTS and mount namespaces); running as uid $(id -u)"
command -v ip >/dev/null 2>&1 || cannot "no ip command (install iproute2)"
command -v unshare >/dev/null 2>&1 || cannot "no unshare command (install util-linux)"
if [[ $launcher == openmpi ]]; then
    command -v mpirun >/dev/null 2>&1 || cannot "no mpirun (install Open MPI: openmpi-bin)"
    mpirun --version 2>/dev/null | grep -q 'Open MPI' \
        || cannot "mpirun is not Open MPI's ($(readlink -f "$(command -v mpirun)")): see update-alternatives --display mpirun"
else
    command -v mpiexec.hydra >/dev/null 2>&1 || cannot "no mpiexec.hydra (install MPICH: mpich)"
fi

# ---- build the nodes ----------------------------------------------------------------------

self=$(readlink -f "${BASH_SOURCE[0]}")
run=$(mktemp -d "${TMPDIR:-/tmp}/ranklog-multinode-$id.XXXXXX")
chmod 755 "$run"
echo "$run" >"/tmp/ranklog-multinode-$id.dir"
hub="rl-$id-hub"
child=""

# shellcheck disable=SC2317 # called by the traps
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$child" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$child" 2>/dev/null || true
    fi
    teardown "$id" "$run"
    rm -f "/tmp/ranklog-multinode-$id.dir"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^rl-${id}-" || true) ]]; then
    usage "namespaces of run id $id exist already (another run, or left by a killed one: $0 --cleanup $id)"
fi
# The first namespace tells whether this machine can do it at all.
if ! err=$(ip netns add "$hub" 2>&1); then
    cannot "ip netns add failed: ${err//$'\n'/ }"
fi
must() { # must <what> <command...>: a failure after the first step is a real error
    local what=$1 err
    shift
    if ! err=$("$@" 2>&1); then
        printf '%s: %s failed: %s\n' "$prog" "$what" "${err//$'\n'/ }" >&2
        exit 1
    fi
}
if ! err=$(ip -n "$hub" link add br0 type bridge 2>&1); then
    cannot "cannot create a bridge in a network namespace: ${err//$'\n'/ }"
fi
must "bridge up" ip -n "$hub" link set br0 up

printf '127.0.0.1 localhost\n' >"$run/hosts"
if [[ -n $hide ]]; then
    [[ -d $hide ]] || usage "--hide-on-others: $hide is not a directory"
    realpath "$hide" >"$run/hide"
    echo "${names[0]}" >"$run/first"
fi
for i in "${!names[@]}"; do
    node=${names[$i]} ns="rl-$id-n$i" addr="10.77.$((i / 250)).$((i % 250 + 1))"
    must "ip netns add $ns" ip netns add "$ns"
    echo "$ns" >"$run/ns.$node"
    if ! err=$(ip link add "v$i" netns "$hub" type veth peer name eth0 netns "$ns" 2>&1); then
        cannot "cannot create a veth pair between namespaces: ${err//$'\n'/ }"
    fi
    must "veth v$i on br0" ip -n "$hub" link set "v$i" master br0
    must "veth v$i up" ip -n "$hub" link set "v$i" up
    must "lo up in $ns" ip -n "$ns" link set lo up
    must "address of $node" ip -n "$ns" addr add "$addr/16" dev eth0
    must "eth0 up in $ns" ip -n "$ns" link set eth0 up
    printf '%s %s\n' "$addr" "$node" >>"$run/hosts"
done
chmod 644 "$run/hosts"
if ! err=$("$self" __enter "$run" "${names[0]}" true 2>&1); then
    cannot "cannot enter a simulated node (unshare --uts --mount, mount --bind, hostname): ${err//$'\n'/ }"
fi

# Open MPI's session directories are /tmp/ompi.HOST.UID: a run of its own keeps runs with
# the same node names apart.
mkdir -m 755 "$run/tmp"
printf '#!/bin/sh\nexec bash %q __agent %q "$@"\n' "$self" "$run" >"$run/agent"
chmod 755 "$run/agent"

# ---- the job ------------------------------------------------------------------------------

hosts=""
for i in "${!names[@]}"; do hosts+="${hosts:+,}${names[$i]}:${slots[$i]}"; done
env_args=(PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
x_args=()
while IFS= read -r name; do
    [[ -n $name ]] && forward+=("$name")
done < <(compgen -e | grep -E '^RANKLOG_' || true)
for var in "${forward[@]}"; do
    [[ ${var%%=*} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || usage "-x $var: not a variable name"
    if [[ $var == *=* ]]; then
        env_args+=("$var")
        x_args+=(-x "${var%%=*}")
    elif [[ -n ${!var+set} ]]; then
        env_args+=("$var=${!var}")
        x_args+=(-x "$var")
    fi
done
if [[ $launcher == openmpi ]]; then
    launch=(mpirun --mca plm_rsh_agent "$run/agent"
        --host "$hosts" -np "$np" --bind-to none
        --mca orte_tmpdir_base "$run/tmp"
        --mca btl "tcp,vader,self" --mca btl_vader_single_copy_mechanism none
        --mca btl_tcp_if_include 10.77.0.0/16 --mca oob_tcp_if_include 10.77.0.0/16)
    [[ -z $map_by ]] || launch+=(--map-by "$map_by")
    if [[ -z $no_forward ]]; then
        launch+=("${x_args[@]}")
    elif [[ -n ${OMPI_MCA_mca_base_env_list+set} ]]; then
        env_args+=("OMPI_MCA_mca_base_env_list=$OMPI_MCA_mca_base_env_list")
    fi
else
    # Hydra passes its whole environment (the clean one built here) to every rank.
    launch=(mpiexec.hydra -launcher ssh -launcher-exec "$run/agent" -hosts "$hosts" -np "$np")
fi

# In the background, so that a signal to this script is handled at once.
"$self" __enter "$run" "${names[0]}" env -i "${env_args[@]}" \
    "${launch[@]}" "$@" </dev/null &
child=$!
if [[ -n $limit ]]; then
    (
        trap 'kill "$nap" 2>/dev/null; exit 0' TERM
        sleep "$limit" & nap=$!
        wait "$nap"
        : >"$run/timed-out"
        printf '%s: timed out after %ss, stopping mpirun\n' "$prog" "$limit" >&2
        kill -TERM "$child" 2>/dev/null
        sleep 10 & nap=$!
        wait "$nap"
        kill -KILL "$child" 2>/dev/null
    ) &
    watchdog=$!
fi
rc=0
wait "$child" || rc=$?
child=""
if [[ -n ${watchdog:-} ]]; then
    kill "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
    if [[ -e $run/timed-out ]]; then rc=124; fi
fi
exit "$rc"
