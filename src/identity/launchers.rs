//! The launcher table behind [`RankInfo::from_env`](super::RankInfo::from_env).

use super::vars::{parse_u32, Lookup, Var};
use super::{host_name, slurm, RankInfo, Source};
use crate::{Error, Result};

/// What one launcher says about this process.
#[derive(Clone, Debug)]
struct Reading {
    launcher: &'static Plain,
    rank: Option<Var>,
    size: Option<Var>,
    local_rank: Option<Var>,
    local_size: Option<Var>,
    nodes: Option<Var>,
    node: Option<Var>,
}

/// The variable names a validated identity came from, for error messages.
pub(super) struct Names {
    rank: &'static str,
    size: &'static str,
    local_rank: &'static str,
    local_size: &'static str,
    nodes: &'static str,
    node: &'static str,
}

impl Names {
    /// The MPI calls behind [`RankInfo::from_mpi`](super::RankInfo::from_mpi).
    #[cfg(feature = "mpi")]
    pub(super) fn mpi() -> Names {
        Names {
            rank: "MPI_Comm_rank",
            size: "MPI_Comm_size",
            local_rank: "MPI_Comm_rank of the shared-memory split",
            local_size: "MPI_Comm_size of the shared-memory split",
            nodes: "MPI_Comm_size of the nodes' first ranks",
            node: "MPI_Comm_rank of the nodes' first ranks",
        }
    }

    pub(super) fn manual() -> Names {
        Names {
            rank: "rank",
            size: "size",
            local_rank: "local_rank",
            local_size: "local_size",
            nodes: "nodes",
            node: "node",
        }
    }
}

/// Reads the first of `names` that is set.
fn first(env: Lookup<'_>, names: &[&'static str]) -> Result<Option<Var>> {
    for &name in names {
        if let Some(raw) = env(name) {
            return Ok(Some(Var {
                name,
                value: parse_u32(name, &raw)?,
            }));
        }
    }
    Ok(None)
}

/// A launcher described by plain variable names; it is present when any of its rank,
/// world-size, local-rank or local-size variables is set (the node count alone is not
/// enough, nor the node index: they do not say which rank this process is).
#[derive(Debug)]
struct Plain {
    source: Source,
    rank: &'static [&'static str],
    size: &'static [&'static str],
    local_rank: &'static [&'static str],
    local_size: &'static [&'static str],
    nodes: &'static [&'static str],
    /// The node's index in the job, `0..nodes`.
    node: &'static [&'static str],
}

impl Plain {
    fn read(&'static self, env: Lookup<'_>) -> Result<Option<Reading>> {
        let reading = Reading {
            launcher: self,
            rank: first(env, self.rank)?,
            size: first(env, self.size)?,
            local_rank: first(env, self.local_rank)?,
            local_size: first(env, self.local_size)?,
            nodes: first(env, self.nodes)?,
            node: first(env, self.node)?,
        };
        let present = reading.rank.is_some()
            || reading.size.is_some()
            || reading.local_rank.is_some()
            || reading.local_size.is_some();
        Ok(present.then_some(reading))
    }
}

impl Reading {
    /// Every variable read, as `NAME=value` pairs, for error messages and notes.
    fn found(&self) -> impl Iterator<Item = String> {
        [
            self.rank,
            self.size,
            self.local_rank,
            self.local_size,
            self.nodes,
            self.node,
        ]
        .into_iter()
        .flatten()
        .map(|v| format!("{}={}", v.name, v.value))
    }

    /// Whether the launcher gave only node-local values: neither a rank nor a world size.
    fn local_only(&self) -> bool {
        self.rank.is_none() && self.size.is_none()
    }
}

/// torchrun (torch.distributed.elastic's `LocalElasticAgent`) and DeepSpeed's launcher
/// (`deepspeed/launcher/launch.py`): the same rank variables, but DeepSpeed names the local
/// size `LOCAL_SIZE` and gives the node count as `CROSS_SIZE` and the node index as
/// `CROSS_RANK`. torchrun's `GROUP_RANK` is the rank of the worker group, one per node's agent
/// (torchrun's docs: "when running a single worker group per node, this is the rank of the
/// node").
const TORCHRUN: Plain = Plain {
    source: Source::Torchrun,
    rank: &["RANK"],
    size: &["WORLD_SIZE"],
    local_rank: &["LOCAL_RANK"],
    local_size: &["LOCAL_WORLD_SIZE", "LOCAL_SIZE"],
    nodes: &["CROSS_SIZE"],
    node: &["GROUP_RANK", "CROSS_RANK"],
};

