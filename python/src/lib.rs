//! `ranklog._ranklog`: the Rust half of the `ranklog` Python package.
//!
//! Python's `logging` makes the records; this module hands them to ranklog's pipeline as
//! slog records (the way slog-stdlog hands over the `log` crate's: a [`RecordStatic`]
//! borrowed for the call, its file and module interned), so they pass the same gate,
//! queue, console line, per-rank JSONL file and crash-safe ring as a Rust program's. The
//! logger, its writer thread and the GPU sampler are ranklog's; none of them takes the GIL.
//! `ranklog/__init__.py` is the Python face: the handler, the logger class, `*_once`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use slog::{BorrowedKV, Drain, Key, Level, Logger, Record, RecordLocation, RecordStatic, KV};

create_exception!(
    _ranklog,
    ConfigError,
    PyValueError,
    "A launcher or RANKLOG_* variable (or an install() argument) that ranklog cannot use; the message names it and its value."
);

/// The running logger's guard: dropped by `shutdown()` (at interpreter exit), which writes
/// out every queued record.
static GUARD: Mutex<Option<ranklog::Guard>> = Mutex::new(None);

/// The running logger; it stays after `shutdown()` (records then go straight to the sinks).
static LOGGER: RwLock<Option<Logger>> = RwLock::new(None);

/// Most distinct texts interned ([`intern`]); past it, new file names, modules and keys are
/// written as [`OTHER`], so a program that makes up keys cannot grow memory without bound.
const INTERN_MAX: usize = 16_384;

/// What a text past [`INTERN_MAX`] is written as.
const OTHER: &str = "<other>";

/// File names, module names and key-value keys seen so far: slog wants them `'static`, and
/// a program has a bounded number of each.
static INTERNED: Mutex<Option<HashMap<String, &'static str>>> = Mutex::new(None);

