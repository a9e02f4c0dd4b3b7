//! The JSON envelopes the TypeScript layer unwraps.

use modelplug_core::Error;
use serde::Serialize;

/// `{"ok": value}` or `{"err": error}`.
pub fn outcome<T: Serialize>(result: Result<T, Error>) -> String {
    match result {
        Ok(v) => match serde_json::to_string(&v) {
            Ok(json) => format!("{{\"ok\":{json}}}"),
            Err(e) => err(&Error::internal(format!("cannot encode the result: {e}"))),
        },
        Err(e) => err(&e),
    }
}

/// `{"err": error}`.
pub fn err(e: &Error) -> String {
    format!("{{\"err\":{}}}", e.to_value())
}
