//! The HTTP side: routes, step execution and the fault-injecting response body.
//!
//! Routes:
//! - `POST /_mock/scenarios` `{"steps": [Step…]}` → `{"id", "base"}`; send requests to `base`.
//! - `GET /_mock/scenarios/{id}/requests` → the requests that scenario received.
//! - `/s/{id}/…` → the scenario's next step answers.
//! - `/replay/{provider}/{name}/…` → that recording, every time (no registration).
//! - `/match/{provider}/…` → the recording of `{provider}` whose recorded request body is the
//!   request's body (e.g. `POST /match/anthropic/v1/messages`); 404 when none is.
//! - `/echo/…` → an echo of the last user message, shaped for the path's API (OpenAI's,
//!   Anthropic's for `…/v1/messages` and `…:rawPredict`, Gemini's for `…:generateContent`
//!   and `…:streamGenerateContent` — SSE with `alt=sse`, else a JSON array).
//! - `/fail/{status}/…` → an error with that status, every time, in the envelope of the
//!   path's provider family (Anthropic's, Google's, AWS's, else OpenAI's).
//! - AWS paths, under any of the above (e.g. `/s/{id}/model/{modelId}/converse`): Bedrock's
//!   `POST /model/{modelId}/converse`, `…/converse-stream` (eventstream), `…/invoke`
//!   (embeddings), SageMaker's `POST /endpoints/{EndpointName}/invocations`,
//!   `…/invocations-response-stream` (eventstream). Each request is SigV4-verified first
//!   ([`crate::aws_auth`]; a rejection is an AWS-shaped 403 that still consumes the step),
//!   and every answer carries `x-amzn-RequestId` and `Date` (the mock's clock).
//! - `GET /_mock/health` → `ok`.
//! - `/_receiver…`, `/r/{id}/v1/events` → usage receivers (see [`crate::receiver`]).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};

use crate::scenario::{CapturedRequest, Scenario, Step};
use crate::{aws_auth, aws_faults, eventstream, recordings, synth, synth_aws};

/// The response body type: frames that may stop with an error (a cut connection).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// State shared by every connection.
pub struct Shared {
    /// Where recordings live.
    pub recordings: PathBuf,
    /// Registered scenarios by id.
    pub scenarios: Mutex<HashMap<String, Scenario>>,
    next_id: AtomicU64,
    /// `http://127.0.0.1:PORT`, for the `base` of new scenarios.
    pub url: String,
    /// Usage receivers by id.
    pub receivers: Mutex<crate::receiver::Receivers>,
}

impl Shared {
    /// Empty state serving recordings from `recordings`.
    pub fn new(recordings: PathBuf, url: String) -> Shared {
        Shared {
            recordings,
            scenarios: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            url,
            receivers: Mutex::new(Default::default()),
        }
    }