/// Interns `text` in `map` (see [`INTERNED`]).
fn intern(map: &mut HashMap<String, &'static str>, text: &str) -> &'static str {
    if let Some(s) = map.get(text) {
        return s;
    }
    if map.len() >= INTERN_MAX {
        return OTHER;
    }
    let s: &'static str = Box::leak(text.to_owned().into_boxed_str());
    map.insert(text.to_owned(), s);
    s
}

/// A Python logging level number as a slog level: `logging.CRITICAL` (50) and above is
/// critical, 40 error, 30 warning, 20 info, 10 debug, below 10 trace.
fn level_of(levelno: i64) -> Level {
    match levelno {
        50.. => Level::Critical,
        40..=49 => Level::Error,
        30..=39 => Level::Warning,
        20..=29 => Level::Info,
        10..=19 => Level::Debug,
        _ => Level::Trace,
    }
}

/// The Python level number of a slog level (trace is 5, below `logging.DEBUG`).
fn levelno_of(level: Level) -> i64 {
    match level {
        Level::Critical => 50,
        Level::Error => 40,
        Level::Warning => 30,
        Level::Info => 20,
        Level::Debug => 10,
        Level::Trace => 5,
    }
}

/// One `extra` value, converted while the GIL is held.
enum Val {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Null,
}

impl Val {
    /// A JSON scalar as itself (an int too large for 64 bits as its decimal text); `None`
    /// for anything else (see [`text_of`]).
    fn of(value: &Bound<'_, PyAny>) -> PyResult<Option<Val>> {
        Ok(Some(if value.is_none() {
            Val::Null
        } else if let Ok(b) = value.cast::<PyBool>() {
            Val::Bool(b.is_true())
        } else if value.is_instance_of::<PyInt>() {
            match value.extract::<i64>() {
                Ok(n) => Val::I64(n),
                Err(_) => match value.extract::<u64>() {
                    Ok(n) => Val::U64(n),
                    Err(_) => Val::Str(value.str()?.to_cow()?.into_owned()),
                },
            }
        } else if let Ok(f) = value.cast::<PyFloat>() {
            Val::F64(f.value())
        } else if let Ok(s) = value.cast::<PyString>() {
            Val::Str(s.to_cow()?.into_owned())
        } else {
            return Ok(None);
        }))
    }
}

/// A value that is not a JSON scalar, as text: a list, tuple or dict as its JSON text
/// (`json.dumps(value, default=str)`: non-serializable parts as `str()`), anything else,
/// or a container `json.dumps` refuses (a circular one, non-text keys), as its `str()`.
fn text_of(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = value.py();
    if value.is_instance_of::<PyList>()
        || value.is_instance_of::<PyTuple>()
        || value.is_instance_of::<PyDict>()
    {
        let kwargs = PyDict::new(py);
        kwargs.set_item("default", py.get_type::<PyString>())?;
        if let Ok(text) = py
            .import("json")
            .and_then(|json| json.getattr("dumps"))
            .and_then(|dumps| dumps.call((value,), Some(&kwargs)))
        {
            return Ok(text.str()?.to_cow()?.into_owned());
        }
    }
    Ok(value.str()?.to_cow()?.into_owned())
}

/// A record's key-values, in the order given.
struct Pairs(Vec<(Key, Val)>);

impl KV for Pairs {
    fn serialize(&self, _: &Record<'_>, s: &mut dyn slog::Serializer) -> slog::Result {
        for (key, val) in &self.0 {
            match val {
                Val::Str(v) => s.emit_str(key, v)?,
                Val::I64(v) => s.emit_i64(key, *v)?,
                Val::U64(v) => s.emit_u64(key, *v)?,
                Val::F64(v) => s.emit_f64(key, *v)?,
                Val::Bool(v) => s.emit_bool(key, *v)?,
                Val::Null => s.emit_none(key)?,
            }
        }
        Ok(())
    }
}

/// The running logger, or a Python error saying `install()` comes first.
fn logger() -> PyResult<Logger> {
    LOGGER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .ok_or_else(|| {
            PyRuntimeError::new_err("ranklog is not installed: call ranklog.install() first")
        })
}

/// Who this process is in the job: the rank discovered from the launcher's variables.
#[pyclass(frozen, get_all, module = "ranklog")]
struct RankInfo {
    /// Rank of this process in the job, `0..size`.
    rank: u32,
    /// Number of processes in the job (the world size).
    size: u32,
    /// Rank among the job's processes on this node (0 when the launcher does not say).
    local_rank: u32,
    /// Number of the job's processes on this node; `None` when the launcher does not say.
    local_size: Option<u32>,
    /// Host name of this node.
    host: String,
    /// The launcher whose variables gave the rank (`"open-mpi"`, `"torchrun"`, `"slurm"`,
    /// `"single"`, ...), as written in the JSONL files.
    launcher: &'static str,
}

#[pymethods]
impl RankInfo {
    fn __repr__(&self) -> String {
        format!(
            "RankInfo(rank={}, size={}, local_rank={}, local_size={}, host={:?}, launcher={:?})",
            self.rank,
            self.size,
            self.local_rank,
            self.local_size
                .map_or_else(|| "None".to_owned(), |n| n.to_string()),
            self.host,
            self.launcher
        )
    }
}

impl From<&ranklog::RankInfo> for RankInfo {
    fn from(info: &ranklog::RankInfo) -> RankInfo {
        RankInfo {
            rank: info.rank,
            size: info.size,
            local_rank: info.local_rank,
            local_size: info.local_size,
            host: info.host.clone(),
            launcher: info.source.as_str(),
        }
    }
}

fn config_error(e: &ranklog::Error) -> PyErr {
    ConfigError::new_err(e.to_string())
}

/// Builds the logger from the `RANKLOG_*` and launcher variables (`level`, a Python level
/// number, and `dir` override `RANKLOG_LEVEL` and `RANKLOG_DIR`) and returns this rank's
/// identity and the most verbose Python level the logger passes. A second call returns the
/// running logger's.
#[pyfunction]
#[pyo3(signature = (level=None, dir=None))]
fn start(
    py: Python<'_>,
    level: Option<i64>,
    dir: Option<std::path::PathBuf>,
) -> PyResult<(RankInfo, i64)> {
    let mut guard = GUARD.lock().unwrap_or_else(PoisonError::into_inner);
    if guard.is_none() {
        let mut builder = ranklog::Builder::from_env().map_err(|e| config_error(&e))?;
        if let Some(l) = level {
            builder = builder.level(level_of(l));
        }
        if let Some(d) = dir {
            builder = builder.dir(d);
        }
        // Building starts the writer and GPU threads and may open files: no GIL needed.
        let built = py
            .detach(move || builder.build())
            .map_err(|e| config_error(&e))?;
        *LOGGER.write().unwrap_or_else(PoisonError::into_inner) = Some(built.logger());
        *guard = Some(built);
    }
    let g = guard.as_ref().expect("set above");
    let log = g.logger();
    let most_verbose = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warning,
        Level::Error,
    ]
    .into_iter()
    .find(|&l| log.is_enabled(l))
    .unwrap_or(Level::Critical);
    Ok((RankInfo::from(g.rank_info()), levelno_of(most_verbose)))
}

