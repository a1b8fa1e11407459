//! The node index ([`RankInfo::node`]) from each launcher variable that gives one.

use super::{RankInfo, Source};
use crate::Error;

/// A launcher's variables, with `var` set to `value` (added, or replacing its value).
fn with(base: &[(&'static str, &'static str)], var: &'static str, value: &'static str) -> RankInfo {
    let mut vars: Vec<_> = base.iter().filter(|(k, _)| *k != var).copied().collect();
    vars.push((var, value));
    RankInfo::from_vars(vars).expect("a valid identity")
}

fn error(base: &[(&str, &str)], var: &str, value: &str) -> Error {
    let mut vars: Vec<_> = base.iter().filter(|(k, _)| *k != var).copied().collect();
    vars.push((var, value));
    RankInfo::from_vars(vars).expect_err("an invalid identity")
}

/// rank 5 of 8, local rank 1 of 4, node 1 of 2 under `srun -N2 -n8`.
const SLURM: &[(&str, &str)] = &[
    ("SLURM_STEP_ID", "0"),
    ("SLURM_PROCID", "5"),
    ("SLURM_STEP_NUM_TASKS", "8"),
    ("SLURM_LOCALID", "1"),
    ("SLURM_STEP_TASKS_PER_NODE", "4(x2)"),
    ("SLURM_STEP_NUM_NODES", "2"),
];

/// torchrun's second node's second worker; no node count.
const TORCHRUN: &[(&str, &str)] = &[
    ("RANK", "5"),
    ("WORLD_SIZE", "8"),
    ("LOCAL_RANK", "1"),
    ("LOCAL_WORLD_SIZE", "4"),
];

/// DeepSpeed's launcher: node count `CROSS_SIZE`, node index `CROSS_RANK`.
const DEEPSPEED: &[(&str, &str)] = &[
    ("RANK", "5"),
    ("WORLD_SIZE", "6"),
    ("LOCAL_RANK", "1"),
    ("LOCAL_SIZE", "2"),
    ("CROSS_SIZE", "2"),
];

/// Cray PALS with Cray MPICH's `PMI_SIZE`; no node count.
const PALS: &[(&str, &str)] = &[
    ("PALS_RANKID", "5"),
    ("PMI_SIZE", "8"),
    ("PALS_LOCAL_RANKID", "1"),
    ("PALS_LOCAL_SIZE", "4"),
];

fn assert_invalid(err: &Error, name: &str) {
    match err {
        Error::InvalidVar { var, .. } => assert_eq!(var, name, "{err}"),
        other => panic!("expected InvalidVar naming {name}, got {other:?}"),
    }
}

fn assert_contradiction(err: &Error, a: &str, b: &str) {
    match err {
        Error::Contradiction { var_a, var_b, .. } => {
            assert_eq!((var_a.as_str(), var_b.as_str()), (a, b), "{err}");
        }
        other => panic!("expected a contradiction of {a} and {b}, got {other:?}"),
    }
}

#[test]
fn slurm_nodeid_is_the_node_index_below_the_step_node_count() {
    let info = with(SLURM, "SLURM_NODEID", "1");
    assert_eq!(
        (info.node, info.nodes, info.source),
        (Some(1), Some(2), Source::Slurm)
    );
    assert_invalid(&error(SLURM, "SLURM_NODEID", "x1"), "SLURM_NODEID");
    let mut one_node_list = SLURM.to_vec();
    one_node_list.retain(|(k, _)| *k != "SLURM_STEP_TASKS_PER_NODE");
    assert_contradiction(
        &error(&one_node_list, "SLURM_NODEID", "2"),
        "SLURM_NODEID",
        "SLURM_STEP_NUM_NODES",
    );
}

#[test]
fn torchrun_group_rank_is_the_node_index_below_the_world_size() {
    let info = with(TORCHRUN, "GROUP_RANK", "1");
    assert_eq!((info.node, info.nodes), (Some(1), None));
    assert_invalid(&error(TORCHRUN, "GROUP_RANK", "-1"), "GROUP_RANK");
    assert_contradiction(
        &error(TORCHRUN, "GROUP_RANK", "8"),
        "GROUP_RANK",
        "WORLD_SIZE",
    );
    assert_eq!(with(TORCHRUN, "LOCAL_RANK", "1").node, None);
}

#[test]
fn deepspeed_cross_rank_is_the_node_index_below_cross_size() {
    let info = with(DEEPSPEED, "CROSS_RANK", "1");
    assert_eq!((info.node, info.nodes), (Some(1), Some(2)));
    assert_invalid(&error(DEEPSPEED, "CROSS_RANK", ""), "CROSS_RANK");
    assert_contradiction(
        &error(DEEPSPEED, "CROSS_RANK", "2"),
        "CROSS_RANK",
        "CROSS_SIZE",
    );
}

#[test]
fn pals_nodeid_is_the_node_index_below_the_world_size() {
    let info = with(PALS, "PALS_NODEID", "1");
    assert_eq!((info.node, info.source), (Some(1), Source::CrayPals));
    assert_invalid(&error(PALS, "PALS_NODEID", "one"), "PALS_NODEID");
    assert_contradiction(&error(PALS, "PALS_NODEID", "9"), "PALS_NODEID", "PMI_SIZE");
}

#[test]
fn an_outer_slurm_step_gives_the_node_index_to_pmi_ranks_it_launched() {
    let mut vars = with(SLURM, "SLURM_NODEID", "1");
    assert_eq!(vars.node, Some(1));
    let pmi = [("PMI_RANK", "5"), ("PMI_SIZE", "8")];
    let mut all: Vec<_> = SLURM.to_vec();
    all.push(("SLURM_NODEID", "1"));
    all.extend(pmi);
    vars = RankInfo::from_vars(all).unwrap();
    assert_eq!(
        (vars.source, vars.node, vars.nodes),
        (Source::Pmi, Some(1), Some(2))
    );
}

#[test]
fn open_mpi_gives_no_node_index() {
    let info = RankInfo::from_vars([
        ("OMPI_COMM_WORLD_RANK", "2"),
        ("OMPI_COMM_WORLD_SIZE", "4"),
        ("OMPI_COMM_WORLD_LOCAL_RANK", "0"),
        ("OMPI_COMM_WORLD_LOCAL_SIZE", "2"),
        ("OMPI_COMM_WORLD_NODE_RANK", "0"),
        ("OMPI_MCA_orte_num_nodes", "2"),
    ])
    .unwrap();
    assert_eq!((info.node, info.nodes), (None, Some(2)));
}

#[test]
fn a_hand_made_node_index_must_be_below_the_node_count() {
    let mut info = RankInfo::new(3, 8, 1, 4).unwrap();
    assert_eq!(info.node, None);
    info.nodes = Some(2);
    info.node = Some(1);
    info.validate().unwrap();
    info.node = Some(2);
    assert_contradiction(&info.validate().unwrap_err(), "node", "nodes");
    assert_eq!(RankInfo::single().node, Some(0));
}
