//! Which rows answer a report: whole days from the daily rollups, whole hours from the hourly
//! ones, and the minutes at either edge from the events themselves — so any range is exact and
//! a 90-day range reads about 90 rows per group instead of every event.

use super::query::{Dim, ReportQuery};
use crate::rollup::{DAY_MS, HOUR_MS, USER_ATTR};

/// Rollup rows to read: their attribute and `(period, start, end)` ranges of row starts.
pub type RollupRanges = (String, Vec<(i64, i64, i64)>);

/// Where a report's numbers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The rollup rows to read: their attribute and `(period, start, end)` ranges of row
    /// starts; `None` when the question needs the events alone (it groups or filters by more
    /// than one of user and labels).
    pub rollups: Option<RollupRanges>,
    /// Ranges `[from, to)` read from the events.
    pub raw: Vec<(i64, i64)>,
    /// The range the rollup rows cover, `[from, to)`.
    pub covered: Option<(i64, i64)>,
}

fn floor(t: i64, unit: i64) -> i64 {
    t - t.rem_euclid(unit)
}

fn ceil(t: i64, unit: i64) -> i64 {
    let f = floor(t, unit);
    if f == t { t } else { f + unit }
}

impl Plan {
    /// The plan for `q`.
    pub fn of(q: &ReportQuery) -> Plan {
        let dims = || q.group_by.iter().chain(q.filters.iter().map(|f| &f.dim));
        let mut attrs: Vec<String> = dims().filter_map(Dim::attr).collect();
        attrs.sort();
        attrs.dedup();
        if attrs.len() > 1 {
            return Plan::events_only(q);
        }
        let attr = attrs.pop().unwrap_or_default();
        // User rollup rows keep app, team, status and error code only (a user's calls are many
        // and varied; finer rows would be as many as the events).
        let in_user_rows = |d: &Dim| {
            matches!(
                d,
                Dim::User | Dim::App | Dim::Team | Dim::Status | Dim::ErrorCode | Dim::Day | Dim::Hour
            )
        };
        if attr == USER_ATTR && !dims().all(in_user_rows) {
            return Plan::events_only(q);
        }
        let (h0, h1) = (ceil(q.from_ms, HOUR_MS), floor(q.to_ms, HOUR_MS));
        if h0 >= h1 {
            return Plan::events_only(q);
        }
        let mut raw = vec![];
        if q.from_ms < h0 {
            raw.push((q.from_ms, h0));
        }
        if h1 < q.to_ms {
            raw.push((h1, q.to_ms));
        }
        let (d0, d1) = (ceil(h0, DAY_MS), floor(h1, DAY_MS));
        let hourly_only = q.group_by.contains(&Dim::Hour);
        let mut ranges = vec![];
        if hourly_only || d0 >= d1 {
            ranges.push((HOUR_MS, h0, h1));
        } else {
            if h0 < d0 {
                ranges.push((HOUR_MS, h0, d0));
            }
            ranges.push((DAY_MS, d0, d1));
            if d1 < h1 {
                ranges.push((HOUR_MS, d1, h1));
            }
        }
        Plan {
            rollups: Some((attr, ranges)),
            raw,
            covered: Some((h0, h1)),
        }
    }

    fn events_only(q: &ReportQuery) -> Plan {
        Plan {
            rollups: None,
            raw: vec![(q.from_ms, q.to_ms)],
            covered: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::query::Filter;

    fn q(from: i64, to: i64, group_by: Vec<Dim>) -> ReportQuery {
        ReportQuery {
            from_ms: from,
            to_ms: to,
            group_by,
            filters: vec![],
        }
    }

    #[test]
    fn days_hours_and_edges_cover_the_range_once() {
        let from = 3 * DAY_MS - HOUR_MS - 5;
        let to = 6 * DAY_MS + 2 * HOUR_MS + 7;
        let p = Plan::of(&q(from, to, vec![Dim::App]));
        assert_eq!(
            p.raw,
            vec![(from, 3 * DAY_MS - HOUR_MS), (6 * DAY_MS + 2 * HOUR_MS, to)]
        );
        let (attr, ranges) = p.rollups.unwrap();
        assert_eq!(attr, "");
        assert_eq!(
            ranges,
            vec![
                (HOUR_MS, 3 * DAY_MS - HOUR_MS, 3 * DAY_MS),
                (DAY_MS, 3 * DAY_MS, 6 * DAY_MS),
                (HOUR_MS, 6 * DAY_MS, 6 * DAY_MS + 2 * HOUR_MS)
            ]
        );
        let (_, hourly) = Plan::of(&q(from, to, vec![Dim::Hour])).rollups.unwrap();
        assert_eq!(
            hourly,
            vec![(HOUR_MS, 3 * DAY_MS - HOUR_MS, 6 * DAY_MS + 2 * HOUR_MS)]
        );
    }

    #[test]
    fn short_ranges_and_two_open_ended_dimensions_read_events() {
        assert_eq!(Plan::of(&q(10, 20, vec![])).rollups, None);
        let mut two = q(0, 10 * DAY_MS, vec![Dim::User]);
        two.filters.push(Filter {
            dim: Dim::Label("exp".into()),
            values: vec!["a".into()],
        });
        assert_eq!(
            Plan::of(&two),
            Plan {
                rollups: None,
                raw: vec![(0, 10 * DAY_MS)],
                covered: None
            }
        );
        let one = q(0, 10 * DAY_MS, vec![Dim::User, Dim::App]);
        assert_eq!(Plan::of(&one).rollups.unwrap().0, "user");
        // User rows hold no model: by user and model, the events answer.
        assert_eq!(
            Plan::of(&q(0, 10 * DAY_MS, vec![Dim::User, Dim::Model])).rollups,
            None
        );
    }
}
