//! Each launcher's variables give exactly the identity they describe, and the innermost
//! launcher wins when several are present.

use ranklog::{RankInfo, Source};

/// (rank, size, local_rank, local_size, local_known, nodes, source)
type Want = (u32, u32, u32, Option<u32>, bool, Option<u32>, Source);

fn got(vars: &[(&str, &str)]) -> Want {
    let info = RankInfo::from_vars(vars.iter().copied())
        .unwrap_or_else(|e| panic!("{vars:?} should parse: {e}"));
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

#[test]
fn no_launcher_variables_mean_a_single_process() {
    assert_eq!(got(&[]), (0, 1, 0, Some(1), true, Some(1), Source::Single));
    assert!(RankInfo::from_vars([("A", "1")])
        .unwrap()
        .assumed
        .is_empty());
}

#[test]
fn each_launcher_table() {
    let table: &[(&[(&str, &str)], Want)] = &[
        (
            &[
                ("RANK", "5"),
                ("WORLD_SIZE", "8"),
                ("LOCAL_RANK", "1"),
                ("LOCAL_WORLD_SIZE", "4"),
            ],
            (5, 8, 1, Some(4), true, None, Source::Torchrun),
        ),
        (
            &[
                ("OMPI_COMM_WORLD_RANK", "3"),
                ("OMPI_COMM_WORLD_SIZE", "4"),
                ("OMPI_COMM_WORLD_LOCAL_RANK", "1"),
                ("OMPI_COMM_WORLD_LOCAL_SIZE", "2"),
                ("OMPI_MCA_orte_num_nodes", "2"),
            ],
            (3, 4, 1, Some(2), true, Some(2), Source::OpenMpi),
        ),
        (
            // MPICH's Hydra (mpiexec.hydra) and Intel MPI.
            &[
                ("PMI_RANK", "2"),
                ("PMI_SIZE", "4"),
                ("MPI_LOCALRANKID", "2"),
                ("MPI_LOCALNRANKS", "4"),
                ("PMI_FD", "7"),
            ],
            (2, 4, 2, Some(4), true, None, Source::Pmi),
        ),
        (
            // Cray MPICH names the local rank PMI_LOCAL_RANK.
            &[
                ("PMI_RANK", "6"),
                ("PMI_SIZE", "8"),
                ("PMI_LOCAL_RANK", "2"),
                ("PMI_LOCAL_SIZE", "4"),
            ],
            (6, 8, 2, Some(4), true, None, Source::Pmi),
        ),
        (
            &[
                ("MV2_COMM_WORLD_RANK", "7"),
                ("MV2_COMM_WORLD_SIZE", "8"),
                ("MV2_COMM_WORLD_LOCAL_RANK", "3"),
                ("MV2_COMM_WORLD_LOCAL_SIZE", "4"),
            ],
            (7, 8, 3, Some(4), true, None, Source::Mvapich2),
        ),
        (
            // Cray PALS gives no world size; Cray MPICH's PMI_SIZE does, in the same layer.
            &[
                ("PALS_RANKID", "5"),
                ("PALS_LOCAL_RANKID", "1"),
                ("PALS_LOCAL_SIZE", "4"),
                ("PMI_RANK", "5"),
                ("PMI_SIZE", "8"),
            ],
            (5, 8, 1, Some(4), true, None, Source::Pmi),
        ),
        (
            &[
                ("SLURM_PROCID", "4"),
                ("SLURM_STEP_ID", "0"),
                ("SLURM_NTASKS", "7"),
                ("SLURM_LOCALID", "0"),
                ("SLURM_NODEID", "2"),
                ("SLURM_STEP_TASKS_PER_NODE", "2(x2),3"),
                ("SLURM_STEP_NUM_NODES", "3"),
            ],
            (4, 7, 0, Some(3), true, Some(3), Source::Slurm),
        ),
        (
            // SLURM_NTASKS_PER_NODE when the step list is absent.
            &[
                ("SLURM_PROCID", "1"),
                ("SLURM_STEP_ID", "0"),
                ("SLURM_NTASKS", "4"),
                ("SLURM_LOCALID", "1"),
                ("SLURM_NTASKS_PER_NODE", "2"),
                ("SLURM_NNODES", "2"),
            ],
            (1, 4, 1, Some(2), true, Some(2), Source::Slurm),
        ),
        (
            // srun --mpi=pmix: Slurm and PMIx describe the same process and agree.
            &[
                ("SLURM_PROCID", "3"),
                ("SLURM_STEP_ID", "0"),
                ("SLURM_NTASKS", "4"),
                ("SLURM_LOCALID", "3"),
                ("SLURM_STEP_TASKS_PER_NODE", "4"),
                ("PMIX_RANK", "3"),
            ],
            (3, 4, 3, Some(4), true, None, Source::Slurm),
        ),
        (
            &[
                ("JSM_NAMESPACE_RANK", "9"),
                ("JSM_NAMESPACE_SIZE", "12"),
                ("JSM_NAMESPACE_LOCAL_RANK", "3"),
                ("JSM_NAMESPACE_LOCAL_SIZE", "6"),
            ],
            (9, 12, 3, Some(6), true, None, Source::LsfJsrun),
        ),
        (
            // Flux gives the local rank but not the local size.
            &[
                ("FLUX_TASK_RANK", "3"),
                ("FLUX_JOB_SIZE", "4"),
                ("FLUX_TASK_LOCAL_ID", "1"),
                ("FLUX_JOB_NNODES", "2"),
            ],
            (3, 4, 1, None, true, Some(2), Source::Flux),
        ),
    ];
    for (vars, want) in table {
        assert_eq!(&got(vars), want, "{vars:?}");
    }
}

#[test]
fn innermost_launcher_wins_over_its_host() {
    // torchrun started inside an srun step: one srun task per node, torchrun's workers.
    let vars = [
        ("SLURM_PROCID", "1"),
        ("SLURM_STEP_ID", "0"),
        ("SLURM_NTASKS", "2"),
        ("SLURM_LOCALID", "0"),
        ("SLURM_STEP_TASKS_PER_NODE", "1(x2)"),
        ("SLURM_NODEID", "1"),
        ("RANK", "6"),
        ("WORLD_SIZE", "8"),
        ("LOCAL_RANK", "2"),
        ("LOCAL_WORLD_SIZE", "4"),
    ];
    assert_eq!(got(&vars), (6, 8, 2, Some(4), true, None, Source::Torchrun));

    // mpirun inside a Slurm allocation: SLURM_* describe Open MPI's daemons.
    let vars = [
        ("SLURM_PROCID", "0"),
        ("SLURM_STEP_ID", "0"),
        ("SLURM_NTASKS", "2"),
        ("SLURM_LOCALID", "0"),
        ("OMPI_COMM_WORLD_RANK", "3"),
        ("OMPI_COMM_WORLD_SIZE", "4"),
        ("OMPI_COMM_WORLD_LOCAL_RANK", "1"),
        ("OMPI_COMM_WORLD_LOCAL_SIZE", "2"),
        ("PMIX_RANK", "3"),
    ];
    assert_eq!(got(&vars), (3, 4, 1, Some(2), true, None, Source::OpenMpi));
}

#[test]
fn an_outer_launcher_of_the_same_process_supplies_a_missing_local_rank() {
    // srun --mpi=pmi2: PMI gives rank and size, Slurm (same rank and size) the locality.
    let vars = [
        ("PMI_RANK", "3"),
        ("PMI_SIZE", "4"),
        ("SLURM_PROCID", "3"),
        ("SLURM_STEP_ID", "0"),
        ("SLURM_NTASKS", "4"),
        ("SLURM_LOCALID", "1"),
        ("SLURM_NODEID", "1"),
        ("SLURM_STEP_TASKS_PER_NODE", "2(x2)"),
        ("SLURM_NNODES", "2"),
    ];
    assert_eq!(got(&vars), (3, 4, 1, Some(2), true, Some(2), Source::Pmi));
}

#[test]
fn an_outer_launcher_of_other_processes_does_not() {
    // mpiexec.hydra inside an allocation: SLURM_* are the proxy's, rank/size differ.
    let vars = [
        ("PMI_RANK", "3"),
        ("PMI_SIZE", "4"),
        ("SLURM_PROCID", "1"),
        ("SLURM_STEP_ID", "0"),
        ("SLURM_NTASKS", "2"),
        ("SLURM_LOCALID", "0"),
    ];
    assert_eq!(got(&vars), (3, 4, 0, None, false, None, Source::Pmi));
}

#[test]
fn unknown_locality_is_never_guessed_and_every_rank_counts_as_local_first() {
    let info = RankInfo::from_vars([("PMI_RANK", "2"), ("PMI_SIZE", "4")]).unwrap();
    assert!(!info.local_known);
    assert_eq!((info.local_rank, info.local_size), (0, None));
    assert!(
        info.is_local_first(),
        "local records must not be hidden on some node"
    );
    assert!(!info.is_global_first());
}

#[test]
fn whitespace_around_numbers_is_accepted() {
    assert_eq!(
        got(&[("RANK", " 1 "), ("WORLD_SIZE", "2\n")]),
        (1, 2, 0, None, false, None, Source::Torchrun)
    );
}

#[test]
fn the_host_name_is_this_machines() {
    let info = RankInfo::from_vars([("RANK", "0"), ("WORLD_SIZE", "1")]).unwrap();
    let expected = hostname::get().unwrap().to_string_lossy().into_owned();
    assert_eq!(info.host, expected);
}

#[test]
fn a_slurm_batch_script_outside_srun_is_a_single_process() {
    // What `sbatch -n 4` gives the batch script itself (Slurm 22.05): no step id.
    let batch = [
        ("SLURM_PROCID", "0"),
        ("SLURM_LOCALID", "0"),
        ("SLURM_NODEID", "0"),
        ("SLURM_NTASKS", "4"),
        ("SLURM_TASKS_PER_NODE", "4"),
        ("SLURM_NNODES", "1"),
        ("SLURM_JOB_ID", "2"),
    ];
    assert_eq!(
        got(&batch),
        (0, 1, 0, Some(1), true, Some(1), Source::Single)
    );
}

#[test]
fn a_slurm_step_uses_its_own_task_count() {
    // srun -n 2 inside an allocation of 8 tasks.
    let step = [
        ("SLURM_PROCID", "1"),
        ("SLURM_STEPID", "3"),
        ("SLURM_STEP_NUM_TASKS", "2"),
        ("SLURM_NTASKS", "8"),
        ("SLURM_LOCALID", "1"),
        ("SLURM_STEP_TASKS_PER_NODE", "2"),
    ];
    assert_eq!(got(&step), (1, 2, 1, Some(2), true, None, Source::Slurm));
}
