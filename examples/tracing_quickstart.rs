//! tracing's macros through ranklog (feature `tracing`): the quick start of
//! `docs/tracing.md`.
//!
//! ```sh
//! cargo run --features tracing --example tracing_quickstart
//! mpirun -np 4 target/debug/examples/tracing_quickstart   # "model loaded" once, on rank 0
//! ```

use tracing_subscriber::layer::SubscriberExt;

fn main() -> anyhow::Result<()> {
    let guard = ranklog::init()?; // RANKLOG_* and the launcher's variables
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(guard.tracing_layer()),
    )?;

    tracing::info!(scope = "global", bytes = 1u64 << 30, "model loaded"); // rank 0 only
    tracing::info!(scope = "local", "weights cached"); // once per node
    let request = tracing::info_span!("request", request_id = 7).entered();
    tracing::warn!(ms = 830, "slow request"); // every rank, with request_id=7
    drop(request);
    tracing::debug!("not printed under the default level info");
    drop(guard); // flushes every sink
    Ok(())
}
