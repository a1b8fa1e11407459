//! Who this process is in the job: [`RankInfo`], discovered from the launcher's
//! environment ([`RankInfo::from_env`]) or from an MPI communicator
//! (`RankInfo::from_mpi`, feature `mpi`).

mod launchers;
#[cfg(feature = "mpi")]
mod mpi;
#[cfg(test)]
mod node_index_tests;
pub(crate) mod rank_list;
mod slurm;
pub(crate) mod vars;

use std::fmt;

use crate::Result;

/// Which launcher (or MPI itself) told this process its rank.
///
/// Discovery looks at the launchers from the innermost to the outermost (see
/// [`RankInfo::from_env`]); this names the one whose variables were used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// No launcher variables: a single process, rank 0 of 1.
    Single,
    /// An MPI communicator (`RankInfo::from_mpi`).
    Mpi,
    /// torchrun / torch.distributed.elastic (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`,
    /// `LOCAL_WORLD_SIZE`), and DeepSpeed's launcher, which sets the same rank variables with
    /// `LOCAL_SIZE` for the local size and `CROSS_SIZE` for the node count.
    Torchrun,
    /// Horovod's `horovodrun` with Gloo, and its Spark and Ray runners (`HOROVOD_RANK`,
    /// `HOROVOD_SIZE`, `HOROVOD_LOCAL_RANK`, `HOROVOD_LOCAL_SIZE`).
    Horovod,
    /// Open MPI's `mpirun`/`prterun` (`OMPI_COMM_WORLD_*`).
    OpenMpi,
    /// A PMI process manager: MPICH's Hydra, Intel MPI, Cray MPICH (`PMI_RANK`,
    /// `PMI_SIZE`, `MPI_LOCALRANKID`, `MPI_LOCALNRANKS`, `PMI_LOCAL_RANK`,
    /// `PMI_LOCAL_SIZE`).
    Pmi,
    /// MVAPICH2's `mpirun_rsh` (`MV2_COMM_WORLD_*`).
    Mvapich2,
    /// HPE Cray PALS `mpiexec` (`PALS_RANKID`, `PALS_LOCAL_RANKID`, `PALS_LOCAL_SIZE`,
    /// `PALS_NODEID`).
    CrayPals,
    /// A PMIx server, e.g. `srun --mpi=pmix` or PRRTE (`PMIX_RANK`).
    Pmix,
    /// Slurm's `srun` (`SLURM_PROCID`, `SLURM_NTASKS`, `SLURM_LOCALID`, `SLURM_NODEID`,
    /// `SLURM_STEP_TASKS_PER_NODE`).
    Slurm,
    /// IBM LSF `jsrun` (`JSM_NAMESPACE_*`).
    LsfJsrun,
    /// Flux's `flux run` (`FLUX_TASK_RANK`, `FLUX_TASK_LOCAL_ID`, `FLUX_JOB_SIZE`,
    /// `FLUX_JOB_NNODES`).
    Flux,
    /// Built by the application with [`RankInfo::new`].
    Manual,
}

impl Source {
    /// A short, stable, lowercase name, as written in the JSONL files (`"open-mpi"`,
    /// `"slurm"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Single => "single",
            Source::Mpi => "mpi",
            Source::Torchrun => "torchrun",
            Source::Horovod => "horovod",
            Source::OpenMpi => "open-mpi",
            Source::Pmi => "pmi",
            Source::Mvapich2 => "mvapich2",
            Source::CrayPals => "cray-pals",
            Source::Pmix => "pmix",
            Source::Slurm => "slurm",
            Source::LsfJsrun => "lsf-jsrun",
            Source::Flux => "flux",
            Source::Manual => "manual",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Single => "single process (no launcher variables)",
            Source::Mpi => "MPI communicator",
            Source::Torchrun => "torchrun (or DeepSpeed)",
            Source::Horovod => "Horovod",
            Source::OpenMpi => "Open MPI",
            Source::Pmi => "PMI (MPICH Hydra, Intel MPI or Cray MPICH)",
            Source::Mvapich2 => "MVAPICH2",
            Source::CrayPals => "Cray PALS",
            Source::Pmix => "PMIx",
            Source::Slurm => "Slurm",
            Source::LsfJsrun => "LSF jsrun",
            Source::Flux => "Flux",
            Source::Manual => "set by the application",
        })
    }
}

