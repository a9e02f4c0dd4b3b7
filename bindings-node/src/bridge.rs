//! Delivering results to JavaScript: the napi side of the client's completion queue
//! (`modelplug_core::ffi::Completions`). Calls run on the core's process runtime and queue
//! their JSON results there; one long-lived threadsafe function wakes JavaScript once per
//! batch, and the JS side (`lib/bridge.ts`) then drains the queue and settles its Promises.

use std::sync::Arc;

use modelplug_core::ffi::{Completions, err_json};
use napi::Status;
use napi::bindgen_prelude::{Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

/// The wake-up: weak (it never keeps the process alive; the JS side holds a timer ref while
/// calls are pending), no arguments.
type Waker = ThreadsafeFunction<(), Unknown<'static>, (), Status, false, true>;

/// One client's completion queue: call ids and their JSON results.
#[derive(Clone)]
pub struct Bridge(Arc<Completions<String>>);

impl Bridge {
    /// An empty queue with no wake-up yet.
    pub fn new() -> Bridge {
        Bridge(Completions::new())
    }

    /// Installs `waker` (a JS function called with no arguments) as the wake-up.
    pub fn set_waker(&self, waker: Function<(), Unknown<'static>>) -> napi::Result<()> {
        let tsfn: Waker = waker
            .build_threadsafe_function::<()>()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?;
        self.0.set_waker(move || {
            tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
        });
        Ok(())
    }

    /// Runs `call` on the process runtime; its JSON result arrives under `id` through
    /// [`Bridge::drain`] (the error envelope, at once, if the runtime is not available).
    #[inline]
    pub fn submit(&self, id: u32, call: impl Future<Output = String> + Send + 'static) {
        if let Err(e) = self.0.submit(u64::from(id), call) {
            self.0.push(u64::from(id), err_json(&e));
        }
    }

    /// Every result queued since the last drain.
    pub fn drain(&self) -> Drained {
        let (ids, payloads) = self
            .0
            .drain()
            .into_iter()
            // Ids are submitted as u32 (above), so they fit.
            .map(|(id, payload)| (u32::try_from(id).unwrap_or(u32::MAX), payload))
            .unzip();
        Drained { ids, payloads }
    }
}

/// Finished calls: `payloads[i]` is the JSON result of call `ids[i]`.
#[napi(object)]
pub struct Drained {
    /// Call ids.
    pub ids: Vec<u32>,
    /// Their JSON results.
    pub payloads: Vec<String>,
}
