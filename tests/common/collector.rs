//! A real OpenTelemetry Collector on loopback for the OTLP tests: `rotel-agent` (Rust,
//! from PyPI's `rotel`, which `scripts/setup.sh` installs), receiving OTLP over http and
//! grpc and printing every log record and metric it receives
//! (`--exporter blackhole --debug-log logs --debug-log metrics --debug-log-verbosity
//! detailed`).

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// `rotel-agent`: `ROTEL_AGENT` if set, else on `PATH`, else the binary inside the `rotel`
/// Python package of `python3`; `None` (with a skip line) when there is none, except
/// under CI, where that fails the test.
pub fn rotel_or_skip() -> Option<PathBuf> {
    let found = std::env::var_os("ROTEL_AGENT")
        .map(PathBuf::from)
        .or_else(|| super::mpirun::find_on_path("rotel-agent"))
        .or_else(|| {
            let out = Command::new("python3")
                .args([
                    "-c",
                    "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
                ])
                .output()
                .ok()?;
            let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            path.is_file().then_some(path)
        });
    if found.is_none() {
        assert!(
            !super::ci(),
            "rotel-agent not found and CI is set: scripts/setup.sh installs it (pip install rotel)"
        );
        eprintln!("skipped: rotel-agent not found (pip install --pre rotel)");
    }
    found
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running collector and everything it has printed so far.
pub struct Collector {
    child: Child,
    out: Arc<Mutex<String>>,
    /// Its OTLP/http endpoint, `http://127.0.0.1:PORT`.
    pub http: String,
    /// Its OTLP/grpc endpoint, `http://127.0.0.1:PORT`.
    pub grpc: String,
}

impl Collector {
    /// Starts `rotel` on two fresh loopback ports and waits until both accept connections.
    pub fn start(rotel: &Path, pid_file: &Path) -> Collector {
        let (http, grpc) = (free_port(), free_port());
        let mut child = Command::new(rotel)
            .args(["start", "--exporter", "blackhole"])
            .args(["--debug-log", "logs", "--debug-log", "metrics"])
            .args(["--debug-log-verbosity", "detailed"])
            .arg("--otlp-http-endpoint")
            .arg(format!("127.0.0.1:{http}"))
            .arg("--otlp-grpc-endpoint")
            .arg(format!("127.0.0.1:{grpc}"))
            .arg("--otlp-receiver-traces-disabled")
            .arg("--pid-file")
            .arg(pid_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rotel-agent starts");
        let out = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            let mut pipe = pipe;
            thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let c = Collector {
            child,
            out,
            http: format!("http://127.0.0.1:{http}"),
            grpc: format!("http://127.0.0.1:{grpc}"),
        };
        let start = Instant::now();
        let listening = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        while !(listening(http) && listening(grpc)) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "rotel-agent did not listen on ports {http} and {grpc} within 20 s:\n{}",
                c.output()
            );
            thread::sleep(Duration::from_millis(50));
        }
        c
    }

    /// What it has printed so far.
    pub fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Kills it (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until `done` holds for its output, at most `limit`; returns the output.
    pub fn wait_for(&self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let out = self.output();
            if done(&out) || start.elapsed() > limit {
                return out;
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One OTLP request as the collector printed it: its resource's attributes and its log
/// records or metric data points.
#[derive(Debug, Default)]
pub struct Request {
    /// `true` for `ResourceMetrics`, `false` for `ResourceLog`.
    pub metrics: bool,
    /// Resource attributes, values as printed (`Int(3)`, `Str(vm)`).
    pub resource: Vec<(String, String)>,
    /// Log records (logs) or data points (metrics).
    pub items: Vec<Item>,
}

/// A log record or a metric's data point.
#[derive(Debug, Default)]
pub struct Item {
    /// The log record's body text (`Str(...)` unwrapped), or the metric's name.
    pub name: String,
    /// Its attributes (the data point's, for metrics), values as printed.
    pub attributes: Vec<(String, String)>,
    /// `Value:` (sums, gauges) or `Count:` (histograms), for metrics.
    pub value: Option<String>,
}

impl Request {
    /// The value of resource attribute `key`, as printed.
    pub fn resource(&self, key: &str) -> Option<&str> {
        find(&self.resource, key)
    }
}

impl Item {
    /// The value of attribute `key`, as printed.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }
}

fn find<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The requests in rotel's detailed debug output (`--debug-log-verbosity detailed`).
pub fn parse(out: &str) -> Vec<Request> {
    let mut requests: Vec<Request> = Vec::new();
    // Where `     -> key: value` lines go.
    #[derive(PartialEq)]
    enum Into {
        Nothing,
        Resource,
        Item,
        Descriptor,
    }
    let mut into = Into::Nothing;
    let mut metric = String::new();
    for line in out.lines() {
        let Some(req) =
            (if line.starts_with("ResourceLog #") || line.starts_with("ResourceMetrics #") {
                requests.push(Request {
                    metrics: line.starts_with("ResourceMetrics"),
                    ..Request::default()
                });
                into = Into::Nothing;
                continue;
            } else {
                requests.last_mut()
            })
        else {
            continue;
        };
        if let Some(kv) = line.strip_prefix("     -> ") {
            let Some((k, v)) = kv.split_once(": ") else {
                continue;
            };
            let pair = (k.to_owned(), v.to_owned());
            match into {
                Into::Resource => req.resource.push(pair),
                Into::Item => {
                    if let Some(item) = req.items.last_mut() {
                        item.attributes.push(pair);
                    }
                }
                Into::Descriptor if k == "Name" => metric = v.to_owned(),
                _ => {}
            }
        } else if line == "Resource attributes:" {
            into = Into::Resource;
        } else if line == "Descriptor:" {
            into = Into::Descriptor;
        } else if line.starts_with("LogRecord #") {
            req.items.push(Item::default());
            into = Into::Nothing;
        } else if line.starts_with("NumberDataPoints #")
            || line.starts_with("HistogramDataPoints #")
        {
            req.items.push(Item {
                name: metric.clone(),
                ..Item::default()
            });
            into = Into::Nothing;
        } else if line == "Attributes:" || line == "Data point attributes:" {
            into = Into::Item;
        } else if let Some(body) = line.strip_prefix("Body: ") {
            if let Some(item) = req.items.last_mut() {
                let body = body.strip_prefix("Str(").and_then(|b| b.strip_suffix(')'));
                item.name = body.unwrap_or_default().to_owned();
            }
        } else if let Some(v) = line
            .strip_prefix("Value: ")
            .or_else(|| line.strip_prefix("Count: "))
        {
            if let Some(item) = req.items.last_mut() {
                item.value = Some(v.to_owned());
            }
        } else if !line.starts_with("    ") {
            into = Into::Nothing;
        }
    }
    requests
}