/// The identity of this process in a distributed job.
///
/// Discovered once, at start-up, on the main thread; the logger reads it at build time and
/// never asks MPI or the environment again.
///
/// # Unknown locality
///
/// Some launchers do not say where a process sits on its node (PMIx alone, or a PMI
/// manager without `MPI_LOCALRANKID`). ranklog never guesses the local rank: then
/// [`local_known`](Self::local_known) is `false`, `local_rank` is 0, `local_size` is `None`,
/// and [`is_local_first`](Self::is_local_first) is `true` on **every** rank, so records with
/// `local` scope print on every rank instead of being hidden on some node. The logger
/// warns about this once per job. A `local_size` of `None` with `local_known` set means the
/// launcher gave the local rank but not the number of ranks on the node (Flux).
///
/// # Assumptions
///
/// Where the launcher's variables do not add up to an identity but the job can still log
/// correctly (a lone `LOCAL_RANK=0`, an `sbatch` script's `SLURM_PROCID`), discovery says
/// what it assumed in [`assumed`](Self::assumed); the logger prints each sentence once, at
/// start, as a warning of kind `identity_assumed`. Where it cannot, discovery is an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankInfo {
    /// Rank of this process in the job, `0..size`.
    pub rank: u32,
    /// Number of processes in the job (the world size), at least 1.
    pub size: u32,
    /// Rank of this process among those on its node, `0..local_size`; 0 when
    /// [`local_known`](Self::local_known) is `false`.
    pub local_rank: u32,
    /// Number of processes of the job on this node; `None` when the launcher does not say
    /// (Flux, or an unknown local rank).
    pub local_size: Option<u32>,
    /// Whether the launcher (or MPI) told this process its local rank.
    pub local_known: bool,
    /// Number of nodes in the job, when the launcher or MPI says.
    pub nodes: Option<u32>,
    /// Index of this rank's node in the job, `0..nodes` (0-based), when the launcher or MPI
    /// says:
    ///
    /// | launcher | variable |
    /// | --- | --- |
    /// | Slurm (`srun`) | `SLURM_NODEID`: the node's index in the job step |
    /// | torchrun | `GROUP_RANK`: the worker group's rank, which is the node's index with one agent per node (torchrun's docs) |
    /// | DeepSpeed's launcher | `CROSS_RANK`: its `--node_rank` |
    /// | HPE Cray PALS | `PALS_NODEID` (libpals's `pals.h`; Flux's `cray_pals` plugin sets it too) |
    /// | MPI (`RankInfo::from_mpi`, feature `mpi`) | the rank of this node's first rank among the first ranks of all nodes, so nodes are numbered in the order of their first rank |
    ///
    /// `None` elsewhere: Open MPI's `mpirun`, MPICH's Hydra, MVAPICH2, Horovod, LSF `jsrun`,
    /// Flux and PMIx put no node index in the environment (Open MPI's
    /// `OMPI_COMM_WORLD_NODE_RANK` is a rank on the node across jobs, and Horovod's
    /// `HOROVOD_CROSS_RANK` counts only the nodes that hold this local rank).
    pub node: Option<u32>,
    /// Host name of this node (`gethostname(2)`, through the `hostname` crate).
    pub host: String,
    /// Where this identity came from.
    pub source: Source,
    /// Groups this rank belongs to (tensor-, pipeline-, data-parallel, ...), declared by the
    /// application with [`with_group`](Self::with_group); they give the `group:NAME` scopes.
    pub groups: Vec<Group>,
    /// What discovery assumed because the launcher's variables did not say, one sentence
    /// each naming the variables and their values (see the type's docs); empty when the
    /// launcher said everything.
    pub assumed: Vec<String>,
}

