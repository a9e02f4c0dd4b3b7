//! SigV4 (and Bedrock API key) verification for the AWS routes, against fixed test
//! credentials, and the mock's clock (which a step can skew to make a client's look wrong).
//!
//! The signature is rebuilt with `aws-sigv4` from what was received: the method, the path and
//! query exactly as received (scenario prefix included: the client signed its whole URL), the
//! headers named in `SignedHeaders` as received, the body, the time of `X-Amz-Date`, and the
//! region and service of the `Credential=` scope.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use hyper::HeaderMap;

use crate::aws_faults::{AwsFault, AwsService};

/// The test credentials the mock accepts: access key id, secret access key, and the session
/// token a temporary key requires.
pub const AWS_TEST_CREDENTIALS: &[(&str, &str, Option<&str>)] = &[
    ("AKIAMODELPLUGTEST01", "modelplug/test/secret/key/0001", None),
    (
        "ASIAMODELPLUGTEMP01",
        "modelplug/test/temporary/secret/01",
        Some("modelplug-test-session-token-01"),
    ),
];

/// The Bedrock API keys the mock accepts as `Authorization: Bearer …` (Bedrock routes only).
pub const AWS_TEST_BEARER_TOKENS: &[&str] = &["ABSKbW9kZWxwbHVnLXRlc3Qta2V5"];

/// How far `X-Amz-Date` may be from the mock's clock.
pub const MAX_SKEW_S: i64 = 300;

/// The mock's clock in Unix seconds: the system's, shifted by `skew_s`.
pub fn mock_now(skew_s: i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    now.saturating_add(skew_s)
}

/// `secs` as SigV4's basic ISO-8601 form, `20261202T120000Z`.
pub fn amz_date(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_default()
        .replace(['-', ':'], "")
}

/// `secs` as an HTTP date (`Wed, 02 Dec 2026 12:00:00 GMT`).
pub fn http_date(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::HttpDate)
        .unwrap_or_default()
}

/// Parses `20261202T120000Z` into Unix seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() != 16 || !digits(0..8) || b[8] != b'T' || !digits(9..15) || b[15] != b'Z' {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    );
    DateTime::from_str(&rfc3339, Format::DateTime)
        .ok()
        .map(|d| d.secs())
}

