//! The environment each launcher gives a worker, copied from the launcher's own source,
//! gives that worker's full identity; an environment that does not add up is an error
//! that names what was found and what is missing, or an identity whose assumption is
//! written down in `RankInfo::assumed` and logged at start, never a silent "rank 0 of 1".
//!
//! Each vector cites the file it comes from and what that file sets. Variables that
//! ranklog does not read (addresses, ports, ids) are kept, so that a launcher's full
//! environment is what is tested.

use ranklog::{Error, RankInfo, Source};

/// (rank, size, local_rank, local_size, local_known, nodes, source)
type Want = (u32, u32, u32, Option<u32>, bool, Option<u32>, Source);

fn identity(vars: &[(&str, &str)]) -> RankInfo {
    RankInfo::from_vars(vars.iter().copied())
        .unwrap_or_else(|e| panic!("{vars:?} should give an identity: {e}"))
}

fn got(vars: &[(&str, &str)]) -> Want {
    let info = identity(vars);
    assert!(info.assumed.is_empty(), "nothing to assume: {info:?}");
    (
        info.rank,
        info.size,
        info.local_rank,
        info.local_size,
        info.local_known,
        info.nodes,
        info.source,
    )
}

/// The `MissingVar` error of `vars`: (present, missing, hint).
fn missing(vars: &[(&str, &str)]) -> (Source, String, &'static str, &'static str) {
    match RankInfo::from_vars(vars.iter().copied()) {
        Err(Error::MissingVar {
            launcher,
            present,
            missing,
            hint,
        }) => (launcher, present, missing, hint),
        other => panic!("{vars:?}: expected MissingVar, got {other:?}"),
    }
}

/// A single process whose one assumption mentions each of `mentions`.
fn assumed_single(vars: &[(&str, &str)], mentions: &[&str]) {
    let info = identity(vars);
    assert_eq!(
        (info.rank, info.size, info.source),
        (0, 1, Source::Single),
        "{vars:?}"
    );
    assert_eq!(info.assumed.len(), 1, "{info:?}");
    for m in mentions {
        assert!(
            info.assumed[0].contains(m),
            "{:?} lacks {m:?}",
            info.assumed[0]
        );
    }
}

/// torchrun: `torch/distributed/elastic/agent/server/local_elastic_agent.py`,
/// `LocalElasticAgent._start_workers` sets `RANK`, `GROUP_RANK`, `ROLE_RANK`, `ROLE_NAME`,
/// `LOCAL_WORLD_SIZE`, `WORLD_SIZE`, `GROUP_WORLD_SIZE`, `ROLE_WORLD_SIZE`, `MASTER_ADDR`,
/// `MASTER_PORT`, `TORCHELASTIC_*` and `TORCH_NCCL_ASYNC_ERROR_HANDLING`, and
/// `_set_local_rank_env` sets `LOCAL_RANK`. `torchrun --nnodes 2 --nproc-per-node 4`,
/// the second worker of the second node:
#[test]
fn torchrun_worker() {
    let vars = [
        ("RANK", "5"),
        ("GROUP_RANK", "1"),
        ("ROLE_RANK", "5"),
        ("ROLE_NAME", "default"),
        ("LOCAL_WORLD_SIZE", "4"),
        ("WORLD_SIZE", "8"),
        ("GROUP_WORLD_SIZE", "2"),
        ("ROLE_WORLD_SIZE", "8"),
        ("MASTER_ADDR", "node-a"),
        ("MASTER_PORT", "29500"),
        ("TORCHELASTIC_RESTART_COUNT", "0"),
        ("TORCHELASTIC_MAX_RESTARTS", "0"),
        ("TORCHELASTIC_RUN_ID", "none"),
        ("TORCHELASTIC_USE_AGENT_STORE", "True"),
        ("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1"),
        ("LOCAL_RANK", "1"),
    ];
    assert_eq!(got(&vars), (5, 8, 1, Some(4), true, None, Source::Torchrun));
}