/// A named group of ranks this rank belongs to, such as its tensor-parallel group.
///
/// Records with scope `group:NAME` print on the first rank of each such group (`rank ==
/// 0`): once per model replica for a tensor-parallel group, once per stage for a
/// pipeline-parallel one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The group's name, e.g. `tp`, `pp`, `dp`.
    pub name: String,
    /// This rank's rank within the group, `0..size`.
    pub rank: u32,
    /// Number of ranks in the group.
    pub size: u32,
}

impl RankInfo {
    /// A single process: rank 0 of 1, local rank 0 of 1, one node.
    pub fn single() -> RankInfo {
        RankInfo {
            rank: 0,
            size: 1,
            local_rank: 0,
            local_size: Some(1),
            local_known: true,
            nodes: Some(1),
            node: Some(0),
            host: host_name(),
            source: Source::Single,
            groups: Vec::new(),
            assumed: Vec::new(),
        }
    }

    /// An identity set by the application, e.g. from its own communicator. A `local_size`
    /// of 0 means "not known" (stored as `None`); the local rank must then be below `size`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVar`](crate::Error::InvalidVar) when `size` is 0;
    /// [`Error::Contradiction`](crate::Error::Contradiction) when `rank >= size`,
    /// `local_size > size`, or `local_rank >= local_size` (`>= size` when `local_size` is 0).
    ///
    /// # Examples
    ///
    /// ```
    /// let info = ranklog::RankInfo::new(3, 8, 1, 4)?;
    /// assert!(!info.is_global_first());
    /// assert!(!info.is_local_first());
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    pub fn new(rank: u32, size: u32, local_rank: u32, local_size: u32) -> Result<RankInfo> {
        let info = RankInfo {
            rank,
            size,
            local_rank,
            local_size: (local_size != 0).then_some(local_size),
            local_known: true,
            nodes: None,
            node: None,
            host: host_name(),
            source: Source::Manual,
            groups: Vec::new(),
            assumed: Vec::new(),
        };
        launchers::validate(&info, &launchers::Names::manual())?;
        Ok(info)
    }

