#!/usr/bin/env bash
# The live view against a running job: RANKS ranks log RATE records a second each for
# SECONDS, while `ranklog merge --follow` shows them collapsed. Prints how far behind the
# shown lines were (the time a line reached this script minus the time of its first
# record), how many lines it showed, and the follower's CPU time.
#
#   bash scripts/bench_live.sh [RANKS] [RATE] [SECONDS]      # default: 64 20000 10
#   BENCH_LIVE_LOGGERS=1 bash scripts/bench_live.sh ...      # the ranks' loggers here too
#
# Issue 14's target: 64 ranks at 20,000 records/s each (1.28 M records/s), on this 2-core
# machine, the view never more than one window (1 s) behind. In a job the ranks log on
# other nodes: here a second of their lines is made first by the real logger
# (make_bench_logs) and then replayed into the followed directory at the rate, over and
# over, each line's time set as it is written (examples/replay_job.rs), so that the
# follower gets the CPU a launch node gives it. The directory is in /dev/shm (memory:
# about 0.4 GB a second at the default rate; BENCH_LIVE_DIR to change). With BENCH_LIVE_LOGGERS=1 the ranks' 64 loggers log at the rate on this machine
# instead (about 2 cores' worth of work here by themselves).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ranks=${1:-64} rate=${2:-20000} seconds=${3:-10}
say() { printf 'bench_live: %s\n' "$*" >&2; }

cargo build --quiet --release --features cli --bin ranklog --example make_bench_logs \
    --example replay_job
dir=$(mktemp -d "${BENCH_LIVE_DIR:-/dev/shm}/ranklog-live.XXXXXX")
work=$(mktemp -d)
trap 'rm -rf "$dir" "$work"' EXIT
records=$((rate * seconds))
say "$ranks ranks x $rate records/s for $seconds s ($((ranks * records)) records) in $dir"

# Each line the follower prints, with the time it arrived here.
cat >"$work/lag.py" <<'PY'
import calendar, sys, time
# Console lines: `LEVEL Mon DD HH:MM:SS.mmm [ranks ...] ...` (UTC with --utc). The day is
# parsed once per new date; the time of day by hand, so that this reader keeps up.
days, lags, lines = {}, [], 0
year = time.gmtime().tm_year
months = {m: i for i, m in enumerate(calendar.month_abbr) if m}
for raw in sys.stdin.buffer:
    now = time.time()
    lines += 1
    if lines % 4 or raw[25:33] != b"[ranks 0":
        continue
    date = raw[5:11]
    day = days.get(date)
    if day is None:
        mon, dd = date.split()
        day = days[date] = calendar.timegm((year, months[mon.decode()], int(dd), 0, 0, 0))
    try:
        h, m, s = int(raw[12:14]), int(raw[15:17]), float(raw[18:24])
    except ValueError:
        continue
    lags.append(now - (day + h * 3600 + m * 60 + s))
lags.sort()
pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] if lags else float("nan")
print(f"lines {lines}; of every 4th line tagged [ranks 0...], {len(lags)} measured")
print(f"behind, s: p50 {pick(0.5):.3f}  p99 {pick(0.99):.3f}  max {pick(1.0):.3f}")
PY
mkfifo "$work/fifo"
python3 "$work/lag.py" <"$work/fifo" >"$work/lag.out" &
lagger=$!
if [[ ${BENCH_LIVE_LOGGERS:-0} == 1 ]]; then
    target/release/examples/make_bench_logs "$dir" "$ranks" "$records" "$rate" >"$work/gen.out" &
else
    target/release/examples/make_bench_logs "$dir.src" "$ranks" "${rate%.*}" >/dev/null
    trap 'rm -rf "$dir" "$dir.src" "$work"' EXIT
    target/release/examples/replay_job "$dir.src" "$dir" "$rate" "$seconds" >"$work/gen.out" &
fi
gen=$!
# The follower starts once every file is there (it reads each from its start).
while (($(find "$dir" -name '*.jsonl' | wc -l) < ranks)); do sleep 0.05; done
target/release/ranklog merge --follow --utc --color never "$dir" \
    >"$work/fifo" 2>"$work/follow.err" &
follower=$!
start=$(date +%s.%N)
wait "$gen"
gen_s=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
sleep 2
read -r utime stime < <(awk '{print $14, $15}' "/proc/$follower/stat")
kill -INT "$follower"
wait "$follower" || true
wait "$lagger"
tick=$(getconf CLK_TCK)
say "writers done in ${gen_s} s after the follower started: $(cat "$work/gen.out")"
say "$(awk -v u="$utime" -v s="$stime" -v t="$tick" \
    'BEGIN { printf "follower CPU: %.2f s user, %.2f s system", u / t, s / t }')"
if [[ -s $work/follow.err ]]; then cat "$work/follow.err" >&2; fi
cat "$work/lag.out"
