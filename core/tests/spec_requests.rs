//! The request bodies our adapters build, validated against each provider's published spec
//! (tests/provider-specs/specs, translated to JSON Schema by common/openapi.rs): the body for
//! every recording's request and a set of synthetic requests covering system prompts, tools,
//! tool results, images (base64 and URL), stop sequences, tool_choice, sampling parameters and
//! streaming. Negative controls make sure each validator refuses a wrong body, so the tests
//! cannot pass vacuously.
//!
//! The specs are older than the APIs. A field or variant the spec predates is an amendment
//! with its reason (accepting any value there is the same as stripping that one field); an
//! amendment the spec no longer needs fails the load.
//!
//! Adding a family is one call: a `RequestSchema::load` for its spec and
//! `check_family(&schema, "family", encode)` with its encoder. Gemini's (and Vertex's, the same
//! body) are checked below; Claude on Vertex sends the Anthropic body with `anthropic_version`
//! in place of `model`, which the Anthropic spec does not describe, so it is left to the
//! replay tests.

#[path = "common/anthropic.rs"]
mod anthropic;
#[path = "common/gemini.rs"]
mod gemini;
#[path = "common/openapi.rs"]
mod openapi;

use modelplug_core::providers::anthropic::encode_messages_request;
use modelplug_core::providers::gemini::encode_generate_request;
use modelplug_core::{ChatRequest, ErrorKind};
use openapi::{Amend, Body, Dialect, Op, RequestSchema, repo};
use serde_json::{Value, json};

const ANTHROPIC_SPEC: &str = "tests/provider-specs/specs/anthropic/hosted_spec.yaml";
const GEMINI_SPEC: &str = "tests/provider-specs/specs/gemini/generativelanguage-openapi-20241016.json";

/// Anthropic's Messages request (`CreateMessageParams`, spec copy of Nov 2024).
fn anthropic_schema() -> RequestSchema {
    let amends = [
        // Built by the adapter.
        Amend {
            at: "/schemas/ToolChoice/oneOf",
            op: Op::Push(vec![json!({"type": "object", "additionalProperties": false,
                "properties": {"type": {"const": "none"}}, "required": ["type"]})]),
            why: "tool_choice {type: none} (Feb 2025) postdates the spec; sent for tool_choice: none",
        },
        Amend {
            at: "/schemas/RequestImageBlock/properties/source/oneOf",
            op: Op::Push(vec![json!({"type": "object", "additionalProperties": false,
                "properties": {"type": {"const": "url"}, "url": {"type": "string"}},
                "required": ["type", "url"]})]),
            why: "URL image sources (2025) postdate the spec; sent for an image given by https URL",
        },
        // Passed through `extra` by the recordings (the adapter does not build these).
        Amend {
            at: "/schemas/CreateMessageParams/properties/thinking",
            op: Op::Add(json!(true)),
            why: "extended thinking (Feb 2025) postdates the spec",
        },
        Amend {
            at: "/schemas/CreateMessageParams/properties/cache_control",
            op: Op::Add(json!(true)),
            why: "top-level (automatic) prompt caching postdates the spec",
        },
        Amend {
            at: "/schemas/CreateMessageParams/properties/output_config",
            op: Op::Add(json!(true)),
            why: "output_config (effort) postdates the spec",
        },
    ];
    RequestSchema::load(ANTHROPIC_SPEC, "CreateMessageParams", Dialect::Plain, &amends)
}

/// Gemini's `GenerateContentRequest` (OpenAPI 3.0 conversion of the 2024-10-16 discovery
/// document). Fields the recordings send that postdate it are amended in.
fn gemini_schema() -> RequestSchema {
    let any = || Op::Add(json!(true));
    let amends = [
        Amend {
            at: "/schemas/GenerationConfig/properties/responseModalities",
            op: any(),
            why: "postdates the 2024-10 spec",
        },
        Amend {
            at: "/schemas/GenerationConfig/properties/responseJsonSchema",
            op: any(),
            why: "postdates the 2024-10 spec",
        },
        Amend {
            at: "/schemas/GenerationConfig/properties/thinkingConfig",
            op: any(),
            why: "thinking (2025) postdates the 2024-10 spec",
        },
        Amend {
            at: "/schemas/Part/properties/thoughtSignature",
            op: any(),
            why: "thought signatures (2025) postdate the 2024-10 spec",
        },
        Amend {
            at: "/schemas/FunctionCall/properties/id",
            op: Op::Add(json!({"type": "string"})),
            why: "function call ids postdate the 2024-10 spec",
        },
        Amend {
            at: "/schemas/FunctionResponse/properties/id",
            op: Op::Add(json!({"type": "string"})),
            why: "function call ids postdate the 2024-10 spec",
        },
        Amend {
            at: "/schemas/FunctionDeclaration/properties/parametersJsonSchema",
            op: any(),
            why: "JSON Schema tool parameters postdate the 2024-10 spec",
        },
        Amend {
            at: "/schemas/GenerationConfig/properties/seed",
            op: Op::Add(json!({"type": "integer"})),
            why: "the sampling seed (2024-12) postdates the 2024-10 spec",
        },
        Amend {
            at: "/schemas/FunctionResponse/properties/parts",
            op: any(),
            why: "multimodal function responses (Gemini 3) postdate the 2024-10 spec",
        },
        Amend {
            at: "/schemas/Schema/properties/type/enum",
            op: Op::Push(
                ["string", "number", "integer", "boolean", "array", "object"]
                    .map(Value::from)
                    .to_vec(),
            ),
            why: "the API accepts JSON Schema's lowercase type names (recorded stream_function_call: 200)",
        },
    ];
    RequestSchema::load(
        GEMINI_SPEC,
        "GenerateContentRequest",
        Dialect::Proto3Json,
        &amends,
    )
}

