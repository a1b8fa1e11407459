#!/usr/bin/env python3
"""The Python peer of the side-by-side logging benchmark (scripts/bench.sh).

Python's `logging`, set up the way vLLM sets it up (vllm/logger.py): a console format with
asctime and file:line, a filter that checks the record's scope against the rank, and
`functools.lru_cache` behind `info_once`. Same cases and same JSON line as
`examples/bench_peers` (see docs/bench.md):

    python3 scripts/bench_peers.py --case 1..7 [--threads N] [--records N] --dir DIR

Standard library only. Python's logging is synchronous: the caller formats and writes.

With --ranklog (cases 1, 3, 4, 7; needs `pip install ./python`), the peer is instead
ranklog's Python package, peer "ranklog-python": the same calls on a `ranklog.Logger`
(`logging.setLoggerClass`) with ranklog's handler, gated by the Rust gate, written by the
Rust writer thread.
"""

import argparse
import functools
import json
import logging
import os
import resource
import socket
import sys
import threading
import time

BLOCK_CALLS = 1000  # calls per timed block (cases 1, 2, 3, 7)
BURST = 1024  # records per burst (cases 4, 6), as in the Rust harness
MARKER = b"decode"  # every benchmark record carries "phase": "decode" once
GATED = (1, 4, 1, 2)  # rank, size, local rank, local size: rank 1 of 4
ACCEPTED = (0, 4, 0, 2)  # rank 0 of 4

# vLLM's console format and date format (vllm/logger.py: _FORMAT, _DATE_FORMAT).
CONSOLE_FORMAT = "%(levelname)s %(asctime)s [%(filename)s:%(lineno)d] %(message)s"
DATE_FORMAT = "%m-%d %H:%M:%S"


class ScopeFilter(logging.Filter):
    """Drops records whose scope is not `process` on every rank but the first; errors
    always pass (vLLM's `_should_log_with_scope`, as a `logging.Filter`)."""

    def __init__(self, rank):
        super().__init__()
        self.rank = rank

    def filter(self, record):
        if self.rank == 0 or record.levelno >= logging.ERROR:
            return True
        return getattr(record, "scope", "process") == "process"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, msg, the rank identity, file, line and the
    record's key-values (passed through `extra=`)."""

    KEYS = ("loss", "tokens", "phase")

    def __init__(self, identity):
        super().__init__()
        rank, size, local_rank, local_size = identity
        self.identity = {
            "rank": rank,
            "size": size,
            "local_rank": local_rank,
            "local_size": local_size,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }

    def format(self, record):
        out = {
            "ts": self.formatTime(record),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
            **self.identity,
            "scope": getattr(record, "scope", "process"),
            "file": record.filename,
            "line": record.lineno,
        }
        for key in self.KEYS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        return json.dumps(out)


def make_logger(identity, handler, formatter):
    """A logger named `bench` with one handler, level info, the scope filter."""
    logger = logging.getLogger("bench")
    logger.handlers.clear()
    logger.filters.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    logger.addFilter(ScopeFilter(identity[0]))
    return logger


def console_formatter():
    return logging.Formatter(CONSOLE_FORMAT, datefmt=DATE_FORMAT)


def console_logger(identity, path):
    """Console-formatted records to `path`, a file standing in for stderr."""
    handler = logging.StreamHandler(open(path, "w", encoding="utf-8"))
    return make_logger(identity, handler, console_formatter()), handler


def written_exactly(path, expected):
    """Checks that exactly `expected` benchmark records reached `path` (cases 1-3: the
    timed records dropped, one control record logged afterwards printed)."""
    records, _ = count_records(path)
    if records != expected:
        sys.exit(f"{path} holds {records} benchmark records, expected {expected}: the "
                 "filter is not doing what this case measures")


# vLLM's info_once (vllm/logger.py): the scope check first, then an lru_cache'd print.
@functools.lru_cache
def _print_info_once(logger, msg, *args):
    logger.info(msg, *args, stacklevel=3)


def should_log_with_scope(rank, scope):
    return scope == "process" or rank == 0


