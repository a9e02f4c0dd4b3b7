//! What a report asks for: a time range, the dimensions to group by and filters, read from a
//! query string (`?from=…&to=…&group_by=app,model&env=prod&label.exp=a,b`) or from the CLI.

use std::fmt;

use modelplug_schema::Timestamp;

use crate::rollup::{DAY_MS, HOUR_MS};

/// A dimension to group or filter by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    /// The application.
    App,
    /// The team.
    Team,
    /// The end user (only calls that name one).
    User,
    /// The environment.
    Env,
    /// `chat` or `embeddings`.
    Operation,
    /// The provider.
    Provider,
    /// The deployment.
    Deployment,
    /// The model as served.
    Model,
    /// `ok`, `error`, `blocked`, `cancelled`.
    Status,
    /// The error code.
    ErrorCode,
    /// One label's value (only calls that carry the label).
    Label(String),
    /// The UTC day.
    Day,
    /// The hour.
    Hour,
}

impl Dim {
    /// Reads a dimension name: `app`, `team`, `user`, `env`, `operation`, `provider`,
    /// `deployment`, `model`, `status`, `error_code`, `label.<key>` (or `label:<key>`), `day`,
    /// `hour`.
    pub fn parse(name: &str) -> Option<Dim> {
        Some(match name {
            "app" => Dim::App,
            "team" => Dim::Team,
            "user" => Dim::User,
            "env" => Dim::Env,
            "operation" => Dim::Operation,
            "provider" => Dim::Provider,
            "deployment" => Dim::Deployment,
            "model" => Dim::Model,
            "status" => Dim::Status,
            "error_code" => Dim::ErrorCode,
            "day" => Dim::Day,
            "hour" => Dim::Hour,
            _ => {
                let key = name
                    .strip_prefix("label.")
                    .or_else(|| name.strip_prefix("label:"))?;
                if !valid_label_key(key) {
                    return None;
                }
                Dim::Label(key.to_owned())
            }
        })
    }

    /// Whether it is a time bucket.
    pub fn is_time(&self) -> bool {
        matches!(self, Dim::Day | Dim::Hour)
    }

    /// The rollup attribute that holds it, for the open-ended dimensions (user, labels).
    pub fn attr(&self) -> Option<String> {
        match self {
            Dim::User => Some(crate::rollup::USER_ATTR.to_owned()),
            Dim::Label(k) => Some(format!("{}{k}", crate::rollup::LABEL_ATTR_PREFIX)),
            _ => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Dim::App => "app",
            Dim::Team => "team",
            Dim::User => "user",
            Dim::Env => "env",
            Dim::Operation => "operation",
            Dim::Provider => "provider",
            Dim::Deployment => "deployment",
            Dim::Model => "model",
            Dim::Status => "status",
            Dim::ErrorCode => "error_code",
            Dim::Day => "day",
            Dim::Hour => "hour",
            Dim::Label(k) => return write!(f, "label.{k}"),
        };
        f.write_str(s)
    }
}

/// Label keys as the SDKs allow them: 1–64 of letters, digits, `_ - . / :`.
pub fn valid_label_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:".contains(&b))
}

/// Calls whose `dim` is one of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The dimension (never a time bucket).
    pub dim: Dim,
    /// The accepted values.
    pub values: Vec<String>,
}

/// A report's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// Start, inclusive (ms since the epoch).
    pub from_ms: i64,
    /// End, exclusive.
    pub to_ms: i64,
    /// The dimensions to group by, in output order (none: one total row).
    pub group_by: Vec<Dim>,
    /// Filters, all of which must hold.
    pub filters: Vec<Filter>,
}

/// A query string (or CLI option) that cannot be a report's question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{param}`: {message}")]
pub struct QueryError {
    /// The parameter.
    pub param: String,
    /// What is wrong with it.
    pub message: String,
}

fn bad(param: &str, message: impl Into<String>) -> QueryError {
    QueryError {
        param: param.to_owned(),
        message: message.into(),
    }
}

/// The most values one filter may list.
const MAX_FILTER_VALUES: usize = 100;

