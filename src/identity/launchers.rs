//! The launcher table behind [`RankInfo::from_env`](super::RankInfo::from_env).

use super::vars::{parse_u32, Lookup, Var};
use super::{host_name, slurm, RankInfo, Source};
use crate::{Error, Result};

/// What one launcher says about this process.
#[derive(Clone, Debug)]
struct Reading {
    source: Source,
    rank: Option<Var>,
    size: Option<Var>,
    local_rank: Option<Var>,
    local_size: Option<Var>,
    nodes: Option<Var>,
}

/// The variable names a validated identity came from, for error messages.
pub(super) struct Names {
    rank: &'static str,
    size: &'static str,
    local_rank: &'static str,
    local_size: &'static str,
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
        }
    }

    pub(super) fn manual() -> Names {
        Names {
            rank: "rank",
            size: "size",
            local_rank: "local_rank",
            local_size: "local_size",
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

/// A launcher described by plain variable names; it is present when any of `present_if`
/// is set.
struct Plain {
    source: Source,
    present_if: &'static [&'static str],
    rank: &'static [&'static str],
    size: &'static [&'static str],
    local_rank: &'static [&'static str],
    local_size: &'static [&'static str],
    nodes: &'static [&'static str],
}

impl Plain {
    fn read(&self, env: Lookup<'_>) -> Result<Option<Reading>> {
        if !self.present_if.iter().any(|name| env(name).is_some()) {
            return Ok(None);
        }
        Ok(Some(Reading {
            source: self.source,
            rank: first(env, self.rank)?,
            size: first(env, self.size)?,
            local_rank: first(env, self.local_rank)?,
            local_size: first(env, self.local_size)?,
            nodes: first(env, self.nodes)?,
        }))
    }
}

const TORCHRUN: Plain = Plain {
    source: Source::Torchrun,
    present_if: &["RANK", "WORLD_SIZE"],
    rank: &["RANK"],
    size: &["WORLD_SIZE"],
    local_rank: &["LOCAL_RANK"],
    local_size: &["LOCAL_WORLD_SIZE"],
    nodes: &[],
};

const OPEN_MPI: Plain = Plain {
    source: Source::OpenMpi,
    present_if: &["OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"],
    rank: &["OMPI_COMM_WORLD_RANK"],
    size: &["OMPI_COMM_WORLD_SIZE"],
    local_rank: &["OMPI_COMM_WORLD_LOCAL_RANK"],
    local_size: &["OMPI_COMM_WORLD_LOCAL_SIZE"],
    // Set by Open MPI 4's launcher (ORTE) for every rank: the nodes the job runs on.
    nodes: &["OMPI_MCA_orte_num_nodes"],
};

const PMI: Plain = Plain {
    source: Source::Pmi,
    present_if: &["PMI_RANK", "PMI_SIZE"],
    rank: &["PMI_RANK"],
    size: &["PMI_SIZE"],
    local_rank: &["MPI_LOCALRANKID", "PMI_LOCAL_RANK"],
    local_size: &["MPI_LOCALNRANKS", "PMI_LOCAL_SIZE"],
    nodes: &[],
};

const MVAPICH2: Plain = Plain {
    source: Source::Mvapich2,
    present_if: &["MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"],
    rank: &["MV2_COMM_WORLD_RANK"],
    size: &["MV2_COMM_WORLD_SIZE"],
    local_rank: &["MV2_COMM_WORLD_LOCAL_RANK"],
    local_size: &["MV2_COMM_WORLD_LOCAL_SIZE"],
    nodes: &[],
};

const CRAY_PALS: Plain = Plain {
    source: Source::CrayPals,
    present_if: &["PALS_RANKID"],
    rank: &["PALS_RANKID"],
    size: &[],
    local_rank: &["PALS_LOCAL_RANKID"],
    local_size: &["PALS_LOCAL_SIZE"],
    nodes: &[],
};

const PMIX: Plain = Plain {
    source: Source::Pmix,
    present_if: &["PMIX_RANK"],
    rank: &["PMIX_RANK"],
    size: &[],
    local_rank: &[],
    local_size: &[],
    nodes: &[],
};

const LSF_JSRUN: Plain = Plain {
    source: Source::LsfJsrun,
    present_if: &["JSM_NAMESPACE_RANK", "JSM_NAMESPACE_SIZE"],
    rank: &["JSM_NAMESPACE_RANK"],
    size: &["JSM_NAMESPACE_SIZE"],
    local_rank: &["JSM_NAMESPACE_LOCAL_RANK"],
    local_size: &["JSM_NAMESPACE_LOCAL_SIZE"],
    nodes: &[],
};

const FLUX: Plain = Plain {
    source: Source::Flux,
    present_if: &["FLUX_TASK_RANK"],
    rank: &["FLUX_TASK_RANK"],
    size: &["FLUX_JOB_SIZE"],
    local_rank: &["FLUX_TASK_LOCAL_ID"],
    local_size: &[],
    nodes: &["FLUX_JOB_NNODES"],
};