/// DeepSpeed: `deepspeed/launcher/launch.py`, `main` sets `MASTER_ADDR`, `MASTER_PORT`,
/// `WORLD_SIZE`, `CROSS_RANK` (the node's index), `CROSS_SIZE` (the node count),
/// `LOCAL_SIZE` and `CUDA_VISIBLE_DEVICES` for the node, then `RANK` and `LOCAL_RANK` per
/// worker. World info `{"node-a": [0, 1, 2, 3], "node-b": [0, 1]}`, node 1's second worker:
#[test]
fn deepspeed_worker() {
    let vars = [
        ("CUDA_VISIBLE_DEVICES", "0,1"),
        ("MASTER_ADDR", "node-a"),
        ("MASTER_PORT", "29500"),
        ("WORLD_SIZE", "6"),
        ("CROSS_RANK", "1"),
        ("CROSS_SIZE", "2"),
        ("LOCAL_SIZE", "2"),
        ("RANK", "5"),
        ("LOCAL_RANK", "1"),
    ];
    assert_eq!(
        got(&vars),
        (5, 6, 1, Some(2), true, Some(2), Source::Torchrun)
    );
}

/// Horovod: `horovod/runner/gloo_run.py`, `create_slot_env_vars` sets `HOROVOD_HOSTNAME`,
/// `HOROVOD_RANK`, `HOROVOD_SIZE`, `HOROVOD_LOCAL_RANK`, `HOROVOD_LOCAL_SIZE`,
/// `HOROVOD_CROSS_RANK`, `HOROVOD_CROSS_SIZE`, and `create_run_envs` the Gloo rendezvous
/// (`HOROVOD_GLOO_RENDEZVOUS_ADDR`, `..._PORT`, `HOROVOD_CONTROLLER`,
/// `HOROVOD_CPU_OPERATIONS`, `HOROVOD_GLOO_IFACE`, `NCCL_SOCKET_IFNAME`). With
/// `horovodrun -np 6 -H node-a:4,node-b:2`, `get_host_assignments`
/// (`horovod/runner/common/util/hosts.py`) gives rank 3 local rank 3 of 4 and cross size 1
/// (only node-a has a local rank 3): so `HOROVOD_CROSS_SIZE` is not read as the node count.
#[test]
fn horovodrun_gloo_worker() {
    let vars = [
        ("HOROVOD_HOSTNAME", "node-a"),
        ("HOROVOD_RANK", "3"),
        ("HOROVOD_SIZE", "6"),
        ("HOROVOD_LOCAL_RANK", "3"),
        ("HOROVOD_LOCAL_SIZE", "4"),
        ("HOROVOD_CROSS_RANK", "0"),
        ("HOROVOD_CROSS_SIZE", "1"),
        ("HOROVOD_GLOO_RENDEZVOUS_ADDR", "10.0.0.1"),
        ("HOROVOD_GLOO_RENDEZVOUS_PORT", "41000"),
        ("HOROVOD_CONTROLLER", "gloo"),
        ("HOROVOD_CPU_OPERATIONS", "gloo"),
        ("HOROVOD_GLOO_IFACE", "eth0"),
        ("NCCL_SOCKET_IFNAME", "eth0"),
    ];
    assert_eq!(got(&vars), (3, 6, 3, Some(4), true, None, Source::Horovod));
    assert_eq!(Source::Horovod.as_str(), "horovod");
}

/// `horovodrun` started by an `srun` step: the workers inherit the step's `SLURM_*`, which
/// describe the `horovodrun` task, so Horovod (inner) wins.
#[test]
fn horovodrun_inside_an_srun_step() {
    let vars = [
        ("SLURM_PROCID", "0"),
        ("SLURM_STEP_ID", "0"),
        ("SLURM_NTASKS", "1"),
        ("SLURM_LOCALID", "0"),
        ("HOROVOD_RANK", "1"),
        ("HOROVOD_SIZE", "4"),
        ("HOROVOD_LOCAL_RANK", "1"),
        ("HOROVOD_LOCAL_SIZE", "4"),
    ];
    assert_eq!(got(&vars), (1, 4, 1, Some(4), true, None, Source::Horovod));
}

/// A Horovod rank without its world size is not rank 0 of 1.
#[test]
fn horovod_rank_without_size_is_an_error() {
    let (launcher, present, missing_var, _) =
        missing(&[("HOROVOD_RANK", "2"), ("HOROVOD_LOCAL_RANK", "0")]);
    assert_eq!(launcher, Source::Horovod);
    assert_eq!(present, "HOROVOD_RANK=2, HOROVOD_LOCAL_RANK=0");
    assert_eq!(missing_var, "HOROVOD_SIZE");
}

