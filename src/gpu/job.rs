//! Which GPU processes belong to this job: this process and its siblings (processes with
//! the same parent: `prted`/`orted` under Open MPI, `slurmstepd` under Slurm, torchrun's
//! agent), read from `/proc` on Linux.

use std::collections::HashMap;

use super::source::GpuProcess;

/// Decides, with a cache, whether a process id belongs to this job.
pub(crate) struct JobProcesses {
    me: u32,
    /// This process's parent, when it can stand for the job (not init, not unknown).
    parent: Option<u32>,
    /// pid → whether it is a sibling.
    seen: HashMap<u32, bool>,
}

/// Cached answers kept at most; the cache starts over past it (pids are reused).
const SEEN_MAX: usize = 4096;

impl JobProcesses {
    pub(crate) fn new() -> JobProcesses {
        let me = std::process::id();
        JobProcesses {
            me,
            parent: parent_of(me).filter(|&p| p > 1),
            seen: HashMap::new(),
        }
    }

    fn is_job(&mut self, pid: u32) -> bool {
        if pid == self.me {
            return true;
        }
        let Some(parent) = self.parent else {
            return false;
        };
        if self.seen.len() >= SEEN_MAX {
            self.seen.clear();
        }
        *self
            .seen
            .entry(pid)
            .or_insert_with(|| parent_of(pid) == Some(parent))
    }

    /// Device memory of this job's processes among `processes`, in bytes; `None` when the
    /// driver does not give the memory of one of them.
    pub(crate) fn mem_used_bytes(&mut self, processes: &[GpuProcess]) -> Option<u64> {
        let mut sum = 0u64;
        for p in processes {
            if self.is_job(p.pid) {
                sum = sum.saturating_add(p.used_bytes?);
            }
        }
        Some(sum)
    }
}

/// The parent of `pid`, from the fourth field of `/proc/<pid>/stat`.
#[cfg(target_os = "linux")]
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn parent_of(_pid: u32) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_counts_and_a_missing_memory_reading_hides_the_sum() {
        let mut job = JobProcesses::new();
        let me = std::process::id();
        let stranger = u32::MAX - 7;
        let procs = [
            GpuProcess {
                pid: me,
                used_bytes: Some(3 << 30),
            },
            GpuProcess {
                pid: stranger,
                used_bytes: Some(5 << 30),
            },
        ];
        assert_eq!(job.mem_used_bytes(&procs), Some(3 << 30));
        assert_eq!(job.mem_used_bytes(&[]), Some(0));
        let unknown = [GpuProcess {
            pid: me,
            used_bytes: None,
        }];
        assert_eq!(job.mem_used_bytes(&unknown), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn siblings_count_as_the_job_and_children_do_not() {
        let spawn = || {
            std::process::Command::new("sleep")
                .arg("5")
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn(), spawn());
        // Seen from child `a`, child `b` is a sibling and the test process its parent.
        let mut from_a = JobProcesses {
            me: a.id(),
            parent: parent_of(a.id()),
            seen: HashMap::new(),
        };
        let one = |pid| {
            [GpuProcess {
                pid,
                used_bytes: Some(1),
            }]
        };
        let sibling = from_a.mem_used_bytes(&one(b.id()));
        let parent = from_a.mem_used_bytes(&one(std::process::id()));
        // Seen from the test process, its children are not the job.
        let child = JobProcesses::new().mem_used_bytes(&one(a.id()));
        for c in [&mut a, &mut b] {
            let _ = c.kill();
            let _ = c.wait();
        }
        assert_eq!(from_a.parent, Some(std::process::id()));
        assert_eq!((sibling, parent, child), (Some(1), Some(0), Some(0)));
    }
}