/// Horovod's `horovodrun` with Gloo (`horovod/runner/gloo_run.py`), and its Spark and Ray
/// runners. `HOROVOD_CROSS_SIZE` is not the node count: it counts the nodes that hold this
/// rank's local rank (with 4 slots on one node and 2 on another, local rank 3 has 1).
const HOROVOD: Plain = Plain {
    source: Source::Horovod,
    rank: &["HOROVOD_RANK"],
    size: &["HOROVOD_SIZE"],
    local_rank: &["HOROVOD_LOCAL_RANK"],
    local_size: &["HOROVOD_LOCAL_SIZE"],
    nodes: &[],
    node: &[],
};

const OPEN_MPI: Plain = Plain {
    source: Source::OpenMpi,
    rank: &["OMPI_COMM_WORLD_RANK"],
    size: &["OMPI_COMM_WORLD_SIZE"],
    local_rank: &["OMPI_COMM_WORLD_LOCAL_RANK"],
    local_size: &["OMPI_COMM_WORLD_LOCAL_SIZE"],
    // Set by Open MPI 4's launcher (ORTE) for every rank: the nodes the job runs on.
    nodes: &["OMPI_MCA_orte_num_nodes"],
    // No node index: OMPI_COMM_WORLD_NODE_RANK is a rank on the node across all jobs.
    node: &[],
};

/// MPICH's Hydra sets `PMI_RANK`, `PMI_SIZE` and `PMI_FD`; started with `-pmi-port` it sets
/// `PMI_ID` and `PMI_PORT` instead, and no world size (`src/pm/hydra/proxy/pmip_cb.c`).
const PMI: Plain = Plain {
    source: Source::Pmi,
    rank: &["PMI_RANK", "PMI_ID"],
    size: &["PMI_SIZE"],
    local_rank: &["MPI_LOCALRANKID", "PMI_LOCAL_RANK"],
    local_size: &["MPI_LOCALNRANKS", "PMI_LOCAL_SIZE"],
    nodes: &[],
    node: &[],
};

const MVAPICH2: Plain = Plain {
    source: Source::Mvapich2,
    rank: &["MV2_COMM_WORLD_RANK"],
    size: &["MV2_COMM_WORLD_SIZE"],
    local_rank: &["MV2_COMM_WORLD_LOCAL_RANK"],
    local_size: &["MV2_COMM_WORLD_LOCAL_SIZE"],
    nodes: &[],
    node: &[],
};

const CRAY_PALS: Plain = Plain {
    source: Source::CrayPals,
    rank: &["PALS_RANKID"],
    size: &[],
    local_rank: &["PALS_LOCAL_RANKID"],
    local_size: &["PALS_LOCAL_SIZE"],
    nodes: &[],
    // libpals's pals.h names it among the variables available to applications.
    node: &["PALS_NODEID"],
};

const PMIX: Plain = Plain {
    source: Source::Pmix,
    rank: &["PMIX_RANK"],
    size: &[],
    local_rank: &[],
    local_size: &[],
    nodes: &[],
    node: &[],
};

const LSF_JSRUN: Plain = Plain {
    source: Source::LsfJsrun,
    rank: &["JSM_NAMESPACE_RANK"],
    size: &["JSM_NAMESPACE_SIZE"],
    local_rank: &["JSM_NAMESPACE_LOCAL_RANK"],
    local_size: &["JSM_NAMESPACE_LOCAL_SIZE"],
    nodes: &[],
    node: &[],
};

const FLUX: Plain = Plain {
    source: Source::Flux,
    rank: &["FLUX_TASK_RANK"],
    size: &["FLUX_JOB_SIZE"],
    local_rank: &["FLUX_TASK_LOCAL_ID"],
    local_size: &[],
    nodes: &["FLUX_JOB_NNODES"],
    node: &[],
};

