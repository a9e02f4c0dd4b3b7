//! `onUsage`: the core calls its usage callback off the request path (a blocking-pool thread,
//! in batches); here each event becomes JSON text handed to a threadsafe function, which runs
//! the JS wrapper (`lib/usage.ts`) on the JS thread without ever blocking the caller. The
//! function is weak: it never keeps the process alive. JS exceptions are the wrapper's to
//! contain.

use std::sync::Arc;

use modelplug_core::UsageEvent;
use napi::Status;
use napi::bindgen_prelude::{Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

/// The JS function that receives events (JSON text, or `""` for a barrier).
pub type OnUsage<'a> = Function<'a, String, Unknown<'static>>;

/// A weak, unbounded threadsafe function taking one string.
type Tsfn = ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true>;

/// A client's `onUsage`, callable from any thread.
#[derive(Clone)]
pub struct UsageListener(Arc<Tsfn>);

impl UsageListener {
    /// Wraps `f` (on the JS thread, while constructing the client).
    pub fn new(f: OnUsage<'_>) -> napi::Result<UsageListener> {
        let tsfn: Tsfn = f
            .build_threadsafe_function::<String>()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?;
        Ok(UsageListener(Arc::new(tsfn)))
    }

    /// The core's callback: each event's JSON text, queued for the JS thread.
    pub fn callback(&self) -> impl Fn(&UsageEvent) + Send + Sync + 'static {
        let tsfn = self.0.clone();
        move |event| {
            if let Ok(text) = serde_json::to_string(event) {
                // Fails only while the JS environment is shutting down: nobody to tell then.
                let _ = tsfn.call(text, ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }

    /// Queues the barrier marker `""` behind the events queued so far.
    pub fn barrier(&self) -> bool {
        self.0
            .call(String::new(), ThreadsafeFunctionCallMode::NonBlocking)
            == Status::Ok
    }
}
