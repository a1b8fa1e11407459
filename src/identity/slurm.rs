//! Slurm's compressed tasks-per-node lists (`SLURM_STEP_TASKS_PER_NODE=2(x3),1`).

use super::vars::{parse_u32, Lookup, Var};
use crate::{Error, Result};

/// Expands a compressed tasks-per-node list: `2(x3),1` is `[2, 2, 2, 1]`.
///
/// # Errors
///
/// [`Error::InvalidVar`] naming `var` when an item is neither `N` nor `N(xM)`, a count is
/// 0, or the list would describe more than 2^20 nodes.
pub(crate) fn expand_tasks_per_node(var: &str, raw: &str) -> Result<Vec<u32>> {
    const MAX_NODES: u64 = 1 << 20;
    let bad = |why: &str| Error::invalid(var, raw, format!("{why}; expected a list like 2(x3),1"));
    let mut out = Vec::new();
    for item in raw.trim().split(',') {
        let (tasks, repeat) = match item.split_once('(') {
            None => (item, "1"),
            Some((tasks, rest)) => {
                let repeat = rest
                    .strip_prefix('x')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| bad(&format!("item {item:?} is not N or N(xM)")))?;
                (tasks, repeat)
            }
        };
        let tasks =
            parse_u32(var, tasks).map_err(|_| bad(&format!("bad task count in {item:?}")))?;
        let repeat =
            parse_u32(var, repeat).map_err(|_| bad(&format!("bad repeat count in {item:?}")))?;
        if tasks == 0 || repeat == 0 {
            return Err(bad(&format!("item {item:?} has a zero count")));
        }
        if out.len() as u64 + u64::from(repeat) > MAX_NODES {
            return Err(bad("more than 2^20 nodes"));
        }
        out.extend(std::iter::repeat_n(tasks, repeat as usize));
    }
    Ok(out)
}

/// The number of tasks of this step on this node: `SLURM_STEP_TASKS_PER_NODE` indexed by
/// `SLURM_NODEID`, else `SLURM_NTASKS_PER_NODE`; `None` when neither is usable.
pub(super) fn local_size(env: Lookup<'_>) -> Result<Option<Var>> {
    const STEP: &str = "SLURM_STEP_TASKS_PER_NODE";
    if let Some(raw) = env(STEP) {
        let per_node = expand_tasks_per_node(STEP, &raw)?;
        let node = match env("SLURM_NODEID") {
            Some(node) => parse_u32("SLURM_NODEID", &node)?,
            None if per_node.len() == 1 => 0,
            None => return Ok(None),
        };
        let Some(&tasks) = per_node.get(node as usize) else {
            return Err(Error::Contradiction {
                var_a: "SLURM_NODEID".to_owned(),
                value_a: node.to_string(),
                var_b: STEP.to_owned(),
                value_b: raw,
                reason: format!("the list describes only {} nodes", per_node.len()),
            });
        };
        return Ok(Some(Var {
            name: STEP,
            value: tasks,
        }));
    }
    const PER_NODE: &str = "SLURM_NTASKS_PER_NODE";
    match env(PER_NODE) {
        Some(raw) => Ok(Some(Var {
            name: PER_NODE,
            value: parse_u32(PER_NODE, &raw)?,
        })),
        None => Ok(None),
    }
}
