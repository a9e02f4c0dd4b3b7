//! The AWS routes over HTTP: SigV4 verification (accept, reject, clock skew), Bedrock API keys,
//! Converse / ConverseStream / InvokeModel answers, SageMaker invocations and response
//! streams, byte-exact eventstream replays, and AWS fault shapes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use mock_upstream::eventstream::decode_all;
use mock_upstream::{
    AWS_TEST_BEARER_TOKENS, AWS_TEST_CREDENTIALS, ErrorSpec, MockUpstream, Reply, Step, StreamException,
};
use serde_json::{Value, json};

const CONVERSE: &str = "/model/us.amazon.nova-micro-v1%3A0/converse";
const CONVERSE_STREAM: &str = "/model/us.amazon.nova-micro-v1%3A0/converse-stream";
const SAGEMAKER: &str = "/endpoints/my-endpoint/invocations";
const SAGEMAKER_STREAM: &str = "/endpoints/my-endpoint/invocations-response-stream";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// How a test request authenticates.
#[derive(Clone)]
enum Auth {
    None,
    SigV4 {
        key: (&'static str, &'static str, Option<&'static str>),
        service: &'static str,
        time: SystemTime,
    },
    Bearer(&'static str),
}

fn permanent(service: &'static str) -> Auth {
    Auth::SigV4 {
        key: AWS_TEST_CREDENTIALS[0],
        service,
        time: SystemTime::now(),
    }
}

/// A POST of `body` to `url`, authenticated by `auth` (signed as core signs: default settings,
/// headers mode, the whole URL).
fn request(url: &str, body: &[u8], auth: &Auth) -> reqwest::Request {
    let mut req = reqwest::Request::new(reqwest::Method::POST, url.parse().unwrap());
    req.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    *req.body_mut() = Some(body.to_vec().into());
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        Auth::SigV4 { key, service, time } => {
            let headers: Vec<(String, String)> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            let signable = SignableRequest::new(
                "POST",
                url,
                headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                SignableBody::Bytes(body),
            )
            .unwrap();
            let identity = Credentials::new(key.0, key.1, key.2.map(str::to_owned), None, "test").into();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name(service)
                .time(*time)
                .settings(SigningSettings::default())
                .build()
                .unwrap()
                .into();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            for h in instructions.into_parts().0 {
                req.headers_mut().insert(h.name(), h.value().parse().unwrap());
            }
        }
    }
    req
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    fn error_type(&self) -> &str {
        self.header("x-amzn-errortype").split(':').next().unwrap_or("")
    }
}

async fn execute(req: reqwest::Request) -> Answer {
    let r = client().execute(req).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

async fn call(base: &str, path: &str, body: &Value, auth: &Auth) -> Answer {
    execute(request(
        &format!("{base}{path}"),
        body.to_string().as_bytes(),
        auth,
    ))
    .await
}

fn converse_body(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": [{"text": text}]}], "inferenceConfig": {}})
}

fn reply(text: &str) -> Step {
    Step {
        reply: Some(Reply {
            text: text.into(),
            ..Reply::default()
        }),
        ..Step::default()
    }
}

#[tokio::test]
async fn sigv4_signed_requests_are_accepted_and_captured() {
    let up = MockUpstream::start().await.unwrap();
    for key in AWS_TEST_CREDENTIALS {
        let (id, base) = up.scenario(vec![reply("Hello!")]);
        let auth = Auth::SigV4 {
            key: *key,
            service: "bedrock",
            time: SystemTime::now(),
        };
        let a = call(&base, CONVERSE, &converse_body("hi"), &auth).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.header("content-type"), "application/json");
        assert!(!a.header("x-amzn-requestid").is_empty());
        assert!(a.header("date").ends_with(" GMT"));
        let v = a.json();
        assert_eq!(v["output"]["message"]["content"][0]["text"], "Hello!");
        assert_eq!(v["stopReason"], "end_turn");
        assert!(v["usage"]["totalTokens"].as_u64().unwrap() > 0);
        let captured = up.requests(&id);
        assert_eq!(captured.len(), 1);
        assert_eq!(captured[0].path, CONVERSE);
        assert_eq!(captured[0].body, converse_body("hi"));
        assert!(captured[0].headers["authorization"].starts_with("AWS4-HMAC-SHA256 Credential="));
    }
}

#[tokio::test]
async fn bad_signatures_are_rejected_the_aws_way() {
    let up = MockUpstream::start().await.unwrap();
    let (id, base) = up.scenario(vec![reply("x")]);
    let body = converse_body("hi");

    let a = call(&base, CONVERSE, &body, &Auth::None).await;
    assert_eq!(
        (a.status, a.error_type()),
        (403, "MissingAuthenticationTokenException")
    );
    assert_eq!(a.json(), json!({"message": "Missing Authentication Token"}));
    assert!(!a.header("date").is_empty());
    assert!(!a.header("x-amzn-requestid").is_empty());

    // Tampered body: signed one body, sent another.
    let mut req = request(
        &format!("{base}{CONVERSE}"),
        body.to_string().as_bytes(),
        &permanent("bedrock"),
    );
    *req.body_mut() = Some(converse_body("HI").to_string().into());
    let a = execute(req).await;
    assert_eq!((a.status, a.error_type()), (403, "InvalidSignatureException"));
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("The request signature we calculated does not match")
    );

