//! Helpers of the central policy tests: PUTting documents, named admin keys, and a reader of
//! the watch stream (server-sent events).

use std::time::Duration;

use modelplug_core::policy::Verifier;
use modelplug_schema::policy::SignedEnvelope;
use serde_json::{Value, json};

use super::{Collector, http, json_of};

/// PUTs a policy document with `key`: the status and the answer.
pub async fn put_policy(c: &Collector, key: &str, doc: &str, if_match: Option<&str>) -> (u16, Value) {
    let mut r = http()
        .put(format!("{}/v1/policy", c.url))
        .bearer_auth(key)
        .header("content-type", "application/yaml")
        .body(doc.to_owned());
    if let Some(m) = if_match {
        r = r.header("if-match", m);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Makes an admin key named `name` through the API.
pub async fn named_admin(c: &Collector, name: &str) -> String {
    let r = http()
        .post(format!("{}/v1/keys", c.url))
        .bearer_auth(&c.admin)
        .header("content-type", "application/json")
        .body(json!({"kind": "admin", "name": name}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    json_of(r).await["key"].as_str().unwrap().to_owned()
}

/// The collector's public key, from the open endpoint.
pub async fn verifier(c: &Collector) -> Verifier {
    let r = http()
        .get(format!("{}/v1/policy/public-key", c.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = json_of(r).await;
    let verifier = Verifier::parse(v["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(verifier.key_id(), v["key_id"].as_str().unwrap());
    verifier
}

/// Checks an envelope's signature: its payload as JSON.
pub fn open(verifier: &Verifier, envelope: &str) -> Value {
    let env: SignedEnvelope = serde_json::from_str(envelope).unwrap();
    serde_json::from_str(verifier.open(&env).unwrap()).unwrap()
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Event {
    /// `event:`.
    pub name: String,
    /// `id:`, if any.
    pub id: Option<String>,
    /// `data:`.
    pub data: String,
}

/// A watch stream being read.
pub struct Watch {
    response: reqwest::Response,
    buf: String,
}

impl Watch {
    /// Opens `/v1/policy/watch` with `key` (and a query, e.g. `?app=x`).
    pub async fn open(c: &Collector, key: &str, query: &str) -> Watch {
        let response = http()
            .get(format!("{}/v1/policy/watch{query}", c.url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Watch {
            response,
            buf: String::new(),
        }
    }

    /// The next event (comments skipped), waiting at most 20 s; `None` when the stream ends.
    pub async fn next(&mut self) -> Option<Event> {
        tokio::time::timeout(Duration::from_secs(20), self.next_inner())
            .await
            .expect("no event within 20 s")
    }

    async fn next_inner(&mut self) -> Option<Event> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf[..end].to_owned();
                self.buf.drain(..end + 2);
                let mut ev = Event {
                    name: "message".into(),
                    id: None,
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        ev.name = v.to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        ev.id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        ev.data.push_str(v);
                        any = true;
                    }
                }
                if any {
                    return Some(ev);
                }
            }
            match self.response.chunk().await {
                Ok(Some(b)) => self.buf.push_str(std::str::from_utf8(&b).unwrap()),
                _ => return None,
            }
        }
    }

    /// The next event named `name` (others skipped) whose payload (checked) satisfies `want`.
    pub async fn until(&mut self, verifier: &Verifier, name: &str, want: impl Fn(&Value) -> bool) -> Value {
        loop {
            let ev = self.next().await.expect("the stream ended");
            if ev.name == name {
                let payload = open(verifier, &ev.data);
                if want(&payload) {
                    return payload;
                }
            }
        }
    }
}
