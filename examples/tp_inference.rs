//! Tensor-parallel inference under MPI, logged with ranklog: real file I/O, real arithmetic,
//! real collectives, and a console that reads like one program.
//!
//! One run:
//!
//! 1. **Weights.** Rank 0 writes a deterministic weight file (`--layers` matrices of
//!    `--hidden` × `--hidden` little-endian `f32` behind a small header), unless `--model`
//!    names a file that exists; the other ranks wait for it.
//! 2. **Load.** Every rank reads its column shard of every layer (a seek and a read per
//!    row) and logs it; all-reduces give the total and name the slowest rank.
//! 3. **Serve.** `--requests` requests, each a short prompt and `--tokens` generated tokens.
//!    The layers are row-parallel: rank `p` holds columns `c0..c1` of each `W`, computes
//!    the partial product `W[:, c0..c1] · x[c0..c1]` (a full-length vector), and an
//!    all-reduce (sum) hands every rank `y = W · x`; `tanh` follows, then the next layer.
//!    The next token is the argmax of the last layer's output (the vocabulary has `hidden`
//!    tokens), so every rank must pick the same one: a checksum of each completion is
//!    compared across ranks, and a disagreement is an error.
//!
//! ```text
//! cargo build --release --features mpi --example tp_inference
//! mpirun -np 4 target/release/examples/tp_inference --dir /tmp/tp-logs
//! RANKLOG_LEVEL=debug mpirun -np 4 target/release/examples/tp_inference   # per-rank timings
//! ```
//!
//! On the console, `global` records print once (rank 0), `local` records once per node and
//! `process` records on every rank; at info level only the shard loads are per rank. With
//! `--dir` (or `RANKLOG_DIR`) each rank's `rank-NNNNN.jsonl` keeps every record, whatever
//! its scope. Across nodes, `--model` must name a file that every rank can read (a shared
//! file system); by default the weights go to the log directory, else the temp directory.

use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use clap::Parser;
use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::topology::{Communicator, SimpleCommunicator};
use ranklog::{Events, Inference, RankInfo, Scope};
use slog::{debug, error, info, o, warn, Logger};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Tensor-parallel inference under MPI, logged with ranklog")]
struct Args {
    /// Weight file; rank 0 writes it when it does not exist. Default: `tp_model.bin` in the
    /// log directory, else in the temp directory (always rewritten).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Number of layers.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    layers: u32,
    /// Hidden size, also the vocabulary size; must be divisible by the number of ranks.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65536))]
    hidden: u32,
    /// Number of requests to serve.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    requests: u32,
    /// Tokens generated per request.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    tokens: u32,
    /// Directory for the per-rank JSONL files (default: `RANKLOG_DIR`, else console only).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the weights, embeddings and prompts.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    // The application owns MPI: ranklog only reads the communicator, once.
    let universe = mpi::initialize().context("MPI is already initialized")?;
    let world = universe.world();
    let info = RankInfo::from_mpi(&world)?;
    let mut builder = ranklog::Builder::from_env()?.rank_info(info);
    if let Some(dir) = &args.dir {
        builder = builder.dir(dir);
    }
    // A rank whose logger fails (say, a log directory it cannot create) must not leave the
    // others waiting in the next collective.
    let guard = agree(
        &world,
        builder.build().map_err(Into::into),
        "start its logger",
    )?;
    let log = guard.logger();
    let log_dir = guard.log_file().and_then(Path::parent).map(Path::to_owned);

    let events = guard.events();
    let code = match run(
        &log,
        &events,
        &world,
        guard.rank_info(),
        &args,
        log_dir.as_deref(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&log, &err);
            ExitCode::FAILURE
        }
    };
    // Flush every record while MPI is still up; `universe` finalizes MPI when it drops.
    drop(guard);
    Ok(code)
}

