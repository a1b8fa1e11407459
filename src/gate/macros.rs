//! The `*_once!` and rate-limit macros. Each takes exactly the arguments of slog's macro of
//! the same level: a logger, format arguments, then `;` and key-values.

/// Logs at debug level once per process for this call site and formatted message
/// (vLLM's `debug_once`).
///
/// Exactly the syntax of slog's `debug!` (format arguments, then `;` and key-values,
/// `"scope" => ...` included). The scope is checked first: a rank that does not print the
/// record does not remember it. The memory is bounded: [`ONCE_CAPACITY`](crate::ONCE_CAPACITY)
/// (call site, message) pairs per process, the oldest forgotten first. Needs a ranklog
/// logger; through another drain it prints every time (its records carry the tag
/// [`ONCE_TAG`](crate::ONCE_TAG)).
///
/// # Examples
///
/// ```
/// let guard = ranklog::Builder::new().no_console().build()?;
/// let log = guard.logger();
/// for step in 0..1000 {
///     ranklog::debug_once!(log, "using {} kernels", "flash"; "scope" => "global", "step" => step);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! debug_once {
    ($log:expr, $($args:tt)+) => {
        $crate::__private::slog::debug!($log, #$crate::ONCE_TAG, $($args)+)
    };
}

/// Logs at info level once per process for this call site and formatted message
/// (vLLM's `info_once`).
///
/// Exactly the syntax of slog's `info!` (format arguments, then `;` and key-values,
/// `"scope" => ...` included). The scope is checked first: a rank that does not print the
/// record does not remember it. The memory is bounded: [`ONCE_CAPACITY`](crate::ONCE_CAPACITY)
/// (call site, message) pairs per process, the oldest forgotten first. Needs a ranklog
/// logger; through another drain it prints every time (its records carry the tag
/// [`ONCE_TAG`](crate::ONCE_TAG)).
///
/// # Examples
///
/// ```
/// let guard = ranklog::Builder::new().no_console().build()?;
/// let log = guard.logger();
/// for step in 0..1000 {
///     ranklog::info_once!(log, "using {} kernels", "flash"; "scope" => "global", "step" => step);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! info_once {
    ($log:expr, $($args:tt)+) => {
        $crate::__private::slog::info!($log, #$crate::ONCE_TAG, $($args)+)
    };
}

/// Logs at warning level once per process for this call site and formatted message
/// (vLLM's `warn_once`).
///
/// Exactly the syntax of slog's `warn!` (format arguments, then `;` and key-values,
/// `"scope" => ...` included). The scope is checked first: a rank that does not print the
/// record does not remember it. The memory is bounded: [`ONCE_CAPACITY`](crate::ONCE_CAPACITY)
/// (call site, message) pairs per process, the oldest forgotten first. Needs a ranklog
/// logger; through another drain it prints every time (its records carry the tag
/// [`ONCE_TAG`](crate::ONCE_TAG)).
///
/// # Examples
///
/// ```
/// let guard = ranklog::Builder::new().no_console().build()?;
/// let log = guard.logger();
/// for step in 0..1000 {
///     ranklog::warn_once!(log, "using {} kernels", "flash"; "scope" => "global", "step" => step);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! warn_once {
    ($log:expr, $($args:tt)+) => {
        $crate::__private::slog::warn!($log, #$crate::ONCE_TAG, $($args)+)
    };
}

/// Logs at error level once per process for this call site and formatted message
/// (vLLM's `error_once`).
///
/// Exactly the syntax of slog's `error!` (format arguments, then `;` and key-values,
/// `"scope" => ...` included). The scope is checked first: a rank that does not print the
/// record does not remember it. The memory is bounded: [`ONCE_CAPACITY`](crate::ONCE_CAPACITY)
/// (call site, message) pairs per process, the oldest forgotten first. Needs a ranklog
/// logger; through another drain it prints every time (its records carry the tag
/// [`ONCE_TAG`](crate::ONCE_TAG)).
///
/// # Examples
///
/// ```
/// let guard = ranklog::Builder::new().no_console().build()?;
/// let log = guard.logger();
/// for step in 0..1000 {
///     ranklog::error_once!(log, "using {} kernels", "flash"; "scope" => "global", "step" => step);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! error_once {
    ($log:expr, $($args:tt)+) => {
        $crate::__private::slog::error!($log, #$crate::ONCE_TAG, $($args)+)
    };
}

/// Logs at debug level on the 1st, (n+1)th, (2n+1)th, ... call of this call site (glog's
/// `LOG_EVERY_N`), with `"skipped" => n - 1` (0 on the first) saying how many calls were
/// not printed since the last printed one. Counted per process; `n` is a `u64`, 0 counts
/// as 1.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// for step in 0..1000u64 {
///     ranklog::debug_every_n!(log, 100, "step {}", step; "scope" => "global"); // 10 records
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! debug_every_n {
    ($log:expr, $n:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::EveryN, debug, $log, $n, $($args)+)
    };
}

/// Logs at debug level at most once per `interval` (a [`std::time::Duration`]) from this
/// call site (glog's `LOG_EVERY_T`), with `"skipped" => k` saying how many calls were not
/// printed since the last printed one. The first call prints.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// use std::time::Duration;
/// for token in 0..10_000u64 {
///     ranklog::debug_every!(log, Duration::from_secs(5), "decoding"; "token" => token);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! debug_every {
    ($log:expr, $interval:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::EveryInterval, debug, $log, $interval, $($args)+)
    };
}