    /// Starts a usage receiver answering per `steps`; returns its id.
    pub fn add_receiver(&self, steps: Vec<crate::receiver::ReceiverStep>) -> String {
        let id = format!("r{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        self.receivers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), crate::receiver::Receiver::new(steps));
        id
    }

    /// What receiver `id` got so far.
    pub fn received(&self, id: &str) -> Option<crate::receiver::Received> {
        let receivers = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        receivers.get(id).map(crate::receiver::Receiver::received)
    }

    /// Registers a scenario; returns its id.
    pub fn register(&self, steps: Vec<Step>) -> String {
        let id = format!("s{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        self.scenarios
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Scenario::new(steps));
        id
    }

    /// The requests scenario `id` received so far.
    pub fn requests(&self, id: &str) -> Option<Vec<CapturedRequest>> {
        let scenarios = self.scenarios.lock().unwrap_or_else(|e| e.into_inner());
        scenarios.get(id).map(|s| {
            s.requests
                .iter()
                .map(|r| r.lock().unwrap_or_else(|e| e.into_inner()).clone())
                .collect()
        })
    }
}

fn full(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(
        Full::new(body.into())
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", content_type.parse().expect("static content type"));
    r
}

fn json_response(status: u16, v: &Value) -> Response<Body> {
    full(status, "application/json", v.to_string())
}

/// Handles one request.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(json_response(
                400,
                &json!({"error": "could not read the request body"}),
            ));
        }
    };
    let path = parts.uri.path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match (parts.method.as_str(), segments.as_slice()) {
        ("GET", ["_mock", "health"]) => full(200, "text/plain", "ok\n"),
        ("POST", ["_mock", "scenarios"]) => register(&shared, &body),
        ("POST", ["_receiver"]) => {
            #[derive(serde::Deserialize, Default)]
            struct Registration {
                #[serde(default)]
                steps: Vec<crate::receiver::ReceiverStep>,
            }
            match serde_json::from_slice::<Registration>(&body).or_else(|e| {
                if body.is_empty() {
                    Ok(Registration::default())
                } else {
                    Err(e)
                }
            }) {
                Ok(r) => {
                    let id = shared.add_receiver(r.steps);
                    json_response(200, &json!({"id": id, "url": format!("{}/r/{id}", shared.url)}))
                }
                Err(e) => json_response(400, &json!({"error": format!("bad receiver: {e}")})),
            }
        }
        ("PUT", ["_receiver", id, "steps"]) => {
            match serde_json::from_slice::<Vec<crate::receiver::ReceiverStep>>(&body) {
                Ok(steps) => match shared
                    .receivers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(*id)
                {
                    Some(r) => {
                        r.set_steps(steps);
                        json_response(200, &json!({"ok": true}))
                    }
                    None => json_response(404, &json!({"error": format!("no receiver `{id}`")})),
                },
                Err(e) => json_response(400, &json!({"error": format!("bad steps: {e}")})),
            }
        }
        ("GET", ["_receiver", id]) => match shared.received(id) {
            Some(r) => json_response(200, &serde_json::to_value(r).unwrap_or_default()),
            None => json_response(404, &json!({"error": format!("no receiver `{id}`")})),
        },
        ("POST", ["r", id, "v1", "events"]) => ingest(&shared, id, &parts, &body).await,
        ("GET", ["_mock", "scenarios", id, "requests"]) => match shared.requests(id) {
            Some(r) => json_response(200, &serde_json::to_value(r).unwrap_or_default()),
            None => json_response(404, &json!({"error": format!("no scenario `{id}`")})),
        },
        (_, ["s", id, rest @ ..]) => {
            let step = {
                let mut scenarios = shared.scenarios.lock().unwrap_or_else(|e| e.into_inner());
                scenarios.get_mut(*id).map(Scenario::next_step)
            };
            match step {
                Some(step) => {
                    let captured = capture(&parts, &body, &sub_path(rest));
                    if let Some(s) = shared
                        .scenarios
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_mut(*id)
                    {
                        s.requests.push(captured.clone());
                    }
                    respond(&shared, step, captured, &parts, &body).await
                }
                None => json_response(404, &json!({"error": {"message": format!("no scenario `{id}`")}})),
            }
        }
        (_, ["match", provider, rest @ ..]) => {
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            match recordings::find_by_request(&shared.recordings, provider, &request) {
                Some(name) => {
                    let step = Step {
                        replay: Some(name),
                        ..Step::default()
                    };
                    respond(
                        &shared,
                        step,
                        capture(&parts, &body, &sub_path(rest)),
                        &parts,
                        &body,
                    )
                    .await
                }
                None => json_response(
                    404,
                    &json!({"type": "error", "error": {"type": "not_found_error",
                            "message": format!("no `{provider}` recording has this request body")}}),
                ),
            }
        }
        (_, segments) => match fixed_step(segments) {
            Some((step, rest)) => {
                respond(
                    &shared,
                    step,
                    capture(&parts, &body, &sub_path(rest)),
                    &parts,
                    &body,
                )
                .await
            }
            None => json_response(
                404,
                &json!({"error": {"message": format!("no route for {path}"), "type": "invalid_request_error"}}),
            ),
        },
    };
    Ok(response)
}