/// MPICH's Hydra: `src/pm/hydra/proxy/pmip_cb.c`, `launch_procs` sets `MPI_LOCALNRANKS`
/// and `MPI_LOCALRANKID` for every process, then (the default, `PMI_FD` mode) `PMI_RANK`,
/// `PMI_FD`, `PMI_SIZE`, and `PMI_HOSTNAME`. `mpiexec.hydra -np 4 -ppn 2`, rank 3:
#[test]
fn hydra_pmi_fd_worker() {
    let vars = [
        ("MPI_LOCALNRANKS", "2"),
        ("MPI_LOCALRANKID", "1"),
        ("PMI_RANK", "3"),
        ("PMI_FD", "9"),
        ("PMI_SIZE", "4"),
        ("PMI_HOSTNAME", "node-b"),
    ];
    assert_eq!(got(&vars), (3, 4, 1, Some(2), true, None, Source::Pmi));
}

/// The same `launch_procs` with `-pmi-port` sets `PMI_PORT` and `PMI_ID` instead of
/// `PMI_RANK`, `PMI_FD` and `PMI_SIZE`: the world size travels only over the PMI
/// protocol (`get_maxes`), so there is no world size to read. An error, not rank 0 of 1.
#[test]
fn hydra_pmi_port_worker_has_no_world_size_and_is_an_error() {
    let vars = [
        ("MPI_LOCALNRANKS", "2"),
        ("MPI_LOCALRANKID", "1"),
        ("PMI_PORT", "node-a:41000"),
        ("PMI_ID", "3"),
    ];
    let (launcher, present, missing_var, hint) = missing(&vars);
    assert_eq!(launcher, Source::Pmi);
    assert_eq!(present, "PMI_ID=3, MPI_LOCALRANKID=1, MPI_LOCALNRANKS=2");
    assert_eq!(missing_var, "PMI_SIZE");
    assert!(
        hint.contains("-pmi-port") && hint.contains("RankInfo::from_mpi"),
        "{hint}"
    );
    let message = RankInfo::from_vars(vars).unwrap_err().to_string();
    assert!(
        message.contains("PMI_ID=3") && message.contains("but not PMI_SIZE"),
        "{message}"
    );
}

/// Slurm: `src/common/env.c`, `setup_env` sets `SLURM_NODEID`, `SLURM_PROCID`,
/// `SLURM_LOCALID`, `SLURM_STEP_ID`, `SLURM_STEPID`, and `env_array_for_step` sets
/// `SLURM_STEP_NUM_NODES`, `SLURM_STEP_NUM_TASKS`, `SLURM_STEP_TASKS_PER_NODE` (the
/// compressed list), `SLURM_TASKS_PER_NODE`, `SLURM_NNODES`, `SLURM_NTASKS`,
/// `SLURM_NPROCS`. `srun -N3 -n7` (tasks per node `2(x2),3`), task 4, the first on node 2:
#[test]
fn slurm_srun_task() {
    let vars = [
        ("SLURM_NODEID", "2"),
        ("SLURM_PROCID", "4"),
        ("SLURM_LOCALID", "0"),
        ("SLURM_STEP_ID", "0"),
        ("SLURM_STEPID", "0"),
        ("SLURM_STEP_NUM_NODES", "3"),
        ("SLURM_STEP_NUM_TASKS", "7"),
        ("SLURM_STEP_TASKS_PER_NODE", "2(x2),3"),
        ("SLURM_TASKS_PER_NODE", "2(x2),3"),
        ("SLURM_NNODES", "3"),
        ("SLURM_NTASKS", "7"),
        ("SLURM_NPROCS", "7"),
    ];
    assert_eq!(got(&vars), (4, 7, 0, Some(3), true, Some(3), Source::Slurm));
}

/// An `sbatch -n 4` batch script sees `SLURM_PROCID=0` and the job's `SLURM_NTASKS`, but no
/// step id (`setup_env` sets `SLURM_STEP_ID` only for a step): one process, and it says so.
#[test]
fn slurm_batch_script_is_a_single_process_that_says_why() {
    assumed_single(
        &[
            ("SLURM_PROCID", "0"),
            ("SLURM_LOCALID", "0"),
            ("SLURM_NODEID", "0"),
            ("SLURM_NTASKS", "4"),
            ("SLURM_TASKS_PER_NODE", "4"),
            ("SLURM_NNODES", "1"),
        ],
        &["SLURM_PROCID=\"0\"", "SLURM_STEP_ID", "srun"],
    );
}

