use std::time::{Duration, UNIX_EPOCH};

use genai_prices::{ErrorKind as CrateErrorKind, UsageKey};
use serde_json::json;

use super::*;

/// A small table in the genai-prices format: one model per feature under test.
fn table() -> PriceCatalog {
    let provider = |id: &str, models: serde_json::Value| json!({"id": id, "name": id, "api_pattern": format!("https://{id}\\.example"), "models": models});
    let data = json!([
        provider("openai", json!([
            {"id": "cached-model", "match": {"or": [{"equals": "cached-model"}, {"starts_with": "cached-model-"}]},
             "context_window": 200000,
             "prices": {"input_mtok": 3, "cache_read_mtok": 0.3, "cache_write_mtok": 3.75,
                        "cache_write_1h_mtok": 6, "output_mtok": 15}},
            {"id": "tiered-model", "match": {"equals": "tiered-model"},
             "prices": {"input_mtok": {"base": 1.25, "tiers": [{"start": 200000, "price": 2.5}]},
                        "cache_read_mtok": {"base": 0.125, "tiers": [{"start": 200000, "price": 0.25}]},
                        "output_mtok": {"base": 10, "tiers": [{"start": 200000, "price": 15}]}}},
            {"id": "dated-model", "match": {"equals": "dated-model"},
             "prices": [{"prices": {"input_mtok": 1, "output_mtok": 2}},
                        {"constraint": {"start_date": "2025-01-01"}, "prices": {"input_mtok": 2, "output_mtok": 4}}]},
            {"id": "peak-model", "match": {"equals": "peak-model"},
             "prices": [{"prices": {"input_mtok": 1, "output_mtok": 2}},
                        {"constraint": {"start_time": "00:30:00Z", "end_time": "16:30:00Z"},
                         "prices": {"input_mtok": 4, "output_mtok": 8}}]},
            {"id": "reasoner", "match": {"equals": "reasoner"},
             "prices": {"input_mtok": 2, "output_mtok": 8, "output_reasoning_mtok": 3}},
            {"id": "listed-without-price", "match": {"equals": "listed-without-price"}, "prices": {}},
            {"id": "per-request", "match": {"equals": "per-request"}, "prices": {"requests_kcount": 5}}
        ])),
        {"id": "azure", "name": "Azure", "api_pattern": "https://azure\\.example",
         "fallback_model_providers": ["openai"], "models": []},
        provider("huggingface_together", json!([
            {"id": "deepseek-ai/DeepSeek-R1", "match": {"equals": "deepseek-ai/DeepSeek-R1"},
             "prices": {"input_mtok": 3, "output_mtok": 7}}
        ])),
    ]);
    PriceCatalog::from_json(data.to_string(), "test-table").unwrap()
}

fn usage(input: u64, cached: u64, written: u64, output: u64, reasoning: u64) -> Usage {
    Usage {
        input_tokens: input,
        cached_input_tokens: cached,
        cache_write_tokens: written,
        output_tokens: output,
        reasoning_tokens: reasoning,
        total_tokens: input + output,
    }
}

/// `2026-12-01` plus `seconds` (UTC).
fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_083_200 + seconds)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1e-12)
}

#[test]
fn cache_reads_and_writes_are_priced_apart() {
    let t = table();
    let u = usage(10_000, 6_000, 2_000, 500, 0);
    let expected = (2_000.0 * 3.0 + 6_000.0 * 0.3 + 2_000.0 * 3.75 + 500.0 * 15.0) / 1e6;
    assert!(close(
        t.cost("openai", "cached-model", &u, at(0)).unwrap(),
        expected
    ));
    // A model without cache rates bills cached tokens as input.
    let expected = (10_000.0 * 2.0 + 500.0 * 8.0) / 1e6;
    assert!(close(t.cost("openai", "reasoner", &u, at(0)).unwrap(), expected));
}