/// The whole job, after the logger is up: weights, shard load, serving.
fn run(
    log: &Logger,
    events: &Events,
    world: &SimpleCommunicator,
    info: &RankInfo,
    args: &Args,
    log_dir: Option<&Path>,
) -> Result<()> {
    // Child loggers carry the scope: records through `global` print on rank 0 only, those
    // through `node_log` on the first rank of each node, those through `log` on every rank.
    let global = log.new(o!("scope" => Scope::Global));
    let node_log = log.new(o!("scope" => Scope::Local));
    let shape = Shape {
        layers: args.layers,
        hidden: args.hidden,
    };
    ensure!(
        args.hidden.is_multiple_of(info.size),
        "--hidden {} is not divisible by the world size {}: each rank holds hidden / world size \
         columns of every layer",
        args.hidden,
        info.size
    );
    let node = world.split_shared(world.rank());

    let path = model_path(args.model.as_deref(), log_dir);
    let prepared = if info.is_global_first() {
        prepare_model(&path, shape, args.seed, args.model.is_some())
    } else {
        Ok(Prepared::ByRankZero)
    };
    // Doubles as the barrier: no rank reads before rank 0 has written and synced.
    match agree(world, prepared, "prepare the weight file")? {
        Prepared::Written(io) => info!(global, "weights written";
            "kind" => "model_write", "path" => %path.display(), "bytes" => io.bytes,
            "ms" => ms(io.elapsed), "mb_per_s" => io.rate(1e6), "layers" => shape.layers,
            "hidden" => shape.hidden),
        Prepared::Reused(seed) => info!(global, "weights reused";
            "kind" => "model_reuse", "path" => %path.display(), "seed" => seed,
            "layers" => shape.layers, "hidden" => shape.hidden),
        Prepared::ByRankZero => {}
    }

    let cols = column_range(shape.hidden, info.rank, info.size);
    // The `model_load` record: duration, GB/s and, on a rank that samples GPUs, the change
    // of GPU memory across the load.
    let shard_log = log.new(o!("layers" => shape.layers,
        "columns" => format!("{}..{}", cols.start, cols.end)));
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let load = events.model_load(&shard_log, name, info.rank, shard_bytes(shape, &cols));
    let loaded = load_shard(&path, shape, cols);
    match &loaded {
        Ok(_) => drop(load.finish()),
        Err(err) => load.fail(&format!("{err:#}")),
    }
    let (shard, io) = agree(world, loaded, "load its shard")?;
    log_load_summary(&global, &node_log, world, &node, info, &io);

    let serving = serve(log, &global, events, world, &shard, args);
    log_serve_summary(&global, &node_log, world, &node, info, &serving);
    ensure!(
        serving.disagreements == 0,
        "ranks disagreed on {} of {} completions",
        serving.disagreements,
        args.requests
    );
    Ok(())
}

/// Logs a failure: the rank at fault at error level (printed by every rank that has one);
/// the ranks that stop because of it at global scope, so the console names it once.
fn report(log: &Logger, err: &anyhow::Error) {
    match err.downcast_ref::<OtherRankFailed>() {
        Some(other) => warn!(log, "{}", other;
            "scope" => Scope::Global, "kind" => "stopped", "failed_rank" => other.rank),
        None => error!(log, "{:#}", err; "kind" => "failed"),
    }
}

// ---------------------------------------------------------------------------------------
// Collective error handling
// ---------------------------------------------------------------------------------------

/// Another rank failed a step that every rank finishes together; that rank logged why.
#[derive(Debug)]
struct OtherRankFailed {
    rank: i32,
    step: &'static str,
}

impl fmt::Display for OtherRankFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stopping: rank {} failed to {}", self.rank, self.step)
    }
}

impl std::error::Error for OtherRankFailed {}

