//! The report queries as SQL, for SQLite and PostgreSQL alike: the two dialects differ only in
//! placeholders, integer sums and reading a label from the stored JSON.

use uuid::Uuid;

use super::plan::Plan;
use super::query::{Dim, Filter};
use crate::rollup::{DAY_MS, SUM_COLUMNS};

/// A parameter of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// A UUID (a 16-byte blob in SQLite).
    Uuid(Uuid),
}

/// The SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `?` placeholders.
    Sqlite,
    /// PostgreSQL: `$n` placeholders.
    Postgres,
}

/// A query being built: its text and parameters.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    /// The text.
    pub text: String,
    /// The parameters, in placeholder order.
    pub params: Vec<SqlValue>,
}

impl Sql {
    fn bind(&mut self, d: Dialect, v: SqlValue) {
        self.params.push(v);
        match d {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => self.text.push_str(&format!("${}", self.params.len())),
        }
    }
}

impl Dialect {
    fn sum_int(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => format!("SUM({col})"),
            Dialect::Postgres => format!("SUM({col})::bigint"),
        }
    }

    /// A label's value read from the events' `labels` JSON (the key is checked by
    /// [`super::query::valid_label_key`], so it is safe inside the literal).
    fn label(self, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract(labels, '$.\"{key}\"')"),
            Dialect::Postgres => format!("(labels::jsonb ->> '{key}')"),
        }
    }
}

/// The column (of the events table) of a dimension that is one.
fn event_column(d: &Dim) -> Option<&'static str> {
    Some(match d {
        Dim::App => "app",
        Dim::Team => "team",
        Dim::User => "user_id",
        Dim::Env => "env",
        Dim::Operation => "operation",
        Dim::Provider => "provider",
        Dim::Deployment => "deployment",
        Dim::Model => "model",
        Dim::Status => "status",
        Dim::ErrorCode => "error_code",
        Dim::Label(_) | Dim::Day | Dim::Hour => return None,
    })
}

fn push_in(sql: &mut Sql, d: Dialect, expr: &str, values: &[String]) {
    sql.text.push_str(&format!(" AND {expr} IN ("));
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.text.push_str(", ");
        }
        sql.bind(d, SqlValue::Text(v.clone()));
    }
    sql.text.push(')');
}

/// Filters on the events table.
fn push_event_filters(sql: &mut Sql, d: Dialect, filters: &[Filter]) {
    for f in filters {
        let expr = match &f.dim {
            Dim::Label(k) => d.label(k),
            other => event_column(other).unwrap_or("app").to_owned(),
        };
        push_in(sql, d, &expr, &f.values);
    }
}

/// The rollup rows of `plan`, grouped in SQL by the query's dimensions plus status and error
/// code. Columns: one per group dimension (text, or the bucket start for day/hour), status,
/// error code, [`SUM_COLUMNS`], the latency sum and the two histograms.
pub fn rollup_select(d: Dialect, group_by: &[Dim], filters: &[Filter], plan: &Plan) -> Option<Sql> {
    rollup_query(d, group_by, filters, plan, None)
}

/// Which histogram a [`bucket_select`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hist {
    /// `latency_hist`.
    Latency,
    /// `ttft_hist`.
    Ttft,
}

/// PostgreSQL: one histogram of the rollup rows of `plan`, summed bucket by bucket in SQL
/// (`unnest`, a native sum) rather than by `mp_hist_sum` (an SQL-language aggregate, called per
/// row and slow over many rows). Columns: the group columns, status, error code, the 1-based
/// bucket, its count.
pub fn bucket_select(group_by: &[Dim], filters: &[Filter], plan: &Plan, hist: Hist) -> Option<Sql> {
    rollup_query(Dialect::Postgres, group_by, filters, plan, Some(hist))
}