/// Unified requests covering what the adapters map, by name.
fn synthetic_requests() -> Vec<(&'static str, ChatRequest)> {
    let weather = json!({"type": "function", "function": {"name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}});
    let no_params = json!({"type": "function", "function": {"name": "now"}});
    let tool_turns = json!([
        {"role": "user", "content": "Weather in Paris and the time?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C, cloudy"},
        {"role": "tool", "tool_call_id": "call_2", "content": [
            {"type": "text", "text": "noon"},
            {"type": "image", "media_type": "image/png", "data": "iVBORw0KGgo="}]},
        {"role": "tool", "tool_call_id": "call_2", "content": ""}
    ]);
    let cases = [
        (
            "minimal",
            json!({"messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "system and developer",
            json!({"messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                {"role": "user", "content": "hi"}]}),
        ),
        (
            "sampling and stop",
            json!({"messages": [{"role": "user", "content": "count"}], "max_tokens": 64,
                "temperature": 1.7, "top_p": 0.5, "stop": ["\n\n", "END"], "seed": 7,
                "presence_penalty": 0.5, "frequency_penalty": 0.5}),
        ),
        (
            "images: data URL, base64, https URL",
            json!({"messages": [{"role": "user", "content": [
                {"type": "text", "text": "Compare these."},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                {"type": "image", "media_type": "image/webp", "data": "UklGRg=="},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
        ),
        (
            "tools, auto",
            json!({"messages": [{"role": "user", "content": "weather?"}],
                "tools": [weather, no_params], "tool_choice": "auto"}),
        ),
        (
            "tools, required, no parallel calls",
            json!({"messages": [{"role": "user", "content": "weather?"}],
                "tools": [weather], "tool_choice": "required", "parallel_tool_calls": false}),
        ),
        (
            "tools, none",
            json!({"messages": [{"role": "user", "content": "weather?"}],
                "tools": [weather], "tool_choice": "none"}),
        ),
        (
            "tools, a named function",
            json!({"messages": [{"role": "user", "content": "weather?"}],
                "tools": [weather], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
        ),
        (
            "parallel tool calls without tool_choice",
            json!({"messages": [{"role": "user", "content": "weather?"}],
                "tools": [weather], "parallel_tool_calls": false}),
        ),
        (
            "tool calls and their results",
            json!({"messages": tool_turns, "tools": [weather, no_params]}),
        ),
        (
            "assistant prefill and empty turns",
            json!({"messages": [
                {"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "One word."}]},
                {"role": "assistant", "content": "The colour is"}]}),
        ),
        (
            "provider fields through extra",
            json!({"messages": [{"role": "user", "content": "hi"}],
                "extra": {"metadata": {"user_id": "u-1"}, "top_k": 5}}),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, mut v)| {
            v["model"] = json!("m");
            (name, ChatRequest::from_value(v).unwrap())
        })
        .collect()
}

/// Every synthetic request, streamed and not, through `encode` must give a valid body.
/// Returns how many bodies were checked. A request the encoder refuses as INVALID_REQUEST
/// (a feature the provider lacks) is skipped by name, anything else fails.
fn check_family<B: Body>(
    schema: &RequestSchema,
    family: &str,
    encode: impl Fn(&ChatRequest, bool) -> modelplug_core::Result<B>,
) -> (usize, Vec<&'static str>) {
    let mut checked = 0;
    let mut refused = Vec::new();
    for (name, req) in synthetic_requests() {
        for stream in [false, true] {
            match encode(&req, stream) {
                Ok(body) => {
                    schema.check(&format!("{family}: {name} (stream: {stream})"), body);
                    checked += 1;
                }
                Err(e) if e.kind() == ErrorKind::InvalidRequest => refused.push(name),
                Err(e) => panic!("{family}: {name}: {e}"),
            }
        }
    }
    (checked, refused)
}

fn recorded_requests(provider: &str) -> Vec<(String, Value)> {
    let dir = repo().join("tests/provider-specs/recorded").join(provider);
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".request.json"))
        .map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn anthropic_bodies_for_every_recording_match_the_spec() {
    let schema = anthropic_schema();
    let recordings = recorded_requests("anthropic");
    assert_eq!(recordings.len(), 14);
    for (name, recorded) in recordings {
        let body = &recorded["body"];
        let req = anthropic::unified_request(body);
        let stream = body["stream"] == json!(true);
        let ours = encode_messages_request(&req, body["model"].as_str().unwrap(), stream).unwrap();
        schema.check(&name, ours);
        // The recorded body itself (sent by Anthropic's SDKs) passes too: the amendments are
        // about the spec's age, not about our bodies.
        schema.check(&format!("{name} (as recorded)"), body);
    }
}

#[test]
fn anthropic_bodies_for_synthetic_requests_match_the_spec() {
    let schema = anthropic_schema();
    let (checked, refused) = check_family(&schema, "anthropic", |r, stream| {
        encode_messages_request(r, "claude-sonnet-4-5", stream)
    });
    assert!(refused.is_empty(), "the adapter refused {refused:?}");
    assert_eq!(checked, 2 * synthetic_requests().len());
}

#[test]
fn anthropic_validator_refuses_wrong_bodies() {
    let schema = anthropic_schema();
    let good =
        || json!({"model": "claude-x", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]});
    schema.check("the control's base", good());
    let mut robot = good();
    robot["messages"][0]["role"] = json!("robot");
    let errors = schema.check_invalid("role robot", &robot);
    assert!(
        errors.iter().any(|e| e.contains("/messages/0/role")),
        "{errors:?}"
    );
    let mut text_tokens = good();
    text_tokens["max_tokens"] = json!("16");
    let errors = schema.check_invalid("max_tokens as a string", &text_tokens);
    assert!(errors.iter().any(|e| e.contains("/max_tokens")), "{errors:?}");
    let mut ftp = good();
    ftp["messages"][0]["content"] =
        json!([{"type": "image", "source": {"type": "ftp", "url": "ftp://x/y.png"}}]);
    schema.check_invalid("an unknown image source", &ftp);
    let mut unknown = good();
    unknown["temprature"] = json!(0.5);
    schema.check_invalid("a misspelt field", &unknown);
    let mut hot = good();
    hot["temperature"] = json!(1.5);
    schema.check_invalid("temperature out of range", &hot);
    let mut empty = good();
    empty["messages"][0]["content"] = json!([{"type": "text", "text": ""}]);
    schema.check_invalid("an empty text block", &empty);
}

#[test]
fn gemini_spec_loads_and_recorded_generate_bodies_match_it() {
    let schema = gemini_schema();
    let mut checked = 0;
    for (name, recorded) in recorded_requests("gemini") {
        let uri = recorded["uri"].as_str().unwrap();
        if !(uri.contains(":generateContent") || uri.contains(":streamGenerateContent")) {
            continue; // countTokens / batchEmbedContents take other request schemas
        }
        schema.check(&name, &recorded["body"]);
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn gemini_validator_refuses_wrong_bodies() {
    let schema = gemini_schema();
    let good = || {
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generation_config": {"maxOutputTokens": 16, "temperature": null}})
    };
    schema.check("the control's base (snake_case and null accepted)", good());
    let mut typo = good();
    typo["contents"][0]["parts"][0] = json!({"txt": "hi"});
    let errors = schema.check_invalid("an unknown part field", &typo);
    assert!(
        errors.iter().any(|e| e.contains("/contents/0/parts/0")),
        "{errors:?}"
    );
    let mut hot = good();
    hot["generation_config"]["temperature"] = json!("hot");
    schema.check_invalid("temperature as a string", &hot);
    let mut role = good();
    role["contents"][0]["parts"] = json!({"text": "hi"});
    schema.check_invalid("parts as an object", &role);
}

#[test]
fn gemini_bodies_for_every_recording_match_the_spec() {
    let schema = gemini_schema();
    let mut checked = 0;
    for family in ["gemini", "vertex"] {
        for (name, recorded) in recorded_requests(family) {
            let uri = recorded["uri"].as_str().unwrap();
            if !(uri.contains(":generateContent") || uri.contains(":streamGenerateContent")) {
                continue;
            }
            let model = uri.rsplit("/models/").next().unwrap().split(':').next().unwrap();
            let req = gemini::unified_request(&gemini::camel_case(&recorded["body"]));
            schema.check(&name, encode_generate_request(&req, model).unwrap());
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn gemini_bodies_for_synthetic_requests_match_the_spec() {
    let schema = gemini_schema();
    for model in ["gemini-2.5-flash", "gemini-3-pro-preview"] {
        let (checked, refused) = check_family(&schema, "gemini", |r, _stream| {
            // The synthetic extras are Anthropic's; Gemini's own go through `extra` instead.
            let mut r = r.clone();
            if !r.extra.is_empty() {
                r.extra = serde_json::from_value(json!({
                    "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
                    "generationConfig": {"topK": 40}}))
                .unwrap();
            }
            encode_generate_request(&r, model)
        });
        assert!(refused.is_empty(), "the adapter refused {refused:?}");
        assert_eq!(checked, 2 * synthetic_requests().len());
    }
}
