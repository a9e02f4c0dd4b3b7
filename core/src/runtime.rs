//! The tokio runtime a language binding runs the core on (one per process, house rule 5).

use std::ffi::OsStr;

use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, Result};

/// The environment variable that sets the runtime's worker count.
pub const WORKER_THREADS_VAR: &str = "MODELPLUG_WORKER_THREADS";

/// Most worker threads [`WORKER_THREADS_VAR`] may ask for.
const MAX_WORKER_THREADS: usize = 256;

/// How many worker threads [`build_runtime`] starts: [`WORKER_THREADS_VAR`] when it is set,
/// otherwise one per two cores (1 to 4). In-process, the host language's thread and the HTTP
/// peer need the other cores: on 2 cores one worker gave a lower latency than two in every
/// binding's benchmark (docs/benchmarks.md).
///
/// A set but unusable value (not a whole number from 1 to 256) is a [`crate::ErrorKind::Config`]
/// error that names the variable, never silently the default.
pub fn worker_threads() -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    worker_threads_from(std::env::var_os(WORKER_THREADS_VAR).as_deref(), cores)
}

/// [`worker_threads`] for a given variable value and core count.
fn worker_threads_from(value: Option<&OsStr>, cores: usize) -> Result<usize> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok((cores / 2).clamp(1, 4));
    };
    value
        .to_str()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_WORKER_THREADS).contains(n))
        .ok_or_else(|| {
            Error::config(format!(
                "{WORKER_THREADS_VAR} must be a whole number from 1 to {MAX_WORKER_THREADS} (or unset for the default)"
            ))
        })
}

/// A multi-threaded runtime with [`worker_threads`] workers named `modelplug-worker`, with
/// the I/O and time drivers on. Fails with a CONFIG error for a bad [`WORKER_THREADS_VAR`] and
/// an INTERNAL error when the operating system refuses the threads.
pub fn build_runtime() -> Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(worker_threads()?)
        .thread_name("modelplug-worker")
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("the tokio runtime did not start: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn from(value: &str, cores: usize) -> Result<usize> {
        worker_threads_from(Some(OsStr::new(value)), cores)
    }

    #[test]
    fn runtime_has_named_workers() {
        let rt = build_runtime().unwrap();
        let name = rt.block_on(async {
            tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await
        });
        assert_eq!(name.unwrap().as_deref(), Some("modelplug-worker"));
    }

    #[test]
    fn default_is_one_worker_per_two_cores_from_one_to_four() {
        assert_eq!(worker_threads_from(None, 1).unwrap(), 1);
        assert_eq!(worker_threads_from(None, 2).unwrap(), 1);
        assert_eq!(worker_threads_from(None, 6).unwrap(), 3);
        assert_eq!(worker_threads_from(None, 64).unwrap(), 4);
        assert_eq!(from("", 8).unwrap(), 4, "an empty value counts as unset");
    }

    #[test]
    fn a_set_value_wins() {
        assert_eq!(from("3", 2).unwrap(), 3);
        assert_eq!(from(" 16 ", 2).unwrap(), 16);
        assert_eq!(from("256", 2).unwrap(), 256);
    }

    #[test]
    fn unusable_values_are_config_errors_naming_the_variable() {
        for bad in ["0", "-1", "two", "1.5", "257", "99999999999999999999999"] {
            let err = from(bad, 2).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(err.message().contains(WORKER_THREADS_VAR), "{bad}: {err}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let not_utf8 = OsStr::from_bytes(&[0xff, b'2']);
            assert!(worker_threads_from(Some(not_utf8), 2).is_err());
        }
    }
}
