//! A local HTTP server that speaks LLM providers' wire formats for modelplug's tests: it
//! replays the real recordings in `provider-specs/recorded/`, synthesises OpenAI-, Anthropic-,
//! Google-, Bedrock- and SageMaker-shaped answers (AWS routes verify SigV4 against
//! [`AWS_TEST_CREDENTIALS`]), and injects faults chosen per request (status and provider-shaped error body,
//! `retry-after` headers, delay, a stream cut after N bytes, malformed bytes).
//!
//! Tests in any language register a scenario (a list of steps, one per request) and point a
//! deployment's `base_url` at the scenario's base URL; see [`serve`] for the routes.

pub mod aws_auth;
pub mod aws_faults;
pub mod eventstream;
pub mod receiver;
pub mod recordings;
pub mod scenario;
pub mod serve;
pub mod synth;
pub mod synth_aws;
pub mod synth_google;
pub mod synth_sagemaker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

pub use aws_auth::{AWS_TEST_BEARER_TOKENS, AWS_TEST_CREDENTIALS};
pub use scenario::{CapturedRequest, Corruption, ErrorSpec, Reply, Step, StreamException};

/// A running mock upstream; stops when dropped.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<serve::Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl MockUpstream {
    /// Starts on 127.0.0.1 at an ephemeral port, serving the vendored recordings.
    pub async fn start() -> std::io::Result<MockUpstream> {
        MockUpstream::start_on(0, recordings::default_dir()).await
    }

    /// Starts on 127.0.0.1:`port` (0 = any), serving recordings from `recordings`.
    pub async fn start_on(port: u16, recordings: PathBuf) -> std::io::Result<MockUpstream> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(serve::Shared::new(recordings, format!("http://{addr}")));
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(MockUpstream { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Registers a scenario; returns its base URL (append `/v1` or whatever path prefix the
    /// deployment expects).
    pub fn scenario(&self, steps: Vec<Step>) -> (String, String) {
        let id = self.shared.register(steps);
        let base = format!("{}/s/{id}", self.url());
        (id, base)
    }

    /// Starts a usage receiver (a stand-in for the collector's ingest API) answering per
    /// `steps`; returns its id and the URL to configure as `collector.url`.
    pub fn receiver(&self, steps: Vec<receiver::ReceiverStep>) -> (String, String) {
        let id = self.shared.add_receiver(steps);
        let url = format!("{}/r/{id}", self.url());
        (id, url)
    }

    /// What receiver `id` got so far.
    pub fn received(&self, id: &str) -> receiver::Received {
        self.shared.received(id).unwrap_or_default()
    }

    /// Replaces receiver `id`'s script.
    pub fn set_receiver_steps(&self, id: &str, steps: Vec<receiver::ReceiverStep>) {
        if let Some(r) = self
            .shared
            .receivers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            r.set_steps(steps);
        }
    }

    /// The requests scenario `id` received.
    pub fn requests(&self, id: &str) -> Vec<CapturedRequest> {
        self.shared.requests(id).unwrap_or_default()
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<serve::Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve::handle(shared.clone(), req));
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
