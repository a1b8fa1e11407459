//! A record this rank does not print (scope gated out, level disabled, module filtered)
//! costs no heap allocation on the caller's thread; nor does an accepted record, once the
//! thread and the queue have been used, and from a new logger's start while the writer
//! keeps up (the queue's slots are made warm when it starts).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ranklog::{Builder, RankInfo, Scope};
use slog::{debug, info, o};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted: only the caller's thread is measured
    /// (the test harness and the writer thread allocate on their own).
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(|c| c.get()).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: defers every call to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is process-wide: tests that count take turns.
static COUNTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Allocations made by this thread during 1000 calls of `f`.
fn allocations_during(f: impl Fn()) -> usize {
    f(); // warm up thread-locals outside the count
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTED.with(|c| c.set(true));
    for _ in 0..1000 {
        f();
    }
    COUNTED.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn gated_out_scoped_and_level_disabled_records_allocate_nothing() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    // Rank 1 of 4, second on its node: prints neither global nor local records.
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 4, 1, 2).unwrap())
        .filter("info,noisy_dependency=error")
        .unwrap()
        .console_writer(std::io::sink())
        .build()
        .unwrap();
    let log = guard.logger();
    let bound = log.new(o!("scope" => "local", "model" => "llama"));
    let n = 3u64;

    let on_record = allocations_during(|| {
        info!(log, "loaded {} shards", n; "scope" => "global", "bytes" => n, "ms" => 1.5, "name" => "w");
    });
    let typed = allocations_during(|| {
        info!(log, "loaded"; "scope" => Scope::Local, "bytes" => n);
    });
    let on_logger = allocations_during(|| {
        info!(bound, "loaded {}", n; "bytes" => n);
    });
    let disabled = allocations_during(|| {
        debug!(log, "step {}", n; "bytes" => n);
    });
    let module_filtered = allocations_during(|| {
        let noisy = slog::RecordLocation {
            file: file!(),
            line: line!(),
            column: 0,
            function: "",
            module: "noisy_dependency::pool",
        };
        let rs = slog::RecordStatic {
            location: &noisy,
            tag: "",
            level: slog::Level::Info,
        };
        log.log(&slog::Record::new(&rs, &format_args!("idle"), slog::b!()));
    });
    drop(guard);
    assert_eq!(
        (on_record, typed, on_logger, disabled, module_filtered),
        (0, 0, 0, 0, 0),
        "allocations per 1000 gated-out records: record scope, typed scope, logger scope, \
         level-disabled, module-filtered"
    );
}

/// Rank 0 of 4 logging to a fresh directory (named after `name`) with a queue of
/// `queue_len` records, the console to nowhere.
fn file_logger(name: &str, queue_len: usize) -> (std::path::PathBuf, ranklog::Guard) {
    let dir = std::env::temp_dir().join(format!("ranklog-alloc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 4, 0, 2).unwrap())
        .console_writer(std::io::sink())
        .dir(&dir)
        .queue_len(queue_len)
        .unwrap()
        .build()
        .unwrap();
    (dir, guard)
}

/// The accepted record these tests log: a formatted message and 4 key-values.
fn accepted_record(log: &slog::Logger) {
    info!(log, "loaded {} shards", 7u64; "scope" => "global", "bytes" => 1u64, "ms" => 1.5, "name" => "w");
}

/// How many of [`accepted_record`]'s records rank 0's file in `dir` holds; removes `dir`.
fn accepted_records_written(dir: &std::path::Path) -> usize {
    let lines = std::fs::read_to_string(dir.join("rank-00000.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("loaded 7 shards"))
        .count();
    let _ = std::fs::remove_dir_all(dir);
    lines
}

#[test]
fn accepted_records_allocate_only_until_the_thread_and_queue_are_warm() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let (dir, guard) = file_logger("warm", 64);
    let log = guard.logger();
    let record = || accepted_record(&log);
    // A fresh thread's first record fills fresh buffers: proof that the counter sees the
    // pipeline's allocations on this thread.
    let cold = std::thread::scope(|s| {
        s.spawn(|| {
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            COUNTED.with(|c| c.set(true));
            record();
            COUNTED.with(|c| c.set(false));
            ALLOCATIONS.load(Ordering::Relaxed) - before
        })
        .join()
        .unwrap()
    });
    // Warm: every slot of the queue has held a record of this size.
    for _ in 0..5000 {
        record();
    }
    assert!(guard.flush(std::time::Duration::from_secs(5)));
    let warm = allocations_during(record);
    drop(guard);
    let lines = accepted_records_written(&dir);
    assert!(
        cold >= 1,
        "a cold thread's first record allocated {cold} times"
    );
    assert_eq!(warm, 0, "allocations per 1000 accepted records once warm");
    assert_eq!(
        lines,
        1 + 5000 + 1001,
        "every accepted record is in the file"
    );
}

#[test]
fn a_new_loggers_records_allocate_nothing_past_the_threads_first_batch() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    // A queue of 256: two batches of 64 boxes (the writer is woken at 64 and takes at most
    // 64) start warm. Batches of 16, with the logger's own start records before the first,
    // never reach past them, so no box sized by another record (a cold one, added past the
    // warm ones) comes round.
    let (dir, guard) = file_logger("new", 256);
    let log = guard.logger();
    let record = || accepted_record(&log);
    // Batches of 16 while the writer keeps up (nothing waits when the next 16 come); the
    // thread's first batch fills its own fresh buffers and is not counted. Without warm
    // slots, the next batches' records would grow fresh slots' buffers.
    let mut counted = 0;
    for batch in 0..100 {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        COUNTED.with(|c| c.set(batch > 0));
        for _ in 0..16 {
            record();
        }
        COUNTED.with(|c| c.set(false));
        counted += ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert!(guard.flush(std::time::Duration::from_secs(5)));
    }
    drop(guard);
    let lines = accepted_records_written(&dir);
    assert_eq!(
        counted, 0,
        "allocations in a new logger's records 17 to 1600"
    );
    assert_eq!(lines, 1600, "every record is in the file");
}

/// The same for `tracing` events through the layer (feature `tracing`): gated out by their
/// own scope or their span's, level-disabled, or filtered by target.
#[cfg(feature = "tracing")]
#[test]
fn gated_out_and_disabled_tracing_events_allocate_nothing() {
    use tracing_subscriber::layer::SubscriberExt;

    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 4, 1, 2).unwrap())
        .filter("info,noisy_dependency=error")
        .unwrap()
        .console_writer(std::io::sink())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        let n = 3u64;
        let own_scope = allocations_during(|| {
            tracing::info!(
                bytes = n,
                ms = 1.5,
                scope = "global",
                name = "w",
                "loaded {} shards",
                n
            );
        });
        assert_eq!(own_scope, 0, "gated out by its own scope");
        let span = tracing::info_span!("load", scope = "local", model = "llama");
        let span_scope = allocations_during(|| {
            let _in = span.enter();
            tracing::info!(bytes = n, "shard {} ready", n);
        });
        assert_eq!(span_scope, 0, "gated out by its span's scope");
        let disabled = allocations_during(|| tracing::debug!(bytes = n, "step {}", n));
        assert_eq!(disabled, 0, "level-disabled");
        let filtered = allocations_during(|| {
            tracing::warn!(target: "noisy_dependency::pool", bytes = n, "retry {}", n);
        });
        assert_eq!(filtered, 0, "filtered by its target");
    });
    drop(guard);
}
