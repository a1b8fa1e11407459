//! Discovery through an MPI communicator (feature `mpi`).

use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::topology::Communicator;

use super::{host_name, RankInfo, Source};

impl RankInfo {
    /// Discovers the identity from an MPI communicator, usually `universe.world()`.
    ///
    /// The rank and size are the communicator's; the local rank and size come from the
    /// shared-memory split of the communicator (`MPI_Comm_split_type` with
    /// `MPI_COMM_TYPE_SHARED`, rsmpi's `split_shared`, keyed by rank so local ranks follow
    /// the communicator's order); the node count is the sum, over all ranks, of "I am the
    /// first rank of my node" (`MPI_Allreduce`). The host name comes from `gethostname(2)`.
    ///
    /// This is a collective call: every rank of `comm` must make it, as with any MPI
    /// collective, or the job waits. ranklog never initializes or finalizes MPI (the
    /// application owns the `Universe`) and never calls MPI again after this.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let universe = mpi::initialize().expect("MPI is initialized once");
    /// let info = ranklog::RankInfo::from_mpi(&universe.world());
    /// let guard = ranklog::Builder::from_env()?.rank_info(info).build()?;
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    #[doc(alias = "MPI_Comm_split_type")]
    #[doc(alias = "MPI_COMM_TYPE_SHARED")]
    pub fn from_mpi<C: Communicator>(comm: &C) -> RankInfo {
        let node = comm.split_shared(comm.rank());
        let local_first = i32::from(node.rank() == 0);
        let mut nodes = 0i32;
        comm.all_reduce_into(&local_first, &mut nodes, SystemOperation::sum());
        // MPI ranks and sizes are non-negative `c_int`s, so they fit in u32.
        let to_u32 = |v: i32| u32::try_from(v).unwrap_or(0);
        RankInfo {
            rank: to_u32(comm.rank()),
            size: to_u32(comm.size()),
            local_rank: to_u32(node.rank()),
            local_size: to_u32(node.size()),
            local_known: true,
            nodes: Some(to_u32(nodes)),
            host: host_name(),
            source: Source::Mpi,
            groups: Vec::new(),
        }
    }
}
