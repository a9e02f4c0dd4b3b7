//! The config's usage sections: `collector:` (the reporter), `sinks:` (JSON-lines files,
//! OpenTelemetry) and `capture_content`.

use std::path::PathBuf;
use std::time::Duration;

use super::super::node::{Node, Value};
use super::Validator;
use crate::policy::{PolicySettings, Verifier};
use crate::redact::Secret;
use crate::usage::{ReporterSettings, SinkConfig};

const COLLECTOR_FIELDS: &[&str] = &[
    "url",
    "key",
    "spool_dir",
    "spool_max_mb",
    "spool_max_age_h",
    "batch_size",
    "flush_interval_ms",
    "queue_size",
    "timeout_ms",
    "write_through",
    "policy",
];
const POLICY_FIELDS: &[&str] = &["public_key", "required", "cache_file", "start_timeout_ms"];
const SINK_KINDS: &[&str] = &["jsonl", "otlp"];
const JSONL_FIELDS: &[&str] = &["kind", "path", "max_mb", "keep"];
const OTLP_FIELDS: &[&str] = &["kind", "endpoint", "headers", "service_name", "timeout_ms"];

impl Validator<'_> {
    /// `collector: {url, key, …}` — where the reporter sends usage events.
    pub(super) fn collector(&mut self, node: &Node, app: &str) -> Option<ReporterSettings> {
        let f = self.fields(node, "collector", COLLECTOR_FIELDS)?;
        let url = self
            .required(&f, "url")
            .and_then(|n| self.url(n, &f.path("url")))?;
        let key = f
            .get("key")
            .and_then(|n| self.non_empty_string(n, &f.path("key")))
            .map(Secret::new);
        let mut s = ReporterSettings::new(url, key, app);
        if let Some(n) = f.get("spool_dir")
            && let Some(dir) = self.non_empty_string(n, &f.path("spool_dir"))
        {
            s.spool_dir = PathBuf::from(dir);
        }
        if let Some(mb) = f
            .get("spool_max_mb")
            .and_then(|n| self.integer(n, &f.path("spool_max_mb"), 1, 1 << 20))
        {
            s.spool_max_bytes = mb << 20;
        }
        if let Some(h) = f
            .get("spool_max_age_h")
            .and_then(|n| self.integer(n, &f.path("spool_max_age_h"), 1, 24 * 365))
        {
            s.spool_max_age = Duration::from_secs(h * 3600);
        }
        if let Some(n) = f
            .get("batch_size")
            .and_then(|n| self.integer(n, &f.path("batch_size"), 1, 100_000))
        {
            s.batch_size = n as usize;
        }
        if let Some(ms) = f
            .get("flush_interval_ms")
            .and_then(|n| self.integer(n, &f.path("flush_interval_ms"), 1, 3_600_000))
        {
            s.flush_interval = Duration::from_millis(ms);
        }
        if let Some(n) = f
            .get("queue_size")
            .and_then(|n| self.integer(n, &f.path("queue_size"), 1, 10_000_000))
        {
            s.queue_size = n as usize;
        }
        if let Some(ms) = f
            .get("timeout_ms")
            .and_then(|n| self.integer(n, &f.path("timeout_ms"), 1, 3_600_000))
        {
            s.timeout = Duration::from_millis(ms);
        }
        if let Some(b) = f
            .get("write_through")
            .and_then(|n| self.boolean(n, &f.path("write_through")))
        {
            s.write_through = b;
        }
        Some(s)
    }

    /// `collector.policy: {public_key, …}` — central policy, given the reporter's settings.
    pub(super) fn policy_settings(
        &mut self,
        node: &Node,
        reporter: &ReporterSettings,
    ) -> Option<PolicySettings> {
        let Value::Map(entries) = &node.value else {
            return None;
        };
        let n = entries.iter().find(|(k, _)| k == "policy").map(|(_, n)| n)?;
        let f = self.fields(n, "collector.policy", POLICY_FIELDS)?;
        let key_node = self.required(&f, "public_key")?;
        let text = self.non_empty_string(key_node, &f.path("public_key"))?;
        let verifier = match Verifier::parse(&text) {
            Ok(v) => v,
            Err(e) => {
                self.issue(key_node.pos, &f.path("public_key"), e.message());
                return None;
            }
        };
        let required = match f.get("required") {
            Some(n) => self.boolean(n, &f.path("required"))?,
            None => false,
        };
        let cache_file = match f.get("cache_file") {
            Some(n) => PathBuf::from(self.non_empty_string(n, &f.path("cache_file"))?),
            None => PolicySettings::default_cache_file(&reporter.spool_dir),
        };
        let start_timeout = match f.get("start_timeout_ms") {
            Some(n) => Duration::from_millis(self.integer(n, &f.path("start_timeout_ms"), 0, 600_000)?),
            None => Duration::from_secs(3),
        };
        Some(PolicySettings {
            url: reporter.url.clone(),
            key: reporter.key.clone(),
            verifier,
            required,
            cache_file,
            start_timeout,
            budget_window: reporter.flush_interval + Duration::from_secs(2),
        })
    }

    /// `sinks: [{kind: jsonl, …}, {kind: otlp, …}]`.
    pub(super) fn sinks(&mut self, node: &Node) -> Vec<SinkConfig> {
        let Value::Seq(items) = &node.value else {
            self.issue(
                node.pos,
                "sinks",
                format!("expected a list of sinks, got {}", node.type_name()),
            );
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| self.sink(n, &format!("sinks[{i}]")))
            .collect()
    }

    fn sink(&mut self, node: &Node, path: &str) -> Option<SinkConfig> {
        let kind_node = match &node.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == "kind").map(|(_, n)| n),
            _ => None,
        };
        let Some(kind_node) = kind_node else {
            // Let `fields` say what is wrong with the shape, then ask for the kind.
            let f = self.fields(node, path, JSONL_FIELDS)?;
            self.required(&f, "kind");
            return None;
        };
        let kind = self.non_empty_string(kind_node, &format!("{path}.kind"))?;
        match kind.as_str() {
            "jsonl" => {
                let f = self.fields(node, path, JSONL_FIELDS)?;
                let file = self
                    .required(&f, "path")
                    .and_then(|n| self.non_empty_string(n, &f.path("path")))?;
                let max_mb = f
                    .get("max_mb")
                    .and_then(|n| self.integer(n, &f.path("max_mb"), 1, 1 << 20));
                let keep = f
                    .get("keep")
                    .and_then(|n| self.integer(n, &f.path("keep"), 0, 1000));
                Some(SinkConfig::Jsonl {
                    path: PathBuf::from(file),
                    max_bytes: max_mb.unwrap_or(100) << 20,
                    keep: keep.unwrap_or(5) as usize,
                })
            }
            "otlp" => {
                let f = self.fields(node, path, OTLP_FIELDS)?;
                let endpoint = self
                    .required(&f, "endpoint")
                    .and_then(|n| self.url(n, &f.path("endpoint")))?;
                let headers = match f.get("headers") {
                    Some(n) => self.headers(n, &f.path("headers")),
                    None => Vec::new(),
                };
                let service_name = f
                    .get("service_name")
                    .and_then(|n| self.non_empty_string(n, &f.path("service_name")));
                let timeout_ms = f
                    .get("timeout_ms")
                    .and_then(|n| self.integer(n, &f.path("timeout_ms"), 1, 3_600_000));
                Some(SinkConfig::Otlp {
                    endpoint,
                    headers,
                    service_name,
                    timeout: Duration::from_millis(timeout_ms.unwrap_or(10_000)),
                })
            }
            other => {
                let hint = match super::closest(other, SINK_KINDS) {
                    Some(s) => format!(" (did you mean `{s}`?)"),
                    None => format!(" (expected one of: {})", SINK_KINDS.join(", ")),
                };
                self.issue(
                    kind_node.pos,
                    &format!("{path}.kind"),
                    format!("unknown sink kind `{other}`{hint}"),
                );
                None
            }
        }
    }

    /// An `http://` or `https://` URL, without a trailing `/`.
    fn url(&mut self, node: &Node, path: &str) -> Option<String> {
        let s = self.non_empty_string(node, path)?;
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            self.issue(node.pos, path, "expected an http:// or https:// URL");
            return None;
        }
        Some(s.trim_end_matches('/').to_owned())
    }

    pub(super) fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s == "true" || s == "false" => Some(s == "true"),
            _ => {
                self.issue(
                    node.pos,
                    path,
                    format!("expected true or false, got {}", node.type_name()),
                );
                None
            }
        }
    }
}
