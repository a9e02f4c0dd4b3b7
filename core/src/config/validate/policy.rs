//! The central policy document (see [`crate::policy::PolicyDocument`]): the organisation's
//! section, `teams:` and `apps:` sections of the same fields, each checked with line and field
//! like a config. Guardrail rules and prices are read by the config's own readers, so a rule
//! the collector accepts is a rule every client compiles.

use super::super::ConfigIssue;
use super::super::node::{Node, Value};
use super::Validator;
use crate::guardrails::{Action, GuardrailSpec, KindSpec, StageSet};
use crate::policy::{
    BudgetMode, BudgetPer, BudgetSpec, Period, PolicySection, RateLimitSpec, SECTION_FIELDS,
};

const BUDGET_FIELDS: &[&str] = &["name", "per", "period", "limit_usd", "mode", "warn_at"];
const RATE_LIMIT_FIELDS: &[&str] = &["deployment", "rpm", "tpm"];
const LIST_FIELDS: &[&str] = &["allowed", "blocked"];

/// A validated document's sections: the organisation's, the teams' and the apps'.
pub(crate) type Sections = (
    PolicySection,
    Vec<(String, PolicySection)>,
    Vec<(String, PolicySection)>,
);

/// Validates a policy document, collecting every mistake.
pub(crate) fn validate_policy(root: &Node, file: &str) -> Result<Sections, Vec<ConfigIssue>> {
    // A policy names no secrets: `${…}` is not read from the collector's environment.
    let no_env = |_: &str| None;
    let mut v = Validator {
        file: file.to_owned(),
        env: &no_env,
        issues: Vec::new(),
    };
    let sections = v.policy(root);
    if v.issues.is_empty() {
        Ok(sections)
    } else {
        Err(v.issues)
    }
}

