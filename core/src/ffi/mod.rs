//! What every language binding shares, so that a binding only converts: the completion queue
//! that delivers async results to a host event loop, the JSON envelopes results and errors
//! cross in, the shared stream handle, closing the clients left open at process exit, and the
//! list of error codes each binding's class table is checked against.

mod close;
mod completions;
mod envelope;
mod shared_stream;

pub use close::close_all;
pub use completions::Completions;
pub use envelope::{err_json, ok_json};
pub use shared_stream::{SharedStream, StreamBatch};

/// Every stable error code, in table order: each binding maps each one to its own class, and
/// its tests check that none falls through to the base class.
pub fn error_codes() -> Vec<&'static str> {
    crate::ErrorKind::ALL.iter().map(|k| k.code()).collect()
}