/// Logs at debug level on the first `n` calls of this call site only (glog's
/// `LOG_FIRST_N`), each with `"skipped" => 0`. `n` is a `u64`.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// for request in 0..100u64 {
///     ranklog::debug_first_n!(log, 3, "warm-up request {}", request);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! debug_first_n {
    ($log:expr, $n:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::FirstN, debug, $log, $n, $($args)+)
    };
}

/// Logs at info level on the 1st, (n+1)th, (2n+1)th, ... call of this call site (glog's
/// `LOG_EVERY_N`), with `"skipped" => n - 1` (0 on the first) saying how many calls were
/// not printed since the last printed one. Counted per process; `n` is a `u64`, 0 counts
/// as 1.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// for step in 0..1000u64 {
///     ranklog::info_every_n!(log, 100, "step {}", step; "scope" => "global"); // 10 records
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! info_every_n {
    ($log:expr, $n:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::EveryN, info, $log, $n, $($args)+)
    };
}

/// Logs at info level at most once per `interval` (a [`std::time::Duration`]) from this
/// call site (glog's `LOG_EVERY_T`), with `"skipped" => k` saying how many calls were not
/// printed since the last printed one. The first call prints.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// use std::time::Duration;
/// for token in 0..10_000u64 {
///     ranklog::info_every!(log, Duration::from_secs(5), "decoding"; "token" => token);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! info_every {
    ($log:expr, $interval:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::EveryInterval, info, $log, $interval, $($args)+)
    };
}

/// Logs at info level on the first `n` calls of this call site only (glog's
/// `LOG_FIRST_N`), each with `"skipped" => 0`. `n` is a `u64`.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// for request in 0..100u64 {
///     ranklog::info_first_n!(log, 3, "warm-up request {}", request);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! info_first_n {
    ($log:expr, $n:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::FirstN, info, $log, $n, $($args)+)
    };
}

/// Logs at warning level on the 1st, (n+1)th, (2n+1)th, ... call of this call site (glog's
/// `LOG_EVERY_N`), with `"skipped" => n - 1` (0 on the first) saying how many calls were
/// not printed since the last printed one. Counted per process; `n` is a `u64`, 0 counts
/// as 1.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// for step in 0..1000u64 {
///     ranklog::warn_every_n!(log, 100, "step {}", step; "scope" => "global"); // 10 records
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! warn_every_n {
    ($log:expr, $n:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::EveryN, warn, $log, $n, $($args)+)
    };
}

/// Logs at warning level at most once per `interval` (a [`std::time::Duration`]) from this
/// call site (glog's `LOG_EVERY_T`), with `"skipped" => k` saying how many calls were not
/// printed since the last printed one. The first call prints.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// use std::time::Duration;
/// for token in 0..10_000u64 {
///     ranklog::warn_every!(log, Duration::from_secs(5), "decoding"; "token" => token);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! warn_every {
    ($log:expr, $interval:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::EveryInterval, warn, $log, $interval, $($args)+)
    };
}

/// Logs at warning level on the first `n` calls of this call site only (glog's
/// `LOG_FIRST_N`), each with `"skipped" => 0`. `n` is a `u64`.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// for request in 0..100u64 {
///     ranklog::warn_first_n!(log, 3, "warm-up request {}", request);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! warn_first_n {
    ($log:expr, $n:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::FirstN, warn, $log, $n, $($args)+)
    };
}

/// Logs at error level on the 1st, (n+1)th, (2n+1)th, ... call of this call site (glog's
/// `LOG_EVERY_N`), with `"skipped" => n - 1` (0 on the first) saying how many calls were
/// not printed since the last printed one. Counted per process; `n` is a `u64`, 0 counts
/// as 1.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// for step in 0..1000u64 {
///     ranklog::error_every_n!(log, 100, "step {}", step; "scope" => "global"); // 10 records
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! error_every_n {
    ($log:expr, $n:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::EveryN, error, $log, $n, $($args)+)
    };
}

/// Logs at error level at most once per `interval` (a [`std::time::Duration`]) from this
/// call site (glog's `LOG_EVERY_T`), with `"skipped" => k` saying how many calls were not
/// printed since the last printed one. The first call prints.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// use std::time::Duration;
/// for token in 0..10_000u64 {
///     ranklog::error_every!(log, Duration::from_secs(5), "decoding"; "token" => token);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! error_every {
    ($log:expr, $interval:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::EveryInterval, error, $log, $interval, $($args)+)
    };
}

/// Logs at error level on the first `n` calls of this call site only (glog's
/// `LOG_FIRST_N`), each with `"skipped" => 0`. `n` is a `u64`.
///
/// # Examples
///
/// ```
/// # let guard = ranklog::Builder::new().no_console().build()?;
/// # let log = guard.logger();
/// for request in 0..100u64 {
///     ranklog::error_first_n!(log, 3, "warm-up request {}", request);
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
#[macro_export]
macro_rules! error_first_n {
    ($log:expr, $n:expr, $($args:tt)+) => {
        $crate::__rate_limited!($crate::__private::FirstN, error, $log, $n, $($args)+)
    };
}

/// Shared body of the rate-limit macros: one static state per call site.
#[doc(hidden)]
#[macro_export]
macro_rules! __rate_limited {
    ($state:ty, $level:ident, $log:expr, $limit:expr, $($args:tt)+) => {{
        static SITE: $state = <$state>::new();
        if let ::core::option::Option::Some(skipped) = SITE.tick($limit) {
            let log = $crate::__private::with_skipped(&$log, skipped);
            $crate::__private::slog::$level!(log, $($args)+);
        }
    }};
}
