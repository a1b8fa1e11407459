//! Scopes (`process`, `local`, `global`, `group:NAME`, `ranks:LIST`): the values records
//! and loggers carry under [`SCOPE_KEY`].

use std::fmt;
use std::str::FromStr;

use slog::{Key, Record, Serializer};

/// The key that carries a record's scope: `"scope" => "global"`.
pub const SCOPE_KEY: &str = "scope";

/// Which ranks print a record.
///
/// | scope | as a string | printed by |
/// | --- | --- | --- |
/// | [`Process`](Scope::Process) (default) | `"process"` | every rank |
/// | [`Local`](Scope::Local) | `"local"` | the first rank of each node ([`RankInfo::is_local_first`](crate::RankInfo::is_local_first): `local_rank == 0`, or every rank when the local rank is unknown) |
/// | [`Global`](Scope::Global) | `"global"` | the first rank of the job (`rank == 0`) |
/// | [`Group`](Scope::Group) | `"group:tp"` | the first rank of each group named `tp` (see [`RankInfo::with_group`](crate::RankInfo::with_group)) |
/// | — | `"ranks:0,3-5,last"` | the listed ranks (`last`, or `-1`, is the job's last rank) |
///
/// The first three are vLLM's (`vllm/logger.py`, `scope="process"|"local"|"global"`);
/// group scopes print once per model replica or pipeline stage; rank lists are DeepSpeed's
/// `log_dist(ranks=[0, -1])`. Set a scope on a record (`"scope" => Scope::Global` or
/// `"scope" => "global"`) or on a logger (`log.new(o!("scope" => "local"))`); the
/// record's own value wins. Records at or above the ungated level (error by default)
/// print on every rank whatever their scope.
///
/// A value that is none of these (a typo, a group this rank has not declared, a bad rank
/// list, a number, a text longer than 64 bytes) prints as `process`. ranklog's own logger
/// also warns once per process (`kind=unknown_scope`, at the call site of the record that
/// carried it); a [`ScopeGate`](crate::ScopeGate) in front of another drain passes such a
/// record on as `process` and warns nothing, since it writes no records of its own.
///
/// [`FromStr`] parses only the three plain names; group scopes borrow a `'static` name
/// and rank lists are written as text (`"ranks:0,last"`).
///
/// # Examples
///
/// ```
/// use ranklog::Scope;
/// assert_eq!("global".parse::<Scope>(), Ok(Scope::Global));
/// assert_eq!(Scope::Group("tp").to_string(), "group:tp");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Every rank prints it.
    #[default]
    Process,
    /// The first rank of each node prints it.
    Local,
    /// Only the first rank of the job prints it.
    Global,
    /// The first rank of each group of this name prints it.
    Group(&'static str),
}

impl Scope {
    /// The name of the three plain scopes (`"process"`, `"local"`, `"global"`); `"group"`
    /// for a group scope (its [`Display`](fmt::Display) form is `group:NAME`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Process => "process",
            Scope::Local => "local",
            Scope::Global => "global",
            Scope::Group(_) => "group",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Group(name) => write!(f, "group:{name}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The error of [`Scope::from_str`]: the text is not `process`, `local` or `global`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: expected process, local or global")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    /// Parses `process`, `local` or `global` (exactly, lowercase). Group scopes borrow a
    /// `'static` name, so they are written as `Scope::Group("tp")` or `"group:tp"`.
    fn from_str(s: &str) -> Result<Scope, UnknownScope> {
        match s {
            "process" => Ok(Scope::Process),
            "local" => Ok(Scope::Local),
            "global" => Ok(Scope::Global),
            other => Err(UnknownScope(other.to_owned())),
        }
    }
}

impl slog::Value for Scope {
    fn serialize(&self, _: &Record<'_>, key: Key, serializer: &mut dyn Serializer) -> slog::Result {
        match self {
            Scope::Group(name) => serializer.emit_arguments(key, &format_args!("group:{name}")),
            other => serializer.emit_str(key, other.as_str()),
        }
    }
}
