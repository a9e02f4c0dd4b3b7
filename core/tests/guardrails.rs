//! Guardrails beyond the shared vectors: a streamed answer split at every chunk size gives
//! exactly the non-streamed redaction (nothing raw ever reaches the caller), adversarial input
//! stays linear, invalid rules are config errors, and a new rule set is taken atomically.

use std::time::{Duration, Instant};

use modelplug_core::guardrails::{GuardrailSpec, KindSpec, RuleSet, StageSet};
use modelplug_core::{ChatRequest, Client, Config, ErrorKind, StreamEvent};
use serde_json::{Value, json};

fn client(reply: &str, chunk: usize, guardrails: Value) -> Client {
    let config = json!({"app": "guardrails-test", "guardrails": guardrails, "models": [{"name": "m",
        "deployments": [{"provider": "mock", "model": "mock-1",
            "mock": {"reply": reply, "chunk_chars": chunk}}]}]});
    Client::new(Config::from_json_value(&config, &|_| None).unwrap()).unwrap()
}

fn output_rules() -> Value {
    json!([
        {"name": "pii", "kind": "pii", "stage": "output", "action": "redact"},
        {"name": "topics", "kind": "deny_topics", "stage": "output", "action": "redact",
         "topics": ["legal advice", "insider trading", "tax evasion scheme"]},
        {"name": "tickets", "kind": "regex", "stage": "output", "action": "redact", "pattern": "TCK-[0-9]{6}"},
    ])
}

/// Texts mixing every redacted kind with ordinary prose, numbers and punctuation.
const REPLIES: &[&str] = &[
    "Contact jane.doe@example.com or +44 20 7946 0958; card 4111 1111 1111 1111 expires soon.",
    "Ticket TCK-123456: legal advice about insider trading, see 192.168.10.20 and 2001:db8::1.",
    "Use key sk-proj-abcdefghijklmnopqrstuvwxyz012345, IBAN DE89 3704 0044 0532 0130 00, ssn 123-45-6789.",
    "On 2024-01-15 at 12:30 the order #123456 shipped; version 1.2.3 is fine. No PII here at all!",
    "Émilie (émilie@exämple.fr?) asked for Legal  Advice — politely declined. Tax evasion schemes too.",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ends it",
];

