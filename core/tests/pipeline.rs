//! The pipeline seam: stages added through the builder answer, rewrite, check, filter streams
//! and observe events exactly where their position puts them; every outcome records one usage
//! event (cancellation too); `close` waits for calls within its bound; background services
//! flush and stop within their bound; a `fork()`ed child gets a working client.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use modelplug_core::pipeline::{
    CallCx, CallRequest, Flow, Position, Reply, ReplyMut, Stage, Step, StreamFilter,
};
use modelplug_core::runtime::Service;
use modelplug_core::types::{Content, Message};
use modelplug_core::usage::{CallStatus, GuardrailOutcome, UsageEvent};
use modelplug_core::{ChatRequest, ChatResponse, Client, Config, Error, ErrorKind, StreamEvent};
use serde_json::json;

/// A mock-provider client (the mock echoes the last user message) with these stages.
fn client(latency_ms: u64, stages: Vec<Arc<dyn Stage>>) -> Client {
    let config = json!({"models": [{"name": "m", "retry": {"attempts": 0}, "deployments": [
        {"provider": "mock", "model": "echo", "mock": {"latency_ms": latency_ms, "chunk_chars": 4}}]}]});
    let config = Config::from_json_value(&config, &|_| None).unwrap();
    stages
        .into_iter()
        .fold(Client::builder().config(config), |b, s| b.stage(s))
        .build()
        .unwrap()
}

fn last_event(client: &Client) -> Arc<UsageEvent> {
    client.usage().last().cloned().expect("an event was recorded")
}

/// Redacts the word `secret` from the request before it leaves (input guardrail position).
struct Redact;

impl Stage for Redact {
    fn name(&self) -> &'static str {
        "redact"
    }
    fn position(&self) -> Position {
        Position::GuardInput
    }
    fn before<'a>(&'a self, cx: &'a mut CallCx) -> Step<'a, Flow> {
        if let CallRequest::Chat(r) = &mut cx.request {
            for m in &mut r.messages {
                if let Content::Text(t) = &mut m.content
                    && t.contains("secret")
                {
                    *t = t.replace("secret", "[REDACTED]");
                    cx.guardrails.push(GuardrailOutcome {
                        name: "redact".into(),
                        stage: "input".into(),
                        action: "redact".into(),
                        count: 1,
                    });
                }
            }
        }
        Step::Ready(Ok(Flow::Continue))
    }
}

/// Answers requests that say "cached" itself (cache position), after an await.
struct Cache;

impl Stage for Cache {
    fn name(&self) -> &'static str {
        "cache"
    }
    fn position(&self) -> Position {
        Position::Cache
    }
    fn before<'a>(&'a self, cx: &'a mut CallCx) -> Step<'a, Flow> {
        let hit = cx
            .chat_request()
            .is_some_and(|r| r.messages[0].content.joined_text() == "cached");
        if !hit {
            return Step::Ready(Ok(Flow::Continue));
        }
        Step::Pending(Box::pin(async move {
            tokio::task::yield_now().await;
            cx.cache_hit = true;
            let mut answer = ChatResponse::default();
            answer.message.content = Some("from the cache".into());
            answer.cache_hit = true;
            Ok(Flow::Answer(Reply::Chat(Box::new(answer))))
        }))
    }
}

/// Blocks requests that say "forbidden", checks answers, and upper-cases streamed text with a
/// hold-back window of the whole stream (output guardrail position).
struct Guard;

impl Stage for Guard {
    fn name(&self) -> &'static str {
        "guard"
    }
    fn position(&self) -> Position {
        Position::GuardOutput
    }
    fn before<'a>(&'a self, cx: &'a mut CallCx) -> Step<'a, Flow> {
        let text = cx
            .chat_request()
            .map(|r| r.messages[0].content.joined_text())
            .unwrap_or_default();
        Step::Ready(if text.contains("forbidden") {
            Err(Error::new(ErrorKind::GuardrailBlocked, "blocked by rule `guard`"))
        } else {
            Ok(Flow::Continue)
        })
    }
    fn after<'a>(&'a self, _cx: &'a mut CallCx, reply: ReplyMut<'a>) -> Step<'a, ()> {
        if let ReplyMut::Chat(r) = reply {
            r.message.content = r.message.content.take().map(|t| t.to_uppercase());
        }
        Step::Ready(Ok(()))
    }
    fn stream_filter(&self, _cx: &CallCx) -> Option<Box<dyn StreamFilter>> {
        Some(Box::new(HoldBack::default()))
    }
}

