//! Sinks: places usage events go besides the collector — a JSON-lines file, a callback into
//! the host language, OpenTelemetry. Each sink runs behind an [`Exporter`]: a record stage
//! whose only work on the request path is appending a pointer to a bounded queue, and a task
//! that writes batches to the sink off that path (within 100 ms of an event, or at once when
//! 512 are waiting). A sink that cannot keep up loses events
//! (counted, with a warning) rather than slowing calls down; durability is the reporter's job.

mod callback;
mod jsonl;
#[cfg(feature = "otlp")]
pub mod otlp;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

pub use callback::{CallbackSink, UsageCallback};
pub use jsonl::JsonlSink;

use crate::error::Result;
use crate::pipeline::{Position, Stage};
use crate::redact::Secret;
use crate::runtime::Service;
use crate::usage::UsageEvent;
use crate::usage::control::{self, Control, Controller};
use crate::usage::queue::{EventQueue, Refused};

/// A sink named in the config's `sinks:`.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkConfig {
    /// One JSON object per line, appended to `path`; past `max_bytes` the file is rotated to
    /// `path.1` (…`path.keep`, the oldest deleted).
    Jsonl {
        /// The file.
        path: PathBuf,
        /// Size at which it is rotated.
        max_bytes: u64,
        /// Rotated files kept.
        keep: usize,
    },
    /// OpenTelemetry: a span per call, OTLP/HTTP to `endpoint` (`/v1/traces` is appended
    /// unless the endpoint already ends with it).
    Otlp {
        /// The OTLP/HTTP endpoint, e.g. `http://127.0.0.1:4318`.
        endpoint: String,
        /// Extra headers (e.g. an API key of the tracing backend).
        headers: Vec<(String, Secret)>,
        /// `service.name` of the resource (defaults to the app).
        service_name: Option<String>,
        /// The bound on one export.
        timeout: Duration,
    },
}

/// Where a sink writes; its [`Exporter`] calls it from a background task, one batch at a time.
pub trait Sink: Send + 'static {
    /// A short name, for warnings.
    fn name(&self) -> &str;

    /// Writes a batch. Failures are the sink's to report (a warning); the batch is not retried.
    fn write<'a>(&'a mut self, batch: &'a [Arc<UsageEvent>]) -> BoxFuture<'a, ()>;

    /// Pushes out anything buffered.
    fn flush(&mut self) -> BoxFuture<'_, ()> {
        async {}.boxed()
    }
}

/// Events an exporter's queue holds before it drops (and counts) them.
const QUEUE: usize = 10_000;
/// Events handed to a sink at once, at most.
const BATCH: usize = 512;
/// How long an event may wait for a sink's batch to fill.
const WINDOW: Duration = Duration::from_millis(100);

/// Runs a [`Sink`] off the request path: a record stage and a background service.
pub struct Exporter {
    name: String,
    queue: Arc<EventQueue>,
    control: Controller,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").field("sink", &self.name).finish()
    }
}

impl Exporter {
    /// Starts `sink`'s task on the process runtime.
    pub fn start(sink: impl Sink) -> Result<Arc<Exporter>> {
        let queue = Arc::new(EventQueue::new(QUEUE, BATCH));
        let (control, commands) = control::channel();
        let name = sink.name().to_owned();
        crate::runtime::handle()?.spawn(run(sink, queue.clone(), commands));
        Ok(Arc::new(Exporter {
            name,
            queue,
            control,
            dropped: AtomicU64::new(0),
        }))
    }

    /// Events dropped because the sink could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn run(mut sink: impl Sink, queue: Arc<EventQueue>, mut commands: mpsc::UnboundedReceiver<Control>) {
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => {
                write_all(&mut sink, &queue).await;
                due = None;
                sink.flush().await;
                match command {
                    Some(Control::Flush(done)) => {
                        let _ = done.send(());
                    }
                    Some(Control::Stop(done)) => {
                        queue.close();
                        write_all(&mut sink, &queue).await;
                        sink.flush().await;
                        let _ = done.send(());
                        return;
                    }
                    None => return,
                }
            }
            () = queue.woken() => {
                if queue.has_full_batch() {
                    write_all(&mut sink, &queue).await;
                    due = None;
                } else if due.is_none() {
                    due = Some(tokio::time::Instant::now() + WINDOW);
                }
            }
            () = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                write_all(&mut sink, &queue).await;
                due = None;
            }
        }
    }
}

async fn write_all(sink: &mut impl Sink, queue: &EventQueue) {
    let waiting = queue.take();
    for batch in waiting.chunks(BATCH) {
        sink.write(batch).await;
    }
}

impl Stage for Exporter {
    fn name(&self) -> &'static str {
        "sink"
    }

    fn position(&self) -> Position {
        Position::Record
    }

    fn recorded(&self, event: &Arc<UsageEvent>) {
        if self.queue.push(event) == Err(Refused::Full) && self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(
                target: "modelplug::sinks",
                "the {} sink cannot keep up; usage events for it are being dropped",
                self.name
            );
        }
    }
}

impl Service for Exporter {
    fn name(&self) -> &str {
        &self.name
    }

    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        async move {
            self.control.flush().await;
            Ok(())
        }
        .boxed()
    }

    fn shutdown(&self) -> BoxFuture<'_, Result<()>> {
        async move {
            self.control.stop().await;
            Ok(())
        }
        .boxed()
    }
}

/// The exporters of a config's `sinks:` and of the caller's usage callbacks.
pub(crate) fn build(
    config: &crate::config::Config,
    http: &reqwest::Client,
    callbacks: &[UsageCallback],
) -> Result<Vec<Arc<Exporter>>> {
    let mut out = Vec::new();
    for sink in &config.sinks {
        out.push(match sink {
            SinkConfig::Jsonl {
                path,
                max_bytes,
                keep,
            } => Exporter::start(JsonlSink::new(path, *max_bytes, *keep))?,
            SinkConfig::Otlp {
                endpoint,
                headers,
                service_name,
                timeout,
            } => otlp_exporter(
                endpoint,
                headers,
                service_name.as_deref().unwrap_or(&config.app),
                *timeout,
                http,
            )?,
        });
    }
    for callback in callbacks {
        out.push(Exporter::start(CallbackSink::new(callback.clone()))?);
    }
    Ok(out)
}

#[cfg(feature = "otlp")]
fn otlp_exporter(
    endpoint: &str,
    headers: &[(String, Secret)],
    service_name: &str,
    timeout: Duration,
    http: &reqwest::Client,
) -> Result<Arc<Exporter>> {
    Exporter::start(otlp::OtlpSink::new(
        endpoint,
        headers.to_vec(),
        service_name.to_owned(),
        timeout,
        http.clone(),
    ))
}

#[cfg(not(feature = "otlp"))]
fn otlp_exporter(
    _endpoint: &str,
    _headers: &[(String, Secret)],
    _service_name: &str,
    _timeout: Duration,
    _http: &reqwest::Client,
) -> Result<Arc<Exporter>> {
    Err(crate::error::Error::config(
        "sinks: an `otlp` sink needs modelplug-core built with the `otlp` feature",
    ))
}
