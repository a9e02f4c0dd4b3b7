//! Secrets never appear in `Debug`/`Display` of config, clients, requests, responses or errors:
//! every formatted form is scanned for the credential values.

use mock_upstream::{ErrorSpec, MockUpstream, Step};
use modelplug_core::{ChatRequest, Client, Config};

const KEY: &str = "sk-live-abcdefghijklmnop0123456789";
const HEADER_SECRET: &str = "hdr-secret-zyxwvutsrq987";
const COLLECTOR_SECRET: &str = "azure-key-5f5f5f5f5f5f5f5f";

fn env(name: &str) -> Option<String> {
    match name {
        "TEST_OPENAI_KEY" => Some(KEY.to_owned()),
        "TEST_HEADER" => Some(HEADER_SECRET.to_owned()),
        "AZURE_OPENAI_API_KEY" => Some(COLLECTOR_SECRET.to_owned()),
        _ => None,
    }
}

fn assert_clean(what: &str, text: &str) {
    for s in [KEY, HEADER_SECRET, COLLECTOR_SECRET] {
        assert!(!text.contains(s), "{what} leaks a secret: {text}");
        assert!(!text.contains(&s[..12]), "{what} leaks part of a secret: {text}");
    }
}

fn yaml(base: &str) -> String {
    format!(
        "app: secrets
models:
  - name: m
    retry: {{attempts: 0}}
    deployments:
      - provider: openai
        model: gpt-4o
        api_key: ${{TEST_OPENAI_KEY}}
        base_url: {base}/v1
        headers: {{x-auth: \"Token ${{TEST_HEADER}}\"}}
      - provider: azure
        model: gpt-4o
        base_url: {base}
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_formatted_form_contains_a_secret() {
    let upstream = MockUpstream::start().await.unwrap();
    let leak = format!("Incorrect API key provided: {KEY}; header was Token {HEADER_SECRET}");
    let (id, base) = upstream.scenario(vec![Step {
        status: Some(401),
        error: Some(ErrorSpec {
            message: leak,
            ..ErrorSpec::default()
        }),
        ..Step::default()
    }]);
    let config = Config::from_yaml_str(&yaml(&base), "secrets.yaml", &env).unwrap();
    assert_clean("Config Debug", &format!("{config:?} {:#?}", config.models));
    let client = Client::new(config.clone()).unwrap();
    assert_clean("Client Debug", &format!("{client:?}"));

    let request = ChatRequest::new("m", "hello");
    assert_clean("request Debug", &format!("{request:?}"));
    let err = client.chat(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), "ALL_DEPLOYMENTS_FAILED");
    assert_clean("error Display", &err.to_string());
    assert_clean("error Debug", &format!("{err:?}"));
    assert_clean("error JSON", &err.to_value().to_string());

    // The secrets did reach the provider, where they belong.
    let sent = upstream.requests(&id);
    assert_eq!(sent[0].headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(sent[0].headers["x-auth"], format!("Token {HEADER_SECRET}"));
    assert_eq!(sent[1].headers["api-key"], COLLECTOR_SECRET);

    let mut stream = client.stream(request);
    let err = stream.next().await.unwrap().unwrap_err();
    assert_clean("stream error", &format!("{err} {err:?}"));
}

#[test]
fn config_errors_name_variables_not_values() {
    let text = "models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x, api_key: \"${TEST_OPENAI_KEY}\", base_url: \"not-a-url-${TEST_OPENAI_KEY}\"}\n      - {provider: openai, model: y, api_key: \"${UNSET_SECRET_VAR}\"}\n";
    let err = Config::from_yaml_str(text, "c.yaml", &env).unwrap_err();
    let msg = err.to_string();
    assert_clean("config error", &msg);
    assert!(msg.contains("UNSET_SECRET_VAR is not set"), "{msg}");
    assert!(msg.contains("c.yaml:4:"), "{msg}");
}

#[test]
fn the_config_hash_does_not_depend_on_secret_values() {
    let other = |name: &str| {
        if name == "TEST_OPENAI_KEY" {
            Some("sk-other-value-000000".into())
        } else {
            env(name)
        }
    };
    let a = Config::from_yaml_str(&yaml("http://x"), "a.yaml", &env).unwrap();
    let b = Config::from_yaml_str(&yaml("http://x"), "b.yaml", &other).unwrap();
    assert_eq!(a.hash, b.hash);
    assert_ne!(
        a.hash,
        Config::from_yaml_str(&yaml("http://y"), "a.yaml", &env)
            .unwrap()
            .hash
    );
}
