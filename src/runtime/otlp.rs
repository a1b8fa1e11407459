//! Starting and ending the OTLP sink (feature `otlp`, `RANKLOG_OTLP=on`): the exporter
//! joins the sinks before the writer thread starts, and at the end the rank's
//! `otlp_stats` record says what the collector received.

use slog::Logger;

use crate::sink::Sinks;
use crate::RankInfo;

/// Whether the sinks take records for OTLP: asked for (`on`), and built in.
pub(crate) fn wanted(on: bool) -> bool {
    on && cfg!(feature = "otlp")
}

/// Starts the exporter for `info` and hands it to `sinks` when asked for (`on`); returns
/// why there is none, when there should be one.
pub(crate) fn start(on: bool, info: &RankInfo, sinks: &Sinks) -> Option<String> {
    if !on {
        return None;
    }
    #[cfg(feature = "otlp")]
    return match crate::sink::otlp::Otlp::start(info) {
        Ok(otlp) => {
            sinks.set_otlp(otlp);
            None
        }
        Err(reason) => Some(reason),
    };
    #[cfg(not(feature = "otlp"))]
    {
        let _ = (info, sinks);
        Some("this program was built without ranklog's feature `otlp`".to_owned())
    }
}

/// The warning of a rank whose records do not go to the collector as asked.
pub(crate) fn warn_unavailable(own: &Logger, reason: &str) {
    slog::warn!(own, "OTLP export off: {}; the records still go to the console and the files", reason;
        "scope" => crate::Scope::Global, "kind" => "otlp_unavailable", "reason" => reason);
}

/// Stops the exporter (waiting at most [`EXIT_WAIT`](crate::sink::otlp::EXIT_WAIT)) and writes the
/// `otlp_stats` record straight to the sinks (the writer thread has stopped): to the file
/// at info level, or as a warning on the console too when records were not delivered.
#[cfg(feature = "otlp")]
pub(crate) fn finish(sinks: &Sinks) {
    use slog::{BorrowedKV, Drain, OwnedKVList, Record};

    use super::drain::{OWN_INFO, OWN_WARNING};
    use crate::sink::otlp::EXIT_WAIT;
    use crate::{Scope, SCOPE_KEY};

    let Some(otlp) = sinks.take_otlp() else {
        return;
    };
    let delivery = otlp.delivery();
    // Shutting down waits for the collector; the job waits at most EXIT_WAIT for it, and
    // a thread still waiting then is left to the process's exit.
    // Finished: the exporters stopped within EXIT_WAIT, the records' exporter without
    // running out of its own EXIT_WAIT (which, started first, could otherwise end just
    // inside this one on a busy machine and pass for finished).
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("ranklog-otlp-end".to_owned())
        .spawn(move || {
            let _ = done_tx.send(otlp.shut_down());
        });
    let finished = spawned.is_ok() && done_rx.recv_timeout(EXIT_WAIT) == Ok(true);
    let report = delivery.report(finished);
    let undelivered = report.undelivered();
    let trouble = undelivered > 0 || !report.finished;
    let kv = slog::o!(
        SCOPE_KEY => Scope::Process,
        "kind" => "otlp_stats",
        crate::schema::CONSOLE_KEY => trouble,
        "sent" => report.sent,
        "delivered" => report.delivered,
        "undelivered" => undelivered,
        "finished" => report.finished,
        "exit_wait_ms" => EXIT_WAIT.as_millis() as u64,
    );
    let msg = format_args!(
        "otlp stats: {} of {} records delivered to the collector, {} undelivered{}",
        report.delivered,
        report.sent,
        undelivered,
        if report.finished {
            ""
        } else {
            " (the collector did not answer within the exit wait)"
        }
    );
    let rs = if trouble { &OWN_WARNING } else { &OWN_INFO };
    let _ = sinks.log(
        &Record::new(rs, &msg, BorrowedKV(&kv)),
        &OwnedKVList::from(slog::o!()),
    );
}
