//! Percentiles, medians and the straggler rule.

use super::{RankSummary, Straggler, StragglerKind, SummaryOptions};

/// The `p`-th percentile (0 < p <= 100) of `sorted` by the nearest-rank method: the
/// smallest value with at least p % of the values at or below it. `NaN` when empty.
///
/// # Examples
///
/// ```
/// use ranklog::analyze::percentile;
/// let ms = [10.0, 20.0, 30.0, 40.0];
/// assert_eq!((percentile(&ms, 50.0), percentile(&ms, 90.0)), (20.0, 40.0));
/// ```
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median (mean of the middle two for an even count); `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// A rank's figure that the straggler rule compares, milliseconds.
type Figure = fn(&RankSummary) -> Option<f64>;

/// Ranks whose load time or median latency is more than `straggler_ratio` times the
/// median of the ranks and more than the floor above it; needs at least two ranks.
pub(super) fn stragglers(ranks: &[RankSummary], options: &SummaryOptions) -> Vec<Straggler> {
    let mut out = Vec::new();
    let checks: [(StragglerKind, f64, Figure); 2] = [
        (StragglerKind::ModelLoad, options.load_floor_ms, |r| {
            r.load.map(|l| l.ms)
        }),
        (StragglerKind::Latency, options.latency_floor_ms, |r| {
            r.inference.map(|i| i.p50_ms)
        }),
    ];
    for (kind, floor, value) in checks {
        let values: Vec<(u32, f64)> = ranks
            .iter()
            .filter_map(|r| value(r).map(|v| (r.rank, v)))
            .collect();
        if values.len() < 2 {
            continue;
        }
        let mut all: Vec<f64> = values.iter().map(|&(_, v)| v).collect();
        let Some(median_ms) = median(&mut all) else {
            continue;
        };
        let mut slow: Vec<Straggler> = values
            .into_iter()
            .filter(|&(_, ms)| ms > median_ms * options.straggler_ratio && ms - median_ms > floor)
            .map(|(rank, ms)| Straggler {
                rank,
                kind,
                ms,
                median_ms,
            })
            .collect();
        slow.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        out.extend(slow);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_pick_a_value_of_the_set() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 1.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }

    fn rank(rank: u32, load_ms: f64, p50_ms: f64) -> RankSummary {
        RankSummary {
            rank,
            host: String::new(),
            levels: Default::default(),
            first_us: 0,
            last_us: 0,
            load: Some(super::super::LoadSummary {
                loads: 1,
                ms: load_ms,
                bytes: None,
                gb_per_s: None,
            }),
            inference: Some(super::super::InferenceSummary {
                requests: 1,
                p50_ms,
                p90_ms: p50_ms,
                p99_ms: p50_ms,
                tokens_per_s: None,
            }),
            log_stats: None,
        }
    }

    #[test]
    fn a_straggler_is_over_the_ratio_and_over_the_floor() {
        let options = SummaryOptions::default();
        let ranks = [
            rank(0, 1000.0, 10.0),
            rank(1, 1010.0, 10.0),
            rank(2, 1100.0, 16.0), // 1.6x the latency median but only 6 ms above: kept
            rank(3, 1600.0, 10.0), // 1.58x the load median and 595 ms above: straggler
            rank(4, 990.0, 30.0),  // 3x the latency median, 20 ms above: straggler
        ];
        let found: Vec<_> = stragglers(&ranks, &options)
            .iter()
            .map(|s| (s.rank, s.kind))
            .collect();
        assert_eq!(
            found,
            [
                (3, StragglerKind::ModelLoad),
                (4, StragglerKind::Latency),
                (2, StragglerKind::Latency)
            ]
        );
        let strict = SummaryOptions {
            latency_floor_ms: 8.0,
            ..options
        };
        assert_eq!(
            stragglers(&ranks, &strict).len(),
            2,
            "the floor spares rank 2"
        );
        assert!(
            stragglers(&ranks[..1], &options).is_empty(),
            "one rank has no median"
        );
    }
}
