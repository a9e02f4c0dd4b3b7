//! Bedrock Converse request bodies validated against the Bedrock Runtime service model
//! (botocore's `bedrock-runtime-2023-09-30.service-2.json`, read by common/botocore.rs): the
//! recorded bodies (sent by the AWS SDK, so the validator is right about good bodies), wrong
//! bodies (so it is right about bad ones: each refused with its JSON path), and the bodies our
//! adapter builds for unified requests covering text, system prompts, sampling, images, tools
//! and tool choice, tool calls and results, structured output, reasoning blocks, prompt-cache
//! breakpoints and provider extras. ConverseStream takes the same body; every body is checked
//! against both input shapes. The model id goes in the URL (`modelId` is a URI member).

#[path = "common/botocore.rs"]
mod botocore;

use botocore::{BEDROCK_RUNTIME_MODEL, input_shape, load_model, repo, validate};
use modelplug_core::providers::bedrock::encode_converse_request;
use modelplug_core::{ChatRequest, ErrorKind};
use serde_json::{Value, json};

const OPERATIONS: [&str; 2] = ["Converse", "ConverseStream"];

fn model() -> Value {
    load_model(BEDROCK_RUNTIME_MODEL)
}

/// `body` against both Converse input shapes; panics with every violation.
fn check(model: &Value, name: &str, body: &Value) {
    for op in OPERATIONS {
        let shape = input_shape(model, op);
        if let Err(errors) = validate(model, shape, body) {
            panic!(
                "{name}: the body does not match {shape}:\n  {}\nbody: {body:#}",
                errors.join("\n  ")
            );
        }
    }
}

/// `body` must be refused by `ConverseRequest`; returns the violations.
fn refused(model: &Value, name: &str, body: &Value) -> Vec<String> {
    match validate(model, "ConverseRequest", body) {
        Ok(()) => panic!("{name}: the validator accepted a wrong body: {body}"),
        Err(errors) => {
            assert!(
                errors.iter().all(|e| e.starts_with('$')),
                "{name}: an error without its path: {errors:?}"
            );
            errors
        }
    }
}

fn recorded_requests() -> Vec<(String, Value)> {
    let dir = repo().join("tests/provider-specs/recorded/bedrock");
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
fn the_model_has_the_converse_operations_and_its_patterns_compile() {
    let model = model();
    assert_eq!(input_shape(&model, "Converse"), "ConverseRequest");
    assert_eq!(input_shape(&model, "ConverseStream"), "ConverseStreamRequest");
    for op in OPERATIONS {
        let shape = &model["shapes"][input_shape(&model, op)];
        assert_eq!(shape["members"]["modelId"]["location"], "uri", "{op}");
    }
    // A pattern the regex crate cannot read would be reported on every value of its shape;
    // make sure none is, so pattern checks are real.
    for (name, shape) in model["shapes"].as_object().unwrap() {
        if let Some(p) = shape["pattern"].as_str() {
            regex::Regex::new(&format!("^(?:{p})$"))
                .unwrap_or_else(|e| panic!("{name}'s pattern {p} does not compile: {e}"));
        }
    }
}

#[test]
fn recorded_converse_bodies_match_the_service_model() {
    let model = model();
    let mut checked = 0;
    for (name, recorded) in recorded_requests() {
        let uri = recorded["uri"].as_str().unwrap();
        let op = if uri.ends_with("/converse-stream") {
            "ConverseStream"
        } else if uri.ends_with("/converse") {
            "Converse"
        } else {
            continue; // InvokeModel: an opaque blob payload, the model's own format
        };
        let shape = input_shape(&model, op);
        if let Err(errors) = validate(&model, shape, &recorded["body"]) {
            panic!(
                "{name}: the recorded body does not match {shape}:\n  {}",
                errors.join("\n  ")
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 10);
}

/// A small valid body, for the negative controls to break one thing at a time.
fn good() -> Value {
    json!({
        "messages": [{"role": "user", "content": [{"text": "hi"}, {"cachePoint": {"type": "default"}}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 16, "temperature": 0.5, "stopSequences": ["END"]},
        "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather",
            "inputSchema": {"json": {"type": "object"}}}}], "toolChoice": {"auto": {}}},
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024},
            "anything": [null, 1, {"x": true}]},
        "requestMetadata": {"team": "search"}
    })
}

