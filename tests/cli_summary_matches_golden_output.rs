//! `ranklog summary` on the fixtures prints exactly the golden tables and JSON: per-rank
//! counts, load and latency figures, per-GPU figures per node, and the stragglers the
//! fixture was made with (rank 5 loads slowly, rank 2 serves slowly).
#![cfg(feature = "cli")]

mod cli_common;

use cli_common::{golden, ok};
use serde_json::Value;

const JOB8: &str = "tests/fixtures/job8";

#[test]
fn summary_tables_name_the_slow_ranks() {
    let out = ok(&["summary", "--utc", JOB8]);
    golden("job8.summary.txt", &out);
    assert!(out.contains("  rank 5: model load "), "{out}");
    assert!(out.contains("  rank 2: p50 latency "), "{out}");
    assert!(out.contains("  errors    ranks 3\n"), "{out}");
}

#[test]
fn summary_json_has_every_rank_gpu_and_straggler() {
    let out = ok(&["summary", "--json", JOB8]);
    golden("job8.summary.json", &out);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["job"]["world_size"], 8);
    assert_eq!(v["job"]["nodes"], serde_json::json!(["node-a", "node-b"]));
    assert_eq!(v["job"]["launcher"], "manual");
    assert_eq!(v["ranks"].as_array().unwrap().len(), 8);
    let rank5 = &v["ranks"][5];
    assert_eq!(rank5["model_load"]["bytes"], 268_435_456u64);
    assert!(rank5["model_load"]["ms"].as_f64().unwrap() >= 150.0);
    assert_eq!(v["ranks"][2]["inference"]["requests"], 10);
    let gpus = v["gpus"].as_array().unwrap();
    assert_eq!(gpus.len(), 4, "2 GPUs on each of 2 nodes");
    assert!(gpus.iter().all(|g| g["samples"].as_u64().unwrap() > 0));
    assert!(gpus.iter().all(|g| g["energy_j"].as_f64().unwrap() > 0.0));
    let stragglers: Vec<(u64, &str)> = v["stragglers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["rank"].as_u64().unwrap(), s["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(stragglers, [(5, "model_load"), (2, "latency")]);
    assert_eq!(v["warnings"], serde_json::json!([]));
}

#[test]
fn a_looser_straggler_rule_names_nobody() {
    let out = ok(&["summary", "--utc", "--straggler-ratio", "10", JOB8]);
    assert!(out.ends_with("  none\n"), "{out}");
}

#[test]
fn without_gpu_samples_the_gpu_table_says_so() {
    let out = ok(&["summary", "--utc", "tests/fixtures/nogpu"]);
    golden("nogpu.summary.txt", &out);
    assert!(out.contains("\nGPUs: none sampled (no kind=gpu records)\n"));
}