fn rollup_query(
    d: Dialect,
    group_by: &[Dim],
    filters: &[Filter],
    plan: &Plan,
    buckets: Option<Hist>,
) -> Option<Sql> {
    let (attr, ranges) = plan.rollups.as_ref()?;
    let mut groups: Vec<String> = group_by
        .iter()
        .map(|g| match g {
            Dim::User | Dim::Label(_) => "attr_value".to_owned(),
            Dim::Day => format!("(start_ms - (start_ms % {DAY_MS}))"),
            Dim::Hour => "start_ms".to_owned(),
            other => event_column(other).unwrap_or("app").to_owned(),
        })
        .collect();
    groups.push("status".into());
    groups.push("error_code".into());
    let mut sql = Sql::default();
    sql.text.push_str("SELECT ");
    sql.text.push_str(&groups.join(", "));
    match (buckets, d) {
        (Some(_), _) => sql.text.push_str(", h.i, SUM(h.x)::bigint FROM "),
        (None, _) => {
            for c in SUM_COLUMNS {
                sql.text.push_str(", ");
                sql.text.push_str(&d.sum_int(c));
            }
            sql.text.push_str(match d {
                Dialect::Sqlite => {
                    ", SUM(latency_sum_ms), mp_hist_sum(latency_hist), mp_hist_sum(ttft_hist) FROM "
                }
                // The histograms come from `bucket_select`.
                Dialect::Postgres => ", SUM(latency_sum_ms), NULL::bigint[], NULL::bigint[] FROM ",
            });
        }
    }
    // Sums not yet folded in (hourly rows of `rollup_deltas`, collector/src/store/postgres.rs)
    // count too, as their hours and as their days.
    let pg_rollups_with_deltas = format!(
        "(SELECT * FROM rollups UNION ALL SELECT * FROM rollup_deltas UNION ALL \
         SELECT {DAY_MS}::bigint, start_ms - start_ms % {DAY_MS}, attr, attr_value, {}, {}, latency_sum_ms, \
         latency_hist, ttft_hist FROM rollup_deltas) AS rollups",
        crate::rollup::DIM_COLUMNS.join(", "),
        SUM_COLUMNS.join(", ")
    );
    sql.text.push_str(match d {
        Dialect::Sqlite => "rollups",
        Dialect::Postgres => &pg_rollups_with_deltas,
    });
    match buckets {
        Some(Hist::Latency) => sql
            .text
            .push_str(" CROSS JOIN LATERAL unnest(latency_hist) WITH ORDINALITY AS h(x, i)"),
        Some(Hist::Ttft) => sql
            .text
            .push_str(" CROSS JOIN LATERAL unnest(ttft_hist) WITH ORDINALITY AS h(x, i)"),
        None => {}
    }
    sql.text.push_str(" WHERE attr = ");
    sql.bind(d, SqlValue::Text(attr.clone()));
    sql.text.push_str(" AND (");
    for (i, (period, start, end)) in ranges.iter().enumerate() {
        if i > 0 {
            sql.text.push_str(" OR ");
        }
        sql.text.push_str("(period_ms = ");
        sql.bind(d, SqlValue::Int(*period));
        sql.text.push_str(" AND start_ms >= ");
        sql.bind(d, SqlValue::Int(*start));
        sql.text.push_str(" AND start_ms < ");
        sql.bind(d, SqlValue::Int(*end));
        sql.text.push(')');
    }
    sql.text.push(')');
    for f in filters {
        let expr = match &f.dim {
            Dim::User | Dim::Label(_) => "attr_value",
            other => event_column(other).unwrap_or("app"),
        };
        push_in(&mut sql, d, expr, &f.values);
    }
    sql.text.push_str(" GROUP BY ");
    sql.text.push_str(&groups.join(", "));
    if buckets.is_some() {
        sql.text.push_str(", h.i HAVING SUM(h.x) > 0");
    }
    Some(sql)
}

/// The columns [`raw_select`] reads, in order.
pub const RAW_COLUMNS: &str = "ts, app, team, user_id, env, operation, provider, deployment, model, status, \
     error_code, stream, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, \
     cost_nusd, cost_is_estimated, latency_ms, ttft_ms, fallback_used, cache_hit, labels";