fn forbidden(kind: &str, message: impl Into<String>) -> AwsFault {
    AwsFault::new(403, kind, message)
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
                        Check your AWS Secret Access Key and signing method. Consult the service \
                        documentation for details.";

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AwsFault> {
    let incomplete = |m: String| forbidden("IncompleteSignatureException", m);
    let params = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .filter(|rest| rest.starts_with(' '))
        .ok_or_else(|| {
            incomplete(
                "Authorization header requires 'Credential' parameter. Authorization header requires \
                 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."
                    .to_owned(),
            )
        })?;
    let param = |name: &str| {
        params
            .split(',')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
    };
    let missing = |name: &str| incomplete(format!("Authorization header requires '{name}' parameter."));
    let credential = param("Credential").ok_or_else(|| missing("Credential"))?;
    let signed_headers = param("SignedHeaders").ok_or_else(|| missing("SignedHeaders"))?;
    let signature = param("Signature").ok_or_else(|| missing("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, terminator] = scope[..] else {
        return Err(incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if terminator != "aws4_request" {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    Ok(Authorization {
        key_id,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

/// Checks the request's authentication for `service` at the mock's clock `now` (Unix seconds):
/// `Ok` when it carries a valid SigV4 signature by one of [`AWS_TEST_CREDENTIALS`] (or, on
/// Bedrock, one of [`AWS_TEST_BEARER_TOKENS`]), else the AWS fault to answer with.
pub fn verify(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    service: AwsService,
    now: i64,
) -> Result<(), AwsFault> {
    let headers = &parts.headers;
    let Some(value) = headers.get("authorization") else {
        return Err(forbidden(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let value = value.to_str().unwrap_or_default().trim();
    if let Some(token) = value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("bearer "))
        .map(|_| value[7..].trim())
        && service == AwsService::Bedrock
    {
        return verify_bearer(token);
    }
    let auth = parse_authorization(value)?;
    let Some(amz) = headers.get("x-amz-date").and_then(|v| v.to_str().ok()) else {
        return Err(forbidden(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let Some(time) = parse_amz_date(amz) else {
        return Err(forbidden(
            "IncompleteSignatureException",
            format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ),
        ));
    };
    let Some(&(_, secret, required_token)) =
        AWS_TEST_CREDENTIALS.iter().find(|(id, _, _)| *id == auth.key_id)
    else {
        return Err(forbidden("UnrecognizedClientException", INVALID_TOKEN));
    };
    let token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok());
    if token != required_token {
        return Err(forbidden("UnrecognizedClientException", INVALID_TOKEN));
    }
    let invalid = |m: String| forbidden("InvalidSignatureException", m);
    if auth.service != service.signing_name() {
        return Err(invalid(format!(
            "Credential should be scoped to correct service: '{}'. ",
            service.signing_name()
        )));
    }
    if auth.date != &amz[..8] {
        return Err(invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz}'.",
            auth.date,
            &amz[..8]
        )));
    }
    check_skew(amz, time, now)?;
    if !auth.signed_headers.contains(&"host") {
        return Err(invalid(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ));
    }
    let expected = signature(parts, body, &auth, secret, token, time);
    if expected.as_deref() != Some(auth.signature) {
        return Err(invalid(MISMATCH.to_owned()));
    }
    Ok(())
}

fn verify_bearer(token: &str) -> Result<(), AwsFault> {
    if AWS_TEST_BEARER_TOKENS.contains(&token) {
        Ok(())
    } else if !token.starts_with("ABSK") {
        Err(forbidden(
            "AccessDeniedException",
            "Invalid API Key format: Must start with pre-defined prefix",
        ))
    } else {
        Err(forbidden(
            "UnrecognizedClientException",
            "The bearer token included in the request is invalid.",
        ))
    }
}

/// AWS's "Signature expired" / "Signature not yet current" answers.
fn check_skew(amz: &str, time: i64, now: i64) -> Result<(), AwsFault> {
    if time < now - MAX_SKEW_S {
        return Err(forbidden(
            "InvalidSignatureException",
            format!(
                "Signature expired: {amz} is now earlier than {} ({} - 5 min.)",
                amz_date(now - MAX_SKEW_S),
                amz_date(now)
            ),
        ));
    }
    if time > now + MAX_SKEW_S {
        return Err(forbidden(
            "InvalidSignatureException",
            format!(
                "Signature not yet current: {amz} is still later than {} ({} + 5 min.)",
                amz_date(now + MAX_SKEW_S),
                amz_date(now)
            ),
        ));
    }
    Ok(())
}

/// The signature the request should carry, or `None` when it cannot be computed (a header
/// that is not text, a path that is not a URI).
fn signature(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    auth: &Authorization<'_>,
    secret: &str,
    token: Option<&str>,
    time: i64,
) -> Option<String> {
    let headers = signed_headers(&parts.headers, &auth.signed_headers, parts.uri.authority())?;
    let host = headers
        .iter()
        .find(|(k, _)| k == "host")
        .map_or("localhost", |(_, v)| v.as_str());
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("http://{host}{path}");
    let signable = SignableRequest::new(
        parts.method.as_str(),
        Cow::Owned(url),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .ok()?;
    let identity = Credentials::new(
        auth.key_id,
        secret,
        token.map(str::to_owned),
        None,
        "mock-upstream",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name(auth.service)
        .time(UNIX_EPOCH + Duration::from_secs(u64::try_from(time).ok()?))
        .settings(SigningSettings::default())
        .build()
        .ok()?
        .into();
    let output = sign(signable, &params).ok()?;
    Some(output.signature().to_owned())
}

/// The received values of the headers named in `SignedHeaders` (`host` from the URI's
/// authority under HTTP/2).
fn signed_headers(
    headers: &HeaderMap,
    names: &[&str],
    authority: Option<&hyper::http::uri::Authority>,
) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for name in names {
        let mut values = headers.get_all(*name).iter().peekable();
        if values.peek().is_none() && *name == "host" {
            out.push(("host".to_owned(), authority?.as_str().to_owned()));
        }
        for v in values {
            out.push(((*name).to_owned(), v.to_str().ok()?.to_owned()));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_amz_date("20261202T120000Z"), Some(1_796_212_800));
        assert_eq!(amz_date(1_796_212_800), "20261202T120000Z");
        assert_eq!(http_date(1_796_212_800), "Wed, 02 Dec 2026 12:00:00 GMT");
        for bad in [
            "2026-12-02T12:00:00Z",
            "20261302T120000Z",
            "20261202T120000",
            "",
            "20261202X120000Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn skew_messages_have_aws_wording() {
        let now = 1_796_214_000; // 12:20:00
        let e = check_skew("20261202T120000Z", 1_796_212_800, now).unwrap_err();
        assert_eq!(
            e.message,
            "Signature expired: 20261202T120000Z is now earlier than 20261202T121500Z (20261202T122000Z - 5 min.)"
        );
        assert_eq!(e.kind, "InvalidSignatureException");
        let e = check_skew("20261202T124000Z", now + 1200, now).unwrap_err();
        assert_eq!(
            e.message,
            "Signature not yet current: 20261202T124000Z is still later than 20261202T122500Z (20261202T122000Z + 5 min.)"
        );
        assert!(check_skew("x", now + 299, now).is_ok());
    }

    #[test]
    fn bad_authorization_headers() {
        assert_eq!(
            parse_authorization("Basic abc").err().unwrap().kind,
            "IncompleteSignatureException"
        );
        let e = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/bedrock, SignedHeaders=host, Signature=00",
        )
        .err()
        .unwrap();
        assert!(
            e.message
                .starts_with("Credential must have exactly 5 slash-delimited elements")
        );
        let e = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=A/20261202/r/bedrock/aws4_request, Signature=00",
        )
        .err()
        .unwrap();
        assert_eq!(
            e.message,
            "Authorization header requires 'SignedHeaders' parameter."
        );
        assert_eq!(verify_bearer("nope").unwrap_err().kind, "AccessDeniedException");
        assert_eq!(
            verify_bearer("ABSKnope").unwrap_err().kind,
            "UnrecognizedClientException"
        );
        assert!(verify_bearer(AWS_TEST_BEARER_TOKENS[0]).is_ok());
    }
}