/// Makes a per-rank result collective (`MPI_Allreduce`, min of the failing ranks): every
/// rank learns whether all succeeded, so none waits forever in a later collective for a
/// rank that gave up. A rank that succeeded gets [`OtherRankFailed`] naming the first one
/// that did not.
fn agree<C: Communicator, T>(comm: &C, result: Result<T>, step: &'static str) -> Result<T> {
    let mine = if result.is_ok() {
        i32::MAX
    } else {
        comm.rank()
    };
    let mut first_failed = i32::MAX;
    comm.all_reduce_into(&mine, &mut first_failed, SystemOperation::min());
    match result {
        Ok(_) if first_failed != i32::MAX => Err(OtherRankFailed {
            rank: first_failed,
            step,
        }
        .into()),
        result => result,
    }
}

// ---------------------------------------------------------------------------------------
// The weight file
// ---------------------------------------------------------------------------------------

/// First bytes of a weight file.
const MAGIC: [u8; 8] = *b"RLTPWGT1";
/// Header: magic, layers (`u32`), hidden (`u32`), seed (`u64`), little-endian.
const HEADER_BYTES: u64 = 24;
/// Scale of the weights relative to unit variance: above 1, so that the signal survives
/// many `tanh` layers instead of fading to zero.
const WEIGHT_GAIN: f32 = 1.5;

/// The model's dimensions: `layers` matrices of `hidden × hidden`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    layers: u32,
    hidden: u32,
}

impl Shape {
    fn file_bytes(self) -> u64 {
        HEADER_BYTES + u64::from(self.layers) * u64::from(self.hidden).pow(2) * 4
    }
}

/// What rank 0 did about the weight file.
enum Prepared {
    /// Wrote it (with these I/O figures).
    Written(Io),
    /// Found a valid one at `--model` (written with this seed).
    Reused(u64),
    /// Nothing: this is not rank 0.
    ByRankZero,
}

/// Bytes moved and the time spent in I/O calls.
struct Io {
    bytes: u64,
    elapsed: Duration,
}

impl Io {
    /// Throughput in `unit`s of bytes per second (1e6: MB/s, 1e9: GB/s), 3 decimals.
    fn rate(&self, unit: f64) -> f64 {
        round3(self.bytes as f64 / unit / self.elapsed.as_secs_f64().max(1e-9))
    }
}

fn model_path(model: Option<&Path>, log_dir: Option<&Path>) -> PathBuf {
    match (model, log_dir) {
        (Some(path), _) => path.to_owned(),
        (None, Some(dir)) => dir.join("tp_model.bin"),
        (None, None) => std::env::temp_dir().join("ranklog_tp_model.bin"),
    }
}

/// Rank 0: reuses `path` when the user named it and it exists (after checking its header),
/// else writes it.
fn prepare_model(path: &Path, shape: Shape, seed: u64, named: bool) -> Result<Prepared> {
    if named && path.exists() {
        let mut file = open(path)?;
        let seed = read_header(&mut file, path, shape)?;
        return Ok(Prepared::Reused(seed));
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let written = write_model(&tmp, shape, seed)
        .and_then(|io| {
            fs::rename(&tmp, path)
                .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
                .map(|()| io)
        })
        .map(Prepared::Written);
    if written.is_err() {
        // Best effort: the error being reported matters more than a leftover file.
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Writes the header and `layers × hidden × hidden` weights, uniform in ±gain·√(3/hidden)
/// (variance gain²/hidden), then syncs. Times only the writes and the sync.
fn write_model(path: &Path, shape: Shape, seed: u64) -> Result<Io> {
    let context = || format!("cannot write weight file {}", path.display());
    let file = File::create(path).with_context(context)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut elapsed = Duration::ZERO;
    let mut timed = |out: &mut BufWriter<File>, bytes: &[u8]| {
        let start = Instant::now();
        let result = out.write_all(bytes);
        elapsed += start.elapsed();
        result.with_context(context)
    };

    let mut header = Vec::with_capacity(HEADER_BYTES as usize);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&shape.layers.to_le_bytes());
    header.extend_from_slice(&shape.hidden.to_le_bytes());
    header.extend_from_slice(&seed.to_le_bytes());
    timed(&mut out, &header)?;

    let hidden = shape.hidden as usize;
    let scale = WEIGHT_GAIN * (3.0 / hidden as f32).sqrt();
    let mut rng = SplitMix64::stream(seed, Stream::Weights);
    let mut row = Vec::with_capacity(hidden * 4);
    for _ in 0..shape.layers as usize * hidden {
        row.clear();
        for _ in 0..hidden {
            row.extend_from_slice(&(scale * rng.next_signed()).to_le_bytes());
        }
        timed(&mut out, &row)?;
    }

    let start = Instant::now();
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(context)?;
    file.sync_all().with_context(context)?;
    elapsed += start.elapsed();
    Ok(Io {
        bytes: shape.file_bytes(),
        elapsed,
    })
}

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("cannot open weight file {}", path.display()))
}

