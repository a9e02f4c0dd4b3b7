//! SigV4 signatures from `providers::auth::aws::sign_request` against two known-good sources
//! (tests/fixtures/sigv4, README there):
//!
//! - botocore, an implementation independent of the `aws-sigv4` crate we sign with, for the
//!   requests the Bedrock and SageMaker adapters send (`botocore_vectors.json`, from
//!   `generate_botocore_vectors.py`): Converse and ConverseStream, a model ARN percent-encoded
//!   in the path, temporary credentials, SageMaker, a port in the host, empty bodies;
//! - the AWS SigV4 test suite shipped in the `aws-sigv4` crate (the cases a `reqwest::Request`
//!   can carry; the README lists the others and why).
//!
//! Plus: the vectors' Bedrock URLs are built the adapter's way (`encode_path_segment`), and
//! neither the credentials nor the signature show in a signed request's `Debug`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use modelplug_core::providers::auth::aws::{AwsCredentials, sign_request};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Request};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigv4")
}

/// `YYYY-MM-DDTHH:MM:SSZ` (the only RFC 3339 form the fixtures use) as a `SystemTime`.
fn rfc3339(s: &str) -> SystemTime {
    let b = s.as_bytes();
    assert!(
        b.len() == 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[19] == b'Z',
        "unexpected timestamp {s}"
    );
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn rfc3339_parses_known_instants() {
    assert_eq!(rfc3339("1970-01-01T00:00:00Z"), UNIX_EPOCH);
    assert_eq!(
        rfc3339("2025-12-02T12:00:00Z"),
        UNIX_EPOCH + Duration::from_secs(1_764_676_800)
    );
    assert_eq!(
        rfc3339("2024-02-29T23:59:59Z"),
        UNIX_EPOCH + Duration::from_secs(1_709_251_199)
    );
}

// ---------------------------------------------------------------------------------------------
// botocore

fn botocore_request(case: &Value) -> Request {
    let method = Method::from_bytes(case["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut req = Request::new(method, case["url"].as_str().unwrap().parse().unwrap());
    for (name, value) in case["headers"].as_object().unwrap() {
        req.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    let body = case["body"].as_str().unwrap();
    if !body.is_empty() {
        *req.body_mut() = Some(body.as_bytes().to_vec().into());
    }
    req
}

fn credentials(akid: &str, secret: &str, token: Option<&str>) -> AwsCredentials {
    AwsCredentials::new(akid, secret, token.map(str::to_owned), None, "test")
}

#[test]
fn signatures_match_botocore() {
    let file = fixtures().join("botocore_vectors.json");
    let vectors: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(vectors["botocore_version"].is_string());
    let cases = vectors["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 14, "cases in {}", file.display());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut req = botocore_request(case);
        let creds = credentials(
            case["access_key_id"].as_str().unwrap(),
            case["secret_access_key"].as_str().unwrap(),
            case["session_token"].as_str(),
        );
        let time = rfc3339(case["time"].as_str().unwrap());
        sign_request(
            &mut req,
            &creds,
            case["region"].as_str().unwrap(),
            case["service"].as_str().unwrap(),
            time,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = &case["expected"];
        for (header_name, key) in [
            ("authorization", "authorization"),
            ("x-amz-date", "x_amz_date"),
            ("x-amz-security-token", "x_amz_security_token"),
        ] {
            let want = expected[key].as_str();
            let got = header(&req, header_name);
            if want != got {
                failures.push(format!(
                    "{name}: {header_name}\n  botocore: {want:?}\n  ours:     {got:?}\n  botocore's canonical request:\n{}",
                    case["canonical_request"].as_str().unwrap_or("")
                ));
            }
        }
        // Nothing else is added (no x-amz-content-sha256, no host: hyper sets that).
        let added: Vec<_> = req
            .headers()
            .keys()
            .map(HeaderName::as_str)
            .filter(|h| !case["headers"].as_object().unwrap().contains_key(*h))
            .collect();
        let mut want_added = vec!["authorization", "x-amz-date"];
        if case["session_token"].is_string() {
            want_added.push("x-amz-security-token");
        }
        let mut added_sorted = added.clone();
        added_sorted.sort_unstable();
        if added_sorted != want_added {
            failures.push(format!("{name}: headers added by signing: {added:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The vectors' Bedrock URLs are the ones the adapter builds: its root for the region, its
/// signing name, and the model id (or ARN) as one path segment in its encoding.
#[test]
fn botocore_vectors_use_the_adapters_urls() {
    use modelplug_core::providers::bedrock::{SIGNING_NAME, default_base_url, encode_path_segment};
    fn percent_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    let file = fixtures().join("botocore_vectors.json");
    let vectors: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let mut checked = 0;
    for case in vectors["cases"].as_array().unwrap() {
        let url = case["url"].as_str().unwrap();
        let Some((root, rest)) = url.split_once("/model/") else {
            continue;
        };
        if url.contains(".amazonaws.com") {
            assert_eq!(root, default_base_url(case["region"].as_str().unwrap()), "{url}");
            assert_eq!(case["service"], SIGNING_NAME, "{url}");
        }
        let (segment, _op) = rest.split_once('/').unwrap();
        assert_eq!(encode_path_segment(&percent_decode(segment)), segment, "{url}");
        checked += 1;
    }
    assert_eq!(checked, 9);
    assert_eq!(
        encode_path_segment("arn:aws:bedrock:us-west-2:123456789012:provisioned-model/abc123"),
        "arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Aprovisioned-model%2Fabc123"
    );
}

// ---------------------------------------------------------------------------------------------
// The AWS SigV4 test suite (aws-sigv4 1.6.4's aws-signing-test-suite/v4)

/// The cases copied (README: the others, and why not).
const SUITE_CASES: [&str; 23] = [
    "double-encode-path",
    "double-url-encode",
    "get-header-key-duplicate",
    "get-header-value-order",
    "get-header-value-trim",
    "get-slash-normalized",
    "get-slashes-normalized",
    "get-unreserved",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
];

/// A case's signing context: its `context.json`, or for the two cases in the suite's old
/// format (no `context.json`) the one their `header-signed-request.txt` was signed with
/// (README).
struct Context {
    akid: String,
    secret: String,
    token: Option<String>,
    region: String,
    service: String,
    time: SystemTime,
}

fn context(dir: &Path) -> Context {
    let name = dir.file_name().unwrap().to_str().unwrap();
    let old = |akid: &str, secret: &str, region: &str, service: &str, time: &str| Context {
        akid: akid.into(),
        secret: secret.into(),
        token: None,
        region: region.into(),
        service: service.into(),
        time: rfc3339(time),
    };
    match name {
        // aws-credential-types' `Credentials::for_tests()`.
        "double-encode-path" => old(
            "ANOTREAL",
            "notrealrnrELgWzOk3IfjzDKtFBhDby",
            "us-east-1",
            "service",
            "2015-08-30T12:36:00Z",
        ),
        "double-url-encode" => old(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-2",
            "lambda",
            "2021-05-11T15:40:45Z",
        ),
        _ => {
            let c: Value = serde_json::from_slice(&std::fs::read(dir.join("context.json")).unwrap()).unwrap();
            // Every copied case signs the way sign_request does (README).
            assert_eq!(c["normalize"], true, "{name}");
            assert_eq!(c["sign_body"], false, "{name}");
            assert_ne!(c["omit_session_token"], true, "{name}");
            let creds = &c["credentials"];
            Context {
                akid: creds["access_key_id"].as_str().unwrap().into(),
                secret: creds["secret_access_key"].as_str().unwrap().into(),
                token: creds["token"].as_str().map(str::to_owned),
                region: c["region"].as_str().unwrap().into(),
                service: c["service"].as_str().unwrap().into(),
                time: rfc3339(c["timestamp"].as_str().unwrap()),
            }
        }
    }
}

/// An HTTP/1.1 request in the suite's `request.txt` form, as a `reqwest::Request`: the `Host`
/// header becomes the URL's authority (hyper sends it from there), other headers are appended
/// in order (repeated names stay repeated), values lose surrounding whitespace as an HTTP
/// parser would, and the body is whatever follows the blank line.
fn suite_request(text: &str) -> Request {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b),
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap();
    let mut host = None;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("host") {
            host = Some(value.trim().to_owned());
        } else {
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let url = format!("https://{}{target}", host.expect("a Host header"));
    let mut req = Request::new(
        Method::from_bytes(method.as_bytes()).unwrap(),
        url.parse().unwrap(),
    );
    for (name, value) in headers {
        req.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    if !body.is_empty() {
        *req.body_mut() = Some(body.as_bytes().to_vec().into());
    }
    req
}

/// The value of `name` in a signed-request file (`Name:value` lines after the request line).
fn signed_header(text: &str, name: &str) -> Option<String> {
    text.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

#[test]
fn signatures_match_the_aws_sigv4_test_suite() {
    let root = fixtures().join("aws-signing-test-suite/v4");
    let mut present: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    present.sort();
    assert_eq!(present, SUITE_CASES, "the copied cases and SUITE_CASES differ");
    let mut failures = Vec::new();
    for name in SUITE_CASES {
        let dir = root.join(name);
        let text = std::fs::read_to_string(dir.join("request.txt")).unwrap();
        let mut req = suite_request(&text);
        let ctx = context(&dir);
        let creds = credentials(&ctx.akid, &ctx.secret, ctx.token.as_deref());
        sign_request(&mut req, &creds, &ctx.region, &ctx.service, ctx.time)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let signed = std::fs::read_to_string(dir.join("header-signed-request.txt")).unwrap();
        for h in ["authorization", "x-amz-date", "x-amz-security-token"] {
            let want = signed_header(&signed, h);
            let got = header(&req, h).map(str::to_owned);
            if want != got {
                failures.push(format!("{name}: {h}\n  suite: {want:?}\n  ours:  {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Redaction

#[test]
fn a_signed_request_debug_shows_no_credential_or_signature() {
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let token = "IQoJb3JpZ2luX2VjSECRETSESSIONTOKENvalue0123456789==";
    let creds = credentials("ASIAEXAMPLETEMPKEY01", secret, Some(token));
    let mut req = Request::new(
        Method::POST,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse"
            .parse()
            .unwrap(),
    );
    req.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    *req.body_mut() = Some(br#"{"messages":[]}"#.to_vec().into());
    sign_request(
        &mut req,
        &creds,
        "us-east-1",
        "bedrock",
        rfc3339("2025-12-02T12:00:00Z"),
    )
    .unwrap();
    let auth = header(&req, "authorization").unwrap().to_owned();
    let signature = auth.rsplit("Signature=").next().unwrap();
    assert_eq!(signature.len(), 64, "{auth}");
    assert!(req.headers()["authorization"].is_sensitive());
    assert!(req.headers()["x-amz-security-token"].is_sensitive());

    let debug = format!("{req:?}");
    for (what, s) in [
        ("secret key", secret),
        ("session token", token),
        ("signature", signature),
        ("authorization header", auth.as_str()),
    ] {
        assert!(
            !debug.contains(s),
            "the {what} shows in the request's Debug: {debug}"
        );
    }
    // The request still says what it is.
    assert!(
        debug.contains("bedrock-runtime.us-east-1.amazonaws.com"),
        "{debug}"
    );
    let pretty = format!("{req:#?}");
    assert!(!pretty.contains(secret) && !pretty.contains(token) && !pretty.contains(signature));

    let creds_debug = format!("{creds:?}");
    assert!(!creds_debug.contains(secret), "{creds_debug}");
    assert!(!creds_debug.contains(token), "{creds_debug}");
    let creds_pretty = format!("{creds:#?}");
    assert!(
        !creds_pretty.contains(secret) && !creds_pretty.contains(token),
        "{creds_pretty}"
    );
}
