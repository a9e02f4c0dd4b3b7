//! Background services of a client (the usage reporter and the policy watcher are the first
//! ones): started with the client, asked to flush on [`crate::Client::flush`], and stopped —
//! after a last flush — on [`crate::Client::close`], each within a bounded time.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};

use crate::error::{Error, ErrorKind, Result};

/// A background service. Its tasks run on the process runtime ([`super::handle`]); the
/// client only asks it to flush and to stop.
pub trait Service: Send + Sync + 'static {
    /// A short name, for errors.
    fn name(&self) -> &str;

    /// Pushes out whatever it holds (e.g. buffered usage events). Resolves when done.
    fn flush(&self) -> BoxFuture<'_, Result<()>>;

    /// Flushes, then stops its tasks. Resolves when they have stopped.
    fn shutdown(&self) -> BoxFuture<'_, Result<()>>;
}

/// Makes a client's service; called once per process that uses the client (a `fork()`ed
/// child gets services of its own).
pub type ServiceFactory = Arc<dyn Fn() -> Result<Arc<dyn Service>> + Send + Sync>;

/// A client's services.
#[derive(Default)]
pub struct Services {
    list: Vec<Arc<dyn Service>>,
}

impl Services {
    /// The built-in services already started, then every caller's service from its factory.
    pub fn start(mut started: Vec<Arc<dyn Service>>, factories: &[ServiceFactory]) -> Result<Services> {
        for f in factories {
            started.push(f()?);
        }
        Ok(Services { list: started })
    }

    /// Flushes every service at once; fails with the first error, or with TIMEOUT naming the
    /// services that had not finished within `within`.
    pub async fn flush(&self, within: Duration) -> Result<()> {
        self.each(within, "flush", |s| s.flush()).await
    }

    /// Shuts every service down at once (each flushes first), within `within`.
    pub async fn shutdown(&self, within: Duration) -> Result<()> {
        self.each(within, "stop", |s| s.shutdown()).await
    }

    async fn each<'a>(
        &'a self,
        within: Duration,
        what: &str,
        op: impl Fn(&'a dyn Service) -> BoxFuture<'a, Result<()>>,
    ) -> Result<()> {
        if self.list.is_empty() {
            return Ok(());
        }
        let runs = self.list.iter().map(|s| {
            let fut = op(s.as_ref());
            async move { (s.name(), tokio::time::timeout(within, fut).await) }
        });
        let mut late = Vec::new();
        let mut first_error = None;
        for (name, outcome) in join_all(runs).await {
            match outcome {
                Err(_) => late.push(name.to_owned()),
                Ok(Err(e)) if first_error.is_none() => first_error = Some(e),
                Ok(_) => {}
            }
        }
        if !late.is_empty() {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "{} did not {what} within {} ms",
                    late.join(", "),
                    within.as_millis()
                ),
            ));
        }
        first_error.map_or(Ok(()), Err)
    }
}
