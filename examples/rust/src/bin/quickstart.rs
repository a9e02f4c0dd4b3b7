//! The README's Rust quickstart: a config with the in-process mock provider, one chat and one
//! stream. Swap `provider: mock` for `openai` (with OPENAI_API_KEY set) to call the real API.

use modelplug_core::config::process_env;
use modelplug_core::{ChatRequest, Client, Config, StreamEvent};

const CONFIG: &str = "
app: quickstart
models:
  - name: smart
    deployments:
      - { provider: mock, model: echo, mock: { reply: 'Paris is the capital of France.' } }
";

#[tokio::main]
async fn main() -> modelplug_core::Result<()> {
    let client = Client::new(Config::from_yaml_str(CONFIG, "quickstart.yaml", &process_env)?)?;

    let answer = client
        .chat(ChatRequest::new("smart", "What is the capital of France?"))
        .await?;
    println!(
        "{} ({} tokens via {})",
        answer.text(),
        answer.usage.total_tokens,
        answer.provider
    );

    let mut stream = client.stream(ChatRequest::new("smart", "And again, streamed?"));
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::TextDelta { text } => print!("{text}"),
            StreamEvent::Done { response } => println!("\n[{:?}]", response.finish_reason),
            _ => {}
        }
    }
    Ok(())
}
