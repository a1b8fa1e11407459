//! Launcher variables (`NAME=value` lines, names from the launcher table) never panic
//! the parser, and an accepted identity is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "LOCAL_SIZE",
    "CROSS_SIZE",
    "HOROVOD_RANK",
    "HOROVOD_SIZE",
    "HOROVOD_LOCAL_RANK",
    "HOROVOD_LOCAL_SIZE",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "OMPI_COMM_WORLD_LOCAL_SIZE",
    "OMPI_MCA_orte_num_nodes",
    "PMI_RANK",
    "PMI_ID",
    "PMI_SIZE",
    "MPI_LOCALRANKID",
    "MPI_LOCALNRANKS",
    "PMI_LOCAL_RANK",
    "PMI_LOCAL_SIZE",
    "MV2_COMM_WORLD_RANK",
    "MV2_COMM_WORLD_SIZE",
    "MV2_COMM_WORLD_LOCAL_RANK",
    "MV2_COMM_WORLD_LOCAL_SIZE",
    "PALS_RANKID",
    "PALS_LOCAL_RANKID",
    "PALS_LOCAL_SIZE",
    "PMIX_RANK",
    "SLURM_PROCID",
    "SLURM_STEP_ID",
    "SLURM_STEPID",
    "SLURM_NTASKS",
    "SLURM_STEP_NUM_TASKS",
    "SLURM_LOCALID",
    "SLURM_NODEID",
    "SLURM_STEP_TASKS_PER_NODE",
    "SLURM_NTASKS_PER_NODE",
    "SLURM_STEP_NUM_NODES",
    "SLURM_NNODES",
    "JSM_NAMESPACE_RANK",
    "JSM_NAMESPACE_SIZE",
    "JSM_NAMESPACE_LOCAL_RANK",
    "JSM_NAMESPACE_LOCAL_SIZE",
    "FLUX_TASK_RANK",
    "FLUX_JOB_SIZE",
    "FLUX_TASK_LOCAL_ID",
    "FLUX_JOB_NNODES",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Each line: a byte choosing the variable, then its value.
    let vars: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| {
            let mut chars = line.chars();
            let pick = chars.next()? as usize % NAMES.len();
            Some((NAMES[pick].to_owned(), chars.as_str().to_owned()))
        })
        .collect();
    if let Ok(info) = ranklog::RankInfo::from_vars(vars) {
        assert!(info.size >= 1 && info.rank < info.size, "{info:?}");
        match (info.local_known, info.local_size) {
            (true, Some(local_size)) => assert!(
                info.local_rank < local_size && local_size <= info.size,
                "{info:?}"
            ),
            (true, None) => assert!(info.local_rank < info.size, "{info:?}"),
            (false, local_size) => assert_eq!(local_size, None, "{info:?}"),
        }
        if let Some(nodes) = info.nodes {
            assert!(nodes >= 1 && nodes <= info.size, "{info:?}");
        }
    }
});