#[test]
fn tiers_apply_above_their_start_to_every_class() {
    let t = table();
    let below = usage(200_000, 50_000, 0, 1_000, 0);
    let expected = (150_000.0 * 1.25 + 50_000.0 * 0.125 + 1_000.0 * 10.0) / 1e6;
    assert!(close(
        t.cost("openai", "tiered-model", &below, at(0)).unwrap(),
        expected
    ));
    let above = usage(250_000, 50_000, 0, 1_000, 0);
    let expected = (200_000.0 * 2.5 + 50_000.0 * 0.25 + 1_000.0 * 15.0) / 1e6;
    assert!(close(
        t.cost("openai", "tiered-model", &above, at(0)).unwrap(),
        expected
    ));
}

#[test]
fn unknown_and_unpriced_models_have_no_cost() {
    let t = table();
    let u = usage(100, 0, 0, 10, 0);
    assert_eq!(t.cost("openai", "no-such-model", &u, at(0)), None);
    for provider in ["mock", "ollama", "vllm", "openai_compatible", "no-such-provider"] {
        assert_eq!(t.cost(provider, "cached-model", &u, at(0)), None, "{provider}");
    }
    // Listed, but without a token price: not priced rather than a made-up 0.
    assert_eq!(t.cost("openai", "listed-without-price", &u, at(0)), None);
    assert_eq!(t.cost("openai", "per-request", &u, at(0)), None);
    // A provider the data lacks.
    assert_eq!(t.cost("groq", "cached-model", &u, at(0)), None);
}

#[test]
fn dated_prices_apply_from_their_date() {
    let t = table();
    let u = usage(1_000, 0, 0, 1_000, 0);
    let new_year_2025 = UNIX_EPOCH + Duration::from_secs(1_735_689_600);
    let before = t.cost(
        "openai",
        "dated-model",
        &u,
        new_year_2025 - Duration::from_secs(1),
    );
    assert!(close(before.unwrap(), (1_000.0 * 1.0 + 1_000.0 * 2.0) / 1e6));
    let from = t.cost("openai", "dated-model", &u, new_year_2025);
    assert!(close(from.unwrap(), (1_000.0 * 2.0 + 1_000.0 * 4.0) / 1e6));
}

#[test]
fn time_of_day_prices_apply_in_their_window() {
    let t = table();
    let u = usage(1_000, 0, 0, 1_000, 0);
    let off_peak = (1_000.0 * 1.0 + 1_000.0 * 2.0) / 1e6;
    let peak = (1_000.0 * 4.0 + 1_000.0 * 8.0) / 1e6;
    for (seconds, expected) in [
        (1_799, off_peak),
        (1_800, peak),
        (59_399, peak),
        (59_400, off_peak),
    ] {
        let cost = t.cost("openai", "peak-model", &u, at(seconds)).unwrap();
        assert!(close(cost, expected), "{seconds}s after midnight: {cost}");
    }
}

#[test]
fn reasoning_has_its_own_rate_only_where_the_model_has_one() {
    let t = table();
    let u = usage(100, 0, 0, 1_000, 400);
    let expected = (100.0 * 2.0 + 600.0 * 8.0 + 400.0 * 3.0) / 1e6;
    assert!(close(t.cost("openai", "reasoner", &u, at(0)).unwrap(), expected));
    let expected = (100.0 * 3.0 + 1_000.0 * 15.0) / 1e6;
    assert!(close(
        t.cost("openai", "cached-model", &u, at(0)).unwrap(),
        expected
    ));
}

#[test]
fn inconsistent_counts_are_clamped_never_negative() {
    let t = table();
    let u = usage(10, 20, 5, 3, 9);
    let expected = (10.0 * 0.3 + 3.0 * 15.0) / 1e6;
    assert!(close(
        t.cost("openai", "cached-model", &u, at(0)).unwrap(),
        expected
    ));
}

