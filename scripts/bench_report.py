#!/usr/bin/env python3
"""Writes the side-by-side benchmark's report from its JSON lines (scripts/bench.sh).

    python3 scripts/bench_report.py RESULTS.jsonl -o target/bench/report.md \
        [--command "scripts/bench.sh"] [--criterion target/bench/criterion.txt]

One table per case with a row per peer, each figure's ratio to ranklog, then the issue's
targets with the measured value and whether each is met. Standard library only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

PEERS = ["ranklog", "slog-async", "tracing", "tracing-ranklog", "python", "ranklog-python"]
MIB = 1024 * 1024

# (key, title); the key is the run's tag, else its case number.
TABLES = [
    ("1", "Case 1: a record gated out by its own scope (rank 1 of 4, scope global)"),
    ("2", "Case 2: the same through a logger bound to the scope at creation"),
    ("3", "Case 3: a level-disabled record (debug under info)"),
    ("4", "Case 4: an accepted record with 3 key-values to the JSONL file, caller's thread"),
    ("5", "Case 5: sustained throughput to the JSONL file, blocking policy"),
    ("5-burst", "Case 5, burst: peak RSS while logging a burst of records as fast as possible"),
    ("6", "Case 6: the console path (to a file standing in for stderr), same record as 4"),
    ("7", "Case 7: the *_once path after its first hit"),
]


def key(row):
    return row.get("tag") or str(row["case"])


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                print(f"bench_report: {path}:{n}: not JSON ({e}); skipped", file=sys.stderr)
    return rows


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt_num(x, digits):
    if x is None:
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def fmt_ns(x):
    if x is None:
        return "–"
    return fmt_num(x, 1 if x >= 10 else 2)


def fmt_ratio(x):
    if x is None:
        return "–"
    return f"{x:,.1f}×" if x >= 10 else f"{x:.2f}×"


def ratio(a, b):
    """a ÷ b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(rows, with_threads):
    head = ["peer"] + (["threads"] if with_threads else []) + [
        "p50 ns",
        "p99 ns",
        "records/s",
        "MB/s on disk",
        "lost",
        "peak RSS MiB",
        "allocs/call",
        "p50: peer ÷ ranklog",
        "records/s: ranklog ÷ peer",
    ]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = {r["threads"]: r for r in rows if r["peer"] == "ranklog"}
    order = {p: i for i, p in enumerate(PEERS)}
    for r in sorted(rows, key=lambda r: (r["threads"], order.get(r["peer"], 99))):
        b = base.get(r["threads"], {})
        cells = [r["peer"]] + ([str(r["threads"])] if with_threads else [])
        bps = r.get("bytes_per_s")
        rss = r.get("peak_rss_bytes")
        cells += [
            fmt_ns(r.get("p50_ns")),
            fmt_ns(r.get("p99_ns")),
            fmt_num(r.get("records_per_s"), 0),
            fmt_num(bps / 1e6 if bps is not None else None, 1),
            "–" if r.get("lost") is None else str(r["lost"]),
            fmt_num(rss / MIB if rss is not None else None, 1),
            fmt_num(r.get("allocs_per_call"), 2),
            fmt_ratio(ratio(r.get("p50_ns"), b.get("p50_ns"))),
            fmt_ratio(ratio(b.get("records_per_s"), r.get("records_per_s"))),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def find(rows, peer, k, threads=1):
    for r in rows:
        if r["peer"] == peer and key(r) == k and r["threads"] == threads:
            return r
    return None


def targets(rows):
    """(target, measured, status) for each target of the issue."""
    out = []

    def get(k, field, peer="ranklog", threads=1):
        r = find(rows, peer, k, threads)
        return None if r is None else r.get(field)

    def check(name, value, ok, shown):
        if value is None:
            out.append((name, "not measured", "not measured"))
        else:
            out.append((name, shown, "met" if ok else "missed"))

    allocs = [get(c, "allocs_per_call") for c in ("1", "2", "3")]
    have = None if None in allocs else allocs
    check(
        "Cases 1-3: no heap allocation on the caller's thread",
        have,
        have is not None and all(a == 0 for a in have),
        have and " / ".join(f"{a:g}" for a in have) + " allocations per call",
    )
    for c, limit in (("1", 40), ("2", 5), ("3", 5)):
        p50 = get(c, "p50_ns")
        check(f"Case {c}: p50 ≤ {limit} ns", p50, p50 is not None and p50 <= limit,
              p50 is not None and f"{fmt_ns(p50)} ns")
    p50 = get("4", "p50_ns")
    check("Case 4: p50 ≤ 250 ns on the caller's thread", p50,
          p50 is not None and p50 <= 250, p50 is not None and f"{fmt_ns(p50)} ns")
    tr = get("4", "p50_ns", "tracing")
    r = ratio(p50, tr)
    check("Case 4: p50 ≤ half of tracing's (same run)", r, r is not None and r <= 0.5,
          r is not None and f"{fmt_ns(p50)} ns vs tracing {fmt_ns(tr)} ns: {r:.2f} of it")
    py = get("4", "p50_ns", "python")
    r = ratio(py, p50)
    check("Case 4: ≥ 20× faster than Python's p50", r, r is not None and r >= 20,
          r is not None and f"Python {fmt_ns(py)} ns ÷ {fmt_ns(p50)} ns = {r:,.1f}×")
    # ranklog's Python package (peer ranklog-python) against Python's logging.
    rp, py = get("4", "p50_ns", "ranklog-python"), get("4", "p50_ns", "python")
    r = ratio(rp, py)
    check("Python, case 4: ranklog's handler ≤ 1/3 of FileHandler's p50", r,
          r is not None and r <= 1 / 3,
          r is not None and f"{fmt_ns(rp)} ns vs FileHandler {fmt_ns(py)} ns: {r:.2f} of it")
    rp, py = get("1", "p50_ns", "ranklog-python"), get("1", "p50_ns", "python")
    r = ratio(rp, py)
    check("Python, case 1: gated out ≤ 1/4 of a logging.Filter's p50", r,
          r is not None and r <= 1 / 4,
          r is not None and f"{fmt_ns(rp)} ns vs Filter {fmt_ns(py)} ns: {r:.2f} of it")
    rps = get("5", "records_per_s")
    check("Case 5: ≥ 2 M records/s with one producer", rps,
          rps is not None and rps >= 2e6, rps is not None and f"{rps / 1e6:.2f} M records/s")
    lost = [(key(r), r["threads"], r["lost"]) for r in rows
            if r["peer"] == "ranklog" and r["case"] == 5 and r.get("lost") is not None]
    check("Case 5: no record lost (every ranklog run of case 5)", lost or None,
          bool(lost) and all(n == 0 for _, _, n in lost),
          lost and ", ".join(f"{k} ({t} thr.): {n}" for k, t, n in lost))
    burst = find(rows, "ranklog", "5-burst")
    rss = None if burst is None else burst.get("peak_rss_bytes")
    check("Peak RSS under a 10 M-record burst ≤ 64 MiB", rss,
          rss is not None and rss <= 64 * MIB,
          rss is not None and f"{rss / MIB:.1f} MiB ({burst['records']:,} records)")
    if burst is not None and burst["records"] < 10_000_000 and out[-1][2] != "not measured":
        name, value, status = out[-1]
        out[-1] = (name, value, f"{status}, but with fewer than 10 M records (--quick?)")
    return out


def criterion_lines(path):
    if not path or not os.path.exists(path):
        return []
    lines = []
    with open(path, encoding="utf-8", errors="replace") as f:
        name = None
        for line in f:
            m = re.match(r"^(\S+/\S+)\s*(time:.*)?$", line.rstrip())
            if m and m.group(1):
                name = m.group(1)
            t = re.search(r"time:\s*\[.*\]", line)
            if t and name:
                lines.append(f"{name:<50} {t.group(0)}")
                name = None
            elif line.startswith("cargo bench --bench") and "failed" in line:
                lines.append(line.rstrip())
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("-o", "--output", default="target/bench/report.md")
    parser.add_argument("--command", default="scripts/bench.sh")
    parser.add_argument("--criterion", help="cargo bench's output, to quote")
    args = parser.parse_args()

    rows = load(args.results)
    rev = run(["git", "rev-parse", "--short", "HEAD"])
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"])
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    md = [
        "# ranklog side by side: ranklog, slog + slog-async, tracing, Python logging",
        "",
        f"- date: {now}",
        f"- commit: {rev}{' (with uncommitted changes)' if dirty and dirty != 'unknown' else ''}",
        f"- CPU: {cpu_model()}, nproc {os.cpu_count()}",
        f"- {run(['rustc', '--version'])}; Python {platform.python_version()}",
        f"- command: `{args.command}`",
        "",
        "Every (peer, case) ran in its own process, one after the other, on this machine. "
        "Cases 1-3 and 7: per-call cost from timed blocks of 1000 calls, p50/p99 over the "
        "blocks. Cases 4 and 6: each call timed on its own with the timer's measured "
        "overhead subtracted, in bursts of 1024 records (fewer than any peer's queue), "
        "each burst then written out before the next; records/s and MB/s there are over "
        "those bursts until written. Case 5: wall time from the first record until "
        "everything was in the file; lost = records − lines. allocs/call counts heap "
        "allocations on the caller's thread (Rust peers). See docs/bench.md.",
        "",
        "Ratios: `p50: peer ÷ ranklog` and `records/s: ranklog ÷ peer`, so above 1× "
        "ranklog is faster, below 1× the peer is. `–`: does not apply or not measured.",
    ]
    seen = set()
    for k, title in TABLES:
        group = [r for r in rows if key(r) == k]
        if not group:
            continue
        seen.add(k)
        md += ["", f"## {title}", ""]
        md += table(group, with_threads=k.startswith("5"))
        md.append("")
        order = {p: i for i, p in enumerate(PEERS)}
        group.sort(key=lambda r: (order.get(r["peer"], 99), r["threads"]))
        methods = {}
        for r in group:
            if r.get("method") and r["method"] != "n/a":
                methods.setdefault(r["method"], []).append(r["peer"])
        for method, peers in methods.items():
            md.append(f"- Method ({', '.join(dict.fromkeys(peers))}): {method}.")
        notes = {}
        for r in group:
            unit = "records" if r["case"] in (4, 5, 6) else "calls"
            runs = notes.setdefault((r["peer"], r.get("notes", "")), [])
            runs.append(f"{r['records']:,} {unit}"
                        + (f", {r['threads']} thread(s)" if k.startswith("5") else ""))
        for (peer, text), runs in notes.items():
            md.append(f"- {peer} ({'; '.join(runs)}): {text}")
    extra = sorted({key(r) for r in rows} - seen)
    if extra:
        md += ["", f"Rows with unknown tags, not shown: {', '.join(extra)}"]

    md += ["", "## Targets (issue 7, this machine)", "",
           "| target | measured (ranklog) | status |", "|---|---|---|"]
    for name, value, status in targets(rows):
        md.append(f"| {name} | {value} | {status} |")

    crit = criterion_lines(args.criterion)
    if crit:
        md += ["", "## Criterion (cargo bench)", "", "```text", *crit, "```"]

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