/// The step of a route that needs no scenario (`/replay/{provider}/{name}/…`, `/fail/{status}/…`,
/// `/echo/…`) and the rest of the path, which the client sent to.
fn fixed_step<'a>(segments: &'a [&'a str]) -> Option<(Step, &'a [&'a str])> {
    let (step, rest) = match segments {
        ["replay", provider, name, rest @ ..] => (
            Step {
                replay: Some(format!("{provider}/{name}")),
                ..Step::default()
            },
            rest,
        ),
        ["fail", status, rest @ ..] => {
            let status = status.parse().unwrap_or(500);
            let error = crate::scenario::ErrorSpec {
                message: format!("simulated failure (HTTP {status})"),
                ..Default::default()
            };
            (
                Step {
                    status: Some(status),
                    error: Some(error),
                    ..Step::default()
                },
                rest,
            )
        }
        ["echo", rest @ ..] => (
            Step {
                echo: true,
                ..Step::default()
            },
            rest,
        ),
        _ => return None,
    };
    Some((step, rest))
}

/// `rest` as the path the client meant (`/v1/chat/completions`).
fn sub_path(rest: &[&str]) -> String {
    format!("/{}", rest.join("/"))
}

async fn ingest(
    shared: &Shared,
    id: &str,
    parts: &hyper::http::request::Parts,
    body: &[u8],
) -> Response<Body> {
    let step = match shared
        .receivers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(id)
    {
        Some(r) => r.next_step(),
        None => return json_response(404, &json!({"error": format!("no receiver `{id}`")})),
    };
    let status = step.status.unwrap_or(200);
    let gzip = parts
        .headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let authorization = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let answer = match shared
        .receivers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(id)
    {
        Some(r) => r.ingest(status, gzip, authorization, body),
        None => return json_response(404, &json!({"error": format!("no receiver `{id}`")})),
    };
    // Stored first, answered after the delay: a slow collector whose answer may come too late.
    tokio::time::sleep(crate::receiver::delay(&step)).await;
    let mut response = json_response(status, &answer);
    if let Some(s) = step.retry_after_s {
        response.headers_mut().insert(
            "retry-after",
            s.to_string().parse().expect("digits are a header value"),
        );
    }
    response
}

fn register(shared: &Shared, body: &[u8]) -> Response<Body> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Registration {
        Steps { steps: Vec<Step> },
        List(Vec<Step>),
    }
    match serde_json::from_slice::<Registration>(body) {
        Ok(Registration::Steps { steps } | Registration::List(steps)) if !steps.is_empty() => {
            let id = shared.register(steps);
            json_response(200, &json!({"id": id, "base": format!("{}/s/{id}", shared.url)}))
        }
        Ok(_) => json_response(400, &json!({"error": "a scenario needs at least one step"})),
        Err(e) => json_response(400, &json!({"error": format!("bad scenario: {e}")})),
    }
}

fn capture(parts: &hyper::http::request::Parts, body: &[u8], path: &str) -> Arc<Mutex<CapturedRequest>> {
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    Arc::new(Mutex::new(CapturedRequest {
        method: parts.method.to_string(),
        path: path.to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body,
        finished: false,
        client_aborted: false,
    }))
}

/// An answer before faults: status, headers, body.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

async fn respond(
    shared: &Shared,
    step: Step,
    captured: Arc<Mutex<CapturedRequest>>,
    parts: &hyper::http::request::Parts,
    raw_body: &[u8],
) -> Response<Body> {
    let (request, path, query) = {
        let c = captured.lock().unwrap_or_else(|e| e.into_inner());
        (c.body.clone(), c.path.clone(), c.query.clone())
    };
    let endpoint = synth::endpoint_at(&path, query.as_deref());
    let Some(service) = endpoint.aws_service() else {
        return match answer_of(shared, &step, &request, &path, endpoint) {
            Ok((status, headers, body)) => send(&step, status, headers, body, captured).await,
            Err(e) => mock_error(e),
        };
    };
    // AWS: SigV4 first (a rejection still consumed the step and was captured), at the
    // mock's clock; every answer carries `x-amzn-RequestId` and `Date`.
    let now = aws_auth::mock_now(step.aws_clock_skew_s);
    if let Err(fault) = aws_auth::verify(parts, raw_body, service, now) {
        let (status, mut headers, body) = aws_faults::fault_response(&fault, service);
        aws_faults::add_common_headers(&mut headers, now);
        return send(&Step::default(), status, headers, body, captured).await;
    }
    let (status, mut headers, mut body) = match answer_of(shared, &step, &request, &path, endpoint) {
        Ok(a) => a,
        Err(e) => return mock_error(e),
    };
    let is_eventstream = headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with(eventstream::CONTENT_TYPE));
    if let Some(exception) = &step.stream_exception
        && is_eventstream
    {
        let mut cut = eventstream::first_frames(&body, exception.after_frames).to_vec();
        cut.extend(aws_faults::stream_exception(exception, service));
        body = cut;
    }
    // Recorded AWS errors lost their `x-amzn-ErrorType`; AWS always sends one.
    if step.replay.is_some() && status >= 400 && !headers.iter().any(|(k, _)| k == "x-amzn-errortype") {
        let kind = aws_faults::kind_of(service, status);
        headers.push(("x-amzn-errortype".to_owned(), service.error_type_header(kind)));
    }
    aws_faults::add_common_headers(&mut headers, now);
    send(&step, status, headers, body, captured).await
}

