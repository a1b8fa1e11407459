//! Records of crates that use the `log` crate (hyper, reqwest, the tokio ecosystem) flow
//! through ranklog: rank tag, scope gating, filters, files. `RANKLOG_FILTER` quiets a
//! chatty dependency the way Python users write
//! `logging.getLogger("httpx").setLevel(logging.WARNING)`.
//!
//! ```text
//! cargo run --example log_bridge                                   # chatty info lines shown
//! RANKLOG_FILTER=info,log_bridge::http_client=warn cargo run --example log_bridge
//! ```

/// Stands in for a dependency that logs every request at info level through `log`.
mod http_client {
    pub fn get(url: &str) -> usize {
        log::info!("GET {url}");
        log::debug!("connection pool: 3 idle");
        if url.ends_with("/slow") {
            log::warn!("GET {url} took 2.1 s");
        }
        url.len()
    }
}

fn main() -> anyhow::Result<()> {
    let guard = ranklog::init()?;
    let log = guard.logger();
    slog::info!(log, "fetching model index"; "scope" => "global");
    let mut bytes = 0;
    for url in [
        "https://hub/model/index",
        "https://hub/model/shard-0",
        "https://hub/slow",
    ] {
        bytes += http_client::get(url);
    }
    slog::info!(log, "index fetched"; "scope" => "global", "bytes" => bytes);
    Ok(())
}