/// Slurm: plain variables, plus the local size from the compressed tasks-per-node list.
///
/// Only a task of a job step (`srun`) is a Slurm rank: it has a step id. An `sbatch` batch
/// script also sees `SLURM_PROCID=0` and the job's `SLURM_NTASKS`, but no step id; it is
/// one process, not rank 0 of the job (found on a real Slurm 22.05).
fn read_slurm(env: Lookup<'_>) -> Result<Option<Reading>> {
    const SLURM: Plain = Plain {
        source: Source::Slurm,
        rank: &["SLURM_PROCID"],
        size: &["SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"],
        local_rank: &["SLURM_LOCALID"],
        local_size: &[],
        nodes: &["SLURM_STEP_NUM_NODES", "SLURM_NNODES"],
        node: &["SLURM_NODEID"],
    };
    if !in_slurm_step(env) {
        return Ok(None);
    }
    let Some(mut reading) = SLURM.read(env)? else {
        return Ok(None);
    };
    reading.local_size = slurm::local_size(env)?;
    Ok(Some(reading))
}

/// Whether this process is a task of a Slurm job step (`srun`): it has a step id.
fn in_slurm_step(env: Lookup<'_>) -> bool {
    env("SLURM_STEP_ID").is_some() || env("SLURM_STEPID").is_some()
}