/// Slurm: plain variables, plus the local size from the compressed tasks-per-node list.
///
/// Only a task of a job step (`srun`) is a Slurm rank: it has a step id. An `sbatch` batch
/// script also sees `SLURM_PROCID=0` and the job's `SLURM_NTASKS`, but no step id; it is
/// one process, not rank 0 of the job (found on a real Slurm 22.05).
fn read_slurm(env: Lookup<'_>) -> Result<Option<Reading>> {
    const SLURM: Plain = Plain {
        source: Source::Slurm,
        present_if: &["SLURM_PROCID"],
        rank: &["SLURM_PROCID"],
        size: &["SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"],
        local_rank: &["SLURM_LOCALID"],
        local_size: &[],
        nodes: &["SLURM_STEP_NUM_NODES", "SLURM_NNODES"],
    };
    if env("SLURM_STEP_ID").is_none() && env("SLURM_STEPID").is_none() {
        return Ok(None);
    }
    let Some(mut reading) = SLURM.read(env)? else {
        return Ok(None);
    };
    reading.local_size = slurm::local_size(env)?;
    Ok(Some(reading))
}

/// One layer of launchers: those of a layer describe the same process and must agree.
enum Layer {
    /// Launchers read from plain variables.
    Plain(&'static [Plain]),
    /// Resource managers, Slurm first.
    Outer,
}

const LAYERS: [Layer; 3] = [
    Layer::Plain(&[TORCHRUN]),
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
/// agree.
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
    Ok(Reading {
        source: readings[0].source,
        rank: pick(readings, |r| r.rank, "rank")?,
        size: pick(readings, |r| r.size, "world size")?,
        local_rank: pick(readings, |r| r.local_rank, "local rank")?,
        local_size: pick(readings, |r| r.local_size, "local size")?,
        nodes: pick(readings, |r| r.nodes, "node count")?,
    })
}

/// A hint for the launcher that gave a rank without a world size.
fn size_hint(source: Source) -> (&'static str, &'static str) {
    match source {
        Source::Torchrun => ("WORLD_SIZE", "torchrun sets both; set WORLD_SIZE next to RANK"),
        Source::CrayPals => (
            "PMI_SIZE",
            "Cray PALS gives no world size; Cray MPICH's PMI_SIZE (or RankInfo::from_mpi) does",
        ),
        Source::Pmix => (
            "a world size",
            "PMIx gives it only through its API; use RankInfo::from_mpi, or launch with srun or mpirun",
        ),
        _ => ("its world-size variable", "the launcher's environment is incomplete"),
    }
}

/// Discovers the identity; see [`RankInfo::from_env`](super::RankInfo::from_env).
pub(super) fn discover(env: Lookup<'_>) -> Result<RankInfo> {
    let mut layers = LAYERS.iter().map(|layer| layer.read(env));
    let winner = loop {
        let Some(readings) = layers.next() else {
            return Ok(RankInfo::single());
        };
        if !readings.is_empty() {
            break readings.into_iter().collect::<Result<Vec<_>>>()?;
        }
    };
    let mut merged = merge(&winner)?;
    let (Some(rank), Some(size)) = (merged.rank, merged.size) else {
        let present = merged
            .rank
            .or(merged.size)
            .expect("a present launcher sets a variable");
        let (missing, hint) = match merged.rank {
            None => (
                rank_name(merged.source),
                "the launcher's environment is incomplete",
            ),
            Some(_) => size_hint(merged.source),
        };
        return Err(Error::MissingVar {
            launcher: merged.source,
            present: format!("{}={}", present.name, present.value),
            missing,
            hint,
        });
    };
    if merged.local_rank.is_none() || merged.nodes.is_none() {
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
            }
        }
    }
    let info = RankInfo {
        rank: rank.value,
        size: size.value,
        local_rank: merged.local_rank.map_or(0, |v| v.value),
        local_size: if merged.local_rank.is_some() {
            merged.local_size.map_or(0, |v| v.value)
        } else {
            0
        },
        local_known: merged.local_rank.is_some(),
        nodes: merged.nodes.map(|v| v.value),
        host: host_name(),
        source: merged.source,
        groups: Vec::new(),
    };
    let names = Names {
        rank: rank.name,
        size: size.name,
        local_rank: merged.local_rank.map_or("local rank", |v| v.name),
        local_size: merged.local_size.map_or("local size", |v| v.name),
    };
    validate(&info, &names)?;
    if let Some(nodes) = merged.nodes {
        if nodes.value == 0 {
            return Err(Error::invalid(
                nodes.name,
                "0",
                "a job has at least one node",
            ));
        }
        if nodes.value > size.value {
            return Err(contradiction(
                (nodes.name, nodes.value),
                (size.name, size.value),
                "more nodes than ranks",
            ));
        }
    }
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
    if info.local_known && info.local_size != 0 {
        if info.local_size > info.size {
            return Err(contradiction(
                (names.local_size, info.local_size),
                (names.size, info.size),
                "a node cannot hold more ranks than the job",
            ));
        }
        if info.local_rank >= info.local_size {
            return Err(contradiction(
                (names.local_rank, info.local_rank),
                (names.local_size, info.local_size),
                "the local rank must be below the local size",
            ));
        }
    } else if info.local_known && info.local_rank >= info.size {
        return Err(contradiction(
            (names.local_rank, info.local_rank),
            (names.size, info.size),
            "the local rank must be below the world size",
        ));
    }
    Ok(())
}

fn rank_name(source: Source) -> &'static str {
    match source {
        Source::Torchrun => "RANK",
        Source::OpenMpi => "OMPI_COMM_WORLD_RANK",
        Source::Pmi => "PMI_RANK",
        Source::Mvapich2 => "MV2_COMM_WORLD_RANK",
        Source::LsfJsrun => "JSM_NAMESPACE_RANK",
        _ => "its rank variable",
    }
}