/// Flux: `src/shell/task.c` sets `FLUX_TASK_LOCAL_ID` and `FLUX_TASK_RANK` per task,
/// `src/shell/shell.c` sets `FLUX_JOB_SIZE` (all tasks), `FLUX_JOB_NNODES` (the shells,
/// one per node), `FLUX_JOB_ID`, `FLUX_URI`, `FLUX_KVS_NAMESPACE`. No local size: `None`.
/// `flux run -N2 -n4`, task 3 (the second on node 1):
#[test]
fn flux_task() {
    let flux = [
        ("FLUX_TASK_LOCAL_ID", "1"),
        ("FLUX_TASK_RANK", "3"),
        ("FLUX_JOB_SIZE", "4"),
        ("FLUX_JOB_NNODES", "2"),
        ("FLUX_JOB_ID", "f2Ph8Rhn3"),
        ("FLUX_URI", "local:///run/flux/local"),
        ("FLUX_KVS_NAMESPACE", "job-123"),
    ];
    assert_eq!(got(&flux), (3, 4, 1, None, true, Some(2), Source::Flux));

    // With the shell's simple PMI (`src/shell/pmi/pmi.c` sets `PMI_FD`, `PMI_RANK` and
    // `PMI_SIZE`), PMI is the inner launcher; Flux, with the same rank and size, gives the
    // local rank and the node count.
    let mut with_pmi = flux.to_vec();
    with_pmi.extend([("PMI_FD", "5"), ("PMI_RANK", "3"), ("PMI_SIZE", "4")]);
    assert_eq!(got(&with_pmi), (3, 4, 1, None, true, Some(2), Source::Pmi));
}

/// A lone `LOCAL_RANK=0` fits one process: a single process, and the assumption is
/// written down.
#[test]
fn lone_local_rank_zero_is_a_single_process_that_says_why() {
    assumed_single(
        &[("LOCAL_RANK", "0")],
        &["LOCAL_RANK=0", "RANK and WORLD_SIZE"],
    );
    assumed_single(
        &[("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", "1")],
        &["LOCAL_RANK=0, LOCAL_WORLD_SIZE=1"],
    );
}

/// A lone local rank above 0, or a local size above 1, says that other processes share the
/// node: this cannot be rank 0 of 1, so it is an error naming what was found.
#[test]
fn lone_local_values_of_several_processes_are_an_error() {
    for (vars, present, names, launcher) in [
        (
            &[("LOCAL_RANK", "3")][..],
            "LOCAL_RANK=3",
            "RANK and WORLD_SIZE",
            Source::Torchrun,
        ),
        (
            &[("LOCAL_RANK", "0"), ("LOCAL_SIZE", "8")][..],
            "LOCAL_RANK=0, LOCAL_SIZE=8",
            "RANK and WORLD_SIZE",
            Source::Torchrun,
        ),
        (
            &[("MPI_LOCALRANKID", "1"), ("MPI_LOCALNRANKS", "2")][..],
            "MPI_LOCALRANKID=1, MPI_LOCALNRANKS=2",
            "PMI_RANK and PMI_SIZE",
            Source::Pmi,
        ),
        (
            &[("HOROVOD_LOCAL_RANK", "2")][..],
            "HOROVOD_LOCAL_RANK=2",
            "HOROVOD_RANK and HOROVOD_SIZE",
            Source::Horovod,
        ),
    ] {
        let (l, p, m, _) = missing(vars);
        assert_eq!((l, p.as_str(), m), (launcher, present, names), "{vars:?}");
    }
}

/// A wrapper's `LOCAL_RANK` inside an `srun` step: the step gives the identity.
#[test]
fn lone_local_rank_under_a_full_launcher_yields_to_it() {
    let vars = [
        ("LOCAL_RANK", "1"),
        ("SLURM_PROCID", "3"),
        ("SLURM_STEP_ID", "0"),
        ("SLURM_NTASKS", "4"),
        ("SLURM_LOCALID", "1"),
        ("SLURM_NODEID", "1"),
        ("SLURM_STEP_TASKS_PER_NODE", "2(x2)"),
    ];
    assert_eq!(got(&vars), (3, 4, 1, Some(2), true, None, Source::Slurm));
}

/// The logger prints each assumption once, at start, as a warning of kind
/// `identity_assumed`.
#[test]
fn the_logger_writes_what_was_assumed() {
    let info = identity(&[("LOCAL_RANK", "0")]);
    let dir = std::env::temp_dir().join(format!(
        "ranklog-identity-assumed-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let guard = ranklog::Builder::new()
        .no_console()
        .dir(&dir)
        .rank_info(info)
        .build()
        .unwrap();
    let file = guard.log_dir().unwrap().join("rank-00000.jsonl");
    drop(guard);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"kind\":\"identity_assumed\""))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("\"level\":\"warning\"") && lines[0].contains("LOCAL_RANK=0"),
        "{}",
        lines[0]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
