//! SageMaker endpoints through the mock upstream (SigV4 with signing name `sagemaker`,
//! verified by the mock): a chat, a stream whose payload parts cut the container's SSE
//! anywhere, an exception frame mid-stream, a container's own error (`ModelError`), and the
//! inference component header.

mod common;

use mock_upstream::scenario::StreamException;
use mock_upstream::{ErrorSpec, MockUpstream, Reply, Step};
use modelplug_core::{ChatRequest, Client, Config, ErrorKind};
use serde_json::{Value, json};

fn client(base: &str, extra: Value) -> Client {
    let mut d = json!({"provider": "sagemaker", "model": "llama-3-8b-instruct", "endpoint": "llama-tgi",
        "region": "eu-west-1", "aws_access_key_id": "AKIAMODELPLUGTEST01",
        "aws_secret_access_key": "modelplug/test/secret/key/0001", "base_url": base});
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [d]}]});
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_and_stream_through_an_endpoint() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![reply("Bonjour — ça va ?")]);
    let c = client(&base, json!({"inference_component": "llama-ic-1"}));
    let r = c.chat(ChatRequest::new("m", "Salut")).await.unwrap();
    assert_eq!(
        (r.text(), r.provider.as_str()),
        ("Bonjour — ça va ?", "sagemaker")
    );
    let out = common::collect_stream(c.stream(ChatRequest::new("m", "Salut"))).await;
    assert_eq!(out["text"], json!("Bonjour — ça va ?"), "{out}");
    assert_eq!(out["response"]["finish_reason"], json!("stop"), "{out}");
    let sent = upstream.requests(&id);
    assert_eq!(sent[0].path, "/endpoints/llama-tgi/invocations");
    assert_eq!(sent[1].path, "/endpoints/llama-tgi/invocations-response-stream");
    for s in &sent {
        assert_eq!(s.headers["x-amzn-sagemaker-inference-component"], "llama-ic-1");
        assert!(
            s.headers["authorization"].contains("/eu-west-1/sagemaker/aws4_request"),
            "{:?}",
            s.headers
        );
        assert_eq!(s.body["model"], json!("llama-3-8b-instruct"));
    }
    assert_eq!(sent[1].body["stream"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_errors_and_stream_exceptions_are_typed() {
    let upstream = MockUpstream::start().await.unwrap();
    let model_error = |code: u16, message: &str| Step {
        status: Some(424),
        error: Some(ErrorSpec {
            message: message.into(),
            kind: Some("ModelError".into()),
            code: Some(json!(code)),
            ..ErrorSpec::default()
        }),
        ..Step::default()
    };
    let (_, base) = upstream.scenario(vec![model_error(
        400,
        "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 5000 `inputs` tokens and 20 `max_new_tokens`",
    )]);
    let e = client(&base, json!({}))
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContextLengthExceeded, "{e}");
    assert_eq!(e.provider_code(), Some("ModelError"));
    let (_, base) = upstream.scenario(vec![model_error(500, "CUDA out of memory")]);
    let e = client(&base, json!({}))
        .chat(ChatRequest::new("m", "hi"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable, "{e}");

    let (_, base) = upstream.scenario(vec![Step {
        stream_exception: Some(StreamException {
            kind: Some("ModelStreamError".into()),
            message: "Your model stream encountered an error".into(),
            after_frames: 2,
            error_code: Some("ModelError".into()),
            ..StreamException::default()
        }),
        ..reply("The capital of France is Paris.")
    }]);
    let out = common::collect_stream(client(&base, json!({})).stream(ChatRequest::new("m", "hi"))).await;
    assert_eq!(out["error"]["code"], json!("PROVIDER_UNAVAILABLE"), "{out}");
    assert_eq!(out["error"]["provider_code"], json!("ModelStreamError"), "{out}");
}

#[test]
fn an_api_key_on_sagemaker_is_a_config_error() {
    let config = json!({"models": [{"name": "m", "deployments": [{"provider": "sagemaker", "model": "x",
        "region": "eu-west-1", "api_key": "ABSKbW9kZWxwbHVnLXRlc3Qta2V5"}]}]});
    let e = Config::from_json_value(&config, &|_| None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message().contains("api_key") && e.message().contains("sagemaker"),
        "{e}"
    );
    assert!(!e.message().contains("ABSK"), "{e}");
}
