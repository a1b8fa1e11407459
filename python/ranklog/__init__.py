"""Rank-aware logging for distributed Python jobs (mpirun, srun, torchrun, vLLM workers).

ranklog finds this process's rank from the launcher's variables, gates records by scope
so a job of many ranks reads like one program, prints one console line per record with
the rank tag, writes one JSONL file per rank (``RANKLOG_DIR``), and samples the GPUs on a
thread of its own. It is the Rust crate ``ranklog`` under Python's :mod:`logging`::

    import logging, ranklog

    ranklog.install()                               # root logger; RANKLOG_* variables
    log = logging.getLogger(__name__)
    log.info("model loaded", extra={"scope": "global", "bytes": 1 << 30})
    log.info("shard ready", extra={"scope": "local"})      # once per node
    log.error("never gated", extra={"scope": "global"})    # errors print on every rank
    ranklog.info_once(log, "using %s kernels", "flash")    # once per process

Scopes (``extra={"scope": ...}``): ``process`` (default, every rank), ``local`` (the first
rank of each node), ``global`` (rank 0), ``group:NAME``, ``ranks:0,3-5,last``. Records at
error level and above print on every rank. Every other ``extra`` field is a key-value of
the record's JSONL line. ``docs/python.md`` in the repository has the details.
"""

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading

from ranklog import _ranklog as _rl
from ranklog._ranklog import ConfigError, ModelLoad, RankInfo

__all__ = [
    "ConfigError",
    "Events",
    "Handler",
    "Logger",
    "ModelLoad",
    "RankInfo",
    "debug_once",
    "events",
    "flush",
    "info_once",
    "install",
    "rank_info",
    "warning_once",
]

# The attributes every LogRecord has: whatever else a record carries came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

# logging's own source file: frames there are not the caller (as in Logger.findCaller).
_LOGGING_SRC = os.path.normcase(logging.addLevelName.__code__.co_filename)

# (level number, scope) -> whether this rank keeps such a record; decided once by the
# Rust gate (ranklog::keeps) for each pair seen, cleared when the logger starts.
_kept = {}

_exit_registered = False
_start_lock = threading.Lock()


def _keeps(levelno, scope):
    """Whether this rank keeps a record at `levelno` with `scope` (cached)."""
    if type(scope) is not str:
        scope = str(scope)  # as the gate reads it; an unhashable value too
    key = (levelno, scope)
    kept = _kept.get(key)
    if kept is None:
        kept = _kept[key] = _rl.keeps(levelno, scope)
    return kept


_short_paths = {}


def _short(pathname):
    """A record's file as printed and filed: relative to the working directory when below
    it, else relative to its site-packages (``vllm/engine/llm_engine.py``), else as is."""
    short = _short_paths.get(pathname)
    if short is None:
        short = pathname
        cwd = os.getcwd() + os.sep
        if pathname.startswith(cwd):
            short = pathname[len(cwd):]
        else:
            for marker in ("site-packages" + os.sep, "dist-packages" + os.sep):
                at = pathname.rfind(marker)
                if at >= 0:
                    short = pathname[at + len(marker):]
                    break
        _short_paths[pathname] = short
    return short


def _levelno(level):
    """A level given as a number or a name (``"INFO"``, ``"debug"``), as a number."""
    if level is None or isinstance(level, int):
        return level
    number = logging.getLevelName(str(level).upper())
    if not isinstance(number, int):
        raise ConfigError(f"invalid level={level!r}: expected a logging level name or number")
    return number


def _start(level=None, dir=None):
    """Starts the Rust logger (once per process) and the exit hook; returns (RankInfo,
    the most verbose level it passes)."""
    global _exit_registered
    with _start_lock:
        info, most_verbose = _rl.start(_levelno(level), None if dir is None else os.fspath(dir))
        _kept.clear()
        if not _exit_registered:
            # After logging's own hook (registered at its import): atexit runs last-in first.
            atexit.register(_rl.shutdown)
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _exit_registered = True
    return info, most_verbose


def _after_fork_in_child():
    """A child forked after install() (multiprocessing's fork): the parent's logger and
    its threads stay in the parent. Forget it, and give SIGTERM, SIGINT and SIGHUP back
    their usual actions (ranklog's handlers would pass them to a thread that is not
    here). The child's records go to stderr as plain lines until it calls install()."""
    _rl.forget_after_fork()
    _kept.clear()
    for sig, action in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGHUP, signal.SIG_DFL),
                        (signal.SIGINT, signal.default_int_handler)):
        try:
            signal.signal(sig, action)
        except (OSError, ValueError):
            pass


_plain = logging.Formatter(logging.BASIC_FORMAT)