    /// Discovers the identity from the launcher's environment variables.
    ///
    /// Reads, from the innermost launcher to the outermost:
    ///
    /// | layer | launchers and variables |
    /// | --- | --- |
    /// | 1 | torchrun: `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`; DeepSpeed's launcher (same entry, [`Source::Torchrun`]): the same with `LOCAL_SIZE` for the local size, nodes from `CROSS_SIZE`; the node index from `GROUP_RANK` (DeepSpeed: `CROSS_RANK`) |
    /// | 2 | Horovod (`horovodrun` with Gloo): `HOROVOD_RANK`, `HOROVOD_SIZE`, `HOROVOD_LOCAL_RANK`, `HOROVOD_LOCAL_SIZE` (not `HOROVOD_CROSS_SIZE`: it counts the nodes holding this local rank, not the job's nodes) |
    /// | 3 | Open MPI: `OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}`, nodes from `OMPI_MCA_orte_num_nodes`; PMI (MPICH Hydra, Intel MPI, Cray MPICH): `PMI_RANK` (or Hydra `-pmi-port`'s `PMI_ID`), `PMI_SIZE`, `MPI_LOCALRANKID` or `PMI_LOCAL_RANK`, `MPI_LOCALNRANKS` or `PMI_LOCAL_SIZE`; MVAPICH2: `MV2_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}`; Cray PALS: `PALS_RANKID`, `PALS_LOCAL_RANKID`, `PALS_LOCAL_SIZE`, the node index from `PALS_NODEID` |
    /// | 4 | Slurm (a task of a job step: `SLURM_STEP_ID` set): `SLURM_PROCID`, `SLURM_STEP_NUM_TASKS` or `SLURM_NTASKS`, `SLURM_LOCALID`, `SLURM_NODEID` (the node index), tasks per node from `SLURM_STEP_TASKS_PER_NODE` (compressed, e.g. `2(x3),1`) or `SLURM_NTASKS_PER_NODE`, nodes from `SLURM_STEP_NUM_NODES` or `SLURM_NNODES`; PMIx: `PMIX_RANK`; LSF jsrun: `JSM_NAMESPACE_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}`; Flux: `FLUX_TASK_RANK`, `FLUX_JOB_SIZE`, `FLUX_TASK_LOCAL_ID`, `FLUX_JOB_NNODES` |
    ///
    /// A launcher is present when any of its rank, world-size, local-rank or local-size
    /// variables is set. The innermost layer with a launcher present wins: torchrun started
    /// inside an `srun` step reports torchrun's ranks, and `mpirun` inside a Slurm allocation
    /// reports Open MPI's (the `SLURM_*` values there describe Open MPI's daemons, not the
    /// ranks). Launchers of the same layer describe the same process, so their values must
    /// agree. When the winning layer lacks the local rank, an outer launcher whose rank and
    /// world size are the same (so it launched this very process, as `srun --mpi=pmi2` does
    /// under `PMI_RANK`) supplies it.
    ///
    /// A process is never silently "rank 0 of 1" while a launcher variable says otherwise.
    /// Environments that do not add up:
    ///
    /// | found | result |
    /// | --- | --- |
    /// | a rank without a world size (`PMIX_RANK`, `PALS_RANKID`, `HOROVOD_RANK`, Hydra `-pmi-port`'s `PMI_ID`), or a world size without a rank | [`Error::MissingVar`](crate::Error::MissingVar) naming the variables found and the one missing |
    /// | only node-local variables (`LOCAL_RANK`, `LOCAL_SIZE`, `MPI_LOCALRANKID`, ...), and an outer launcher present | that launcher's identity |
    /// | only node-local variables, no other launcher, and they fit one process (local rank 0, local size 1 or unset) | a single process, with a sentence in [`RankInfo::assumed`] |
    /// | only node-local variables otherwise (e.g. `LOCAL_RANK=3`: other processes share the node) | [`Error::MissingVar`](crate::Error::MissingVar) for the rank variable |
    /// | `SLURM_PROCID` without `SLURM_STEP_ID` (an `sbatch` batch script, not an `srun` task) | a single process, with a sentence in [`RankInfo::assumed`] |
    /// | a rank and world size without a local rank | the identity with an unknown locality (see the type's docs); the logger warns |
    ///
    /// No variable of any launcher: [`RankInfo::single`].
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidVar`](crate::Error::InvalidVar): a value that is empty, not a
    ///   number, negative or above `u32::MAX`, a size of 0, or a malformed
    ///   `SLURM_STEP_TASKS_PER_NODE`.
    /// - [`Error::Contradiction`](crate::Error::Contradiction): `rank >= size`,
    ///   `local_rank >= local_size`, `local_size > size`, more nodes than ranks, a node
    ///   index not below the node count (or, without one, the world size), or two
    ///   launchers of the same layer that disagree.
    /// - [`Error::MissingVar`](crate::Error::MissingVar): a launcher that sets some of its
    ///   variables but not enough for an identity (see the second table), e.g. `PMIX_RANK`
    ///   alone, or `PMI_ID` without `PMI_SIZE`.
    ///
    /// # Examples
    ///
    /// ```
    /// // Under `mpirun -np 4`, rank 2 sees (among others):
    /// let info = ranklog::RankInfo::from_vars([
    ///     ("OMPI_COMM_WORLD_RANK", "2"),
    ///     ("OMPI_COMM_WORLD_SIZE", "4"),
    ///     ("OMPI_COMM_WORLD_LOCAL_RANK", "0"),
    ///     ("OMPI_COMM_WORLD_LOCAL_SIZE", "2"),
    /// ])?;
    /// assert_eq!((info.rank, info.size, info.local_rank, info.local_size), (2, 4, 0, Some(2)));
    /// assert_eq!(info.source, ranklog::Source::OpenMpi);
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    pub fn from_env() -> Result<RankInfo> {
        launchers::discover(&|name| {
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        })
    }