async fn streamed(client: &Client) -> (String, Value) {
    let mut s = client.stream(ChatRequest::new("m", "hi"));
    let mut text = String::new();
    let mut done = Value::Null;
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            StreamEvent::TextDelta { text: t } => text.push_str(&t),
            StreamEvent::Done { response } => done = serde_json::to_value(&response).unwrap(),
            _ => {}
        }
    }
    (text, done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_split_anywhere_delivers_exactly_the_whole_answer_redaction() {
    for reply in REPLIES {
        let whole = client(reply, 1_000_000, output_rules());
        let expected = whole.chat(ChatRequest::new("m", "hi")).await.unwrap();
        let want = expected.text().to_owned();
        for chunk in 1..=13 {
            let c = client(reply, chunk, output_rules());
            let (text, done) = streamed(&c).await;
            assert_eq!(text, want, "chunks of {chunk}: {reply}");
            assert_eq!(done["message"]["content"], json!(want));
            assert_eq!(
                done["guardrails"],
                serde_json::to_value(&expected.guardrails).unwrap(),
                "chunks of {chunk}: the same outcomes as a whole answer"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_block_delivers_nothing_of_the_match_at_any_split() {
    let reply = "Fine so far. Now some insider trading tips follow, then more text.";
    for chunk in 1..=11 {
        let c = client(
            reply,
            chunk,
            json!([{"name": "t", "kind": "deny_topics", "stage": "output",
            "topics": ["insider trading"]}]),
        );
        let mut s = c.stream(ChatRequest::new("m", "hi"));
        let mut text = String::new();
        let mut error = None;
        while let Some(ev) = s.next().await {
            match ev {
                Ok(StreamEvent::TextDelta { text: t }) => text.push_str(&t),
                Ok(_) => {}
                Err(e) => error = Some(e),
            }
        }
        let e = error.expect("blocked");
        assert_eq!(e.kind(), ErrorKind::GuardrailBlocked);
        assert!(
            !text.to_lowercase().contains("insider"),
            "chunks of {chunk}: {text:?}"
        );
        assert!(
            text.starts_with("Fine so far."),
            "what came before was delivered: {text:?}"
        );
        let events = c.usage();
        assert_eq!(events[0].guardrails[0].action, "block");
    }
}

#[test]
fn adversarial_input_stays_linear() {
    // A 10 MB prompt of near-misses for every recognizer, and a pattern that backtracks
    // exponentially in a backtracking engine: RE2 semantics keep both linear.
    let unit = "a@b 4111 1111 1111 111 +44 20 DE89 3704 legal adv 1.2.3.4. eyJhbG.eyJzd sk-abc ";
    let big = unit.repeat(10 * 1024 * 1024 / unit.len());
    let specs = vec![
        spec("pii", KindSpec::Pii { entities: vec![] }),
        spec(
            "topics",
            KindSpec::DenyTopics {
                topics: vec!["legal advice".into()],
                synonyms: vec![],
            },
        ),
        spec(
            "evil",
            KindSpec::Regex {
                pattern: "(a+)+$".into(),
                placeholder: None,
                max_match_chars: None,
            },
        ),
        spec("injection", KindSpec::PromptInjection),
    ];
    let rules = RuleSet::compile(&specs).unwrap();
    let time = |text: &str| {
        let started = Instant::now();
        let found = rules.scan(modelplug_core::guardrails::Stage::Input, text);
        (started.elapsed(), found.len())
    };
    let (small, _) = time(&big[..big.len() / 10]);
    let (full, _) = time(&big);
    let evil = "a".repeat(1 << 20) + "!";
    let (evil_time, evil_found) = time(&evil);
    assert_eq!(evil_found, 0);
    // Not a benchmark: only that ten times the input is nowhere near a hundred times the
    // work (a quadratic scan would be), with slack for a noisy machine.
    assert!(
        full < small * 40 + Duration::from_millis(500),
        "10 MB took {full:?}, 1 MB {small:?}"
    );
    eprintln!("scan of 1 MB: {small:?}, 10 MB: {full:?}, (a+)+$ on 1 MB of a: {evil_time:?}");
}

fn spec(name: &str, kind: KindSpec) -> GuardrailSpec {
    GuardrailSpec {
        name: name.into(),
        kind,
        stages: StageSet::parse("both").unwrap(),
        action: modelplug_core::guardrails::Action::Block,
    }
}

#[test]
fn invalid_rules_are_config_errors_with_file_line_and_field() {
    let yaml = "app: a\nguardrails:\n  - {name: x, kind: regex, pattern: '(?<=a)b'}\n  - {name: y, kind: json_schema, stage: input, schema: {type: object}}\n  - {name: z, kind: pii, entities: [email, passport]}\n  - {name: x, kind: prompt_injection}\n  - {name: w, kind: deny_topics, topics: []}\n  - {name: v, kind: models}\n  - {name: u, kind: json_schema, schema: {type: 12}}\n";
    let e = Config::from_yaml_str(yaml, "modelplug.yaml", &|_| None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let m = e.message();
    for want in [
        "modelplug.yaml:3",
        "guardrails[0]",
        "does not compile",
        "modelplug.yaml:4",
        "guardrails[1].stage",
        "checks the output only",
        "guardrails[2].entities",
        "unknown PII kind `passport`",
        "guardrails[3].name",
        "used twice",
        "guardrails[4].topics",
        "guardrails[5]",
        "set `allowed`, `blocked` or both",
        "guardrails[6]",
        "the schema is not valid",
    ] {
        assert!(m.contains(want), "{want:?} not in:\n{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_rule_set_is_taken_atomically_by_new_calls() {
    let c = client("reply with jane@example.com", 3, json!([]));
    let before = c.chat(ChatRequest::new("m", "hi")).await.unwrap();
    assert_eq!(before.text(), "reply with jane@example.com");
    // A stream started before the swap finishes on the set it started with.
    let mut old_stream = c.stream(ChatRequest::new("m", "hi"));
    let first = old_stream.next().await.unwrap().unwrap();
    c.replace_guardrails(&[GuardrailSpec {
        name: "pii".into(),
        kind: KindSpec::Pii { entities: vec![] },
        stages: StageSet::parse("output").unwrap(),
        action: modelplug_core::guardrails::Action::Redact,
    }])
    .unwrap();
    let mut old_text = match first {
        StreamEvent::TextDelta { text } => text,
        _ => String::new(),
    };
    while let Some(ev) = old_stream.next().await {
        if let Ok(StreamEvent::TextDelta { text }) = ev {
            old_text.push_str(&text);
        }
    }
    assert_eq!(old_text, "reply with jane@example.com");
    let after = c.chat(ChatRequest::new("m", "hi")).await.unwrap();
    assert_eq!(after.text(), "reply with [EMAIL]");
    // A rule that does not compile leaves the set in force.
    let bad = GuardrailSpec {
        name: "bad".into(),
        kind: KindSpec::Regex {
            pattern: "a(".into(),
            placeholder: None,
            max_match_chars: None,
        },
        stages: StageSet::parse("both").unwrap(),
        action: modelplug_core::guardrails::Action::Block,
    };
    let e = c.replace_guardrails(&[bad]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("bad"));
    assert_eq!(
        c.chat(ChatRequest::new("m", "hi")).await.unwrap().text(),
        "reply with [EMAIL]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batched_stream_reader_gets_done_after_an_async_output_check() {
    use futures_util::FutureExt;
    use modelplug_core::guardrails::{CustomGuardrail, HostCheck};
    // Bindings read in batches (`next_batch`), polling buffered events without waiting; the
    // end-of-stream hooks (here a host check that takes a while) must not be lost by that.
    let check: HostCheck = std::sync::Arc::new(|_input: String| {
        async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(r#"{"action": "warn"}"#.to_owned())
        }
        .boxed()
    });
    let config = json!({"app": "g", "models": [{"name": "m", "deployments": [{"provider": "mock",
        "model": "mock-1", "mock": {"reply": "one two three four", "chunk_chars": 2}}]}]});
    let c = Client::builder()
        .config(Config::from_json_value(&config, &|_| None).unwrap())
        .guardrail(CustomGuardrail::new("slow-watch", "output", 1000, "closed", check).unwrap())
        .build()
        .unwrap();
    let mut s = c.stream(ChatRequest::new("m", "hi"));
    let mut events = Vec::new();
    loop {
        let batch = s.next_batch(64).await;
        assert!(batch.error.is_none(), "{:?}", batch.error);
        if batch.events.is_empty() {
            break;
        }
        events.extend(batch.events);
    }
    let Some(StreamEvent::Done { response }) = events.last() else {
        panic!("no Done: {events:?}");
    };
    assert_eq!(response.text(), "one two three four");
    assert_eq!(response.guardrails[0].action, "warn");
    assert_eq!(c.usage()[0].guardrails[0].name, "slow-watch");
}