#[test]
fn the_validator_refuses_wrong_bodies_with_their_path() {
    let model = model();
    check(&model, "the controls' base", &good());
    // The model does not require `messages` (a Prompt-management prompt in `modelId` can
    // supply them), so a body without it is valid as far as the model goes.
    let mut no_messages = good();
    no_messages.as_object_mut().unwrap().remove("messages");
    check(&model, "no messages", &no_messages);

    type Mutation = fn(&mut Value);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "an unknown member",
            |b| b["temprature"] = json!(0.5),
            "$.temprature: unknown member",
        ),
        (
            "an unknown content block",
            |b| b["messages"][0]["content"][0] = json!({"txt": "hi"}),
            "$.messages[0].content[0].txt: unknown member",
        ),
        (
            "a message without its required content",
            |b| {
                b["messages"][0].as_object_mut().unwrap().remove("content");
            },
            "$.messages[0]: missing required member `content`",
        ),
        (
            "a message without its required role",
            |b| {
                b["messages"][0].as_object_mut().unwrap().remove("role");
            },
            "$.messages[0]: missing required member `role`",
        ),
        (
            "two members in a ContentBlock union",
            |b| {
                b["messages"][0]["content"][0] =
                    json!({"text": "hi", "image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}})
            },
            "$.messages[0].content[0]: a ContentBlock union takes exactly one member, got 2",
        ),
        (
            "an empty ContentBlock union",
            |b| b["messages"][0]["content"][0] = json!({}),
            "$.messages[0].content[0]: a ContentBlock union takes exactly one member, got 0",
        ),
        (
            "two tool choices",
            |b| b["toolConfig"]["toolChoice"] = json!({"auto": {}, "any": {}}),
            "$.toolConfig.toolChoice: a ToolChoice union",
        ),
        (
            "a bad role",
            |b| b["messages"][0]["role"] = json!("robot"),
            "$.messages[0].role: \"robot\" is not one of",
        ),
        (
            "Anthropic's cache type",
            |b| b["messages"][0]["content"][1]["cachePoint"]["type"] = json!("ephemeral"),
            "$.messages[0].content[1].cachePoint.type: \"ephemeral\" is not one of",
        ),
        (
            "a bad image format",
            |b| {
                b["messages"][0]["content"][0] =
                    json!({"image": {"format": "bmp", "source": {"bytes": "Qk0="}}})
            },
            "$.messages[0].content[0].image.format",
        ),
        (
            "image bytes that are not base64",
            |b| {
                b["messages"][0]["content"][0] =
                    json!({"image": {"format": "png", "source": {"bytes": "not base64!"}}})
            },
            "$.messages[0].content[0].image.source.bytes: \"not base64!\" is not base64",
        ),
        (
            "empty image bytes",
            |b| b["messages"][0]["content"][0] = json!({"image": {"format": "png", "source": {"bytes": ""}}}),
            "$.messages[0].content[0].image.source.bytes: decoded length 0 is below",
        ),
        (
            "temperature above 1",
            |b| b["inferenceConfig"]["temperature"] = json!(1.5),
            "$.inferenceConfig.temperature: value 1.5 is above",
        ),
        (
            "maxTokens 0",
            |b| b["inferenceConfig"]["maxTokens"] = json!(0),
            "$.inferenceConfig.maxTokens: value 0 is below",
        ),
        (
            "maxTokens as a string",
            |b| b["inferenceConfig"]["maxTokens"] = json!("16"),
            "$.inferenceConfig.maxTokens: expected an integer",
        ),
        (
            "maxTokens not integral",
            |b| b["inferenceConfig"]["maxTokens"] = json!(1.5),
            "$.inferenceConfig.maxTokens: expected an integer",
        ),
        (
            "an empty stop sequence",
            |b| b["inferenceConfig"]["stopSequences"] = json!(["END", ""]),
            "$.inferenceConfig.stopSequences[1]: length 0 is below",
        ),
        (
            "an empty system text",
            |b| b["system"][0]["text"] = json!(""),
            "$.system[0].text: length 0 is below",
        ),
        (
            "a tool name with a space",
            |b| b["toolConfig"]["tools"][0]["toolSpec"]["name"] = json!("get weather"),
            "$.toolConfig.tools[0].toolSpec.name: \"get weather\" does not match",
        ),
        (
            "a tool name over 64 characters",
            |b| b["toolConfig"]["tools"][0]["toolSpec"]["name"] = json!("t".repeat(65)),
            "$.toolConfig.tools[0].toolSpec.name: length 65 is above",
        ),
        (
            "no tools",
            |b| b["toolConfig"]["tools"] = json!([]),
            "$.toolConfig.tools: length 0 is below",
        ),
        (
            "a toolConfig without tools",
            |b| {
                b["toolConfig"].as_object_mut().unwrap().remove("tools");
            },
            "$.toolConfig: missing required member `tools`",
        ),
        (
            "a toolUse without input",
            |b| b["messages"][0]["content"][0] = json!({"toolUse": {"toolUseId": "t1", "name": "f"}}),
            "$.messages[0].content[0].toolUse: missing required member `input`",
        ),
        (
            "a toolUseId outside its pattern",
            |b| {
                b["messages"][0]["content"][0] =
                    json!({"toolUse": {"toolUseId": "call 1", "name": "f", "input": {}}})
            },
            "$.messages[0].content[0].toolUse.toolUseId",
        ),
        (
            "the model id in the body",
            |b| b["modelId"] = json!("us.amazon.nova-micro-v1:0"),
            "$.modelId: `modelId` of ConverseRequest goes in the request's uri",
        ),
        (
            "a null member",
            |b| b["system"] = Value::Null,
            "$.system: null is not a value",
        ),
        (
            "messages as an object",
            |b| b["messages"] = json!({"role": "user"}),
            "$.messages: expected an array",
        ),
        (
            "a metadata key outside its pattern",
            |b| b["requestMetadata"] = json!({"bad key!": "x"}),
            "$.requestMetadata[\"bad key!\"] (key): \"bad key!\" does not match",
        ),
        (
            "17 metadata entries",
            |b| b["requestMetadata"] = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect(),
            "$.requestMetadata: entry count 17 is above",
        ),
        (
            "a metadata value of the wrong type",
            |b| b["requestMetadata"] = json!({"team": 7}),
            "$.requestMetadata.team: expected a string",
        ),
        (
            "11 response field paths",
            |b| b["additionalModelResponseFieldPaths"] = json!(vec!["/stop_sequence"; 11]),
            "$.additionalModelResponseFieldPaths: length 11 is above",
        ),
        (
            "a bad service tier",
            |b| b["serviceTier"] = json!({"type": "gold"}),
            "$.serviceTier.type: \"gold\" is not one of",
        ),
        (
            "a reasoning block with both members",
            |b| {
                b["messages"][0]["content"][0] =
                    json!({"reasoningContent": {"reasoningText": {"text": "t"}, "redactedContent": "AAAA"}})
            },
            "$.messages[0].content[0].reasoningContent: a ReasoningContentBlock union",
        ),
        (
            "a boolean as a string",
            |b| b["toolConfig"]["tools"][0]["toolSpec"]["strict"] = json!("true"),
            "$.toolConfig.tools[0].toolSpec.strict: expected a boolean",
        ),
    ];
    for (name, mutate, want) in cases {
        let mut body = good();
        mutate(&mut body);
        let errors = refused(&model, name, &body);
        assert!(
            errors.iter().any(|e| e.starts_with(want)),
            "{name}: no error starting with {want:?} in {errors:?}"
        );
        // One thing broken, one error (unions aside, each mutation breaks one rule).
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
    }

    // Every violation is reported, not just the first.
    let mut two = good();
    two["messages"][0]["role"] = json!("robot");
    two["inferenceConfig"]["topP"] = json!(-0.1);
    let errors = refused(&model, "two problems", &two);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().any(|e| e.starts_with("$.inferenceConfig.topP")),
        "{errors:?}"
    );

    // Not a JSON body.
    assert!(validate(&model, "InvokeModelRequest", &json!({})).is_err());
    assert!(validate(&model, "NoSuchShape", &json!({})).is_err());
}

