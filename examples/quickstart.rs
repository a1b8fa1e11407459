//! The smallest ranklog program: no MPI, identity from the launcher's environment.
//!
//! ```text
//! cargo run --example quickstart
//! mpirun -np 4 target/debug/examples/quickstart      # Open MPI
//! RANKLOG_DIR=logs torchrun --nproc-per-node 2 ...    # any launcher ranklog knows
//! ```

use slog::{debug, error, info, o, warn};

fn main() -> anyhow::Result<()> {
    let guard = ranklog::init()?;
    let log = guard.logger();
    let info = guard.rank_info().clone();

    info!(log, "configuration read"; "scope" => "global", "world_size" => info.size);
    info!(log, "node ready"; "scope" => "local", "host" => &info.host);
    debug!(log, "rank detail"; "pid" => std::process::id());
    info!(log, "rank {} of {} started", info.rank, info.size);

    let node_log = log.new(o!("scope" => "local", "component" => "loader"));
    info!(node_log, "weights cached on this node");
    warn!(node_log, "this one overrides its logger's scope"; "scope" => "process");

    if std::env::var_os("QUICKSTART_FAIL").is_some() {
        error!(log, "errors are never gated: every rank prints this"; "scope" => "global");
    }
    drop(guard);
    Ok(())
}