def _unlogged(record):
    """A record in a process where ranklog's logger does not run (a forked child before
    its own install()): a plain line on stderr, so nothing is lost silently."""
    try:
        sys.stderr.write(f"{_plain.format(record)}\n")
    except Exception:
        pass


class Handler(logging.Handler):
    """A :class:`logging.Handler` that hands records to ranklog's Rust pipeline.

    The scope gate comes first (``extra={"scope": ...}``, before filters and before the
    message is formatted); errors are never gated. The console line and the JSONL record
    are ranklog's (a formatter set on the handler is used only for exception text). The
    record's ``extra`` fields become its key-values. Constructing one starts the logger
    when :func:`install` has not, so a :func:`logging.config.dictConfig` can name it::

        "handlers": {"ranklog": {"class": "ranklog.Handler", "level": "INFO"}}

    `dir` is ``RANKLOG_DIR`` for a logger this handler starts. Thread-safe without the
    handler's lock: the Rust queue takes records from any thread.
    """

    def __init__(self, level=logging.NOTSET, dir=None):
        super().__init__(level)
        _start(dir=dir)

    def handle(self, record):
        scope = record.__dict__.get("scope")
        if scope is not None and scope != "process" and not _keeps(record.levelno, scope):
            return False
        rv = self.filter(record)
        if rv:
            if isinstance(rv, logging.LogRecord):
                record = rv
            self.emit(record)
        return rv

    def emit(self, record):
        try:
            msg = record.getMessage()
            if record.exc_info and not record.exc_text:
                record.exc_text = (self.formatter or logging._defaultFormatter).formatException(
                    record.exc_info
                )
            if record.exc_text:
                msg = f"{msg}\n{record.exc_text}"
            if record.stack_info:
                msg = f"{msg}\n{record.stack_info}"
            fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
            if not _rl.log(
                record.levelno,
                record.name,
                _short(record.pathname),
                record.lineno,
                msg,
                fields or None,
            ):
                _unlogged(record)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self):
        _rl.flush(1.0)


def _direct(logger, level):
    """Whether `logger`'s records at `level` reach ranklog's handler alone, with no filter
    on the way: then :class:`Logger` can skip building a LogRecord."""
    found = False
    c = logger
    while c is not None:
        if c.filters:
            return False
        for h in c.handlers:
            if type(h) is not Handler or h.filters:
                return False
            found = found or level >= h.level
        if not c.propagate:
            break
        c = c.parent
    return found


class Logger(logging.Logger):
    """An opt-in :class:`logging.Logger` subclass that decides a record's scope before the
    record is made, and, when ranklog's :class:`Handler` is its only handler (no filters),
    hands the record to ranklog without building a :class:`logging.LogRecord`::

        logging.setLoggerClass(ranklog.Logger)   # before the loggers are created
        ranklog.install()

    A record gated out by scope costs a dict look-up after ``isEnabledFor``. Records with
    ``exc_info`` or ``stack_info``, and loggers with other handlers or filters, take the
    ordinary path. The caller's file and line are found as :meth:`logging.Logger.findCaller`
    finds them (``stacklevel`` included).
    """

    def _log(self, level, msg, args, exc_info=None, extra=None, stack_info=False, stacklevel=1):
        if extra is not None:
            scope = extra.get("scope")
            if scope is not None and scope != "process":
                # _keeps, its cache look-up inlined: this is the gated-out record's whole cost.
                kept = _kept.get((level, scope)) if type(scope) is str else None
                if kept is None:
                    kept = _keeps(level, scope)
                if not kept:
                    return
        if exc_info or stack_info or self.disabled or not _direct(self, level):
            return super()._log(level, msg, args, exc_info, extra, stack_info, stacklevel + 1)
        f = sys._getframe(1)
        up = stacklevel
        while True:
            if os.path.normcase(f.f_code.co_filename) != _LOGGING_SRC:
                up -= 1
                if up <= 0:
                    break
            back = f.f_back
            if back is None:
                break
            f = back
        try:
            if args:
                mapping = len(args) == 1 and isinstance(args[0], dict) and args[0]
                # As LogRecord.getMessage: logger.info("%(a)s", {"a": 1}) too.
                text = str(msg) % (args[0] if mapping else args)
            else:
                text = msg if isinstance(msg, str) else str(msg)
            if _rl.log(
                level,
                self.name,
                _short(f.f_code.co_filename),
                f.f_lineno,
                text,
                extra or None,
            ):
                return
        except Exception:
            pass
        # A message that does not format (logging's handleError reports it), or no ranklog
        # logger in this process (a forked child): the ordinary path.
        super()._log(level, msg, args, exc_info, extra, stack_info, stacklevel + 1)