#[test]
fn names_resolve_through_the_datas_matching_and_fallbacks() {
    let t = table();
    let u = usage(1_000, 0, 0, 100, 0);
    let base = t.cost("openai", "cached-model", &u, at(0)).unwrap();
    // A dated snapshot name of the same model.
    assert_eq!(t.cost("openai", "cached-model-2025-01-01", &u, at(0)), Some(base));
    // Azure serves OpenAI's models (its fallback provider in the data).
    assert_eq!(t.cost("azure", "cached-model", &u, at(0)), Some(base));
    assert_eq!(
        t.context_window("openai", "cached-model-2025-01-01"),
        Some(200_000)
    );
    assert_eq!(t.context_window("openai", "tiered-model"), None);
    assert_eq!(t.context_window("openai", "no-such-model"), None);
}

#[test]
fn hugging_face_is_priced_by_the_inference_provider_the_name_selects() {
    let t = table();
    let u = usage(4, 0, 0, 258, 0);
    let expected = (4.0 * 3.0 + 258.0 * 7.0) / 1e6;
    let cost = t.cost("huggingface", "deepseek-ai/DeepSeek-R1:together", &u, at(0));
    assert!(close(cost.unwrap(), expected));
    assert_eq!(t.cost("huggingface", "deepseek-ai/DeepSeek-R1", &u, at(0)), None);
    assert_eq!(
        t.cost("huggingface", "deepseek-ai/DeepSeek-R1:fastest", &u, at(0)),
        None
    );
}

#[test]
fn names_are_resolved_once_then_remembered() {
    let t = table();
    let slot = &t.providers[t.by_id["openai"]];
    assert!(slot.loaded.get().is_none(), "a provider loads on first use");
    t.prepare("openai", "cached-model-x");
    assert!(slot.loaded.get().is_some());
    let u = usage(1, 0, 0, 1, 0);
    t.cost("openai", "no-such-model", &u, at(0));
    let known = slot.resolved.read().unwrap();
    assert!(known["cached-model-x"].is_some());
    assert!(
        known["no-such-model"].is_none(),
        "an unknown name is remembered as unknown"
    );
    assert!(t.providers[t.by_id["azure"]].loaded.get().is_none());
}

#[test]
fn versions() {
    assert_eq!(PriceCatalog::builtin().version(), BUILTIN_VERSION);
    assert_eq!(table().version(), "test-table");
}

#[test]
fn invalid_data_is_refused() {
    for bad in [
        "not json".to_owned(),
        json!([{"id": "x", "name": "x", "models": []}]).to_string(), // no api_pattern
        json!([{"id": "x", "name": "x", "api_pattern": "x", "models": [
            {"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": "free"}}]}])
        .to_string(),
    ] {
        let e = PriceCatalog::from_json(bad.clone(), "v").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config, "{bad}");
    }
}

#[test]
fn builtin_data_is_valid() {
    PriceCatalog::from_json(BUILTIN_DATA, "check").unwrap();
}

/// The built-in data is the crate's, byte for byte: the checksum its README records (taken
/// from the crate's `data/prices.json` when it was copied).
#[test]
fn builtin_data_is_the_crates_copy() {
    use sha2::{Digest, Sha256};
    let readme = include_str!("../../../data/genai-prices/README.md");
    let digest: String = Sha256::digest(BUILTIN_DATA.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        readme.contains(&format!("sha256 {digest}  prices.json")),
        "prices.json is not the copy the README names"
    );
}

