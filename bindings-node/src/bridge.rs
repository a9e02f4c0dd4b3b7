//! Delivering results to JavaScript. napi-rs resolves each Promise through a threadsafe
//! function of its own (a libuv handle created and closed per call); here every result goes
//! into one queue per client, and a single long-lived threadsafe function wakes JavaScript
//! once per batch: the JS side (`lib/bridge.ts`) then drains the queue and settles its
//! Promises. Results that finish together cost one wake-up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use napi::Status;
use napi::bindgen_prelude::Unknown;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

/// The wake-up: weak (it never keeps the process alive; the JS side holds a timer ref while
/// calls are pending), no arguments.
type Waker = ThreadsafeFunction<(), Unknown<'static>, (), Status, false, true>;

/// One client's completion queue.
#[derive(Default)]
pub struct Bridge {
    done: Mutex<Vec<(u32, String)>>,
    /// A wake-up is on its way and the queue has not been drained since.
    signalled: AtomicBool,
    waker: OnceLock<Waker>,
}

impl Bridge {
    /// Queues call `id`'s result (JSON text) and wakes JavaScript if it is not already woken.
    pub fn deliver(&self, id: u32, payload: String) {
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, payload));
        if !self.signalled.swap(true, Ordering::AcqRel)
            && let Some(waker) = self.waker.get()
        {
            waker.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Installs the wake-up function (once per client).
    pub fn set_waker(&self, waker: Waker) {
        let _ = self.waker.set(waker);
    }

    /// Every finished call since the last drain.
    pub fn drain(&self) -> Drained {
        self.signalled.store(false, Ordering::Release);
        let done = std::mem::take(&mut *self.done.lock().unwrap_or_else(|e| e.into_inner()));
        let (ids, payloads) = done.into_iter().unzip();
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