def info_once(logger, rank, msg, *args, scope="process"):
    if not should_log_with_scope(rank, scope):
        return
    _print_info_once(logger, msg, *args)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    rank = -(-p * len(sorted_values) // 100)  # ceil
    return sorted_values[min(max(int(rank), 1), len(sorted_values)) - 1]


def blocks(calls, f):
    """p50/p99 over timed blocks of BLOCK_CALLS calls (loop overhead included)."""
    for i in range(BLOCK_CALLS):
        f(i)
    per_call = []
    for b in range(max(calls // BLOCK_CALLS, 1)):
        base = b * BLOCK_CALLS
        start = time.perf_counter_ns()
        for i in range(base, base + BLOCK_CALLS):
            f(i)
        per_call.append((time.perf_counter_ns() - start) / BLOCK_CALLS)
    per_call.sort()
    return percentile(per_call, 50), percentile(per_call, 99)


def timer_overhead_ns():
    samples = []
    clock = time.perf_counter_ns
    for _ in range(100_000):
        start = clock()
        samples.append(clock() - start)
    samples.sort()
    return samples[len(samples) // 2]


def per_call(records, f, flush):
    """Each call timed with perf_counter_ns, the timer's overhead subtracted; bursts of
    BURST, each followed by `flush` (a no-op in effect: the handler has written already)."""
    overhead = timer_overhead_ns()
    clock = time.perf_counter_ns
    samples = []
    busy = 0
    done = 0
    while done < records:
        burst = min(BURST, records - done)
        burst_start = clock()
        for i in range(done, done + burst):
            start = clock()
            f(i)
            samples.append(clock() - start)
        flush()
        busy += clock() - burst_start
        done += burst
    net = sorted(max(s - overhead, 0) for s in samples)
    return percentile(net, 50), percentile(net, 99), overhead, busy / 1e9


def count_records(path):
    records = size = 0
    with open(path, "rb") as f:
        for line in f:
            size += len(line)
            if MARKER in line:
                records += 1
    return records, size


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def run(args, report):
    n = args.records
    notes = []
    console = os.path.join(args.dir, "console.log")
    if args.case in (1, 2):
        logger, handler = console_logger(GATED, console)
        if args.case == 1:

            def call(i):
                logger.info(
                    "step %d",
                    i,
                    extra={"scope": "global", "loss": 0.25, "tokens": i, "phase": "decode"},
                )

            notes.append(
                "rank 1 of 4, console format to a file; extra={'scope': 'global', ...} on the "
                "call, a logging.Filter on the logger drops it (after makeRecord)."
            )
        else:
            bound = logging.LoggerAdapter(logger, {"scope": "global"})

            def call(i):
                bound.info("step %d", i, extra={"loss": 0.25, "tokens": i, "phase": "decode"})

            notes.append(
                "rank 1 of 4, console format to a file; a LoggerAdapter bound to scope global "
                "at creation (its extra replaces the call's), the same logging.Filter drops it."
            )
        report["p50_ns"], report["p99_ns"] = blocks(n, call)
        report["method"] = "blocks of 1000 calls timed with perf_counter_ns; p50/p99 over blocks"
        logger.info("control phase=decode", extra={"scope": "process"})
    elif args.case == 3:
        logger, handler = console_logger(ACCEPTED, console)

        def call(i):
            logger.debug("step %d", i, extra={"loss": 0.25, "tokens": i, "phase": "decode"})

        report["p50_ns"], report["p99_ns"] = blocks(n, call)
        report["method"] = "blocks of 1000 calls timed with perf_counter_ns; p50/p99 over blocks"
        notes.append(
            "rank 0 of 4, console format to a file; logger.debug under level INFO "
            "(isEnabledFor, cached per logger)."
        )
        logger.info("control phase=decode")
    elif args.case in (4, 6):
        if args.case == 4:
            path = os.path.join(args.dir, "python.jsonl")
            handler = logging.FileHandler(path, encoding="utf-8")
            logger = make_logger(ACCEPTED, handler, JsonFormatter(ACCEPTED))
            notes.append(
                "JSON formatter (json.dumps of ts, level, msg, identity, scope, file, line and "
                "the 3 key-values via extra=) into a FileHandler."
            )
        else:
            path = os.path.join(args.dir, "console.log")
            handler = logging.StreamHandler(open(path, "w", encoding="utf-8"))
            logger = make_logger(ACCEPTED, handler, console_formatter())
            notes.append(
                "vLLM's console format (levelname, asctime, [file:line], message) to a "
                "StreamHandler on a file standing in for stderr; the key-values are "
                "formatted into the message (the format prints the message alone)."
            )

        if args.case == 4:

            def call(i):
                logger.info("step %d", i, extra={"loss": 0.25, "tokens": i, "phase": "decode"})

        else:
            # The console format prints the message alone: the key-values go into it, as a
            # vLLM user writes them.
            def call(i):
                logger.info("step %d loss=%s tokens=%d phase=%s", i, 0.25, i, "decode")

        p50, p99, overhead, busy = per_call(n, call, handler.flush)
        handler.close()
        records, size = count_records(path)
        report.update(
            p50_ns=p50,
            p99_ns=p99,
            timer_overhead_ns=overhead,
            records_per_s=n / busy,
            bytes_per_s=size / busy,
            lost=n - records,
            wall_s=busy,
            method="each call timed with perf_counter_ns, timer overhead subtracted; bursts "
            "of 1024; records/s and bytes/s over the bursts",
        )
    elif args.case == 5:
        path = os.path.join(args.dir, "python.jsonl")
        handler = logging.FileHandler(path, encoding="utf-8")
        logger = make_logger(ACCEPTED, handler, JsonFormatter(ACCEPTED))
        threads = args.threads
        start_line = threading.Barrier(threads + 1)

        def produce(share):
            start_line.wait()
            for i in range(share):
                logger.info("step %d", i, extra={"loss": 0.25, "tokens": i, "phase": "decode"})

        shares = [n // threads + (1 if t < n % threads else 0) for t in range(threads)]
        workers = [threading.Thread(target=produce, args=(s,)) for s in shares]
        for w in workers:
            w.start()
        start_line.wait()
        start = time.perf_counter_ns()
        for w in workers:
            w.join()
        handler.close()
        wall = (time.perf_counter_ns() - start) / 1e9
        records, size = count_records(path)
        report.update(
            records_per_s=n / wall,
            bytes_per_s=size / wall,
            lost=n - records,
            wall_s=wall,
            method="wall time from the first record until the handler was closed; lost = "
            "records - lines in the file",
        )
        notes.append(
            "JSON formatter into a FileHandler, one file for all producers (the GIL and the "
            "handler's lock serialize them)."
        )
        notes.append(
            f"{n:,} records: scripts/bench.sh gives Python a tenth of the Rust peers' count "
            "to keep the run short; records/s is a rate, comparable with theirs."
        )
    elif args.case == 7:
        logger, handler = console_logger(ACCEPTED, console)
        info_once(logger, ACCEPTED[0], "using %s kernels", "flash")

        def call(_i):
            info_once(logger, ACCEPTED[0], "using %s kernels", "flash")

        report["p50_ns"], report["p99_ns"] = blocks(n, call)
        report["method"] = "blocks of 1000 calls timed with perf_counter_ns; p50/p99 over blocks"
        notes.append(
            "vLLM's info_once: scope check, then an lru_cache'd print; the first hit is "
            "printed before timing."
        )
    if args.case in (1, 2, 3):
        handler.close()
        written_exactly(console, 1)
        notes.append(
            "Checked after the run: none of the timed records reached the output, and a "
            "control record that should print did."
        )
    notes.append("Python logging is synchronous: the caller formats and writes each record.")
    report["notes"] = " ".join(notes)
    return report


def run_ranklog(args, report):
    """The ranklog-python rows: the same calls through ranklog's Python package."""
    identity = GATED if args.case == 1 else ACCEPTED
    rank, size, local_rank, local_size = identity
    # torchrun's variables give the identity; rank 0's console is muted but for errors
    # (RANKLOG_CONSOLE_RANKS lists another rank), so the file is the only output. Case 1:
    # the file keeps only what the console shows, so the record is dropped outright (with
    # the default RANKLOG_FILE_SCOPE=all, the file would keep it).
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(local_rank),
                      LOCAL_WORLD_SIZE=str(local_size), RANKLOG_CONSOLE_RANKS="last",
                      RANKLOG_GPU="off", RANKLOG_DIR=args.dir,
                      RANKLOG_FILE_SCOPE="gated" if args.case == 1 else "all")
    import ranklog  # noqa: PLC0415 (only this peer needs it)

    logging.setLoggerClass(ranklog.Logger)
    logger = logging.getLogger("bench")
    logger.propagate = False
    ranklog.install(level="INFO", logger=logger)
    n = args.records
    notes = []
    path = os.path.join(args.dir, f"rank-{rank:05d}.jsonl")
    if args.case == 1:

        def call(i):
            logger.info("step %d", i,
                        extra={"scope": "global", "loss": 0.25, "tokens": i, "phase": "decode"})

        notes.append("rank 1 of 4, RANKLOG_FILE_SCOPE=gated; extra={'scope': 'global', ...} "
                     "on the call: ranklog.Logger drops it before makeRecord (a cached "
                     "answer of the Rust gate).")
    elif args.case == 3:

        def call(i):
            logger.debug("step %d", i, extra={"loss": 0.25, "tokens": i, "phase": "decode"})

        notes.append("rank 0 of 4; logger.debug under level INFO (isEnabledFor).")
    elif args.case == 4:

        def call(i):
            logger.info("step %d", i, extra={"loss": 0.25, "tokens": i, "phase": "decode"})

        notes.append("ranklog.Logger with ranklog.Handler alone: no LogRecord; the message "
                     "is formatted and the record queued on the caller's thread, the Rust "
                     "writer thread writes the JSONL line.")
    else:
        ranklog.info_once(logger, "using %s kernels", "flash")

        def call(_i):
            ranklog.info_once(logger, "using %s kernels", "flash")

        notes.append("ranklog.info_once after its first hit: the scope (cached), then a set "
                     "look-up of (level, message, args).")
    if args.case == 4:
        p50, p99, overhead, busy = per_call(n, call, lambda: ranklog.flush(10.0))
        ranklog.flush(10.0)
        records, size = count_records(path)
        report.update(p50_ns=p50, p99_ns=p99, timer_overhead_ns=overhead,
                      records_per_s=n / busy, bytes_per_s=size / busy, lost=n - records,
                      wall_s=busy,
                      method="each call timed with perf_counter_ns, timer overhead "
                      "subtracted; bursts of 1024, each followed by ranklog.flush(); "
                      "records/s and bytes/s over the bursts")
    else:
        report["p50_ns"], report["p99_ns"] = blocks(n, call)
        report["method"] = "blocks of 1000 calls timed with perf_counter_ns; p50/p99 over blocks"
        if args.case in (1, 3):
            ranklog.flush(10.0)
            records, _ = count_records(path)
            if records != 0:
                sys.exit(f"{path} holds {records} benchmark records, expected none")
            notes.append("Checked after the run: none of the timed records reached the file.")
    report["peer"] = "ranklog-python"
    report["notes"] = " ".join(notes)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=int, required=True, choices=range(1, 8))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--records", type=int)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tag", help="a label copied into the JSON line (e.g. 5-burst)")
    parser.add_argument("--ranklog", action="store_true",
                        help="measure ranklog's Python package instead (cases 1, 3, 4, 7)")
    args = parser.parse_args()
    if args.ranklog and args.case not in (1, 3, 4, 7):
        parser.error("--ranklog runs cases 1, 3, 4 and 7")
    if args.records is None:
        args.records = {4: 100 * BURST, 6: 100 * BURST, 5: 200_000}.get(args.case, 1_000_000)
    os.makedirs(args.dir, exist_ok=True)
    report = {
        "peer": "python",
        "tag": args.tag,
        "case": args.case,
        "threads": args.threads if args.case == 5 else 1,
        "records": args.records,
        "p50_ns": None,
        "p99_ns": None,
        "records_per_s": None,
        "bytes_per_s": None,
        "lost": None,
        "peak_rss_bytes": None,
        "allocs_per_call": None,
        "timer_overhead_ns": None,
        "wall_s": None,
        "method": "",
        "notes": "",
    }
    report = run_ranklog(args, report) if args.ranklog else run(args, report)
    report["peak_rss_bytes"] = peak_rss_bytes()
    report["python"] = sys.version.split()[0]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
