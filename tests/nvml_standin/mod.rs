//! The stand-in `libnvidia-ml.so.1` (`nvml_standin.c` beside this file): built here by the
//! tests that use it, loaded by the real `NvmlSource` (nvml-wrapper) of the processes they
//! start with [`StandIn::env`] (its directory first on `LD_LIBRARY_PATH`, the scenario in
//! `RANKLOG_NVML_STANDIN`). The scenario format is in `README.md` beside this file.
#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where the scenario's path goes, in the environment of a process that loads the stand-in.
pub const SCENARIO_ENV: &str = "RANKLOG_NVML_STANDIN";

/// The directory holding the built `libnvidia-ml.so.1`, built once per test binary.
///
/// # Panics
///
/// When the C compiler (`$CC`, else `cc`; `scripts/setup.sh` installs one) fails: the
/// message has its output.
pub fn library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build("current", &[]))
}

/// The same for a driver older than R510, which lacks `nvmlDeviceGetMemoryInfo_v2`.
///
/// # Panics
///
/// As [`library_dir`].
pub fn before_r510_library_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build("before-r510", &["-DSTANDIN_WITHOUT_MEMORY_V2"]))
}

fn build(name: &str, defines: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvml_standin/nvml_standin.c");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("nvml-standin-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for the stand-in library");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = Command::new(&cc)
        .args(["-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror"])
        .args(defines)
        .arg("-o")
        .arg(dir.join("libnvidia-ml.so.1"))
        .arg(&src)
        .arg("-lpthread")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e}"));
    assert!(
        out.status.success(),
        "{cc} failed to build the NVML stand-in from {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// A scenario written to a file, and the log of the calls the stand-in saw.
pub struct StandIn {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Where the stand-in appends `<pid> <event> [detail]` lines.
    pub calls: PathBuf,
    /// The directory of the library to load.
    pub library: &'static Path,
}

impl StandIn {
    /// Writes `scenario` (the `key = value` lines of README.md, without `calls`) into
    /// `dir`, adding `calls = dir/nvml-calls.log`.
    pub fn write(dir: &Path, scenario: &str) -> StandIn {
        std::fs::create_dir_all(dir).unwrap();
        let calls = dir.join("nvml-calls.log");
        let _ = std::fs::remove_file(&calls);
        let path = dir.join("nvml-scenario.txt");
        std::fs::write(
            &path,
            format!("calls = {}\n{scenario}", calls.to_str().unwrap()),
        )
        .unwrap();
        StandIn {
            scenario: path,
            calls,
            library: library_dir(),
        }
    }

    /// Writes `scenario` into `dir` as it is: no call log.
    pub fn write_without_call_log(dir: &Path, scenario: &str) -> StandIn {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("nvml-scenario.txt");
        std::fs::write(&path, scenario).unwrap();
        StandIn {
            scenario: path,
            calls: dir.join("no-call-log"),
            library: library_dir(),
        }
    }

    /// This scenario on a driver older than R510 (no `nvmlDeviceGetMemoryInfo_v2`).
    pub fn before_r510(self) -> StandIn {
        StandIn {
            library: before_r510_library_dir(),
            ..self
        }
    }

    /// The environment a process needs to load this stand-in instead of a driver.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut path = self.library.to_string_lossy().into_owned();
        if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
            path = format!("{path}:{}", old.to_string_lossy());
        }
        vec![
            ("LD_LIBRARY_PATH".to_owned(), path),
            (
                SCENARIO_ENV.to_owned(),
                self.scenario.to_string_lossy().into_owned(),
            ),
        ]
    }

    /// The calls seen so far: `(pid, event, detail)`.
    pub fn calls(&self) -> Vec<(u32, String, String)> {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let mut parts = l.splitn(3, ' ');
                let pid = parts.next().unwrap().parse().unwrap();
                let event = parts.next().unwrap_or_default().to_owned();
                (pid, event, parts.next().unwrap_or_default().to_owned())
            })
            .collect()
    }

    /// How many `event` calls each process made.
    pub fn count_by_pid(&self, event: &str) -> std::collections::BTreeMap<u32, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for (pid, e, _) in self.calls() {
            if e == event {
                *counts.entry(pid).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// In a process that loaded the stand-in: adds `bytes` (negative: frees) to the memory
/// used on GPU `gpu` (its MIG device `mig`) by this process, as `cudaMalloc` would.
///
/// # Panics
///
/// When the stand-in is not loaded in this process, or has no such device.
pub fn allocate(gpu: u32, mig: Option<u32>, bytes: i64) {
    // SAFETY: RTLD_NOLOAD only finds the library NVML already loaded; the symbol is the
    // stand-in's `int ranklogStandinAllocate(unsigned, int, long long)`.
    unsafe {
        let lib = libc::dlopen(
            c"libnvidia-ml.so.1".as_ptr(),
            libc::RTLD_NOW | libc::RTLD_NOLOAD,
        );
        assert!(!lib.is_null(), "the NVML stand-in is not loaded here");
        let sym = libc::dlsym(lib, c"ranklogStandinAllocate".as_ptr());
        assert!(!sym.is_null(), "libnvidia-ml.so.1 here is not the stand-in");
        let f: extern "C" fn(u32, i32, i64) -> i32 = std::mem::transmute(sym);
        let mig = mig.map_or(-1, |m| m as i32);
        assert_eq!(f(gpu, mig, bytes), 0, "no stand-in GPU {gpu} (MIG {mig})");
        libc::dlclose(lib);
    }
}
