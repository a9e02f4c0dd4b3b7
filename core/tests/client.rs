//! Client behaviour the vectors cannot express: cancellation, dropping streams, closing,
//! concurrency, and `provider/model` names without a key.

use std::time::Duration;

use futures_util::StreamExt;
use mock_upstream::{MockUpstream, Reply, Step};
use modelplug_core::config::DeploymentConfig;
use modelplug_core::providers::ProviderKind;
use modelplug_core::{ChatRequest, Client, Config, ErrorKind, SharedStream, StreamEvent};
use serde_json::json;

fn client_for(base: &str) -> Client {
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [
        {"provider": "openai", "model": "gpt-4o", "api_key": "sk-test", "base_url": format!("{base}/v1")}]}]});
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
}

fn slow_stream() -> Step {
    Step {
        reply: Some(Reply {
            text: "a fairly long answer that arrives slowly, piece by piece".into(),
            ..Reply::default()
        }),
        chunk_bytes: Some(60),
        chunk_delay_ms: Some(40),
        ..Step::default()
    }
}

async fn wait_for_abort(upstream: &MockUpstream, id: &str) -> bool {
    for _ in 0..100 {
        if upstream.requests(id).first().is_some_and(|r| r.client_aborted) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_pending_next_stops_the_upstream_request() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![slow_stream()]);
    let client = client_for(&base);
    let mut stream = client.stream(ChatRequest::new("m", "go"));
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first, StreamEvent::TextDelta { .. }), "{first:?}");
    let handle = stream.cancel_handle();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        handle.cancel();
    });
    // Drain until the cancellation lands (it interrupts a pending `next`).
    let err = loop {
        match stream.next().await {
            Some(Ok(StreamEvent::Done { .. })) => panic!("the stream finished before it was cancelled"),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("ended without an error"),
        }
    };
    canceller.await.unwrap();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(stream.next().await.is_none(), "nothing after cancellation");
    assert!(
        wait_for_abort(&upstream, &id).await,
        "the upstream saw the client go away"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_closes_the_connection() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![slow_stream()]);
    let client = client_for(&base);
    let mut stream = client.stream(ChatRequest::new("m", "go"));
    stream.next().await.unwrap().unwrap();
    drop(stream);
    assert!(wait_for_abort(&upstream, &id).await);
    assert!(!upstream.requests(&id)[0].finished);
}

// One thread, so that the aborted read is still holding the stream when `cancel` runs: the
// situation of a binding whose caller cancelled a pending read (uniffi drops the read's future,
// which aborts its task) and then cancels the stream.
#[tokio::test(flavor = "current_thread")]
async fn cancelling_a_shared_stream_closes_it_after_an_aborted_read() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![Step {
        chunk_delay_ms: Some(300),
        ..slow_stream()
    }]);
    let client = client_for(&base);
    let shared = SharedStream::new(client.stream(ChatRequest::new("m", "go")));
    let first = shared.next_batch(64).await;
    assert!(first.error.is_none() && !first.events.is_empty(), "{first:?}");

    let reader = tokio::spawn({
        let shared = shared.clone();
        async move { shared.next_batch(64).await }
    });
    tokio::task::yield_now().await; // the reader takes the stream and waits for the network
    reader.abort();
    shared.cancel();
    assert!(reader.await.unwrap_err().is_cancelled());
    assert!(
        wait_for_abort(&upstream, &id).await,
        "the connection stayed open after the aborted read let go"
    );
    let after = shared.next_batch(64).await;
    assert!(
        after.events.is_empty() && after.error.is_none(),
        "the stream has ended: {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_adapter_and_complete_read_keep_the_request_finished() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![Step {
        echo: true,
        ..Step::default()
    }]);
    let client = client_for(&base);
    let events: Vec<_> = client
        .stream(ChatRequest::new("m", "hello stream"))
        .into_stream()
        .collect()
        .await;
    let Some(Ok(StreamEvent::Done { response })) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(response.text(), "hello stream");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sent = upstream.requests(&id);
    assert!(sent[0].finished && !sent[0].client_aborted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_client_refuses_calls() {
    let client = Client::builder().build().unwrap();
    client.close().await.unwrap();
    assert!(client.is_closed());
    let e = client.chat(ChatRequest::new("mock/x", "hi")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    let e = client
        .stream(ChatRequest::new("mock/x", "hi"))
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_share_one_client() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![Step {
        echo: true,
        ..Step::default()
    }]);
    let client = client_for(&base);
    let calls = (0..300).map(|i| {
        let c = client.clone();
        tokio::spawn(async move { c.chat(ChatRequest::new("m", format!("call {i}"))).await })
    });
    let results = futures_util::future::join_all(calls).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap().unwrap().text(), format!("call {i}"));
    }
    assert_eq!(upstream.requests(&id).len(), 300);
}