/// Checks the magic, the shape and the file's length; returns the seed it was written with.
fn read_header(file: &mut File, path: &Path, shape: Shape) -> Result<u64> {
    let mut header = [0u8; HEADER_BYTES as usize];
    file.read_exact(&mut header)
        .with_context(|| format!("cannot read the header of {}", path.display()))?;
    let (magic, rest) = header.split_at(8);
    ensure!(
        magic == MAGIC,
        "{} is not a tp_inference weight file (magic {:?}, expected {:?})",
        path.display(),
        magic.escape_ascii().to_string(),
        MAGIC.escape_ascii().to_string()
    );
    let u32_at = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    let found = Shape {
        layers: u32_at(0),
        hidden: u32_at(4),
    };
    ensure!(
        found == shape,
        "{} holds {} layers of hidden size {}, but --layers {} --hidden {} were asked; pass \
         those, or another --model",
        path.display(),
        found.layers,
        found.hidden,
        shape.layers,
        shape.hidden
    );
    let len = file
        .metadata()
        .with_context(|| format!("cannot stat {}", path.display()))?
        .len();
    ensure!(
        len == shape.file_bytes(),
        "{} is {} bytes long, but its header promises {} (a truncated or still-written file?)",
        path.display(),
        len,
        shape.file_bytes()
    );
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&rest[8..16]);
    Ok(u64::from_le_bytes(seed))
}

/// The columns `rank` holds: an equal, contiguous share of `0..hidden`.
fn column_range(hidden: u32, rank: u32, size: u32) -> Range<usize> {
    let width = (hidden / size) as usize;
    let start = rank as usize * width;
    start..start + width
}

/// One rank's share of the weights: columns `cols` of every layer.
struct Shard {
    cols: Range<usize>,
    /// Per layer, the `hidden × cols.len()` block `W[:, cols]`, row-major.
    layers: Vec<Vec<f32>>,
}

/// Bytes of the weights a rank holding columns `cols` reads.
fn shard_bytes(shape: Shape, cols: &Range<usize>) -> u64 {
    u64::from(shape.layers) * u64::from(shape.hidden) * cols.len() as u64 * 4
}