impl Validator<'_> {
    fn policy(&mut self, root: &Node) -> Sections {
        let mut top: Vec<&str> = SECTION_FIELDS.to_vec();
        top.extend(["teams", "apps"]);
        let mut org = PolicySection::default();
        let (mut teams, mut apps) = (Vec::new(), Vec::new());
        if matches!(root.value, Value::Null) {
            return (org, teams, apps);
        }
        let Some(f) = self.fields(root, "", &top) else {
            return (org, teams, apps);
        };
        org = self.section_fields(&f, "");
        for (key, out) in [("teams", &mut teams), ("apps", &mut apps)] {
            if let Some(n) = f.get(key)
                && let Some(entries) = self.mapping(n, key, "names to policy sections")
            {
                for (name, section) in entries {
                    let path = format!("{key}.{name}");
                    if let Some(sf) = self.fields(section, &path, SECTION_FIELDS) {
                        out.push((name.clone(), self.section_fields(&sf, &path)));
                    }
                }
            }
        }
        self.unique_names(root, &org, &teams, &apps);
        (org, teams, apps)
    }

    fn section_fields(&mut self, f: &super::Fields<'_>, path: &str) -> PolicySection {
        let mut s = PolicySection::default();
        if let Some(n) = f.get("guardrails") {
            s.guardrails = self.guardrails(n, &f.path("guardrails"));
        }
        for kind in ["models", "providers"] {
            if let Some(n) = f.get(kind)
                && let Some(rule) = self.allow_block(n, &f.path(kind), kind, path)
            {
                s.guardrails.push(rule);
            }
        }
        if let Some(n) = f.get("budgets") {
            s.budgets = self.list(n, &f.path("budgets"), "budgets", Self::budget);
        }
        if let Some(n) = f.get("rate_limits") {
            s.rate_limits = self.list(n, &f.path("rate_limits"), "rate limits", Self::rate_limit);
        }
        if let Some(n) = f.get("prices") {
            s.prices = self.price_list(n, &f.path("prices"));
        }
        if let Some(n) = f.get("capture_content") {
            s.capture_content = self.boolean(n, &f.path("capture_content"));
        }
        s
    }

    fn list<T>(
        &mut self,
        node: &Node,
        path: &str,
        what: &str,
        mut item: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Vec<T> {
        let Value::Seq(items) = &node.value else {
            self.issue(
                node.pos,
                path,
                format!("expected a list of {what}, got {}", node.type_name()),
            );
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| item(self, n, &format!("{path}[{i}]")))
            .collect()
    }

    /// `models: {allowed, blocked}` → a `models` rule named `models@<level>` (a rule of the
    /// document with that name is refused as a repeated name).
    fn allow_block(&mut self, node: &Node, path: &str, kind: &str, level: &str) -> Option<GuardrailSpec> {
        let f = self.fields(node, path, LIST_FIELDS)?;
        let (allowed, blocked) = self.allowed_blocked(&f, path);
        if allowed.is_empty() && blocked.is_empty() {
            return None;
        }
        let level = match level.split_once('.') {
            Some((scope, name)) => format!("{}:{name}", scope.trim_end_matches('s')),
            None => "org".to_owned(),
        };
        let kind_spec = if kind == "models" {
            KindSpec::Models { allowed, blocked }
        } else {
            KindSpec::Providers { allowed, blocked }
        };
        Some(GuardrailSpec {
            name: format!("{kind}@{level}"),
            kind: kind_spec,
            stages: StageSet::parse("input").expect("a known stage"),
            action: Action::Block,
        })
    }

    fn budget(&mut self, node: &Node, path: &str) -> Option<BudgetSpec> {
        let f = self.fields(node, path, BUDGET_FIELDS)?;
        let name = self
            .required(&f, "name")
            .and_then(|n| self.non_empty_string(n, &f.path("name")));
        let per = self.required(&f, "per").and_then(|n| {
            let s = self.non_empty_string(n, &f.path("per"))?;
            let per = BudgetPer::parse(&s);
            if per.is_none() {
                self.issue(
                    n.pos,
                    &f.path("per"),
                    format!("expected org, app, team, user or label:<key>, not `{s}`"),
                );
            }
            per
        });
        let period = self.required(&f, "period").and_then(|n| {
            let s = self.non_empty_string(n, &f.path("period"))?;
            let p = Period::parse(&s);
            if p.is_none() {
                self.issue(
                    n.pos,
                    &f.path("period"),
                    format!("expected day or month, not `{s}`"),
                );
            }
            p
        });
        let limit_usd = self.required(&f, "limit_usd").and_then(|n| {
            let x = self.non_negative(n, &f.path("limit_usd"))?;
            if x == 0.0 {
                self.issue(n.pos, &f.path("limit_usd"), "must be more than 0");
                return None;
            }
            Some(x)
        });
        let mode = match f.get("mode") {
            None => Some(BudgetMode::Hard),
            Some(n) => match self.non_empty_string(n, &f.path("mode")).as_deref() {
                Some("hard") => Some(BudgetMode::Hard),
                Some("soft") => Some(BudgetMode::Soft),
                Some(other) => {
                    self.issue(
                        n.pos,
                        &f.path("mode"),
                        format!("expected hard or soft, not `{other}`"),
                    );
                    None
                }
                None => None,
            },
        };
        let warn_at = match f.get("warn_at") {
            None => Some(0.8),
            Some(n) => self.fraction(n, &f.path("warn_at")),
        };
        Some(BudgetSpec {
            name: name?,
            per: per?,
            period: period?,
            limit_usd: limit_usd?,
            mode: mode?,
            warn_at: warn_at?,
        })
    }

    fn rate_limit(&mut self, node: &Node, path: &str) -> Option<RateLimitSpec> {
        let f = self.fields(node, path, RATE_LIMIT_FIELDS)?;
        let deployment = self
            .required(&f, "deployment")
            .and_then(|n| self.non_empty_string(n, &f.path("deployment")));
        let rpm = f
            .get("rpm")
            .and_then(|n| self.integer(n, &f.path("rpm"), 1, 100_000_000));
        let tpm = f
            .get("tpm")
            .and_then(|n| self.integer(n, &f.path("tpm"), 1, 100_000_000_000));
        if f.get("rpm").is_none() && f.get("tpm").is_none() {
            self.issue(node.pos, path, "set `rpm`, `tpm` or both");
            return None;
        }
        Some(RateLimitSpec {
            deployment: deployment?,
            rpm,
            tpm,
        })
    }

    /// Rule and budget names are unique in the whole document: a team's or an app's rule can
    /// never stand in for the organisation's.
    fn unique_names(
        &mut self,
        root: &Node,
        org: &PolicySection,
        teams: &[(String, PolicySection)],
        apps: &[(String, PolicySection)],
    ) {
        let sections = std::iter::once(("".to_owned(), org))
            .chain(teams.iter().map(|(t, s)| (format!("teams.{t}."), s)))
            .chain(apps.iter().map(|(a, s)| (format!("apps.{a}."), s)));
        let mut rules: Vec<&str> = Vec::new();
        let mut budgets: Vec<&str> = Vec::new();
        for (prefix, s) in sections {
            for g in &s.guardrails {
                if rules.contains(&g.name.as_str()) {
                    self.issue(
                        root.pos,
                        &format!("{prefix}guardrails"),
                        format!("the rule name `{}` is used twice in the policy", g.name),
                    );
                }
                rules.push(&g.name);
            }
            for b in &s.budgets {
                if budgets.contains(&b.name.as_str()) {
                    self.issue(
                        root.pos,
                        &format!("{prefix}budgets"),
                        format!("the budget name `{}` is used twice in the policy", b.name),
                    );
                }
                budgets.push(&b.name);
            }
        }
    }
}
