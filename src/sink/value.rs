//! One collected key-value's value ([`Val`]): what the caller's thread collects, the
//! ring's codec stores and the sinks format.

use std::ops::Range;

/// One collected value; text values are ranges of the record's bytes.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Str(Range<usize>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
    /// An error's chain of causes ([`ErrorChain`](crate::ErrorChain)): their texts,
    /// outermost first, each ended by [`CAUSE_END`].
    Chain(Range<usize>),
}

/// Ends each cause of a [`Val::Chain`]'s text; a cause's own `\x1f` is written as
/// the text `\x1f`, as the console would escape it.
pub(crate) const CAUSE_END: char = '\u{1f}';

/// The causes of a [`Val::Chain`]'s text, outermost first.
pub(crate) fn causes(chain: &str) -> impl Iterator<Item = &str> {
    chain.split_terminator(CAUSE_END)
}