    /// [`from_env`](Self::from_env) over the given variables instead of the process
    /// environment: for tests, and for programs that receive a launcher's environment
    /// from elsewhere. Variables not in `vars` count as unset.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_vars<I, K, V>(vars: I) -> Result<RankInfo>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: std::collections::HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        launchers::discover(&|name| vars.get(name).cloned())
    }

    /// Declares that this rank is rank `rank` of the `size` ranks of group `name`; records
    /// with scope `group:NAME` then print on the group's first rank. Declaring a name again
    /// replaces it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVar`](crate::Error::InvalidVar) for an empty name or one with `:`,
    /// `,` or whitespace; [`Error::Contradiction`](crate::Error::Contradiction) when
    /// `rank >= size` or `size` exceeds the world size.
    ///
    /// # Examples
    ///
    /// ```
    /// // Rank 5 of 8 with tensor parallelism 4: tp rank 1 of 4, data-parallel replica 1 of 2.
    /// let info = ranklog::RankInfo::new(5, 8, 1, 4)?
    ///     .with_group("tp", 5 % 4, 4)?
    ///     .with_group("dp", 5 / 4, 2)?;
    /// assert_eq!(info.groups[0].rank, 1);
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    pub fn with_group(mut self, name: &str, rank: u32, size: u32) -> Result<RankInfo> {
        if name.is_empty() || name.contains(|c: char| c == ':' || c == ',' || c.is_whitespace()) {
            return Err(crate::Error::invalid(
                "group name",
                name,
                "expected a non-empty name without ':', ',' or spaces, such as tp",
            ));
        }
        let named = |what: &str| format!("group {name} {what}");
        if rank >= size {
            return Err(crate::Error::Contradiction {
                var_a: named("rank"),
                value_a: rank.to_string(),
                var_b: named("size"),
                value_b: size.to_string(),
                reason: "the rank in a group must be below the group's size".to_owned(),
            });
        }
        if size > self.size {
            return Err(crate::Error::Contradiction {
                var_a: named("size"),
                value_a: size.to_string(),
                var_b: "world size".to_owned(),
                value_b: self.size.to_string(),
                reason: "a group cannot be larger than the job".to_owned(),
            });
        }
        self.groups.retain(|g| g.name != name);
        self.groups.push(Group {
            name: name.to_owned(),
            rank,
            size,
        });
        Ok(self)
    }

    /// Declares group `name` as blocks of `size` consecutive ranks (ranks 0..size form the
    /// first group): the usual layout of tensor-parallel groups.
    ///
    /// # Errors
    ///
    /// As [`with_group`](Self::with_group), and
    /// [`Error::Contradiction`](crate::Error::Contradiction) when `size` is 0 or does not
    /// divide the world size.
    pub fn with_contiguous_group(self, name: &str, size: u32) -> Result<RankInfo> {
        if size == 0 || !self.size.is_multiple_of(size) {
            return Err(crate::Error::Contradiction {
                var_a: format!("group {name} size"),
                value_a: size.to_string(),
                var_b: "world size".to_owned(),
                value_b: self.size.to_string(),
                reason: "contiguous groups must divide the job evenly".to_owned(),
            });
        }
        let rank = self.rank % size;
        self.with_group(name, rank, size)
    }

    /// Checks an identity built outside [`new`](Self::new) and the discovery functions
    /// (its fields are public): the rules of [`new`](Self::new), and each group's rank
    /// below its size and its size within the world size.
    pub(crate) fn validate(&self) -> Result<()> {
        launchers::validate(self, &launchers::Names::manual())?;
        for g in &self.groups {
            RankInfo {
                groups: Vec::new(),
                ..self.clone()
            }
            .with_group(&g.name, g.rank, g.size)?;
        }
        Ok(())
    }

    /// Whether this is the first rank of the job (`rank == 0`): it prints `global` records.
    pub fn is_global_first(&self) -> bool {
        self.rank == 0
    }

    /// Whether this is the first rank of its node (`local_rank == 0`): it prints `local`
    /// records. `true` on every rank when the local rank is unknown (see the type's docs).
    pub fn is_local_first(&self) -> bool {
        !self.local_known || self.local_rank == 0
    }
}

/// This node's host name, or `"unknown-host"` when `gethostname(2)` fails.
pub(crate) fn host_name() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown-host".to_owned())
}