// ---------------------------------------------------------------------------------------------
// The adapter's bodies

/// A unified request for the adapter, with what its body must hold: `key=N` (exactly N
/// members named `key` anywhere in the body) or `key>=N`, so each case provably exercises
/// what it is named for.
struct Case {
    name: &'static str,
    request: Value,
    expect: &'static [&'static str],
}

fn weather() -> Value {
    json!({"type": "function", "function": {"name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
}

fn cases() -> Vec<Case> {
    let now = json!({"type": "function", "function": {"name": "now"}});
    let user = |text: &str| json!({"role": "user", "content": text});
    let person = json!({"name": "person", "description": "A person.", "strict": true,
        "schema": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"], "additionalProperties": false}});
    let tool_turns = json!([
        {"role": "system", "content": "Use the tools."},
        {"role": "user", "content": "Weather in Paris and the time?"},
        {"role": "assistant", "content": "Checking both.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C, cloudy"},
        {"role": "tool", "tool_call_id": "call_2", "content": [
            {"type": "text", "text": "noon"},
            {"type": "image", "media_type": "image/png", "data": "iVBORw0KGgo="}]},
        {"role": "user", "content": "Thanks. And tomorrow?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_3", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"day\":\"tomorrow\"}"}}]},
        {"role": "tool", "tool_call_id": "call_3", "content": ""}
    ]);
    vec![
        Case {
            name: "plain text",
            request: json!({"messages": [user("hi")]}),
            expect: &[
                "messages=1",
                "text=1",
                "system=0",
                "toolConfig=0",
                "inferenceConfig=0",
            ],
        },
        Case {
            name: "system and developer prompts",
            request: json!({"messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                user("hi")]}),
            expect: &["system=1", "text=3"],
        },
        Case {
            name: "sampling and stop",
            request: json!({"messages": [user("count")], "max_tokens": 64, "temperature": 0.7,
                "top_p": 0.5, "stop": ["\n\n", "END"], "seed": 7, "presence_penalty": 0.5,
                "frequency_penalty": 0.5}),
            expect: &["maxTokens=1", "temperature=1", "topP=1", "stopSequences=1"],
        },
        Case {
            name: "temperature above Converse's 0-1 (the unified range is 0-2), top_p 1",
            request: json!({"messages": [user("be creative")], "temperature": 1.7, "top_p": 1.0}),
            expect: &["temperature=1", "topP=1"],
        },
        Case {
            name: "images: PNG and JPEG data URLs, base64 PNG",
            request: json!({"messages": [{"role": "user", "content": [
                {"type": "text", "text": "Compare these."},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                {"type": "image", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUg=="}]}]}),
            expect: &["image=3", "bytes=3"],
        },
        Case {
            name: "tools, auto",
            request: json!({"messages": [user("weather?")], "tools": [weather(), now], "tool_choice": "auto"}),
            expect: &["toolSpec=2", "auto=1"],
        },
        Case {
            name: "tools, required",
            request: json!({"messages": [user("weather?")], "tools": [weather()],
                "tool_choice": "required", "parallel_tool_calls": false}),
            expect: &["toolSpec=1", "any=1"],
        },
        Case {
            name: "tools, a named function",
            request: json!({"messages": [user("weather?")], "tools": [weather()],
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
            expect: &["toolSpec=1", "tool=1"],
        },
        Case {
            name: "tools, none",
            request: json!({"messages": [user("weather?")], "tools": [weather()], "tool_choice": "none"}),
            expect: &["toolConfig=0"],
        },
        Case {
            name: "tools without tool_choice",
            request: json!({"messages": [user("weather?")], "tools": [weather(), now]}),
            expect: &["toolSpec=2", "toolChoice=0"],
        },
        Case {
            name: "multi-turn: parallel tool calls and their results (text, image, empty)",
            request: json!({"messages": tool_turns, "tools": [weather(), now]}),
            expect: &["toolUse=3", "toolResult=3", "image=1", "toolSpec=2"],
        },
        Case {
            name: "tool_choice none with tool calls in the conversation",
            request: json!({"messages": tool_turns, "tools": [weather(), now], "tool_choice": "none"}),
            expect: &["toolUse=3", "toolResult=3", "toolConfig=1"],
        },
        Case {
            name: "structured output: json_schema",
            request: json!({"messages": [user("Who is Ada?")],
                "response_format": {"type": "json_schema", "json_schema": person}}),
            expect: &["toolSpec=1", "tool=1"],
        },
        Case {
            name: "structured output: json_object",
            request: json!({"messages": [user("Who is Ada? Answer in JSON.")],
                "response_format": {"type": "json_object"}}),
            expect: &["toolSpec=1", "toolChoice=1"],
        },
        Case {
            name: "structured output beside the caller's tools",
            request: json!({"messages": [user("Who is Ada?")], "tools": [weather()], "tool_choice": "auto",
                "response_format": {"type": "json_schema", "json_schema": person}}),
            expect: &["toolSpec=2", "any=1"],
        },
        Case {
            name: "structured output with Claude's extended thinking",
            request: json!({"messages": [user("Who is Ada?")],
                "response_format": {"type": "json_schema", "json_schema": person},
                "extra": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}),
            expect: &["toolSpec=1", "auto=1", "additionalModelRequestFields=1"],
        },
        Case {
            name: "assistant reasoning blocks round-tripped",
            request: json!({"messages": [
                user("What is 27 * 453?"),
                {"role": "assistant", "content": "12231", "reasoning_blocks": [
                    {"type": "thinking", "text": "27 * 453 = 12231", "signature": "EqQBCkgIARABGAIiQL2sig=="},
                    {"type": "redacted", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xp0cmVkYWN0ZWQ="}]},
                user("And times 2?")],
                "extra": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}),
            expect: &[
                "reasoningContent=2",
                "reasoningText=1",
                "signature=1",
                "redactedContent=1",
            ],
        },
        Case {
            name: "reasoning blocks before tool calls",
            request: json!({"messages": [
                user("Weather in Paris?"),
                {"role": "assistant", "content": null, "reasoning_blocks": [
                    {"type": "thinking", "text": "I should call the tool.", "signature": "c2lnbmF0dXJl"}],
                    "tool_calls": [{"id": "toolu_01A", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "toolu_01A", "content": "18 C"}],
                "tools": [weather()],
                "extra": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}),
            expect: &["reasoningContent=1", "toolUse=1", "toolResult=1"],
        },
        Case {
            name: "cache_control on a system message, a user message and a tool",
            request: json!({"messages": [
                {"role": "system", "content": "A long system prompt.", "cache_control": {"type": "ephemeral"}},
                {"role": "user", "content": "A long document.", "cache_control": {"type": "ephemeral"}},
                {"role": "assistant", "content": "Read it."},
                user("Summarise it.")],
                "tools": [{"type": "function", "function": weather()["function"].clone(),
                    "cache_control": {"type": "ephemeral"}}]}),
            expect: &["cachePoint=3", "toolSpec=1"],
        },
        Case {
            name: "cache_control with a 1h lifetime",
            request: json!({"messages": [
                {"role": "system", "content": "A long system prompt.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                user("hi")]}),
            expect: &["cachePoint=1"],
        },
        Case {
            name: "reasoning_effort",
            request: json!({"messages": [user("Think hard.")], "reasoning_effort": "high"}),
            expect: &["messages=1"],
        },
        Case {
            name: "extra: Converse members and model fields",
            request: json!({"messages": [user("hi")], "extra": {
                "top_k": 5,
                "performanceConfig": {"latency": "optimized"},
                "serviceTier": {"type": "priority"},
                "requestMetadata": {"team": "search", "user": "u-1"},
                "guardrailConfig": {"guardrailIdentifier": "abc123xyz", "guardrailVersion": "1"},
                "additionalModelResponseFieldPaths": ["/stop_sequence"]}}),
            expect: &[
                "additionalModelRequestFields=1",
                "top_k=1",
                "performanceConfig=1",
                "serviceTier=1",
            ],
        },
        Case {
            name: "assistant prefill and empty turns",
            request: json!({"messages": [
                user("Name a colour."),
                {"role": "assistant", "content": ""},
                {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "One word."}]},
                {"role": "assistant", "content": "The colour is"}]}),
            expect: &["messages=1"],
        },
    ]
}

/// How many members named `key` the value holds, at any depth.
fn count_key(v: &Value, key: &str) -> usize {
    match v {
        Value::Object(o) => o
            .iter()
            .map(|(k, x)| usize::from(k == key) + count_key(x, key))
            .sum(),
        Value::Array(a) => a.iter().map(|x| count_key(x, key)).sum(),
        _ => 0,
    }
}

fn expectation_failures(body: &Value, expect: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for e in expect {
        let (key, at_least, n) = match e.split_once(">=") {
            Some((k, n)) => (k, true, n),
            None => {
                let (k, n) = e.split_once('=').unwrap();
                (k, false, n)
            }
        };
        let n: usize = n.parse().unwrap();
        let got = count_key(body, key);
        if (at_least && got < n) || (!at_least && got != n) {
            out.push(format!("expected {e}, found {got} `{key}`"));
        }
    }
    out
}

#[test]
fn adapter_bodies_match_the_service_model() {
    let model = model();
    let mut failures = Vec::new();
    let cases = cases();
    let mut failed_cases = 0;
    for case in &cases {
        let before = failures.len();
        check_case(&model, case, &mut failures);
        failed_cases += usize::from(failures.len() > before);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failed_cases,
        cases.len(),
        failures.join("\n")
    );
}

/// Encodes `case` and checks its body against both input shapes and the case's expectations.
fn check_case(model: &Value, case: &Case, failures: &mut Vec<String>) {
    let mut request = case.request.clone();
    request["model"] = json!("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    let req = ChatRequest::from_value(request)
        .unwrap_or_else(|e| panic!("{}: not a valid unified request: {e}", case.name));
    let body: Value = match encode_converse_request(&req) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{}: the body is not JSON: {e}", case.name)),
        Err(e) => {
            failures.push(format!(
                "{}: the adapter refused it ({:?}): {e}",
                case.name,
                e.kind()
            ));
            return;
        }
    };
    assert!(
        body.get("modelId").is_none(),
        "{}: modelId in the body",
        case.name
    );
    for op in OPERATIONS {
        let shape = input_shape(model, op);
        if let Err(errors) = validate(model, shape, &body) {
            failures.push(format!(
                "{}: the body does not match {shape}:\n    {}\n  body: {body}",
                case.name,
                errors.join("\n    ")
            ));
        }
    }
    for f in expectation_failures(&body, case.expect) {
        failures.push(format!("{}: {f}\n  body: {body}", case.name));
    }
}

/// Requests Converse cannot carry are refused as INVALID_REQUEST, not sent as a wrong body.
#[test]
fn adapter_refuses_what_converse_cannot_carry() {
    let refusals = [
        (
            "an image by web URL",
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
        ),
        (
            "an image in a system message",
            json!({"messages": [{"role": "system", "content": [
                {"type": "image", "media_type": "image/png", "data": "iVBORw0KGgo="}]}, {"role": "user", "content": "hi"}]}),
        ),
        (
            "tool call arguments that are not an object",
            json!({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1, 2]"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok"}]}),
        ),
    ];
    for (name, mut request) in refusals {
        request["model"] = json!("m");
        let req = ChatRequest::from_value(request).unwrap();
        match encode_converse_request(&req) {
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{name}: {e}"),
            Ok(body) => panic!("{name}: sent as {}", String::from_utf8_lossy(&body)),
        }
    }
}