/// This rank's identity: the running logger's, else discovered now from the launcher's
/// variables.
#[pyfunction]
fn rank_info() -> PyResult<RankInfo> {
    if let Some(g) = GUARD
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        return Ok(RankInfo::from(g.rank_info()));
    }
    ranklog::RankInfo::from_env()
        .map(|i| RankInfo::from(&i))
        .map_err(|e| config_error(&e))
}

/// Logs one record: `levelno` (Python's), the logger's `name` (the record's module, which
/// `RANKLOG_FILTER` matches), `file` and `line` of the call, the formatted `msg`, and the
/// `extra` key-values (`scope` among them; keys that are not text are left out). JSON
/// scalars keep their type (an int beyond 64 bits becomes its digits, as text); other
/// values are written as text ([`text_of`]).
/// Returns `False` (logging nothing) when no logger runs in this process: before
/// `install()`, or in a child forked after it.
#[pyfunction]
#[pyo3(signature = (levelno, name, file, line, msg, extra=None))]
fn log(
    levelno: i64,
    name: &Bound<'_, PyString>,
    file: &Bound<'_, PyString>,
    line: u32,
    msg: &Bound<'_, PyString>,
    extra: Option<&Bound<'_, PyDict>>,
) -> PyResult<bool> {
    let Some(log) = LOGGER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
    else {
        return Ok(false);
    };
    let name = name.to_cow()?;
    let file = file.to_cow()?;
    let mut raw = Vec::new();
    if let Some(extra) = extra {
        raw.reserve(extra.len());
        for (k, v) in extra.iter() {
            let Ok(k) = k.cast_into::<PyString>() else {
                continue;
            };
            let v = match Val::of(&v)? {
                Some(v) => v,
                None => Val::Str(text_of(&v)?),
            };
            raw.push((k, v));
        }
    }
    let (module, file, pairs) = {
        let mut interned = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
        let map = interned.get_or_insert_with(HashMap::new);
        let module = intern(map, &name);
        let file = intern(map, &file);
        let mut pairs = Vec::with_capacity(raw.len());
        for (k, v) in raw {
            pairs.push((intern(map, &k.to_cow()?), v));
        }
        (module, file, pairs)
    };
    let msg = msg.to_cow()?;
    let location = RecordLocation {
        file,
        line,
        column: 0,
        function: "",
        module,
    };
    let rs = RecordStatic {
        location: &location,
        tag: "",
        level: level_of(levelno),
    };
    let pairs = Pairs(pairs);
    log.log(&Record::new(
        &rs,
        &format_args!("{msg}"),
        BorrowedKV(&pairs),
    ));
    Ok(true)
}

/// In a child forked after `install()` (`os.register_at_fork`): the parent's writer, GPU
/// and signal threads did not come along, so its logger is forgotten here without being
/// touched (dropping it would wait for threads that do not exist). The child logs nothing
/// through ranklog until it calls `install()` again.
#[pyfunction]
fn forget_after_fork() {
    // A lock held by another of the parent's threads at the fork is never released here:
    // then the logger stays, unused (the Python side no longer reaches it either way).
    if let Ok(mut guard) = GUARD.try_lock() {
        std::mem::forget(guard.take());
    }
    if let Ok(mut log) = LOGGER.try_write() {
        *log = None;
    }
}

/// Whether the running logger keeps a record at `levelno` with scope text `scope` on this
/// rank ([`ranklog::keeps`]); `True` before `install()`.
#[pyfunction]
fn keeps(levelno: i64, scope: &str) -> bool {
    ranklog::keeps(level_of(levelno), scope)
}

/// Writes out every queued record, waiting at most `timeout_s` seconds without the GIL;
/// whether everything was written in time.
#[pyfunction]
#[pyo3(signature = (timeout_s=1.0))]
fn flush(py: Python<'_>, timeout_s: f64) -> bool {
    let timeout = Duration::try_from_secs_f64(timeout_s.max(0.0)).unwrap_or(Duration::MAX);
    py.detach(|| ranklog::flush(timeout))
}