/// One layer of launchers: those of a layer describe the same process and must agree.
enum Layer {
    /// Launchers read from plain variables.
    Plain(&'static [Plain]),
    /// Resource managers, Slurm first.
    Outer,
}

const LAYERS: [Layer; 4] = [
    Layer::Plain(&[TORCHRUN]),
    // horovodrun starts its workers itself; torchrun started by it would be inner.
    Layer::Plain(&[HOROVOD]),
    Layer::Plain(&[OPEN_MPI, PMI, MVAPICH2, CRAY_PALS]),
    Layer::Outer,
];

impl Layer {
    fn read(&self, env: Lookup<'_>) -> Vec<Result<Reading>> {
        let plain = match self {
            Layer::Plain(launchers) => launchers,
            Layer::Outer => {
                let mut out: Vec<Result<Reading>> =
                    read_slurm(env).transpose().into_iter().collect();
                for launcher in [&PMIX, &LSF_JSRUN, &FLUX] {
                    out.extend(launcher.read(env).transpose());
                }
                return out;
            }
        };
        plain
            .iter()
            .filter_map(|l| l.read(env).transpose())
            .collect()
    }
}

/// Combines the readings of one layer, field by field; every value given for a field must
/// agree. The source is the launcher that gave the rank (else the world size).
fn merge(readings: &[Reading]) -> Result<Reading> {
    fn pick(
        readings: &[Reading],
        field: impl Fn(&Reading) -> Option<Var>,
        what: &str,
    ) -> Result<Option<Var>> {
        let mut chosen: Option<Var> = None;
        for var in readings.iter().filter_map(&field) {
            match chosen {
                None => chosen = Some(var),
                Some(c) if c.value != var.value => {
                    return Err(Error::Contradiction {
                        var_a: c.name.to_owned(),
                        value_a: c.value.to_string(),
                        var_b: var.name.to_owned(),
                        value_b: var.value.to_string(),
                        reason: format!("two launchers of the same process give different {what}s"),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(chosen)
    }
    let launcher = readings
        .iter()
        .find(|r| r.rank.is_some())
        .or_else(|| readings.iter().find(|r| r.size.is_some()))
        .unwrap_or(&readings[0])
        .launcher;
    Ok(Reading {
        launcher,
        rank: pick(readings, |r| r.rank, "rank")?,
        size: pick(readings, |r| r.size, "world size")?,
        local_rank: pick(readings, |r| r.local_rank, "local rank")?,
        local_size: pick(readings, |r| r.local_size, "local size")?,
        nodes: pick(readings, |r| r.nodes, "node count")?,
        node: pick(readings, |r| r.node, "node index")?,
    })
}

/// The variables the readings of a layer found, as `NAME=value, NAME=value`.
fn found(readings: &[Reading]) -> String {
    readings
        .iter()
        .flat_map(Reading::found)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The missing variable and a hint, for a launcher that gave a rank without a world size.
fn size_hint(launcher: &Plain) -> (&'static str, &'static str) {
    match launcher.source {
        Source::Torchrun => (
            "WORLD_SIZE",
            "torchrun and DeepSpeed set both; set WORLD_SIZE next to RANK",
        ),
        Source::Horovod => (
            "HOROVOD_SIZE",
            "horovodrun sets both; set HOROVOD_SIZE next to HOROVOD_RANK",
        ),
        Source::Pmi => (
            "PMI_SIZE",
            "MPICH's Hydra started with -pmi-port (PMI_ID, PMI_PORT) gives the world size only \
             over the PMI protocol; launch without -pmi-port, so that Hydra sets PMI_RANK and \
             PMI_SIZE, or use RankInfo::from_mpi",
        ),
        Source::CrayPals => (
            "PMI_SIZE",
            "Cray PALS gives no world size; Cray MPICH's PMI_SIZE (or RankInfo::from_mpi) does",
        ),
        Source::Pmix => (
            "a world size",
            "PMIx gives it only through its API; use RankInfo::from_mpi, or launch with srun or mpirun",
        ),
        _ => (
            launcher.size.first().copied().unwrap_or("its world-size variable"),
            "the launcher's environment is incomplete",
        ),
    }
}

/// The rank and world-size variables of a launcher, for a launcher that gave only
/// node-local values.
fn identity_names(launcher: &Plain) -> &'static str {
    match launcher.source {
        Source::Torchrun => "RANK and WORLD_SIZE",
        Source::Horovod => "HOROVOD_RANK and HOROVOD_SIZE",
        Source::OpenMpi => "OMPI_COMM_WORLD_RANK and OMPI_COMM_WORLD_SIZE",
        Source::Pmi => "PMI_RANK and PMI_SIZE",
        Source::Mvapich2 => "MV2_COMM_WORLD_RANK and MV2_COMM_WORLD_SIZE",
        Source::CrayPals => "PALS_RANKID and PMI_SIZE",
        Source::LsfJsrun => "JSM_NAMESPACE_RANK and JSM_NAMESPACE_SIZE",
        Source::Flux => "FLUX_TASK_RANK and FLUX_JOB_SIZE",
        _ => "its rank and world-size variables",
    }
}

/// A launcher that gave only node-local values, and no launcher around it: a single
/// process with a note when the values fit one, else an error.
fn lone_local_values(readings: &[Reading], merged: &Reading) -> Result<RankInfo> {
    let found = found(readings);
    let names = identity_names(merged.launcher);
    let fits_one = merged.local_rank.is_none_or(|v| v.value == 0)
        && merged.local_size.is_none_or(|v| v.value == 1);
    if !fits_one {
        return Err(Error::MissingVar {
            launcher: merged.launcher.source,
            present: found,
            missing: names,
            hint: "a node-local rank or size without the job's rank and world size; these say \
                   other processes share the node, so this is not a single process: set the \
                   rank and world size too, as the launcher does",
        });
    }
    let mut info = RankInfo::single();
    info.assumed.push(format!(
        "{found} set without {names}: taken as a single process, rank 0 of 1; \
         if this process is one of several, the launcher's environment is incomplete"
    ));
    Ok(info)
}

/// No launcher: a single process, with a note when it is an `sbatch` batch script, which
/// sees Slurm's rank variables without being a task of a step.
fn single(env: Lookup<'_>) -> RankInfo {
    let mut info = RankInfo::single();
    if let (Some(procid), false) = (env("SLURM_PROCID"), in_slurm_step(env)) {
        info.assumed.push(format!(
            "SLURM_PROCID={procid:?} without SLURM_STEP_ID: a Slurm batch script, not a task \
             of an srun step, so a single process, rank 0 of 1 (start the job's ranks with srun)"
        ));
    }
    info
}

/// Discovers the identity; see [`RankInfo::from_env`](super::RankInfo::from_env).
pub(super) fn discover(env: Lookup<'_>) -> Result<RankInfo> {
    let mut layers = LAYERS.iter().map(|layer| layer.read(env));
    // The innermost layer that gave only node-local values, in case no launcher is around.
    let mut local_only: Option<(Vec<Reading>, Reading)> = None;
    let (readings, mut merged) = loop {
        let Some(readings) = layers.next() else {
            return match local_only {
                Some((readings, merged)) => lone_local_values(&readings, &merged),
                None => Ok(single(env)),
            };
        };
        if readings.is_empty() {
            continue;
        }
        let readings = readings.into_iter().collect::<Result<Vec<_>>>()?;
        let merged = merge(&readings)?;
        if !merged.local_only() {
            break (readings, merged);
        }
        local_only.get_or_insert((readings, merged));
    };
    let (Some(rank), Some(size)) = (merged.rank, merged.size) else {
        let (missing, hint) = match merged.rank {
            None => (
                merged.launcher.rank[0],
                "the launcher's environment is incomplete",
            ),
            Some(_) => size_hint(merged.launcher),
        };
        return Err(Error::MissingVar {
            launcher: merged.launcher.source,
            present: found(&readings),
            missing,
            hint,
        });
    };
    if merged.local_rank.is_none() || merged.nodes.is_none() || merged.node.is_none() {
        // An outer launcher that launched this very process (same rank, same size) may know
        // what the winner does not. Outer values that do not parse are not ours to judge.
        for outer in layers.flatten().filter_map(Result::ok) {
            let same = outer.rank.map(|v| v.value) == Some(rank.value)
                && outer.size.map(|v| v.value) == Some(size.value);
            if same {
                if merged.local_rank.is_none() && outer.local_rank.is_some() {
                    merged.local_rank = outer.local_rank;
                    merged.local_size = outer.local_size;
                }
                merged.nodes = merged.nodes.or(outer.nodes);
                merged.node = merged.node.or(outer.node);
            }
        }
    }
    let info = RankInfo {
        rank: rank.value,
        size: size.value,
        local_rank: merged.local_rank.map_or(0, |v| v.value),
        local_size: merged.local_rank.and(merged.local_size).map(|v| v.value),
        local_known: merged.local_rank.is_some(),
        nodes: merged.nodes.map(|v| v.value),
        node: merged.node.map(|v| v.value),
        host: host_name(),
        source: merged.launcher.source,
        groups: Vec::new(),
        assumed: Vec::new(),
    };
    let names = Names {
        rank: rank.name,
        size: size.name,
        local_rank: merged.local_rank.map_or("local rank", |v| v.name),
        local_size: merged.local_size.map_or("local size", |v| v.name),
        nodes: merged.nodes.map_or("node count", |v| v.name),
        node: merged.node.map_or("node index", |v| v.name),
    };
    validate(&info, &names)?;
    Ok(info)
}

fn contradiction(a: (&str, u32), b: (&str, u32), reason: &str) -> Error {
    Error::Contradiction {
        var_a: a.0.to_owned(),
        value_a: a.1.to_string(),
        var_b: b.0.to_owned(),
        value_b: b.1.to_string(),
        reason: reason.to_owned(),
    }
}

/// Checks the ranges of a discovered or hand-made identity.
pub(super) fn validate(info: &RankInfo, names: &Names) -> Result<()> {
    if info.size == 0 {
        return Err(Error::invalid(
            names.size,
            "0",
            "the world size must be at least 1",
        ));
    }
    if info.rank >= info.size {
        return Err(contradiction(
            (names.rank, info.rank),
            (names.size, info.size),
            "the rank must be below the world size",
        ));
    }
    match (info.local_known, info.local_size) {
        (true, Some(0)) => {
            return Err(Error::invalid(
                names.local_size,
                "0",
                "the node of this process holds at least this rank",
            ));
        }
        (true, Some(local_size)) => {
            if local_size > info.size {
                return Err(contradiction(
                    (names.local_size, local_size),
                    (names.size, info.size),
                    "a node cannot hold more ranks than the job",
                ));
            }
            if info.local_rank >= local_size {
                return Err(contradiction(
                    (names.local_rank, info.local_rank),
                    (names.local_size, local_size),
                    "the local rank must be below the local size",
                ));
            }
        }
        (true, None) if info.local_rank >= info.size => {
            return Err(contradiction(
                (names.local_rank, info.local_rank),
                (names.size, info.size),
                "the local rank must be below the world size",
            ));
        }
        _ => {}
    }
    if let Some(nodes) = info.nodes {
        if nodes == 0 {
            return Err(Error::invalid(
                names.nodes,
                "0",
                "a job has at least one node",
            ));
        }
        if nodes > info.size {
            return Err(contradiction(
                (names.nodes, nodes),
                (names.size, info.size),
                "more nodes than ranks",
            ));
        }
    }
    match (info.node, info.nodes) {
        (Some(node), Some(nodes)) if node >= nodes => Err(contradiction(
            (names.node, node),
            (names.nodes, nodes),
            "the node index must be below the node count",
        )),
        (Some(node), None) if node >= info.size => Err(contradiction(
            (names.node, node),
            (names.size, info.size),
            "the node index must be below the world size: every node holds a rank",
        )),
        _ => Ok(()),
    }
}