#[test]
fn direct_model_without_key_names_the_variable() {
    let e = DeploymentConfig::direct(ProviderKind::Groq, "llama", &|_| None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("GROQ_API_KEY"), "{e}");
    let ok = DeploymentConfig::direct(ProviderKind::Groq, "llama", &|v| {
        (v == "GROQ_API_KEY").then(|| "k".into())
    });
    assert_eq!(ok.unwrap().name, "groq/llama");
    let e = DeploymentConfig::direct(ProviderKind::Azure, "gpt", &|v| {
        (v != "AZURE_OPENAI_ENDPOINT").then(|| "k".into())
    });
    assert!(e.unwrap_err().message().contains("AZURE_OPENAI_ENDPOINT"));
    assert!(
        DeploymentConfig::direct(ProviderKind::Ollama, "qwen", &|_| None).is_ok(),
        "ollama needs no key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_leaves_a_usage_event_without_prompt_text() {
    let upstream = MockUpstream::start().await.unwrap();
    let (_, base) = upstream.scenario(vec![
        Step {
            status: Some(503),
            error: Some(mock_upstream::ErrorSpec::default()),
            ..Step::default()
        },
        Step {
            echo: true,
            ..Step::default()
        },
    ]);
    let config = json!({"app": "usage-test", "team": "core", "env": "ci", "models": [
        {"name": "m", "retry": {"attempts": 0}, "deployments": [
            {"name": "first", "provider": "openai", "model": "gpt-4o", "api_key": "sk-test", "base_url": format!("{base}/v1")},
            {"name": "second", "provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-test", "base_url": format!("{base}/v1")}]},
        {"name": "local", "deployments": [{"provider": "mock", "model": "echo", "mock": {"chunk_chars": 3}}]}],
        "prices": {"openai/gpt-4o-mini": {"input": 0.15, "output": 0.6}, "openai/gpt-4o": {"input": 99, "output": 99}}});
    let config = Config::from_json_value(&config, &|_| None).unwrap();
    let hash = config.hash.clone();
    let client = Client::builder()
        .config(config)
        .sdk("python", "9.9.9")
        .build()
        .unwrap();

    let secret_prompt = "the secret prompt text";
    let mut with_meta = ChatRequest::new("m", secret_prompt);
    with_meta.metadata.user = Some("user-42".into());
    with_meta.metadata.tags = vec!["batch".into()];
    client.chat(with_meta).await.unwrap();
    client
        .chat(ChatRequest::new("nope", secret_prompt))
        .await
        .unwrap_err();
    let events: Vec<_> = client
        .stream(ChatRequest::new("local", secret_prompt))
        .into_stream()
        .collect()
        .await;
    assert!(events.last().unwrap().is_ok());
    let mut dropped = client.stream(ChatRequest::new("local", secret_prompt));
    dropped.next().await.unwrap().unwrap();
    drop(dropped);
    client
        .embed(modelplug_core::EmbedRequest::new("local", vec!["x".into()]))
        .await
        .unwrap();

    let usage = client.usage();
    assert_eq!(usage.len(), 5);
    let json = serde_json::to_value(&usage).unwrap();
    let ok = &json[0];
    assert_eq!(
        (&ok["app"], &ok["team"], &ok["env"]),
        (&json!("usage-test"), &json!("core"), &json!("ci"))
    );
    assert_eq!(
        (&ok["status"], &ok["operation"], &ok["stream"]),
        (&json!("ok"), &json!("chat"), &json!(false))
    );
    assert_eq!(ok["user"], "user-42");
    assert_eq!(ok["tags"], json!(["batch"]));
    assert_eq!(ok["deployment"], "second");
    assert_eq!(ok["fallback_used"], true);
    assert_eq!(ok["attempts"].as_array().unwrap().len(), 2);
    assert!(ok["input_tokens"].as_u64().unwrap() > 0 && ok["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(ok["config_hash"], hash);
    assert_eq!(ok["sdk"], json!({"language": "python", "version": "9.9.9"}));
    assert_eq!(ok["schema"], 1);
    assert!(ok["ts"].as_str().unwrap().ends_with('Z') && ok["id"].as_str().unwrap().len() == 36);
    assert!(ok["latency_ms"].as_f64().unwrap() > 0.0);
    // Priced by the deployment that answered (gpt-4o-mini), with the table's version.
    let expected_cost =
        (ok["input_tokens"].as_f64().unwrap() * 0.15 + ok["output_tokens"].as_f64().unwrap() * 0.6) / 1e6;
    assert!(
        (ok["cost_usd"].as_f64().unwrap() - expected_cost).abs() < 1e-15,
        "{}",
        ok["cost_usd"]
    );
    assert_eq!(ok["price_table_version"], format!("config-{hash}"));

    let failed = &json[1];
    assert_eq!(
        (&failed["status"], &failed["error_code"]),
        (&json!("error"), &json!("NOT_FOUND"))
    );
    assert!(failed["attempts"].as_array().unwrap().is_empty() && failed["provider"].is_null());

    let streamed = &json[2];
    assert!(streamed["stream"] == true && streamed["status"] == "ok" && streamed["ttft_ms"].is_f64());
    assert!(streamed["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(streamed["provider"], "mock");
    assert!(
        streamed["cost_usd"].is_null() && streamed["price_table_version"].is_null(),
        "mock/echo has no price"
    );
    assert!(failed["cost_usd"].is_null() && failed["price_table_version"].is_null());

    let cancelled = &json[3];
    assert_eq!(
        (&cancelled["status"], &cancelled["error_code"]),
        (&json!("cancelled"), &json!("CANCELLED"))
    );
    assert_eq!(cancelled["attempts"].as_array().unwrap().len(), 1);

    assert_eq!(json[4]["operation"], "embeddings");
    assert!(usage[0].id < usage[4].id, "UUIDv7 ids are time-ordered");
    // The events read back as they were written (the collector's side of the contract).
    let back: Vec<modelplug_core::UsageEvent> = serde_json::from_value(json.clone()).unwrap();
    let usage: Vec<modelplug_core::UsageEvent> = usage.iter().map(|e| (**e).clone()).collect();
    assert_eq!(back, usage);

    let text = serde_json::to_string(&usage).unwrap();
    assert!(
        !text.contains("secret prompt"),
        "usage events carry no prompt text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_events_can_be_taken_without_waiting() {
    let upstream = MockUpstream::start().await.unwrap();
    let text = "one two three four five six seven eight nine ten";
    let (_, base) = upstream.scenario(vec![Step {
        reply: Some(Reply {
            text: text.into(),
            ..Reply::default()
        }),
        ..Step::default()
    }]);
    let client = client_for(&base);
    let mut stream = client.stream(ChatRequest::new("m", "go"));
    assert!(
        stream.next_ready().is_none(),
        "nothing is ready before the stream opens"
    );
    let mut events = vec![stream.next().await.unwrap().unwrap()];
    let mut ready = 0;
    loop {
        match stream.next_ready() {
            Some(Some(ev)) => {
                ready += 1;
                events.push(ev.unwrap());
            }
            Some(None) => break,
            None => match stream.next().await {
                Some(ev) => events.push(ev.unwrap()),
                None => break,
            },
        }
    }
    assert!(
        ready > 5,
        "the whole answer arrived in one read: {ready} events were ready"
    );
    let joined: String = events
        .iter()
        .filter_map(|e| {
            if let StreamEvent::TextDelta { text } = e {
                Some(text.as_str())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(joined, text);
    let Some(StreamEvent::Done { response }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(response.text(), text);
    assert!(stream.next_ready().unwrap().is_none() && stream.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_run_under_a_cancel_handle_stops_when_it_fires() {
    let upstream = MockUpstream::start().await.unwrap();
    let (id, base) = upstream.scenario(vec![Step {
        reply: Some(Reply {
            text: "slow body".into(),
            ..Reply::default()
        }),
        chunk_bytes: Some(16),
        chunk_delay_ms: Some(100),
        ..Step::default()
    }]);
    let client = client_for(&base);
    let handle = modelplug_core::CancelHandle::new();
    let trigger = handle.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        trigger.cancel();
    });
    let e = handle
        .run(client.chat(ChatRequest::new("m", "go")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert!(wait_for_abort(&upstream, &id).await);
    // A handle that already fired stops the next call at once.
    assert_eq!(
        handle
            .run(client.chat(ChatRequest::new("m", "go")))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Cancelled
    );
}

// The mock upstream's routes that need no scenario (used by the demo config and by hand).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_upstream_replay_fail_and_echo_routes() {
    let upstream = MockUpstream::start().await.unwrap();
    let url = upstream.url();
    let ask = || ChatRequest::new("m", "hello there");

    let echo = client_for(&format!("{url}/echo")).chat(ask()).await.unwrap();
    assert_eq!(echo.text(), "hello there");

    let failed = client_for(&format!("{url}/fail/429"))
        .chat(ask())
        .await
        .unwrap_err();
    assert_eq!(
        (failed.kind(), failed.status()),
        (ErrorKind::RateLimited, Some(429))
    );

    let replayed = client_for(&format!("{url}/replay/openai/chat_nonstream_text"))
        .chat(ask())
        .await
        .unwrap();
    assert!(
        !replayed.text().is_empty() && replayed.usage.total_tokens > 0,
        "{replayed:?}"
    );
}
