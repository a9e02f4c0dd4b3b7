//! The demo scenarios produce what the recordings and the config say they should.

use mock_upstream::MockUpstream;
use modelplug_core::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_scenarios() {
    let upstream = MockUpstream::start().await.unwrap();
    let client = Client::new(modelplug_examples::demo_config(&upstream.url()).unwrap()).unwrap();
    let lines = modelplug_examples::run(&client).await.unwrap();
    let text = lines.join("\n");
    assert!(
        text.contains(r#"chat     "The capital of France is Paris." from azure-backup (21 tokens"#),
        "{text}"
    );
    assert!(
        text.contains(
            "openai-primary PROVIDER_UNAVAILABLE → openai-primary PROVIDER_UNAVAILABLE → azure-backup ok"
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"stream   "The capital of the UK is London." in 8 pieces from groq (87 tokens)"#),
        "{text}"
    );
    assert!(
        text.contains("tools    the model calls get_user_country({}) [call_iXFttys57ap0o16JSlC8yhYo]"),
        "{text}"
    );
    assert!(
        text.contains("embed    1 vector of 128 dimensions (4 tokens)"),
        "{text}"
    );
    assert!(
        text.contains(r#"mock     "no network needed" from the mock provider"#),
        "{text}"
    );
    // The config's guardrails: an address redacted before it leaves, an injection blocked.
    assert!(
        text.contains(r#"guard    "Send the invoice to [EMAIL] please" (no-pii input redact×1)"#),
        "{text}"
    );
    assert!(
        text.contains(
            "guard    GUARDRAIL_BLOCKED: the guardrail `no-injection` (prompt_injection) blocked the request"
        ),
        "{text}"
    );
    // Claude overloaded → Gemini: stream_sse_usage's 18 prompt tokens, 80 answer + 35 thinking
    // at gemini-2.5-flash's $0.30/M in and $2.50/M out = $0.0002929.
    let families = modelplug_examples::families(&client).await.unwrap();
    assert!(
        families.contains("streamed by gemini (18 in, 115 out of which 35 thinking, $0.000293; tries: claude PROVIDER_UNAVAILABLE → gemini ok)"),
        "{families}"
    );
    // 0.000105 (chat) + 0.00005313 (stream) + 0.00029 (tools) + 0.00000008 (embed); mocks unpriced.
    assert!(
        text.contains("cost     $0.000448 for 6 calls (4 priced by the config's price table)"),
        "{text}"
    );
}