    let wrong_secret = Auth::SigV4 {
        key: (AWS_TEST_CREDENTIALS[0].0, "not/the/secret", None),
        service: "bedrock",
        time: SystemTime::now(),
    };
    let a = call(&base, CONVERSE, &body, &wrong_secret).await;
    assert_eq!((a.status, a.error_type()), (403, "InvalidSignatureException"));

    let unknown = Auth::SigV4 {
        key: ("AKIAUNKNOWNKEY000000", "whatever", None),
        service: "bedrock",
        time: SystemTime::now(),
    };
    let a = call(&base, CONVERSE, &body, &unknown).await;
    assert_eq!((a.status, a.error_type()), (403, "UnrecognizedClientException"));
    assert_eq!(
        a.json()["message"],
        "The security token included in the request is invalid."
    );

    let (akid, secret, _) = AWS_TEST_CREDENTIALS[1];
    for token in [None, Some("wrong-token")] {
        let temp = Auth::SigV4 {
            key: (akid, secret, token),
            service: "bedrock",
            time: SystemTime::now(),
        };
        let a = call(&base, CONVERSE, &body, &temp).await;
        assert_eq!((a.status, a.error_type()), (403, "UnrecognizedClientException"));
    }

    let a = call(&base, CONVERSE, &body, &permanent("bedrock-runtime")).await;
    assert_eq!((a.status, a.error_type()), (403, "InvalidSignatureException"));
    assert_eq!(
        a.json()["message"],
        "Credential should be scoped to correct service: 'bedrock'. "
    );
    let a = call(&base, SAGEMAKER, &json!({"messages": []}), &permanent("bedrock")).await;
    assert_eq!((a.status, a.error_type()), (403, "InvalidSignatureException"));
    assert_eq!(
        a.json()["message"],
        "Credential should be scoped to correct service: 'sagemaker'. "
    );

    // Every rejection consumed the step and was captured.
    assert_eq!(up.requests(&id).len(), 8);
    assert!(up.requests(&id).iter().all(|r| r.finished));
}

#[tokio::test]
async fn a_skewed_clock_is_rejected_then_corrected_from_date() {
    let up = MockUpstream::start().await.unwrap();
    let (id, base) = up.scenario(vec![Step {
        aws_clock_skew_s: 1200,
        ..reply("on time")
    }]);
    let a = call(&base, CONVERSE, &converse_body("hi"), &permanent("bedrock")).await;
    assert_eq!((a.status, a.error_type()), (403, "InvalidSignatureException"));
    let message = a.json()["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(message.ends_with(" - 5 min.)"), "{message}");
    let date =
        aws_smithy_types::DateTime::from_str(a.header("date"), aws_smithy_types::date_time::Format::HttpDate)
            .unwrap();
    let server = UNIX_EPOCH + Duration::from_secs(date.secs() as u64);
    let behind = server.duration_since(SystemTime::now()).unwrap();
    assert!(behind > Duration::from_secs(1100), "{behind:?}");

    let corrected = Auth::SigV4 {
        key: AWS_TEST_CREDENTIALS[0],
        service: "bedrock",
        time: server,
    };
    let a = call(&base, CONVERSE, &converse_body("hi"), &corrected).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(up.requests(&id).len(), 2);

    // A clock ahead of the mock's: "not yet current".
    let (_, base) = up.scenario(vec![Step {
        aws_clock_skew_s: -1200,
        ..reply("x")
    }]);
    let a = call(&base, CONVERSE, &converse_body("hi"), &permanent("bedrock")).await;
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Signature not yet current: ")
    );
}

