//! Reading a job's per-rank JSONL files back: merge, collapse, summary and plot (feature
//! `cli`). The `ranklog` command is a thin front end over this module.
