//! Discovery through an MPI communicator (feature `mpi`).

use mpi::collective::Root;
use mpi::topology::{Color, Communicator};

use super::{host_name, launchers, RankInfo, Source};
use crate::{Error, Result};

/// An MPI result as a rank or count: MPI never returns a negative one, and ranklog does
/// not turn one into 0.
fn non_negative(call: &str, value: i32) -> Result<u32> {
    u32::try_from(value).map_err(|_| {
        Error::invalid(
            call,
            &value.to_string(),
            "negative: MPI returned a value that is not a rank or a count",
        )
    })
}

impl RankInfo {
    /// Discovers the identity from an MPI communicator, usually `universe.world()`.
    ///
    /// The rank and size are the communicator's; the local rank and size come from the
    /// shared-memory split of the communicator (`MPI_Comm_split_type` with
    /// `MPI_COMM_TYPE_SHARED`, rsmpi's `split_shared`, keyed by rank so local ranks follow
    /// the communicator's order). The first ranks of the nodes form a communicator of their
    /// own (`MPI_Comm_split`, ordered by rank): its size is the node count, and the first
    /// rank's rank in it is the node's index, which it sends to the other ranks of its node
    /// (`MPI_Bcast`); so nodes are numbered in the order of their first ranks. The host name
    /// comes from `gethostname(2)`.
    ///
    /// This is a collective call: every rank of `comm` must make it, as with any MPI
    /// collective, or the job waits. ranklog never initializes or finalizes MPI (the
    /// application owns the `Universe`) and never calls MPI again after this.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVar`] naming the MPI call (`MPI_Comm_rank`, `MPI_Comm_size`, ...)
    /// that returned a negative value, and [`Error::Contradiction`] for results that do not
    /// add up (a rank not below the size, a node index not below the node count): never a
    /// silent rank 0.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let universe = mpi::initialize().expect("MPI is initialized once");
    /// let info = ranklog::RankInfo::from_mpi(&universe.world())?;
    /// let guard = ranklog::Builder::from_env()?.rank_info(info).build()?;
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    #[doc(alias = "MPI_Comm_split_type")]
    #[doc(alias = "MPI_COMM_TYPE_SHARED")]
    pub fn from_mpi<C: Communicator>(comm: &C) -> Result<RankInfo> {
        let node = comm.split_shared(comm.rank());
        let first_ranks = comm.split_by_color(if node.rank() == 0 {
            Color::with_value(0)
        } else {
            Color::undefined()
        });
        // [node index, node count], as the node's first rank sees them.
        let mut place = [0i32; 2];
        if let Some(first_ranks) = &first_ranks {
            place = [first_ranks.rank(), first_ranks.size()];
        }
        node.process_at_rank(0).broadcast_into(&mut place[..]);
        let info = RankInfo {
            rank: non_negative("MPI_Comm_rank", comm.rank())?,
            size: non_negative("MPI_Comm_size", comm.size())?,
            local_rank: non_negative("MPI_Comm_rank of the shared-memory split", node.rank())?,
            local_size: Some(non_negative(
                "MPI_Comm_size of the shared-memory split",
                node.size(),
            )?),
            local_known: true,
            nodes: Some(non_negative(
                "MPI_Comm_size of the nodes' first ranks",
                place[1],
            )?),
            node: Some(non_negative(
                "MPI_Comm_rank of the nodes' first ranks",
                place[0],
            )?),
            host: host_name(),
            source: Source::Mpi,
            groups: Vec::new(),
            assumed: Vec::new(),
        };
        launchers::validate(&info, &launchers::Names::mpi())?;
        Ok(info)
    }
}