/// The built-in data, read by our own code, prices every model of every provider exactly as
/// the `genai-prices` crate's own calculator prices it from the same data — for prompts
/// below and above the tiers, with cache reads and writes and reasoning, at dates before and
/// after price changes and at several times of day.
#[test]
fn builtin_prices_every_model_as_the_crate_does() {
    let catalog = PriceCatalog::builtin();
    let reference = Calculator::from_json(BUILTIN_DATA).unwrap();
    let usages = [
        usage(1_000, 0, 0, 500, 0),
        usage(250_000, 50_000, 20_000, 3_000, 1_000),
        usage(1_200_000, 1_000_000, 0, 10, 0),
        usage(0, 0, 0, 7, 7),
    ];
    let day = 86_400;
    let times = [
        UNIX_EPOCH + Duration::from_secs(1_717_243_200), // 2024-06-01 12:00
        at(3 * 3_600),                                   // 2026-12-01 03:00
        at(20 * 3_600),                                  // 2026-12-01 20:00
        at(62 * day + 10 * 3_600),                       // 2027-02-01 10:00
    ];
    let (mut priced, mut unpriced) = (0, 0);
    for (index, slot) in catalog.providers.iter().enumerate() {
        let data: ProviderData = serde_json::from_str(catalog.json(slot)).unwrap();
        for model in &data.models {
            let ours = catalog.resolved(index, &model.id);
            for u in &usages {
                let theirs_usage = genai_prices::Usage::from([
                    (UsageKey::INPUT_TOKENS, u.input_tokens as f64),
                    (UsageKey::CACHE_READ_TOKENS, u.cached_input_tokens as f64),
                    (UsageKey::CACHE_WRITE_TOKENS, u.cache_write_tokens as f64),
                    (UsageKey::OUTPUT_TOKENS, u.output_tokens as f64),
                    (UsageKey::OUTPUT_REASONING_TOKENS, u.reasoning_tokens as f64),
                ]);
                for &t in &times {
                    let request = PriceRequest::new(&model.id, &theirs_usage)
                        .with_provider_id(&slot.id)
                        .with_timestamp(t);
                    let what = format!("{}/{} {u:?} at {t:?}", slot.id, model.id);
                    match (
                        ours.as_ref().and_then(|p| p.cost(u, t)),
                        reference.calculate(&request),
                    ) {
                        (Some(cost), Ok(theirs)) => {
                            assert_eq!(cost, theirs.total_price, "{what}");
                            priced += 1;
                        }
                        (None, Ok(theirs)) => {
                            assert_eq!((theirs.input_price, theirs.output_price), (0.0, 0.0), "{what}");
                            unpriced += 1;
                        }
                        (None, Err(e)) if e.kind() == CrateErrorKind::ModelNotFound => unpriced += 1,
                        (ours, theirs) => panic!("{what}: ours {ours:?}, the crate's {theirs:?}"),
                    }
                }
            }
        }
    }
    // Not vacuous: most models of the data have token prices (the rest: free or subscription
    // models listed without a price, audio and OCR models billed by other units).
    assert!(priced > 4 * unpriced, "{priced} priced, {unpriced} not");
}

#[test]
fn claude_models_are_priced_with_their_cache_rates() {
    // Anthropic's published prices per million tokens (input, output); a cache read costs
    // 0.1× input, a 5-minute cache write 1.25× input. Names as callers write them: the
    // alias and a dated snapshot.
    let catalog = PriceCatalog::builtin();
    let models = [
        (["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"], 3.0, 15.0),
        (["claude-opus-4-1", "claude-opus-4-1-20250805"], 15.0, 75.0),
        (["claude-haiku-4-5", "claude-haiku-4-5-20251001"], 1.0, 5.0),
        (["claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"], 0.8, 4.0),
        (
            ["claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"],
            3.0,
            15.0,
        ),
    ];
    // Below every tier's start (Sonnet 4.5 costs more above 200k prompt tokens).
    let n = 100_000.0;
    for (names, input, output) in models {
        for name in names {
            let cost = |u: Usage| catalog.cost("anthropic", name, &u, at(0)).unwrap();
            let all = 100_000;
            assert!(
                close(cost(usage(all, 0, 0, 0, 0)), n * input / 1e6),
                "{name}: input"
            );
            assert!(
                close(cost(usage(0, 0, 0, all, 0)), n * output / 1e6),
                "{name}: output"
            );
            assert!(
                close(cost(usage(all, all, 0, 0, 0)), n * input * 0.1 / 1e6),
                "{name}: cache read"
            );
            assert!(
                close(cost(usage(all, 0, all, 0, 0)), n * input * 1.25 / 1e6),
                "{name}: 5-minute cache write"
            );
        }
    }
}