#[tokio::test]
async fn bedrock_api_keys() {
    let up = MockUpstream::start().await.unwrap();
    let (_, base) = up.scenario(vec![reply("ok")]);
    let a = call(
        &base,
        CONVERSE,
        &converse_body("hi"),
        &Auth::Bearer(AWS_TEST_BEARER_TOKENS[0]),
    )
    .await;
    assert_eq!(a.status, 200);
    let a = call(
        &base,
        CONVERSE,
        &converse_body("hi"),
        &Auth::Bearer("ABSKbm9wZQ=="),
    )
    .await;
    assert_eq!((a.status, a.error_type()), (403, "UnrecognizedClientException"));
    let a = call(
        &base,
        SAGEMAKER,
        &json!({"messages": []}),
        &Auth::Bearer(AWS_TEST_BEARER_TOKENS[0]),
    )
    .await;
    assert_eq!((a.status, a.error_type()), (403, "IncompleteSignatureException"));
}

#[tokio::test]
async fn eventstream_recordings_replay_byte_exact() {
    let up = MockUpstream::start().await.unwrap();
    let dir = mock_upstream::recordings::default_dir();
    let names: Vec<String> = mock_upstream::recordings::list(&dir, "bedrock")
        .into_iter()
        .filter(|n| dir.join(format!("{n}.response.eventstream")).exists())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in names {
        let want = std::fs::read(dir.join(format!("{name}.response.eventstream"))).unwrap();
        let (_, base) = up.scenario(vec![Step {
            replay: Some(name.clone()),
            ..Step::default()
        }]);
        let a = call(
            &base,
            CONVERSE_STREAM,
            &converse_body("hi"),
            &permanent("bedrock"),
        )
        .await;
        assert_eq!(a.status, 200, "{name}");
        assert_eq!(a.header("content-type"), "application/vnd.amazon.eventstream");
        assert!(a.body == want, "{name}: replay differs");
        assert!(decode_all(&a.body).is_ok());
        // The /replay route too, and unsigned requests are refused there as well.
        let url = format!("{}/replay/{name}{CONVERSE_STREAM}", up.url());
        let a = execute(request(&url, b"{}", &permanent("bedrock"))).await;
        assert!(a.body == want, "{name}: /replay differs");
        let a = execute(request(&url, b"{}", &Auth::None)).await;
        assert_eq!(a.status, 403);
    }
}