def install(level=None, dir=None, logger=None):
    """Starts ranklog and attaches its :class:`Handler` to `logger` (the root logger by
    default; a name or a :class:`logging.Logger`); returns this rank's :class:`RankInfo`.

    The rank comes from the launcher's variables (Open MPI's ``mpirun``, Slurm's ``srun``,
    ``torchrun``, Hydra, PMIx, ...); every ``RANKLOG_*`` variable applies. `level` (a
    number or a name) overrides ``RANKLOG_LEVEL`` and `dir` ``RANKLOG_DIR``. The logger's
    level is set to the most verbose level ranklog passes. At interpreter exit, on SIGTERM,
    SIGINT and SIGHUP, and on a fatal signal, every record already logged is written.
    Calling it again attaches the handler to another logger; the running logger's settings
    stay.

    Raises :class:`ConfigError` (a ValueError) naming the variable and its value when a
    launcher or ``RANKLOG_*`` variable cannot be used, or the directory cannot be written.
    """
    info, most_verbose = _start(level, dir)
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    if not any(type(h) is Handler for h in target.handlers):
        target.addHandler(Handler())
    target.setLevel(most_verbose)
    return info


def rank_info():
    """This rank's identity (read-only): rank, size, local_rank, local_size (None when the
    launcher does not say), host, launcher. Discovered from the launcher's variables when
    :func:`install` has not run; raises :class:`ConfigError` when they do not add up."""
    return _rl.rank_info()


def flush(timeout=1.0):
    """Writes out every record logged so far, waiting at most `timeout` seconds (without
    the GIL); returns whether everything was written in time."""
    return _rl.flush(timeout)


_once_seen = set()
_once_lock = threading.Lock()


def _once_function(level, name, doc):
    """One of the ``*_once`` functions, for `level`."""

    def once(logger, msg, *args, scope="process"):
        key = (level, msg, args)
        try:
            if key in _once_seen:
                return
        except TypeError:  # unhashable args: keyed on their repr
            key = (level, msg, repr(args))
            if key in _once_seen:
                return
        # A key enters the memory only once its record passed the scope here, so looking
        # it up first decides as vLLM's order does (the scope, then the dedup), and a rank
        # that does not print the scope never fills the memory.
        if scope != "process" and not _keeps(level, scope):
            return
        if not logger.isEnabledFor(level):
            return
        with _once_lock:
            if key in _once_seen:
                return
            _once_seen.add(key)
        logger.log(level, msg, *args, extra={"scope": scope}, stacklevel=2)

    once.__name__ = once.__qualname__ = name
    once.__doc__ = doc
    return once


info_once = _once_function(
    logging.INFO,
    "info_once",
    """Logs ``logger.info(msg, *args)`` once per process for each (message, args), on the
    ranks that print `scope`; vLLM's ``info_once`` (the scope is checked before the dedup),
    without its 128-entry limit: every distinct message is remembered. The record carries
    `scope` and points at the caller's line.""",
)
warning_once = _once_function(
    logging.WARNING, "warning_once", """As :func:`info_once`, at warning level."""
)
debug_once = _once_function(
    logging.DEBUG, "debug_once", """As :func:`info_once`, at debug level."""
)


class Events:
    """Model loads and served requests as records with stable fields (the Rust crate's
    ``Events``): ``kind=model_load`` with ms, bytes, GB/s and the GPU memory change,
    ``kind=inference`` with tokens, latency and time to first token. Get one from
    :func:`events`."""

    def __init__(self, module):
        self._module = module

    @contextlib.contextmanager
    def model_load(self, name, shard, bytes):
        """Times the load of shard `shard` of model `name`, `bytes` long; logs it when the
        block ends (at error level, with the exception, when the block raises). The
        :class:`ModelLoad` it yields can correct the byte count (``set_bytes``)."""
        load = _rl.model_load(self._module, name, shard, bytes)
        try:
            yield load
        except BaseException as e:
            load.fail(f"{type(e).__name__}: {e}")
            raise
        else:
            load.finish()

    def inference(self, request, prompt_tokens, completion_tokens, latency_s, ttft_s=None):
        """Logs one served request (an int or text id), at warning level with ``slow=true``
        when `latency_s` is above ``RANKLOG_SLOW_MS``."""
        _rl.inference(self._module, request, prompt_tokens, completion_tokens, latency_s, ttft_s)


def events(module=None):
    """The events of the running logger (after :func:`install`); their records carry
    `module` (default: the caller's ``__name__``), which ``RANKLOG_FILTER`` matches."""
    if module is None:
        module = sys._getframe(1).f_globals.get("__name__", "__main__")
    return Events(module)