/// Reads columns `cols` of every layer: per row of each matrix, one seek and one read of
/// `cols.len()` floats.
fn load_shard(path: &Path, shape: Shape, cols: Range<usize>) -> Result<(Shard, Io)> {
    let start = Instant::now();
    let mut file = open(path)?;
    read_header(&mut file, path, shape)?;
    let hidden = shape.hidden as u64;
    let mut row = vec![0u8; cols.len() * 4];
    let mut layers = Vec::with_capacity(shape.layers as usize);
    for layer in 0..u64::from(shape.layers) {
        let mut block = Vec::with_capacity(hidden as usize * cols.len());
        for i in 0..hidden {
            let offset = HEADER_BYTES + ((layer * hidden + i) * hidden + cols.start as u64) * 4;
            file.seek(SeekFrom::Start(offset))
                .and_then(|_| file.read_exact(&mut row))
                .with_context(|| {
                    format!(
                        "cannot read layer {layer}, row {i} of {} at byte {offset}",
                        path.display()
                    )
                })?;
            block.extend(
                row.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        layers.push(block);
    }
    let io = Io {
        bytes: shard_bytes(shape, &cols),
        elapsed: start.elapsed(),
    };
    Ok((Shard { cols, layers }, io))
}

/// After the load: the job's total and slowest rank (global), each node's share (local).
fn log_load_summary(
    global: &Logger,
    node_log: &Logger,
    world: &SimpleCommunicator,
    node: &SimpleCommunicator,
    info: &RankInfo,
    io: &Io,
) {
    let load_ms = ms(io.elapsed);
    let (mut slowest_ms, mut total_bytes, mut node_bytes) = (0.0f64, 0u64, 0u64);
    world.all_reduce_into(&load_ms, &mut slowest_ms, SystemOperation::max());
    world.all_reduce_into(&io.bytes, &mut total_bytes, SystemOperation::sum());
    node.all_reduce_into(&io.bytes, &mut node_bytes, SystemOperation::sum());
    // The slowest rank is the lowest one whose time is the maximum (an exact copy of it).
    let candidate = if load_ms == slowest_ms {
        world.rank()
    } else {
        i32::MAX
    };
    let mut slowest_rank = 0i32;
    world.all_reduce_into(&candidate, &mut slowest_rank, SystemOperation::min());

    let total_mib = mib(total_bytes);
    info!(global, "model loaded: {total_mib:.1} MiB in {} shards, slowest rank {slowest_rank} \
                   ({slowest_ms:.1} ms)", info.size;
        "kind" => "model_load_summary", "bytes" => total_bytes, "shards" => info.size,
        "slowest_rank" => slowest_rank, "slowest_ms" => slowest_ms,
        "gb_per_s" => round3(total_bytes as f64 / 1e9 / (slowest_ms / 1e3).max(1e-12)));
    info!(node_log, "node ready: {} ranks on {}, {:.1} MiB of shards",
        node.size(), info.host, mib(node_bytes);
        "kind" => "node_ready", "bytes" => node_bytes);
}

// ---------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------

/// Time one rank spent computing and in all-reduces.
#[derive(Clone, Copy, Debug, Default)]
struct Times {
    compute: Duration,
    allreduce: Duration,
    allreduces: u32,
}

/// The row-parallel model on one rank: its shard, the running state, scratch space.
struct Engine<'a, C> {
    comm: &'a C,
    shard: &'a Shard,
    seed: u64,
    /// The hidden state, identical on every rank; after a step, also the logits.
    state: Vec<f32>,
    /// This rank's partial product, summed across ranks by the all-reduce.
    partial: Vec<f32>,
    times: Times,
}

impl<'a, C: Communicator> Engine<'a, C> {
    fn new(comm: &'a C, shard: &'a Shard, hidden: usize, seed: u64) -> Self {
        Engine {
            comm,
            shard,
            seed,
            state: vec![0.0; hidden],
            partial: vec![0.0; hidden],
            times: Times::default(),
        }
    }

    /// Runs `prompt` through the model, then generates `n` tokens greedily; also returns
    /// when the first token was chosen.
    fn generate(&mut self, prompt: &[u32], n: usize) -> (Vec<u32>, Option<Instant>) {
        self.state.fill(0.0);
        for &token in prompt {
            self.step(token);
        }
        let mut completion = Vec::with_capacity(n);
        let mut first = None;
        for i in 0..n {
            let token = self.next_token();
            first.get_or_insert_with(Instant::now);
            completion.push(token);
            if i + 1 < n {
                self.step(token);
            }
        }
        (completion, first)
    }

    /// Feeds one token: `x = embed(token) + state / 2`, then every layer.
    fn step(&mut self, token: u32) {
        let start = Instant::now();
        let mut rng = SplitMix64::stream(self.seed, Stream::Embedding(token));
        for v in &mut self.state {
            *v = 0.5 * *v + rng.next_signed();
        }
        self.times.compute += start.elapsed();
        for layer in 0..self.shard.layers.len() {
            self.layer(layer);
        }
    }

    /// `state = tanh(W · state)`: this rank's columns, then an all-reduce (sum).
    fn layer(&mut self, layer: usize) {
        let start = Instant::now();
        let x = &self.state[self.shard.cols.clone()];
        let width = x.len();
        for (row, out) in self.shard.layers[layer]
            .chunks_exact(width)
            .zip(&mut self.partial)
        {
            *out = dot(row, x);
        }
        let reduce = Instant::now();
        self.comm.all_reduce_into(
            &self.partial[..],
            &mut self.state[..],
            SystemOperation::sum(),
        );
        let done = Instant::now();
        for v in &mut self.state {
            *v = v.tanh();
        }
        self.times.compute += (reduce - start) + done.elapsed();
        self.times.allreduce += done - reduce;
        self.times.allreduces += 1;
    }

    /// The argmax of the state (the lowest index on ties): the same on every rank.
    fn next_token(&self) -> u32 {
        let mut best = 0;
        for (i, v) in self.state.iter().enumerate() {
            if *v > self.state[best] {
                best = i;
            }
        }
        best as u32
    }
}

/// Dot product with eight independent sums, so that the compiler can vectorize it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            sums[k] += x[k] * y[k];
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// What serving measured on this rank.
struct Serving {
    /// Per request, in milliseconds.
    latencies_ms: Vec<f64>,
    prompt_tokens: u64,
    completion_tokens: u64,
    wall: Duration,
    times: Times,
    disagreements: u32,
}

/// Serves `args.requests` requests; logs each at global scope (an `inference` event, a
/// warning above `RANKLOG_SLOW_MS`), and this rank's timings for it at debug level.
fn serve(
    log: &Logger,
    global: &Logger,
    events: &Events,
    world: &SimpleCommunicator,
    shard: &Shard,
    args: &Args,
) -> Serving {
    let hidden = args.hidden as usize;
    let mut engine = Engine::new(world, shard, hidden, args.seed);
    let mut serving = Serving {
        latencies_ms: Vec::with_capacity(args.requests as usize),
        prompt_tokens: 0,
        completion_tokens: 0,
        wall: Duration::ZERO,
        times: Times::default(),
        disagreements: 0,
    };
    let started = Instant::now();
    for request in 0..args.requests {
        let before = engine.times;
        let start = Instant::now();
        let prompt = prompt(args.seed, request, args.hidden);
        let (completion, first_token) = engine.generate(&prompt, args.tokens as usize);
        let latency = start.elapsed();

        let checksum = fnv1a(&completion);
        if !ranks_agree(world, checksum) {
            serving.disagreements += 1;
            error!(log, "ranks disagree on the completion of request {}", request;
                "kind" => "inference_mismatch", "request" => request,
                "checksum" => format!("{checksum:016x}"));
        }
        let latency_ms = ms(latency);
        let mut served = Inference::new(
            request,
            prompt.len() as u64,
            completion.len() as u64,
            latency,
        );
        if let Some(first) = first_token {
            served = served.ttft(first - start);
        }
        events.inference(
            &global.new(o!("checksum" => format!("{checksum:016x}"))),
            &served,
        );
        debug!(log, "request {} timings", request;
            "scope" => Scope::Process, "kind" => "inference_rank", "request" => request,
            "compute_ms" => ms(engine.times.compute - before.compute),
            "allreduce_ms" => ms(engine.times.allreduce - before.allreduce),
            "allreduces" => engine.times.allreduces - before.allreduces);

        serving.latencies_ms.push(latency_ms);
        serving.prompt_tokens += prompt.len() as u64;
        serving.completion_tokens += completion.len() as u64;
    }
    serving.wall = started.elapsed();
    serving.times = engine.times;
    serving
}

/// Whether every rank holds the same `value` (min and max all-reduces).
fn ranks_agree<C: Communicator>(comm: &C, value: u64) -> bool {
    let (mut low, mut high) = (0u64, 0u64);
    comm.all_reduce_into(&value, &mut low, SystemOperation::min());
    comm.all_reduce_into(&value, &mut high, SystemOperation::max());
    low == high
}

/// A deterministic prompt of 4 to 8 tokens.
fn prompt(seed: u64, request: u32, vocab: u32) -> Vec<u32> {
    let mut rng = SplitMix64::stream(seed, Stream::Prompt(request));
    let len = 4 + request as usize % 5;
    (0..len)
        .map(|_| (rng.next_u64() % u64::from(vocab)) as u32)
        .collect()
}

/// After serving: latency and throughput (global), each node's compute and all-reduce time
/// (local).
fn log_serve_summary(
    global: &Logger,
    node_log: &Logger,
    world: &SimpleCommunicator,
    node: &SimpleCommunicator,
    info: &RankInfo,
    serving: &Serving,
) {
    let mut sorted = serving.latencies_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    let p50 = sorted[(sorted.len() - 1) / 2];
    let max = sorted[sorted.len() - 1];
    let wall_s = serving.wall.as_secs_f64();

    let mine = [ms(serving.times.compute), ms(serving.times.allreduce)];
    let (mut slowest, mut node_sum) = ([0.0f64; 2], [0.0f64; 2]);
    world.all_reduce_into(&mine[..], &mut slowest[..], SystemOperation::max());
    node.all_reduce_into(&mine[..], &mut node_sum[..], SystemOperation::sum());

    info!(global, "served {} requests: {} tokens in {:.2} s, {:.1} tokens/s",
        sorted.len(), serving.completion_tokens, wall_s,
        serving.completion_tokens as f64 / wall_s;
        "kind" => "inference_summary", "requests" => sorted.len(),
        "prompt_tokens" => serving.prompt_tokens,
        "completion_tokens" => serving.completion_tokens, "wall_ms" => ms(serving.wall),
        "mean_latency_ms" => round3(mean), "p50_latency_ms" => p50, "max_latency_ms" => max,
        "tokens_per_s" => round3(serving.completion_tokens as f64 / wall_s),
        "max_compute_ms" => slowest[0], "max_allreduce_ms" => slowest[1]);
    let ranks = f64::from(node.size());
    info!(node_log, "node done: {} ranks on {}, per rank {:.1} ms compute, {:.1} ms in \
                     all-reduce (mean)",
        node.size(), info.host, node_sum[0] / ranks, node_sum[1] / ranks;
        "kind" => "node_done", "mean_compute_ms" => round3(node_sum[0] / ranks),
        "mean_allreduce_ms" => round3(node_sum[1] / ranks));
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

/// The independent random streams of a run, all derived from `--seed`.
enum Stream {
    Weights,
    Embedding(u32),
    Prompt(u32),
}

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, the same on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn stream(seed: u64, stream: Stream) -> SplitMix64 {
        let id = match stream {
            Stream::Weights => 0,
            Stream::Embedding(token) => 1 << 32 | u64::from(token),
            Stream::Prompt(request) => 2 << 32 | u64::from(request),
        };
        // Mix the seed and the stream id, so that nearby seeds give unrelated streams.
        let mut mixer = SplitMix64(seed ^ id.wrapping_mul(0xD1B5_4A32_D192_ED03));
        SplitMix64(mixer.next_u64())
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`, from the top 24 bits.
    fn next_signed(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u32 << 23) as f32 - 1.0
    }
}

/// FNV-1a over the tokens' little-endian bytes: a cheap fingerprint of a completion.
fn fnv1a(tokens: &[u32]) -> u64 {
    tokens
        .iter()
        .flat_map(|t| t.to_le_bytes())
        .fold(0xCBF2_9CE4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
        })
}

/// A duration in milliseconds, to the microsecond.
fn ms(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1e3)
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}
