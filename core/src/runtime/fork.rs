//! Noticing `fork()`: a counter that a `pthread_atfork` child handler bumps, so that anything
//! built per process (the runtime, a client's connection pool and services) can tell, with one
//! atomic load, that it now runs in a child and must be built again there.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

/// Runs in the child right after `fork()`: only async-signal-safe work (one atomic add).
extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// How many times this process's lineage has forked since the handler was installed: a value
/// that differs from the one something was built under means "built in the parent".
pub fn fork_generation() -> u64 {
    INSTALL.call_once(install);
    GENERATION.load(Ordering::Relaxed)
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn install() {
    // SAFETY: registers a handler that only does an atomic add, which is async-signal-safe
    // and so allowed in a child of a multi-threaded process; registration happens once.
    unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    }
}

#[cfg(not(unix))]
fn install() {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn a_forked_child_sees_a_new_generation() {
        let before = fork_generation();
        // SAFETY: the child only reads an atomic and exits with `_exit`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = if fork_generation() == before + 1 { 0 } else { 1 };
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just started.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child saw no new generation"
        );
        assert_eq!(fork_generation(), before, "the parent's generation is unchanged");
    }
}