#[tokio::test]
async fn recorded_errors_and_embeddings_replay_with_aws_headers() {
    let up = MockUpstream::start().await.unwrap();
    let (_, base) = up.scenario(vec![
        Step {
            replay: Some("bedrock/error_400_invalid_model_stream".into()),
            ..Step::default()
        },
        Step {
            replay: Some("bedrock/invoke_embeddings_nova".into()),
            ..Step::default()
        },
    ]);
    let a = call(
        &base,
        CONVERSE_STREAM,
        &converse_body("hello"),
        &permanent("bedrock"),
    )
    .await;
    assert_eq!((a.status, a.error_type()), (400, "ValidationException"));
    assert_eq!(
        a.json(),
        json!({"message": "The provided model identifier is invalid."})
    );
    let a = call(
        &base,
        "/model/amazon.nova-2-multimodal-embeddings-v1%3A0/invoke",
        &json!({}),
        &permanent("bedrock"),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-amzn-bedrock-input-token-count"), "18");
    assert_eq!(
        a.json()["embeddings"][0]["embedding"].as_array().unwrap().len(),
        256
    );
}

fn frames(body: &[u8]) -> Vec<(String, Value)> {
    decode_all(body)
        .unwrap()
        .into_iter()
        .map(|(h, p)| {
            let get = |k: &str| {
                h.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let kind = if get(":message-type") == "exception" {
                format!("!{}", get(":exception-type"))
            } else {
                get(":event-type")
            };
            (kind, serde_json::from_slice(&p).unwrap_or(Value::Null))
        })
        .collect()
}

#[tokio::test]
async fn converse_stream_synth_and_mid_stream_exception() {
    let up = MockUpstream::start().await.unwrap();
    let (_, base) = up.scenario(vec![reply("The capital of France is Paris.")]);
    let a = call(
        &base,
        CONVERSE_STREAM,
        &converse_body("hi"),
        &permanent("bedrock"),
    )
    .await;
    assert_eq!(a.header("content-type"), "application/vnd.amazon.eventstream");
    let f = frames(&a.body);
    assert_eq!(f[0].0, "messageStart");
    assert_eq!(f[f.len() - 1].0, "metadata");
    let text: String = f
        .iter()
        .filter_map(|(_, p)| p.pointer("/delta/text").and_then(Value::as_str))
        .collect();
    assert_eq!(text, "The capital of France is Paris.");

    let (_, base) = up.scenario(vec![Step {
        stream_exception: Some(StreamException {
            kind: Some("throttlingException".into()),
            message: "Too many tokens, please wait before trying again.".into(),
            after_frames: 3,
            ..StreamException::default()
        }),
        ..reply("The capital of France is Paris.")
    }]);
    let a = call(
        &base,
        CONVERSE_STREAM,
        &converse_body("hi"),
        &permanent("bedrock"),
    )
    .await;
    let f = frames(&a.body);
    assert_eq!(f.len(), 4);
    assert_eq!(f[3].0, "!throttlingException");
    assert_eq!(
        f[3].1,
        json!({"message": "Too many tokens, please wait before trying again."})
    );

    // A flipped byte: the client sees a CRC mismatch. A cut: the body ends early.
    let (_, base) = up.scenario(vec![Step {
        flip_byte_at: Some(40),
        ..reply("abc")
    }]);
    let a = call(
        &base,
        CONVERSE_STREAM,
        &converse_body("hi"),
        &permanent("bedrock"),
    )
    .await;
    assert!(
        decode_all(&a.body).unwrap_err().contains("checksum"),
        "{:?}",
        decode_all(&a.body)
    );
    let (_, base) = up.scenario(vec![Step {
        cut_after_bytes: Some(100),
        ..reply("abc")
    }]);
    let r = client()
        .execute(request(
            &format!("{base}{CONVERSE_STREAM}"),
            converse_body("hi").to_string().as_bytes(),
            &permanent("bedrock"),
        ))
        .await
        .unwrap();
    assert!(r.bytes().await.is_err());
}

#[tokio::test]
async fn invoke_model_embeddings() {
    let up = MockUpstream::start().await.unwrap();
    let (_, base) = up.scenario(vec![Step::default()]);
    let nova = json!({"taskType": "SINGLE_EMBEDDING", "singleEmbeddingParams": {"embeddingPurpose": "GENERIC_RETRIEVAL",
                      "text": {"value": "Test Nova dimensions", "truncationMode": "NONE"}, "embeddingDimension": 256}});
    let a = call(
        &base,
        "/model/amazon.nova-2-multimodal-embeddings-v1%3A0/invoke",
        &nova,
        &permanent("bedrock"),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json()["embeddings"][0]["embedding"].as_array().unwrap().len(),
        256
    );
    assert_eq!(a.header("x-amzn-bedrock-input-token-count"), "5");
    let titan = json!({"inputText": "hello", "dimensions": 512});
    let a = call(
        &base,
        "/model/amazon.titan-embed-text-v2%3A0/invoke",
        &titan,
        &permanent("bedrock"),
    )
    .await;
    assert_eq!(a.json()["embedding"].as_array().unwrap().len(), 512);
    let a = call(
        &base,
        "/model/amazon.titan-embed-text-v2%3A0/invoke",
        &json!({"x": 1}),
        &permanent("bedrock"),
    )
    .await;
    assert_eq!((a.status, a.error_type()), (400, "ValidationException"));
    // A body that is not JSON at all.
    let a = execute(request(
        &format!("{base}{CONVERSE}"),
        b"not json",
        &permanent("bedrock"),
    ))
    .await;
    assert_eq!((a.status, a.error_type()), (400, "ValidationException"));
}

#[tokio::test]
async fn sagemaker_invocations_and_response_stream() {
    let up = MockUpstream::start().await.unwrap();
    let (id, base) = up.scenario(vec![reply("Hello from the container, in several parts.")]);
    let request_body =
        json!({"model": "tgi", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20});
    let a = call(&base, SAGEMAKER, &request_body, &permanent("sagemaker")).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("x-amzn-invoked-production-variant"), "AllTraffic");
    assert_eq!(
        a.json()["choices"][0]["message"]["content"],
        "Hello from the container, in several parts."
    );

    let mut stream_body = request_body.clone();
    stream_body["stream"] = true.into();
    let a = call(&base, SAGEMAKER_STREAM, &stream_body, &permanent("sagemaker")).await;
    assert_eq!(a.header("content-type"), "application/vnd.amazon.eventstream");
    assert_eq!(a.header("x-amzn-sagemaker-content-type"), "text/event-stream");
    let parts = decode_all(&a.body).unwrap();
    let joined: Vec<u8> = parts.iter().flat_map(|(_, p)| p.clone()).collect();
    let (_, want) = mock_upstream::synth::answer(
        &Reply {
            text: "Hello from the container, in several parts.".into(),
            ..Reply::default()
        },
        &stream_body,
        mock_upstream::synth::Endpoint::Chat,
    );
    assert_eq!(joined, want);
    assert!(parts.iter().any(|(_, p)| !p.ends_with(b"\n\n")));
    assert_eq!(up.requests(&id)[1].body, stream_body);

    let (_, base) = up.scenario(vec![Step {
        stream_exception: Some(StreamException {
            message: "model crashed".into(),
            after_frames: 2,
            error_code: Some("ModelStreamError".into()),
            ..StreamException::default()
        }),
        ..reply("abcdefgh")
    }]);
    let a = call(&base, SAGEMAKER_STREAM, &stream_body, &permanent("sagemaker")).await;
    let f = decode_all(&a.body).unwrap();
    assert_eq!(f.len(), 3);
    assert!(
        f[2].0
            .contains(&(":exception-type".into(), "ModelStreamError".into()))
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&f[2].1).unwrap(),
        json!({"Message": "model crashed", "ErrorCode": "ModelStreamError"})
    );
}