#[derive(Default)]
struct HoldBack {
    held: String,
}

impl StreamFilter for HoldBack {
    fn on_event(
        &mut self,
        _cx: &mut CallCx,
        event: StreamEvent,
        out: &mut VecDeque<StreamEvent>,
    ) -> modelplug_core::Result<()> {
        match event {
            StreamEvent::TextDelta { text } => self.held.push_str(&text),
            StreamEvent::Done { .. } => {
                out.push_back(StreamEvent::TextDelta {
                    text: std::mem::take(&mut self.held).to_uppercase(),
                });
                out.push_back(event);
            }
            other => out.push_back(other),
        }
        Ok(())
    }
}

/// Sees every event (record position).
#[derive(Default)]
struct Observer {
    seen: Mutex<Vec<Arc<UsageEvent>>>,
    settled: AtomicUsize,
}

impl Stage for Observer {
    fn name(&self) -> &'static str {
        "observer"
    }
    fn position(&self) -> Position {
        Position::Record
    }
    fn settle(&self, _cx: &mut CallCx) {
        self.settled.fetch_add(1, Ordering::SeqCst);
    }
    fn recorded(&self, event: &Arc<UsageEvent>) {
        self.seen.lock().unwrap().push(event.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_answer_rewrite_check_and_observe_in_position_order() {
    let observer = Arc::new(Observer::default());
    // Added out of order on purpose: the position decides.
    let client = client(
        0,
        vec![
            Arc::new(Guard),
            observer.clone(),
            Arc::new(Cache),
            Arc::new(Redact),
        ],
    );

    let r = client
        .chat(ChatRequest::new("m", "my secret plan"))
        .await
        .unwrap();
    assert_eq!(
        r.text(),
        "MY [REDACTED] PLAN",
        "input rewritten, then the answer checked"
    );
    let e = last_event(&client);
    assert_eq!(e.guardrails.len(), 1);
    assert_eq!((e.status, e.cache_hit), (CallStatus::Ok, false));

    let r = client.chat(ChatRequest::new("m", "cached")).await.unwrap();
    assert_eq!(
        r.text(),
        "from the cache",
        "a cache hit skips the stages inside the cache"
    );
    let e = last_event(&client);
    assert!(e.cache_hit && e.attempts.is_empty() && e.provider.is_none());

    let err = client
        .chat(ChatRequest::new("m", "forbidden topic"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::GuardrailBlocked);
    assert_eq!(last_event(&client).status, CallStatus::Blocked);

    let seen = observer.seen.lock().unwrap().len();
    assert_eq!(
        (seen, observer.settled.load(Ordering::SeqCst)),
        (3, 3),
        "every outcome settles and records once"
    );
    assert_eq!(client.usage().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_filters_hold_back_and_release_before_done() {
    let client = client(0, vec![Arc::new(Guard)]);
    let mut stream = client.stream(ChatRequest::new("m", "stream me please"));
    let mut events = Vec::new();
    while let Some(ev) = stream.next().await {
        events.push(ev.unwrap());
    }
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        ["STREAM ME PLEASE"],
        "held back whole, released before Done"
    );
    let Some(StreamEvent::Done { response }) = events.last() else {
        panic!("the stream ends with Done: {events:?}");
    };
    assert_eq!(
        response.text(),
        "STREAM ME PLEASE",
        "the after hook checked the assembled answer"
    );
    let e = last_event(&client);
    assert!(e.stream && e.status == CallStatus::Ok && e.ttft_ms.is_some());
    assert_eq!(
        client.calls_in_flight(),
        0,
        "a finished stream is not in flight, even unread and alive"
    );
    let started = Instant::now();
    client.close().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "close did not wait for the finished stream"
    );
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_call_records_one_cancelled_event() {
    let client = client(2_000, vec![]);
    let call = client.chat(ChatRequest::new("m", "hello"));
    assert!(
        tokio::time::timeout(Duration::from_millis(100), call)
            .await
            .is_err()
    );
    let usage = client.usage();
    assert_eq!(usage.len(), 1);
    let e = &usage[0];
    assert_eq!(
        (e.status, e.error_code.as_ref().map(|c| c.as_str())),
        (CallStatus::Cancelled, Some("CANCELLED"))
    );
    assert_eq!(e.attempts.len(), 1, "the try in flight is recorded");
    assert_eq!(e.attempts[0].outcome(), "CANCELLED");
    assert_eq!(client.calls_in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_waits_for_calls_in_flight_within_its_bound() {
    // A call that finishes within the bound is waited for.
    let client = client(150, vec![]);
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.chat(ChatRequest::new("m", "quick")).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let closing = client.close_within(Duration::from_secs(5));
    assert!(
        client.is_closed(),
        "closed as soon as close is called, before it is awaited"
    );
    closing.await.unwrap();
    assert!(call.await.unwrap().is_ok(), "close let the call finish");
    assert!(client.is_closed());
    let refused = client.chat(ChatRequest::new("m", "late")).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Cancelled);

    // A call that outlives the bound is not cut off: close returns in time, the call ends on
    // its own and is recorded then.
    let client = self::client(1_500, vec![]);
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.chat(ChatRequest::new("m", "slow")).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    client.close_within(Duration::from_millis(300)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1_200),
        "bounded: {:?}",
        started.elapsed()
    );
    assert!(client.usage().is_empty(), "still in flight");
    assert!(call.await.unwrap().is_ok());
    assert_eq!(client.usage().last().unwrap().status, CallStatus::Ok);
    assert_eq!(client.usage().len(), 1, "usage stays readable after close");
}

/// Counts flushes and stops; sleeps `delay` in each.
struct CountingService {
    flushes: Arc<AtomicUsize>,
    stops: Arc<AtomicUsize>,
    delay: Duration,
}

impl Service for CountingService {
    fn name(&self) -> &str {
        "counting"
    }
    fn flush(&self) -> BoxFuture<'_, modelplug_core::Result<()>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.flushes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
    fn shutdown(&self) -> BoxFuture<'_, modelplug_core::Result<()>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.stops.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

fn with_service(delay: Duration) -> (Client, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (flushes, stops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (f, s) = (flushes.clone(), stops.clone());
    let client = Client::builder()
        .service(move || {
            Ok(Arc::new(CountingService {
                flushes: f.clone(),
                stops: s.clone(),
                delay,
            }) as Arc<dyn Service>)
        })
        .build()
        .unwrap();
    (client, flushes, stops)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_flush_and_stop_within_their_bound() {
    let (client, flushes, stops) = with_service(Duration::ZERO);
    client.flush(Duration::from_secs(1)).await.unwrap();
    client.close().await.unwrap();
    assert_eq!(
        (flushes.load(Ordering::SeqCst), stops.load(Ordering::SeqCst)),
        (1, 1)
    );

    let (slow, _, stops) = with_service(Duration::from_secs(30));
    let started = Instant::now();
    let err = slow.flush(Duration::from_millis(100)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("counting"), "{err}");
    let err = slow.close_within(Duration::from_millis(200)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(stops.load(Ordering::SeqCst), 0);
}

#[test]
#[allow(unsafe_code)]
fn a_forked_child_gets_a_working_client() {
    let client = client(0, vec![]);
    let ask = |c: &Client, text: &str| {
        modelplug_core::runtime::block_on(c.chat(ChatRequest {
            messages: vec![Message::user(text)],
            ..ChatRequest::new("m", "")
        }))
        .unwrap()
    };
    assert_eq!(ask(&client, "parent").unwrap().text(), "parent");
    // SAFETY: the child only uses the client (which rebuilds its runtime and pipeline there)
    // and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = ask(&client, "child").is_ok_and(|r| r.text() == "child") && client.usage().len() == 1;
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just started.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child's call failed"
    );
    assert_eq!(ask(&client, "parent again").unwrap().text(), "parent again");
}

#[test]
#[allow(unsafe_code)]
fn a_forked_child_that_closes_an_unused_client_gets_a_closed_client() {
    let client = client(0, vec![]);
    modelplug_core::runtime::block_on(client.chat(ChatRequest::new("m", "parent")))
        .unwrap()
        .unwrap();
    // SAFETY: the child only uses the client and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // Nothing built here yet: closing has nothing to stop, and the client is closed after.
        let closed = client.close_blocking(Duration::from_secs(1)).is_ok();
        let after = modelplug_core::runtime::block_on(client.chat(ChatRequest::new("m", "child"))).unwrap();
        let ok = closed && after.is_err_and(|e| e.kind() == ErrorKind::Cancelled);
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just started.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child's close or call misbehaved"
    );
}