/// What `step` answers to `request` at `path` (before faults), or why a recording cannot be
/// loaded.
fn answer_of(
    shared: &Shared,
    step: &Step,
    request: &Value,
    path: &str,
    endpoint: synth::Endpoint,
) -> Result<Answer, String> {
    let aws = endpoint.aws_service();
    if let Some(name) = &step.replay {
        return recordings::load(&shared.recordings, name).map(|r| (r.status, r.headers, r.body));
    }
    if let Some(spec) = &step.error {
        if spec.envelope.as_deref().map_or(aws.is_some(), |e| e == "aws") {
            let service = aws.unwrap_or(aws_faults::AwsService::Bedrock);
            return Ok(aws_faults::error_response(
                spec,
                step.status,
                service,
                &synth_aws::resource_of(path),
            ));
        }
        let status = step.status.unwrap_or(500);
        let body = synth::error_body_at(spec, status, endpoint)
            .to_string()
            .into_bytes();
        return Ok((status, vec![ct("application/json")], body));
    }
    if let Some(v) = &step.body {
        return Ok((200, vec![ct("application/json")], v.to_string().into_bytes()));
    }
    if let Some(raw) = &step.raw {
        return Ok((200, vec![ct("text/plain")], raw.clone().into_bytes()));
    }
    let reply = match &step.reply {
        Some(r) => r.clone(),
        None => crate::scenario::Reply {
            text: synth::last_user_text(request),
            ..Default::default()
        },
    };
    if aws.is_some() {
        let a = synth_aws::answer(&reply, request, endpoint, &synth_aws::resource_of(path));
        return Ok((a.status, a.headers, a.body));
    }
    let (content_type, body) = synth::answer(&reply, request, endpoint);
    Ok((200, vec![ct(content_type)], body))
}

/// Sends an answer with `step`'s faults: status override, extra headers, corruption, delay,
/// pieces, cut.
async fn send(
    step: &Step,
    mut status: u16,
    mut headers: Vec<(String, String)>,
    mut body: Vec<u8>,
    captured: Arc<Mutex<CapturedRequest>>,
) -> Response<Body> {
    if let Some(s) = step.status {
        status = s;
    }
    for (k, v) in &step.headers {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        headers.push((k.to_ascii_lowercase(), v.clone()));
    }
    if let Some(c) = &step.corrupt {
        let at = c.at.min(body.len());
        let insert = c
            .bytes
            .clone()
            .or_else(|| c.text.clone().map(String::into_bytes))
            .unwrap_or_default();
        body.splice(at..at, insert);
    }
    if let Some(at) = step.flip_byte_at {
        let last = body.len().saturating_sub(1);
        if let Some(b) = body.get_mut(at.min(last)) {
            *b ^= 0x01;
        }
    }
    if let Some(ms) = step.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut pieces: VecDeque<Bytes> = VecDeque::new();
    let cut = step.cut_after_bytes.is_some_and(|n| n < body.len());
    if let Some(n) = step.cut_after_bytes {
        body.truncate(n);
    }
    let piece = step.chunk_bytes.unwrap_or(usize::MAX).max(1);
    for c in body.chunks(piece.min(body.len().max(1))) {
        pieces.push_back(Bytes::copy_from_slice(c));
    }
    let state = BodyState {
        pieces,
        delay: step.chunk_delay_ms.map(Duration::from_millis),
        cut,
        first: true,
        ended: false,
        captured,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        if !s.first
            && let Some(d) = s.delay
        {
            tokio::time::sleep(d).await;
        }
        s.first = false;
        match s.pieces.pop_front() {
            Some(p) => Some((Ok(Frame::data(p)), s)),
            None if s.cut && !s.ended => {
                // Let what was sent reach the client first, so the cut lands mid-body.
                tokio::time::sleep(Duration::from_millis(30)).await;
                s.ended = true;
                Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "mock: cut",
                    )),
                    s,
                ))
            }
            None => {
                if !s.ended {
                    s.ended = true;
                    s.captured.lock().unwrap_or_else(|e| e.into_inner()).finished = true;
                }
                None
            }
        }
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(&v),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn mock_error(message: String) -> Response<Body> {
    json_response(500, &json!({"error": {"message": message, "type": "mock_error"}}))
}

fn ct(v: &str) -> (String, String) {
    ("content-type".to_owned(), v.to_owned())
}

/// Body state; noticing when the client goes away before the end.
struct BodyState {
    pieces: VecDeque<Bytes>,
    delay: Option<Duration>,
    cut: bool,
    first: bool,
    ended: bool,
    captured: Arc<Mutex<CapturedRequest>>,
}

impl Drop for BodyState {
    fn drop(&mut self) {
        if !self.ended {
            self.captured
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .client_aborted = true;
        }
    }
}