/// Drops the guard (without the GIL): every queued record is written, the GPU sampler
/// logs its summary and stops, the final `log_stats` record is written. Records logged
/// afterwards go straight to the sinks.
#[pyfunction]
fn shutdown(py: Python<'_>) {
    let guard = GUARD.lock().unwrap_or_else(PoisonError::into_inner).take();
    py.detach(move || drop(guard));
}

/// A model shard being loaded (`ranklog.events().model_load(...)`); logs its `model_load`
/// record when finished or failed.
#[pyclass(module = "ranklog")]
struct ModelLoad {
    load: Mutex<Option<ranklog::ModelLoad>>,
}

#[pymethods]
impl ModelLoad {
    /// Logs the load as done (ms, bytes, GB/s, GPU memory change); returns its seconds.
    fn finish(&self) -> Option<f64> {
        let load = self
            .load
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        load.map(|l| l.finish().as_secs_f64())
    }

    /// Logs the load as failed with `error`, at error level.
    fn fail(&self, error: &str) {
        if let Some(l) = self
            .load
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            l.fail(&error);
        }
    }

    /// Corrects the byte count, when it is known only once loaded.
    fn set_bytes(&self, bytes: u64) {
        if let Some(l) = self
            .load
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            l.set_bytes(bytes);
        }
    }
}

/// The running logger's events, their records carrying `module`.
fn events(module: &str) -> PyResult<(Logger, ranklog::Events)> {
    let log = logger()?;
    let events = GUARD
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(ranklog::Guard::events)
        .unwrap_or_default();
    let mut interned = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
    let module = intern(interned.get_or_insert_with(HashMap::new), module);
    Ok((log, events.module(module)))
}

/// Starts timing the load of shard `shard` of model `name`, `bytes` long
/// (`ranklog::Events::model_load`; the GPU round it takes runs without the GIL).
#[pyfunction]
fn model_load(
    py: Python<'_>,
    module: &str,
    name: String,
    shard: u32,
    bytes: u64,
) -> PyResult<ModelLoad> {
    let (log, events) = events(module)?;
    let load = py.detach(move || events.model_load(&log, name, shard, bytes));
    Ok(ModelLoad {
        load: Mutex::new(Some(load)),
    })
}

/// Logs one served request (`ranklog::Events::inference`): `request` an int or a text,
/// times in seconds.
#[pyfunction]
#[pyo3(signature = (module, request, prompt_tokens, completion_tokens, latency_s, ttft_s=None))]
fn inference(
    module: &str,
    request: &Bound<'_, PyAny>,
    prompt_tokens: u64,
    completion_tokens: u64,
    latency_s: f64,
    ttft_s: Option<f64>,
) -> PyResult<()> {
    let seconds = |what: &str, s: f64| {
        Duration::try_from_secs_f64(s).map_err(|_| {
            PyValueError::new_err(format!(
                "invalid {what}={s}: expected seconds, a finite number >= 0"
            ))
        })
    };
    let request = match request.extract::<u64>() {
        Ok(n) => ranklog::RequestId::Number(n),
        Err(_) => ranklog::RequestId::Text(request.str()?.to_cow()?.into_owned()),
    };
    let mut served = ranklog::Inference::new(
        request,
        prompt_tokens,
        completion_tokens,
        seconds("latency_s", latency_s)?,
    );
    if let Some(t) = ttft_s {
        served = served.ttft(seconds("ttft_s", t)?);
    }
    let (log, events) = events(module)?;
    events.inference(&log, &served);
    Ok(())
}

#[pymodule]
fn _ranklog(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add_class::<RankInfo>()?;
    m.add_class::<ModelLoad>()?;
    m.add_function(wrap_pyfunction!(start, m)?)?;
    m.add_function(wrap_pyfunction!(rank_info, m)?)?;
    m.add_function(wrap_pyfunction!(log, m)?)?;
    m.add_function(wrap_pyfunction!(keeps, m)?)?;
    m.add_function(wrap_pyfunction!(flush, m)?)?;
    m.add_function(wrap_pyfunction!(shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(forget_after_fork, m)?)?;
    m.add_function(wrap_pyfunction!(model_load, m)?)?;
    m.add_function(wrap_pyfunction!(inference, m)?)?;
    Ok(())
}
