//! `ranklog plot` writes a well-formed SVG with a panel and series per node and GPU and
//! the event panels, and a PNG of the announced size; without GPU samples it still draws
//! the events and says so; a bad font or format is a clear error.
#![cfg(feature = "cli")]

mod cli_common;
mod common;

use std::path::PathBuf;

use cli_common::ranklog;

/// A path for a picture in a directory of its own, removed when the guard drops.
struct OutPath(PathBuf);

impl OutPath {
    fn new(name: &str) -> OutPath {
        let dir = std::env::temp_dir().join(format!("ranklog-plot-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        OutPath(dir.join(name))
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for OutPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

/// Checks that every tag is closed in order (a small XML well-formedness check) and
/// returns the text of every `<text>` element.
fn svg_texts(svg: &str) -> Vec<String> {
    assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let mut stack: Vec<&str> = Vec::new();
    let mut texts = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>').expect("tag closed");
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "tags nest");
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            let name = tag.split_whitespace().next().unwrap();
            if name == "text" {
                let end = rest[close..].find("</text>").unwrap();
                texts.push(rest[close + 1..close + end].trim().to_owned());
            }
            stack.push(name);
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    texts
}

#[test]
fn svg_has_a_panel_per_node_a_series_per_gpu_and_the_events() {
    let path = OutPath::new("job8.svg");
    let out = ranklog(&["plot", "tests/fixtures/job8", "-o", path.arg()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("4 GPUs on 2 nodes"), "{stderr}");
    let svg = std::fs::read_to_string(&path.0).unwrap();
    assert!(svg.contains(r#"width="1400""#), "default width");
    let texts = svg_texts(&svg);
    for expected in [
        "node node-a: GPU memory (of 80.0 GiB per GPU) and utilization",
        "node node-b: GPU memory (of 80.0 GiB per GPU) and utilization",
        "GPU 0 memory",
        "GPU 1 utilization",
        "model load",
        "inference request",
        "model loads and inference requests by rank",
        "inference latency (ms)",
        "rank 7",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "no {expected:?} in {texts:?}"
        );
    }
    assert!(
        svg.matches("<polyline").count() >= 8,
        "a memory and a utilization line per GPU"
    );
}

#[test]
fn without_gpu_samples_the_events_are_drawn_and_the_picture_says_so() {
    let path = OutPath::new("nogpu.svg");
    let out = ranklog(&["plot", "tests/fixtures/nogpu", "-o", path.arg()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("note: no GPU samples"), "{stderr}");
    let texts = svg_texts(&std::fs::read_to_string(&path.0).unwrap());
    assert!(texts
        .iter()
        .any(|t| t.starts_with("no GPU samples (kind=gpu records)")));
    assert!(texts.iter().any(|t| t == "inference latency (ms)"));
    assert!(!texts.iter().any(|t| t.contains("GPU memory")));
}

#[test]
fn png_has_the_magic_bytes_and_the_announced_size() {
    let path = OutPath::new("job8.png");
    let out = ranklog(&[
        "plot",
        "tests/fixtures/job8",
        "-o",
        path.arg(),
        "--width",
        "900",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // The documented failure where no font is installed; anything else is a bug.
        assert!(
            stderr.contains("no TrueType font for the PNG's text"),
            "{stderr}"
        );
        assert!(
            !common::ci(),
            "no font for the PNG, and CI is set: scripts/setup.sh installs fonts-dejavu-core\n\
             {stderr}"
        );
        eprintln!("skipped: no TrueType font for the PNG's text (install fonts-dejavu-core)");
        return;
    }
    let png = std::fs::read(&path.0).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!(width, 900);
    assert!(stderr.contains(&format!("(900x{height} px)")), "{stderr}");
    assert!(
        height > 1000,
        "two node panels and two event panels: {height}"
    );
}

#[test]
fn a_bad_font_or_format_is_a_clear_error() {
    let png = OutPath::new("bad-font.png");
    let out = ranklog(&[
        "plot",
        "tests/fixtures/job8",
        "-o",
        png.arg(),
        "--font",
        "/no/such/font.ttf",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("ranklog: error: cannot use font /no/such/font.ttf: "),
        "{stderr}"
    );
    let not_a_font = OutPath::new("not-a-font.ttf");
    std::fs::write(&not_a_font.0, b"hello").unwrap();
    let out = ranklog(&[
        "plot",
        "tests/fixtures/job8",
        "-o",
        png.arg(),
        "--font",
        not_a_font.arg(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a TrueType or OpenType font"));
    let out = ranklog(&["plot", "tests/fixtures/job8", "-o", "picture.jpg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name it FILE.svg or FILE.png"));
    assert!(!std::path::Path::new("picture.jpg").exists());
}
