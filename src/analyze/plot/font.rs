//! Finding a TrueType font for the text of PNG pictures (SVG text needs none: the viewer
//! draws it).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use plotters::style::FontStyle;

use crate::analyze::AnalyzeError;

/// The family name plots ask for; the font found is registered under it.
pub(super) const FAMILY: &str = "sans-serif";

/// Environment variable naming a font file, tried after `--font`.
pub(super) const FONT_VAR: &str = "RANKLOG_FONT";

/// Where common systems keep a sans-serif TrueType font.
const CANDIDATES: &[&str] = &[
    // Debian, Ubuntu: fonts-dejavu-core
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    // Fedora, RHEL: dejavu-sans-fonts
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    // Arch: ttf-dejavu
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    // Alpine: font-dejavu
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    // macOS
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
];

/// The font registered so far, so that a second plot in the process reuses it.
static REGISTERED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Finds a font (`explicit`, else `$RANKLOG_FONT`, else the usual places) and registers
/// it for plotters. `Ok(None)` when there is none and none was asked for by name.
///
/// # Errors
///
/// [`AnalyzeError::BadFont`] when the font asked for (`explicit` or `$RANKLOG_FONT`)
/// cannot be read or is not a font.
pub(super) fn register(explicit: Option<&Path>) -> Result<Option<PathBuf>, AnalyzeError> {
    let asked = explicit
        .map(Path::to_owned)
        .or_else(|| std::env::var_os(FONT_VAR).map(PathBuf::from));
    let path = match asked {
        Some(path) => path,
        None => match CANDIDATES.iter().map(Path::new).find(|p| p.is_file()) {
            Some(path) => path.to_owned(),
            None => return Ok(None),
        },
    };
    let mut registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if registered.as_deref() == Some(path.as_path()) {
        return Ok(Some(path));
    }
    let bad = |reason: String| AnalyzeError::BadFont {
        path: path.clone(),
        reason,
    };
    let bytes = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
    // plotters keeps fonts for the life of the process; this one is loaded once per font.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FAMILY, FontStyle::Normal, bytes)
        .map_err(|_| bad("not a TrueType or OpenType font".to_owned()))?;
    *registered = Some(path.clone());
    Ok(Some(path))
}

/// The places searched, for the error message.
pub(super) fn searched() -> String {
    format!("--font, ${FONT_VAR}, {}", CANDIDATES.join(", "))
}
