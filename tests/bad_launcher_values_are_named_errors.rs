//! Launcher values that cannot be right are errors that name the variable, its value and
//! the reason; nothing panics.

use ranklog::{Error, RankInfo};

fn err(vars: &[(&str, &str)]) -> Error {
    match RankInfo::from_vars(vars.iter().copied()) {
        Ok(info) => panic!("{vars:?} should be rejected, got {info:?}"),
        Err(e) => e,
    }
}

fn invalid(vars: &[(&str, &str)], var: &str, value: &str, reason: &str) {
    assert!(
        !reason.is_empty(),
        "every text contains \"\": name the reason"
    );
    match err(vars) {
        Error::InvalidVar {
            var: v,
            value: val,
            reason: r,
        } => {
            assert_eq!((v.as_str(), val.as_str()), (var, value), "{vars:?}");
            assert!(
                r.contains(reason),
                "{vars:?}: reason {r:?} should mention {reason:?}"
            );
        }
        other => panic!("{vars:?}: expected InvalidVar, got {other:?}"),
    }
}

fn contradiction(vars: &[(&str, &str)], a: &str, b: &str, reason: &str) {
    assert!(
        !reason.is_empty(),
        "every text contains \"\": name the reason"
    );
    match err(vars) {
        Error::Contradiction {
            var_a,
            var_b,
            reason: r,
            ..
        } => {
            assert_eq!((var_a.as_str(), var_b.as_str()), (a, b), "{vars:?}");
            assert!(
                r.contains(reason),
                "{vars:?}: reason {r:?} should mention {reason:?}"
            );
        }
        other => panic!("{vars:?}: expected Contradiction, got {other:?}"),
    }
}

#[test]
fn values_that_are_not_non_negative_integers() {
    let size = ("OMPI_COMM_WORLD_SIZE", "4");
    invalid(
        &[("OMPI_COMM_WORLD_RANK", ""), size],
        "OMPI_COMM_WORLD_RANK",
        "",
        "empty",
    );
    invalid(
        &[("OMPI_COMM_WORLD_RANK", "-1"), size],
        "OMPI_COMM_WORLD_RANK",
        "-1",
        "negative",
    );
    invalid(
        &[("OMPI_COMM_WORLD_RANK", "two"), size],
        "OMPI_COMM_WORLD_RANK",
        "two",
        "not a non-negative integer",
    );
    invalid(
        &[("OMPI_COMM_WORLD_RANK", "1.5"), size],
        "OMPI_COMM_WORLD_RANK",
        "1.5",
        "not a non-negative integer",
    );
    invalid(
        &[("OMPI_COMM_WORLD_RANK", "+1"), size],
        "OMPI_COMM_WORLD_RANK",
        "+1",
        "not a non-negative integer",
    );
    invalid(
        &[("OMPI_COMM_WORLD_RANK", "4294967296"), size],
        "OMPI_COMM_WORLD_RANK",
        "4294967296",
        "too large",
    );
    invalid(
        &[("RANK", "0"), ("WORLD_SIZE", "0")],
        "WORLD_SIZE",
        "0",
        "at least 1",
    );
    invalid(
        &[("RANK", "0"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "x")],
        "LOCAL_RANK",
        "x",
        "not a non-negative integer",
    );
}

#[test]
fn ranks_outside_their_sizes() {
    contradiction(
        &[("RANK", "4"), ("WORLD_SIZE", "4")],
        "RANK",
        "WORLD_SIZE",
        "below the world size",
    );
    contradiction(
        &[
            ("RANK", "1"),
            ("WORLD_SIZE", "4"),
            ("LOCAL_RANK", "2"),
            ("LOCAL_WORLD_SIZE", "2"),
        ],
        "LOCAL_RANK",
        "LOCAL_WORLD_SIZE",
        "below the local size",
    );
    contradiction(
        &[
            ("RANK", "1"),
            ("WORLD_SIZE", "4"),
            ("LOCAL_RANK", "0"),
            ("LOCAL_WORLD_SIZE", "8"),
        ],
        "LOCAL_WORLD_SIZE",
        "WORLD_SIZE",
        "more ranks than the job",
    );
    contradiction(
        &[
            ("FLUX_TASK_RANK", "1"),
            ("FLUX_JOB_SIZE", "2"),
            ("FLUX_TASK_LOCAL_ID", "5"),
        ],
        "FLUX_TASK_LOCAL_ID",
        "FLUX_JOB_SIZE",
        "below the world size",
    );
    contradiction(
        &[
            ("FLUX_TASK_RANK", "1"),
            ("FLUX_JOB_SIZE", "2"),
            ("FLUX_JOB_NNODES", "3"),
        ],
        "FLUX_JOB_NNODES",
        "FLUX_JOB_SIZE",
        "more nodes than ranks",
    );
}

