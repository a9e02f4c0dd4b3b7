//! modelplug core: one Rust client for many LLM providers — failover, retries, one error
//! model and one set of types — linked in-process by the Python, Node and Kotlin packages.
//!
//! ```no_run
//! # async fn demo() -> modelplug_core::Result<()> {
//! use modelplug_core::{ChatRequest, Client};
//! let client = Client::from_config_file("modelplug.yaml")?;
//! let answer = client.chat(ChatRequest::new("smart", "What is the capital of France?")).await?;
//! println!("{} ({} tokens)", answer.text(), answer.usage.total_tokens);
//! # Ok(()) }
//! ```

pub mod client;
pub mod config;
pub mod error;
pub mod ffi;
pub mod guardrails;
pub mod http;
pub mod json;
pub mod pipeline;
pub mod policy;
pub mod providers;
pub mod redact;
pub mod routing;
pub mod runtime;
pub mod stream;
pub mod types;
pub mod usage;

pub use client::{Client, ClientBuilder};
pub use config::Config;
pub use error::{Error, ErrorCode, ErrorKind, Result};
pub use ffi::{SharedStream, StreamBatch};
pub use redact::Secret;
pub use stream::{CancelHandle, ChatStream};
pub use types::*;
pub use usage::UsageEvent;

/// The version of this crate (reported as the SDK version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
