//! What pricing a call costs: the built-in catalog (a remembered model name: a read lock, a
//! hash lookup and the arithmetic) against the `genai-prices` crate's own `calculate` (which
//! matches the model name against the provider's models on every call), and what loading a
//! provider's data costs the first call that needs it.
//!
//! Run: `cargo run --release -p modelplug-core --example price_lookup` (a timing loop, not a
//! test: the figures depend on the machine).

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use genai_prices::{Calculator, PriceRequest, UsageKey};
use modelplug_core::types::Usage;
use modelplug_core::usage::PriceCatalog;

const CALLS: u32 = 200_000;

fn per_call(f: impl Fn(u64) -> Option<f64>) -> (Duration, Option<f64>) {
    let first = f(0);
    let started = Instant::now();
    for i in 0..CALLS {
        black_box(f(u64::from(i)));
    }
    (started.elapsed() / CALLS, first)
}

fn main() {
    let usage = |i: u64| Usage {
        input_tokens: 1_000 + i % 100,
        cached_input_tokens: 200,
        output_tokens: 300,
        reasoning_tokens: 100,
        total_tokens: 1_300 + i % 100,
        ..Usage::default()
    };
    let now = SystemTime::now();

    let started = Instant::now();
    let catalog = PriceCatalog::builtin();
    println!("built-in catalog made (providers split): {:?}", started.elapsed());
    for (provider, model) in [
        ("openai", "gpt-4o"),
        ("openrouter", "mistralai/mistral-small"),
        ("azure", "gpt-4o"),
    ] {
        let started = Instant::now();
        catalog.prepare(provider, model);
        println!(
            "first use of {provider:<10} (load + resolve {model}): {:?}",
            started.elapsed()
        );
    }

    // The crate's calculator on the same data (core builds the crate without its own copy).
    let reference = Calculator::from_json(include_str!("../data/genai-prices/prices.json")).unwrap();
    println!("\nper call, {CALLS} calls each:");
    for (provider, crate_provider, model) in [
        ("openai", "openai", "gpt-4o-2024-08-06"),
        ("openai", "openai", "o3-mini"),
        ("azure", "azure", "gpt-4o"),
        ("openrouter", "openrouter", "mistralai/mistral-small"),
        ("openrouter", "openrouter", "x-ai/grok-4.3"),
        ("openai", "openai", "no-such-model"),
        ("openrouter", "openrouter", "no/such-model"),
    ] {
        let (ours, ours_cost) = per_call(|i| catalog.cost(provider, model, &usage(i), now));
        let (theirs, theirs_cost) = per_call(|i| {
            let u = usage(i);
            let g = genai_prices::Usage::from([
                (UsageKey::INPUT_TOKENS, u.input_tokens as f64),
                (UsageKey::CACHE_READ_TOKENS, u.cached_input_tokens as f64),
                (UsageKey::OUTPUT_TOKENS, u.output_tokens as f64),
                (UsageKey::OUTPUT_REASONING_TOKENS, u.reasoning_tokens as f64),
            ]);
            let request = PriceRequest::new(model, &g)
                .with_provider_id(crate_provider)
                .with_timestamp(now);
            reference.calculate(&request).ok().map(|p| p.total_price)
        });
        assert_eq!(ours_cost, theirs_cost, "{provider}/{model}");
        println!(
            "  {:<38} catalog {:>7.0} ns   genai_prices::calculate {:>7.0} ns   (${})",
            format!("{provider}/{model}"),
            ours.as_nanos() as f64,
            theirs.as_nanos() as f64,
            ours_cost.map_or("none".to_owned(), |c| format!("{c:.9}")),
        );
    }
}
