//! The callback sink: each usage event handed to a function of the host language (a Python
//! callable, a JS function, a Kotlin lambda) — on a blocking-pool thread, never on the request
//! path, one batch at a time. A panic in the callback is contained (the binding contains the
//! host language's exceptions itself, as it must: they cannot cross into Rust).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::Sink;
use crate::usage::UsageEvent;

/// A function that receives usage events.
pub type UsageCallback = Arc<dyn Fn(&UsageEvent) + Send + Sync>;

/// Calls a [`UsageCallback`] with every event.
pub struct CallbackSink {
    callback: UsageCallback,
    warned: bool,
}

impl CallbackSink {
    /// A sink calling `callback`.
    pub fn new(callback: UsageCallback) -> CallbackSink {
        CallbackSink {
            callback,
            warned: false,
        }
    }
}

impl Sink for CallbackSink {
    fn name(&self) -> &str {
        "the usage callback"
    }

    fn write<'a>(&'a mut self, batch: &'a [Arc<UsageEvent>]) -> BoxFuture<'a, ()> {
        let callback = self.callback.clone();
        let events: Vec<Arc<UsageEvent>> = batch.to_vec();
        async move {
            let run = tokio::task::spawn_blocking(move || {
                let mut panicked = false;
                for e in &events {
                    panicked |= catch_unwind(AssertUnwindSafe(|| callback(e))).is_err();
                }
                panicked
            });
            let panicked = run.await.unwrap_or(true);
            if panicked && !std::mem::replace(&mut self.warned, true) {
                tracing::warn!(target: "modelplug::sinks", "the usage callback panicked; later events still reach it");
            }
        }
        .boxed()
    }
}
