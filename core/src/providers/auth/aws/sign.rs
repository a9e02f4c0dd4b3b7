//! SigV4 signing of one HTTP request with the `aws-sigv4` crate: the request as reqwest will
//! send it (method, URL, headers, body bytes) is signed, and the signature headers
//! (`Authorization`, `X-Amz-Date`, `X-Amz-Security-Token`) are added, marked sensitive.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::header::{HeaderName, HeaderValue};

use crate::error::{Error, Result};

/// Signs `request` for `service` in `region` at `time` with `credentials`, adding the
/// signature headers. The body must be in memory (every modelplug request body is). Errors
/// never contain the credentials or the signature.
pub fn sign_request(
    request: &mut reqwest::Request,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<()> {
    let body = match request.body() {
        None => &[][..],
        Some(b) => b
            .as_bytes()
            .ok_or_else(|| Error::internal("a SigV4-signed request needs its body in memory"))?,
    };
    let mut headers = Vec::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(|_| {
            Error::config(format!(
                "header `{name}` is not printable ASCII, which SigV4 cannot sign"
            ))
        })?;
        headers.push((name.as_str(), value));
    }
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.url().as_str(),
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| Error::internal(format!("cannot sign the request: {e}")))?;
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Error::internal(format!("cannot sign the request: {e}")))?
        .into();
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| Error::internal(format!("cannot sign the request: {e}")))?
        .into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for h in new_headers {
        let mut value = HeaderValue::from_str(h.value()).map_err(|_| {
            Error::config("the AWS credentials contain characters not allowed in an HTTP header")
        })?;
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(HeaderName::from_static(h.name()), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn request() -> reqwest::Request {
        let url =
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse";
        let mut req = reqwest::Request::new(reqwest::Method::POST, url.parse().unwrap());
        req.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        *req.body_mut() = Some(r#"{"messages":[]}"#.into());
        req
    }

    #[test]
    fn adds_sensitive_signature_headers_with_the_scope() {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("tok".into()),
            None,
            "test",
        );
        let mut req = request();
        let time = UNIX_EPOCH + Duration::from_secs(1_764_676_800); // 2025-12-02T12:00:00Z
        sign_request(&mut req, &creds, "us-east-1", "bedrock", time).unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251202/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="), "{auth}");
        assert!(req.headers()["authorization"].is_sensitive());
        assert!(req.headers()["x-amz-security-token"].is_sensitive());
        assert_eq!(req.headers()["x-amz-date"], "20251202T120000Z");
    }
}