#[test]
fn launchers_of_the_same_process_that_disagree() {
    contradiction(
        &[
            ("OMPI_COMM_WORLD_RANK", "1"),
            ("OMPI_COMM_WORLD_SIZE", "4"),
            ("PMI_RANK", "2"),
            ("PMI_SIZE", "4"),
        ],
        "OMPI_COMM_WORLD_RANK",
        "PMI_RANK",
        "different ranks",
    );
    contradiction(
        &[
            ("SLURM_PROCID", "1"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_NTASKS", "4"),
            ("PMIX_RANK", "2"),
        ],
        "SLURM_PROCID",
        "PMIX_RANK",
        "different ranks",
    );
    contradiction(
        &[
            ("OMPI_COMM_WORLD_RANK", "1"),
            ("OMPI_COMM_WORLD_SIZE", "4"),
            ("MV2_COMM_WORLD_RANK", "1"),
            ("MV2_COMM_WORLD_SIZE", "8"),
        ],
        "OMPI_COMM_WORLD_SIZE",
        "MV2_COMM_WORLD_SIZE",
        "different world sizes",
    );
}

#[test]
fn a_rank_without_a_world_size() {
    for (vars, present, missing) in [
        (&[("RANK", "1")][..], "RANK=1", "WORLD_SIZE"),
        (&[("WORLD_SIZE", "4")][..], "WORLD_SIZE=4", "RANK"),
        (&[("PMIX_RANK", "3")][..], "PMIX_RANK=3", "a world size"),
        (&[("PALS_RANKID", "3")][..], "PALS_RANKID=3", "PMI_SIZE"),
    ] {
        match err(vars) {
            Error::MissingVar {
                present: p,
                missing: m,
                ..
            } => {
                assert_eq!((p.as_str(), m), (present, missing), "{vars:?}");
            }
            other => panic!("{vars:?}: expected MissingVar, got {other:?}"),
        }
    }
}

#[test]
fn malformed_slurm_task_lists() {
    let base = [
        ("SLURM_PROCID", "0"),
        ("SLURM_STEP_ID", "0"),
        ("SLURM_NTASKS", "4"),
        ("SLURM_LOCALID", "0"),
        ("SLURM_NODEID", "0"),
    ];
    for bad in [
        "",
        "2(x",
        "2(3)",
        "x(x2)",
        "0",
        "2(x0)",
        "2,,2",
        "-1",
        "2(x99999999)",
    ] {
        let mut vars = base.to_vec();
        vars.push(("SLURM_STEP_TASKS_PER_NODE", bad));
        match err(&vars) {
            Error::InvalidVar { var, value, .. } => {
                assert_eq!(
                    (var.as_str(), value.as_str()),
                    ("SLURM_STEP_TASKS_PER_NODE", bad)
                );
            }
            other => panic!("{bad:?}: expected InvalidVar, got {other:?}"),
        }
    }
    let mut vars = base.to_vec();
    vars.retain(|(k, _)| *k != "SLURM_NODEID");
    vars.push(("SLURM_NODEID", "5"));
    vars.push(("SLURM_STEP_TASKS_PER_NODE", "2(x2)"));
    contradiction(
        &vars,
        "SLURM_NODEID",
        "SLURM_STEP_TASKS_PER_NODE",
        "only 2 nodes",
    );
}

#[test]
fn messages_name_the_variable_the_value_and_the_reason() {
    let text = err(&[
        ("OMPI_COMM_WORLD_RANK", "-3"),
        ("OMPI_COMM_WORLD_SIZE", "4"),
    ])
    .to_string();
    assert_eq!(
        text,
        "invalid OMPI_COMM_WORLD_RANK=\"-3\": negative, expected a non-negative integer"
    );
    let text = err(&[("RANK", "4"), ("WORLD_SIZE", "4")]).to_string();
    assert_eq!(
        text,
        "RANK=\"4\" contradicts WORLD_SIZE=\"4\": the rank must be below the world size"
    );
}

#[test]
fn hand_made_identities_are_checked_too() {
    assert!(RankInfo::new(0, 0, 0, 1).is_err());
    assert!(RankInfo::new(2, 2, 0, 1).is_err());
    assert!(RankInfo::new(0, 2, 1, 1).is_err());
    assert!(RankInfo::new(0, 2, 0, 3).is_err());
    assert!(RankInfo::new(1, 2, 0, 1).is_ok());
}
