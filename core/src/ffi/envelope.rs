//! The JSON envelopes results cross bindings in: `{"ok": value}` or `{"err": error}`, where the
//! error is [`crate::Error::to_value`] — one form for every language.

use serde::Serialize;

use crate::error::Error;

/// `{"ok": value}`, or the `err` envelope of an INTERNAL error if `value` cannot be encoded.
pub fn ok_json<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_string(value) {
        Ok(json) => format!("{{\"ok\":{json}}}"),
        Err(e) => err_json(&Error::internal(format!("cannot encode the result: {e}"))),
    }
}

/// `{"err": error}`.
pub fn err_json(e: &Error) -> String {
    format!("{{\"err\":{}}}", e.to_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        assert_eq!(ok_json(&[1, 2]), r#"{"ok":[1,2]}"#);
        let v: serde_json::Value = serde_json::from_str(&err_json(&Error::config("bad"))).unwrap();
        assert_eq!(v["err"]["code"], "CONFIG");
        assert_eq!(v["err"]["message"], "bad");
    }
}
