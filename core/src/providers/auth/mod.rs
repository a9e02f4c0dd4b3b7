//! Credentials, applied to each attempt's request just before it is sent — so that a
//! credential that changes (a refreshed OAuth token) or depends on the request itself (a
//! SigV4 signature over the body and headers) is right for every try, retries included.

#[cfg(feature = "aws")]
pub mod aws;
mod google;
mod header;

use std::fmt;

pub use google::GoogleOAuth;
pub use header::HeaderAuth;

use crate::pipeline::Step;

/// Adds credentials to one attempt's HTTP request.
pub trait Auth: Send + Sync + fmt::Debug {
    /// Adds what the provider needs to accept `request`. Static credentials are added at
    /// once ([`Step::Ready`]); others may first wait (a token refresh).
    fn apply<'a>(&'a self, request: &'a mut reqwest::Request) -> Step<'a, ()>;

    /// The provider refused a request: whether this credential has corrected itself (SigV4:
    /// learnt the service's clock from a clock-skew refusal), so that the same request,
    /// credentials applied anew, may pass. The exchange then sends it once more.
    fn corrected_after(&self, _status: u16, _headers: &reqwest::header::HeaderMap, _body: &[u8]) -> bool {
        false
    }
}

/// No credentials (a local server that needs none).
#[derive(Debug, Default)]
pub struct NoAuth;

impl Auth for NoAuth {
    fn apply<'a>(&'a self, _request: &'a mut reqwest::Request) -> Step<'a, ()> {
        Step::Ready(Ok(()))
    }
}
