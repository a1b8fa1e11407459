//! [`AnalyzeError`], the one error type of the `analyze` module.

use std::io;
use std::path::PathBuf;

/// Everything that can stop reading, merging, summarizing or plotting a job's logs.
///
/// Damage inside the files (a truncated last line, a line that is not JSON, a record from
/// a newer schema) is not an error: it is counted in [`Warnings`](super::Warnings) and the
/// rest of the file is read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    /// A path given on the command line does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },

    /// None of the inputs holds a rank file (`rank-<rank>.jsonl` or a rotated segment).
    #[error("no rank files (rank-<rank>.jsonl) in {inputs}")]
    NoRankFiles {
        /// The inputs, comma-separated.
        inputs: String,
    },

    /// A directory could not be listed or a file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// Writing the output failed (a closed pipe reads as [`io::ErrorKind::BrokenPipe`]).
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),

    /// An option's value could not be used.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidArgument {
        /// The option, e.g. `--ranks`.
        option: &'static str,
        /// The value as given.
        value: String,
        /// Why it was rejected, and what is expected.
        reason: String,
    },

    /// The plot's file name ends in neither `.svg` nor `.png`.
    #[error("cannot tell the plot format of {path}: name it FILE.svg or FILE.png")]
    PlotFormat {
        /// The output path as given.
        path: PathBuf,
    },

    /// A PNG needs a TrueType font to draw its text and none was found.
    #[error(
        "no TrueType font for the PNG's text (looked in {searched}); install one (Debian: \
         apt-get install fonts-dejavu-core), pass --font FILE.ttf, or write an SVG instead"
    )]
    NoFont {
        /// The places searched, comma-separated.
        searched: String,
    },

    /// A font file was given or found but could not be read or parsed.
    #[error("cannot use font {path}: {reason}")]
    BadFont {
        /// The font file.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },

    /// The logs hold no record that can be placed on a time axis.
    #[error("nothing to plot: no records with a timestamp in {inputs}")]
    NothingToPlot {
        /// The inputs, comma-separated.
        inputs: String,
    },

    /// The plotting library failed while drawing or writing the picture.
    #[error("cannot draw {path}: {reason}")]
    Draw {
        /// The output file.
        path: PathBuf,
        /// plotters' message.
        reason: String,
    },
}