/// The events of `[from, to)` that pass `filters`, as [`RAW_COLUMNS`].
pub fn raw_select(d: Dialect, filters: &[Filter], from: i64, to: i64) -> Sql {
    let mut sql = Sql {
        text: format!("SELECT {RAW_COLUMNS} FROM events WHERE ts >= "),
        params: vec![],
    };
    sql.bind(d, SqlValue::Int(from));
    sql.text.push_str(" AND ts < ");
    sql.bind(d, SqlValue::Int(to));
    push_event_filters(&mut sql, d, filters);
    sql
}

/// The columns [`events_select`] reads: [`RAW_COLUMNS`], then what makes the whole event again.
pub const PAGE_COLUMNS: &str = "id, model_requested, http_status, policy_version, extra";

/// The events of `[from, to)` past the rollups' mark (SQLite, whose writer adds events to the
/// rollups once a second): read with the rollups in one snapshot, they make a report exact.
///
/// The range is read by `seq` (a rowid range: the events of the last second or so); the `+` on
/// `ts` keeps SQLite from scanning the time index over the whole range instead.
pub fn tail_select(d: Dialect, filters: &[Filter], from: i64, to: i64) -> Sql {
    let mut sql = Sql {
        text: format!(
            "SELECT {RAW_COLUMNS} FROM events WHERE seq > (SELECT rolled_seq FROM rollup_state WHERE id = 1) AND +ts >= "
        ),
        params: vec![],
    };
    sql.bind(d, SqlValue::Int(from));
    sql.text.push_str(" AND +ts < ");
    sql.bind(d, SqlValue::Int(to));
    push_event_filters(&mut sql, d, filters);
    sql
}

/// A page of stored events, newest first, as [`RAW_COLUMNS`] then [`PAGE_COLUMNS`].
pub fn events_select(
    d: Dialect,
    filters: &[Filter],
    from: i64,
    to: i64,
    after: Option<(i64, Uuid)>,
    limit: i64,
) -> Sql {
    let mut sql = Sql {
        text: format!("SELECT {RAW_COLUMNS}, {PAGE_COLUMNS} FROM events WHERE ts >= "),
        params: vec![],
    };
    sql.bind(d, SqlValue::Int(from));
    sql.text.push_str(" AND ts < ");
    sql.bind(d, SqlValue::Int(to));
    push_event_filters(&mut sql, d, filters);
    if let Some((ts, id)) = after {
        sql.text.push_str(" AND (ts < ");
        sql.bind(d, SqlValue::Int(ts));
        sql.text.push_str(" OR (ts = ");
        sql.bind(d, SqlValue::Int(ts));
        sql.text.push_str(" AND id < ");
        sql.bind(d, SqlValue::Uuid(id));
        sql.text.push_str("))");
    }
    sql.text.push_str(" ORDER BY ts DESC, id DESC LIMIT ");
    sql.bind(d, SqlValue::Int(limit));
    sql
}

/// One event by its id.
pub fn event_by_id(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql {
        text: format!("SELECT {RAW_COLUMNS}, {PAGE_COLUMNS} FROM events WHERE id = "),
        params: vec![],
    };
    sql.bind(d, SqlValue::Uuid(id));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::query::ReportQuery;
    use crate::rollup::HOUR_MS;

    #[test]
    fn rollup_sql_groups_and_filters_with_placeholders_only() {
        let q = ReportQuery {
            from_ms: 0,
            to_ms: 2 * DAY_MS,
            group_by: vec![Dim::Label("exp".into()), Dim::Day],
            filters: vec![Filter {
                dim: Dim::App,
                values: vec!["x'); DROP TABLE events; --".into()],
            }],
        };
        let sql = rollup_select(Dialect::Postgres, &q.group_by, &q.filters, &Plan::of(&q)).unwrap();
        assert!(
            sql.text
                .contains("GROUP BY attr_value, (start_ms - (start_ms % 86400000)), status, error_code"),
            "{}",
            sql.text
        );
        assert!(sql.text.contains("app IN ($5)"), "{}", sql.text);
        assert!(!sql.text.contains("DROP"));
        assert_eq!(sql.params[0], SqlValue::Text("label:exp".into()));
        let raw = raw_select(Dialect::Sqlite, &q.filters, 0, HOUR_MS);
        assert_eq!(raw.text.matches('?').count(), raw.params.len());
    }
}
