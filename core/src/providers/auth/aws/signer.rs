//! [`SigV4Auth`]: signs every attempt with SigV4 for one service and region, with credentials
//! from a [`ProvideCredentials`] source (the AWS chain, or fixed keys), and keeps the clock
//! right: a request the service refused because the signature's time is too far from its own
//! (more than 5 minutes) teaches the signer the service's time (from the answer's `Date`), and
//! the exchange sends the request again, signed anew.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use reqwest::header::{DATE, HeaderMap};

use super::{AwsCredentials, sign_request};
use crate::error::Result;
use crate::pipeline::Step;
use crate::providers::auth::Auth;

/// Where a signer gets its credentials for the next request.
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// Credentials for the next request (a source that caches refreshes them before expiry).
    fn credentials(&self) -> BoxFuture<'_, Result<AwsCredentials>>;
}

/// Fixed credentials (keys given in the config).
pub struct StaticCredentials(pub AwsCredentials);

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticCredentials")
    }
}

impl ProvideCredentials for StaticCredentials {
    fn credentials(&self) -> BoxFuture<'_, Result<AwsCredentials>> {
        let c = self.0.clone();
        Box::pin(async move { Ok(c) })
    }
}

/// SigV4 signing of every attempt.
pub struct SigV4Auth {
    credentials: Box<dyn ProvideCredentials>,
    region: String,
    service: &'static str,
    /// The service's clock minus ours, in milliseconds (learnt from a clock-skew refusal).
    clock_offset_ms: AtomicI64,
}

impl fmt::Debug for SigV4Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigV4Auth")
            .field("service", &self.service)
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl SigV4Auth {
    /// Signs for `service` (the signing name: `bedrock`, `sagemaker`) in `region`.
    pub fn new(credentials: Box<dyn ProvideCredentials>, region: String, service: &'static str) -> SigV4Auth {
        SigV4Auth {
            credentials,
            region,
            service,
            clock_offset_ms: AtomicI64::new(0),
        }
    }

    /// The time to sign with: ours, corrected by what the service told us.
    pub fn signing_time(&self) -> SystemTime {
        let offset = self.clock_offset_ms.load(Ordering::Relaxed);
        let now = SystemTime::now();
        if offset >= 0 {
            now + Duration::from_millis(offset.unsigned_abs())
        } else {
            now - Duration::from_millis(offset.unsigned_abs())
        }
    }

    /// Learns the service's clock from a `Date` header.
    fn learn_clock(&self, headers: &HeaderMap) -> bool {
        let Some(server) = headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|d| httpdate::parse_http_date(d).ok())
        else {
            return false;
        };
        let now = SystemTime::now();
        let offset_ms = match server.duration_since(now) {
            Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
            Err(behind) => -i64::try_from(behind.duration().as_millis()).unwrap_or(i64::MAX),
        };
        self.clock_offset_ms.store(offset_ms, Ordering::Relaxed);
        tracing::warn!(
            service = self.service,
            offset_ms,
            "the local clock is off from AWS's; signing with AWS's time"
        );
        true
    }
}

impl Auth for SigV4Auth {
    fn apply<'a>(&'a self, request: &'a mut reqwest::Request) -> Step<'a, ()> {
        Step::Pending(Box::pin(async move {
            let credentials = self.credentials.credentials().await?;
            sign_request(
                request,
                &credentials,
                &self.region,
                self.service,
                self.signing_time(),
            )
        }))
    }

    fn corrected_after(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> bool {
        if !(400..500).contains(&status) {
            return false;
        }
        let (kind, message) = crate::providers::bedrock::error_parts(headers, body);
        crate::providers::bedrock::is_clock_skew(kind.as_deref(), &message) && self.learn_clock(headers)
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn auth() -> SigV4Auth {
        let creds = AwsCredentials::new("AKIDEXAMPLE", "secret-value-123", None, None, "test");
        SigV4Auth::new(Box::new(StaticCredentials(creds)), "us-east-1".into(), "bedrock")
    }

    #[test]
    fn a_skew_refusal_moves_the_signing_clock() {
        let a = auth();
        let ahead = SystemTime::now() + Duration::from_secs(3600);
        let mut h = HeaderMap::new();
        h.insert(
            DATE,
            HeaderValue::from_str(&httpdate::fmt_http_date(ahead)).unwrap(),
        );
        h.insert(
            "x-amzn-errortype",
            HeaderValue::from_static("InvalidSignatureException"),
        );
        let body = br#"{"message":"Signature expired: 20261202T120000Z is now earlier than 20261202T125500Z (20261202T130000Z - 5 min.)"}"#;
        assert!(a.corrected_after(403, &h, body));
        let skew = a.signing_time().duration_since(SystemTime::now()).unwrap();
        assert!(
            skew > Duration::from_secs(3500) && skew < Duration::from_secs(3700),
            "{skew:?}"
        );
        // Another refusal is no clock matter.
        assert!(!a.corrected_after(
            403,
            &h,
            br#"{"message":"The request signature we calculated does not match"}"#
        ));
        assert!(!a.corrected_after(500, &h, body));
    }

    #[test]
    fn debug_shows_no_secret() {
        assert!(!format!("{:?}", auth()).contains("secret-value"));
    }
}
