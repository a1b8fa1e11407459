//! The `ranklog` command: one readable story from a job's per-rank logs.

fn main() {}
