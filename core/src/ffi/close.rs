//! Closing many clients at once, as a process does at exit: each binding keeps the clients not
//! yet closed and hands them here from its exit hook (Python `atexit`, Node `exit`, a JVM
//! shutdown hook), so that clients with calls in flight wait side by side, not one after another.

use std::time::Duration;

use crate::Client;
use crate::error::{Error, Result};

/// Closes every client in `clients` at once, each as by [`Client::close_within`], blocking this
/// thread at most `within` (plus the services' last flush); the first error, once all are done.
/// On a thread of an async runtime it cannot wait: it closes them to new calls and leaves the
/// rest to tasks (as [`Client::close_blocking`] does).
pub fn close_all(clients: &[Client], within: Duration) -> Result<()> {
    let closing: Vec<_> = clients.iter().map(|c| c.close_within(within)).collect();
    if tokio::runtime::Handle::try_current().is_ok() {
        let handle = crate::runtime::handle()?;
        for close in closing {
            handle.spawn(async move {
                let _ = close.await;
            });
        }
        return Ok(());
    }
    crate::runtime::block_on(async move {
        let tasks: Vec<_> = closing.into_iter().map(tokio::spawn).collect();
        let mut first_error = None;
        for task in tasks {
            let outcome = task
                .await
                .unwrap_or_else(|_| Err(Error::internal("closing a client panicked")));
            if let Err(e) = outcome {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    })?
}