impl ReportQuery {
    /// Reads `from`, `to`, `group_by` and filters (`<dim>=v1,v2`, `label.<key>=v`) from
    /// decoded query pairs; other keys in `ignore` are skipped (paging, format). `now_ms` is
    /// the default end; the default start is 30 days before it.
    pub fn from_pairs(
        pairs: &[(String, String)],
        now_ms: i64,
        ignore: &[&str],
    ) -> Result<ReportQuery, QueryError> {
        let mut q = ReportQuery {
            from_ms: now_ms - 30 * DAY_MS,
            to_ms: now_ms,
            group_by: vec![],
            filters: vec![],
        };
        let mut to_given = None;
        let mut from_given = None;
        for (k, v) in pairs {
            match k.as_str() {
                "from" => from_given = Some(parse_time("from", v, now_ms)?),
                "to" => to_given = Some(parse_time("to", v, now_ms)?),
                "group_by" => {
                    for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let d = Dim::parse(name)
                            .ok_or_else(|| bad("group_by", format!("`{name}` is not a dimension")))?;
                        if !q.group_by.contains(&d) {
                            q.group_by.push(d);
                        }
                    }
                }
                k if ignore.contains(&k) => {}
                k => {
                    let dim = Dim::parse(k)
                        .filter(|d| !d.is_time())
                        .ok_or_else(|| bad(k, "not a parameter of this report"))?;
                    let values: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
                    if values.len() > MAX_FILTER_VALUES {
                        return Err(bad(k, format!("at most {MAX_FILTER_VALUES} values")));
                    }
                    // Calls without a user or label are never grouped by them: no empty value.
                    if dim.attr().is_some() && values.iter().any(String::is_empty) {
                        return Err(bad(
                            k,
                            "name one or more values (calls without it are not counted by it)",
                        ));
                    }
                    q.filters.push(Filter { dim, values });
                }
            }
        }
        if let Some(t) = to_given {
            q.to_ms = t;
        }
        q.from_ms = from_given.unwrap_or(q.to_ms - 30 * DAY_MS);
        if q.from_ms >= q.to_ms {
            return Err(bad("from", "must be before `to`"));
        }
        if q.group_by.iter().filter(|d| d.is_time()).count() > 1 {
            return Err(bad("group_by", "one of `day` and `hour`, not both"));
        }
        Ok(q)
    }
}

/// A time: RFC 3339 (`2026-11-24T20:31:05Z`), a date (`2026-11-24`, midnight UTC), epoch
/// milliseconds, or an age before now (`90m`, `24h`, `7d`).
pub fn parse_time(param: &str, v: &str, now_ms: i64) -> Result<i64, QueryError> {
    let v = v.trim();
    if let Some(t) = Timestamp::parse(v) {
        return Ok(t.0 as i64);
    }
    if v.len() == 10
        && v.as_bytes()[4] == b'-'
        && let Some(t) = Timestamp::parse(&format!("{v}T00:00:00Z"))
    {
        return Ok(t.0 as i64);
    }
    if v.len() >= 20 && !v.ends_with('Z') && v.contains('T') {
        // `2026-11-24T20:31:05+00:00` and friends: only UTC is accepted, written with Z.
        return Err(bad(param, "write times in UTC with `Z`"));
    }
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    let unit = match v.chars().last() {
        Some('m') => 60_000,
        Some('h') => HOUR_MS,
        Some('d') => DAY_MS,
        _ => 0,
    };
    if unit > 0
        && let Ok(n) = v[..v.len() - 1].parse::<i64>()
        && n >= 0
    {
        return Ok(now_ms - n * unit);
    }
    Err(bad(
        param,
        "expected an RFC 3339 UTC time, a date, epoch milliseconds, or an age such as `7d`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn a_query_string_becomes_a_question() {
        let q = ReportQuery::from_pairs(
            &pairs(&[
                ("from", "2026-11-01"),
                ("to", "2026-11-02T00:00:00Z"),
                ("group_by", "app,label.exp,day"),
                ("env", "prod,dev"),
            ]),
            0,
            &[],
        )
        .unwrap();
        assert_eq!(q.group_by, vec![Dim::App, Dim::Label("exp".into()), Dim::Day]);
        assert_eq!(q.to_ms - q.from_ms, DAY_MS);
        assert_eq!(q.filters[0].values, ["prod", "dev"]);
        let now = 10 * DAY_MS;
        let q = ReportQuery::from_pairs(&pairs(&[("from", "7d")]), now, &[]).unwrap();
        assert_eq!((q.from_ms, q.to_ms), (3 * DAY_MS, now));
    }

    #[test]
    fn bad_parameters_are_named() {
        for (k, v) in [
            ("group_by", "cost"),
            ("from", "yesterday"),
            ("colour", "red"),
            ("group_by", "day,hour"),
            ("label.bad key", "x"),
            ("user", ""),
        ] {
            let e = ReportQuery::from_pairs(&pairs(&[(k, v)]), DAY_MS * 40, &[]).unwrap_err();
            assert!(!e.param.is_empty(), "{k}={v}: {e}");
        }
        let e =
            ReportQuery::from_pairs(&pairs(&[("from", "1d"), ("to", "2d")]), DAY_MS * 40, &[]).unwrap_err();
        assert_eq!(e.param, "from");
    }
}
