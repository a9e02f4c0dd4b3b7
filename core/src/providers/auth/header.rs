//! [`HeaderAuth`]: a static credential sent as a header — `Authorization: Bearer …` (OpenAI
//! and compatible servers), `api-key` (Azure), `x-api-key` (Anthropic), `x-goog-api-key`.

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use super::Auth;
use crate::error::{Error, Result};
use crate::pipeline::Step;

/// One header carrying a credential, built once and marked sensitive (never logged by the
/// HTTP stack).
pub struct HeaderAuth {
    name: HeaderName,
    value: HeaderValue,
}

impl std::fmt::Debug for HeaderAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderAuth")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl HeaderAuth {
    /// `Authorization: Bearer <key>`; `what` names the key in errors (never its value).
    pub fn bearer(key: &str, what: &str) -> Result<HeaderAuth> {
        HeaderAuth::header(AUTHORIZATION, &format!("Bearer {key}"), what)
    }

    /// `<name>: <key>`.
    pub fn header(name: HeaderName, key: &str, what: &str) -> Result<HeaderAuth> {
        let mut value = HeaderValue::from_str(key).map_err(|_| {
            Error::config(format!(
                "{what} contains characters not allowed in an HTTP header"
            ))
        })?;
        value.set_sensitive(true);
        Ok(HeaderAuth { name, value })
    }
}

impl Auth for HeaderAuth {
    fn apply<'a>(&'a self, request: &'a mut reqwest::Request) -> Step<'a, ()> {
        request
            .headers_mut()
            .insert(self.name.clone(), self.value.clone());
        Step::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_sensitive_and_debug_hides_it() {
        let auth = HeaderAuth::bearer("sk-secret-123", "the key").unwrap();
        assert!(!format!("{auth:?}").contains("sk-secret"));
        let mut req = reqwest::Request::new(reqwest::Method::POST, "http://x/".parse().unwrap());
        let Step::Ready(Ok(())) = auth.apply(&mut req) else {
            panic!("a static header is applied at once");
        };
        let v = req.headers().get(AUTHORIZATION).unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v, "Bearer sk-secret-123");
        let bad = HeaderAuth::bearer("line\nbreak", "the key of `d`").unwrap_err();
        assert!(bad.message().contains("the key of `d`") && !bad.message().contains("line"));
    }
}