#[tokio::test]
async fn fault_shapes() {
    let up = MockUpstream::start().await.unwrap();
    let error = |kind: &str, message: &str, status: Option<u16>| Step {
        error: Some(ErrorSpec {
            kind: Some(kind.into()),
            message: message.into(),
            ..ErrorSpec::default()
        }),
        status,
        headers: [("retry-after".to_owned(), "3".to_owned())].into(),
        ..Step::default()
    };
    let (_, base) = up.scenario(vec![
        error(
            "ThrottlingException",
            "Too many tokens, please wait before trying again.",
            None,
        ),
        error(
            "ValidationException",
            "Input is too long for requested model.",
            None,
        ),
    ]);
    let a = call(&base, CONVERSE, &converse_body("hi"), &permanent("bedrock")).await;
    assert_eq!(a.status, 429);
    assert_eq!(
        a.header("x-amzn-errortype"),
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    );
    assert_eq!(
        a.json(),
        json!({"message": "Too many tokens, please wait before trying again."})
    );
    assert_eq!(a.header("retry-after"), "3");
    let a = call(
        &base,
        CONVERSE_STREAM,
        &converse_body("hi"),
        &permanent("bedrock"),
    )
    .await;
    assert_eq!((a.status, a.error_type()), (400, "ValidationException"));
    assert_eq!(a.header("content-type"), "application/json");

    let mut model_error = error(
        "ModelError",
        "{\"object\":\"error\",\"message\":\"too long\"}",
        None,
    );
    if let Some(e) = &mut model_error.error {
        e.code = Some(json!(400));
    }
    let (_, base) = up.scenario(vec![model_error]);
    let a = call(
        &base,
        SAGEMAKER,
        &json!({"messages": []}),
        &permanent("sagemaker"),
    )
    .await;
    assert_eq!(a.status, 424);
    assert_eq!(
        a.header("x-amzn-errortype"),
        "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/"
    );
    assert_eq!(a.json()["ErrorCode"], "CLIENT_ERROR_FROM_MODEL");
    assert_eq!(a.json()["OriginalStatusCode"], 400);

    // /fail/{status}: the type from the status.
    let url = format!("{}/fail/503{CONVERSE}", up.url());
    let a = execute(request(&url, b"{}", &permanent("bedrock"))).await;
    assert_eq!((a.status, a.error_type()), (503, "ServiceUnavailableException"));
    let url = format!("{}/fail/429{SAGEMAKER}", up.url());
    let a = execute(request(&url, b"{}", &permanent("sagemaker"))).await;
    assert_eq!((a.status, a.error_type()), (429, "ThrottlingException"));
}
