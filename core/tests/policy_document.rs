//! The central policy document: every mistake reported with line and field (nothing
//! accepted half), and the effective policy of an app — the organisation's, its team's and its
//! own sections merged so that a narrower section can only add.

use modelplug_core::ErrorKind;
use modelplug_core::policy::{
    BudgetMode, BudgetPer, EffectivePolicy, MAX_POLICY_BYTES, Period, PolicyDocument,
};
use serde_json::json;

const POLICY: &str = r#"
guardrails:
  - { name: no-pii, kind: pii, action: redact }
models: { blocked: ["gpt-3.5*"] }
budgets:
  - { name: org-month, per: org, period: month, limit_usd: 5000 }
rate_limits:
  - { deployment: "openai/*", rpm: 600 }
prices:
  openai/gpt-4o: { input: 2.5, output: 10 }
capture_content: false
teams:
  care:
    budgets:
      - { name: care-users, per: user, period: day, limit_usd: 5, mode: soft, warn_at: 0.5 }
    rate_limits:
      - { deployment: "openai/*", rpm: 100 }
apps:
  summarizer:
    models: { allowed: [smart, "openai/*"] }
    prices:
      openai/gpt-4o: { input: 2.0, output: 8 }
    capture_content: true
    guardrails:
      - { name: no-legal, kind: deny_topics, topics: [legal advice] }
"#;

#[test]
fn a_policy_reads_and_merges_so_narrower_sections_only_add() {
    let doc = PolicyDocument::parse(POLICY, "policy.yaml").unwrap();
    assert_eq!(doc.org.guardrails.len(), 2, "the rule and models@org");
    assert_eq!(doc.org.budgets[0].per, BudgetPer::Org);
    assert_eq!(doc.org.budgets[0].period, Period::Month);
    assert_eq!(doc.org.budgets[0].mode, BudgetMode::Hard);
    let care = doc.team("care").unwrap();
    assert_eq!(care.budgets[0].per, BudgetPer::User);
    assert_eq!(care.budgets[0].warn_at, 0.5);

    let eff = doc.effective_json("summarizer", Some("care"));
    let names: Vec<&str> = eff["guardrails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["no-pii", "models@org", "no-legal", "models@app:summarizer"]
    );
    assert_eq!(eff["budgets"].as_array().unwrap().len(), 2);
    assert_eq!(eff["rate_limits"].as_array().unwrap().len(), 2);
    assert_eq!(eff["prices"]["openai/gpt-4o"]["input"], json!(2.0));
    assert_eq!(eff["capture_content"], json!(true));
    let applied = EffectivePolicy::from_json(&eff).unwrap();
    assert_eq!(applied.section.guardrails.len(), 4);
    assert_eq!(applied.section.capture_content, Some(true));

    // Another app of another team gets the organisation's section only.
    let other = doc.effective_json("batch", Some("research"));
    assert_eq!(other["guardrails"].as_array().unwrap().len(), 2);
    assert_eq!(other["budgets"].as_array().unwrap().len(), 1);
    assert_eq!(other["capture_content"], json!(false));
    // An empty document is a valid, empty policy.
    assert_eq!(
        PolicyDocument::parse("", "p").unwrap(),
        PolicyDocument::parse("{}", "p").unwrap()
    );
}

#[test]
fn every_mistake_is_reported_with_its_line_and_field() {
    let bad = r#"
guardrails:
  - { name: x, kind: pi }
budgets:
  - { name: b, per: region, period: week, limit_usd: -1 }
  - { name: b2, per: app, period: day }
rate_limits:
  - { deployment: "*" }
apps:
  a:
    guardrails:
      - { name: x, kind: regex, pattern: "(?=look)" }
    capture: true
"#;
    let e = PolicyDocument::parse(bad, "policy.yaml").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let m = e.message();
    for expected in [
        "policy.yaml:3:",
        "guardrails[0].kind: unknown guardrail kind `pi` (did you mean `pii`?)",
        "policy.yaml:5:",
        "budgets[0].per: expected org, app, team, user or label:<key>, not `region`",
        "budgets[0].period: expected day or month, not `week`",
        "budgets[0].limit_usd: expected a number ≥ 0, got -1",
        "budgets[1].limit_usd: missing required field `limit_usd`",
        "rate_limits[0]",
        "set `rpm`, `tpm` or both",
        "apps.a.guardrails[0]",
        "apps.a.capture: unknown field `capture`",
    ] {
        assert!(m.contains(expected), "missing {expected:?} in:\n{m}");
    }
    // A syntax error names its line.
    let e = PolicyDocument::parse("guardrails: [\n  {name: x", "p.yaml").unwrap_err();
    assert!(e.message().starts_with("p.yaml:"), "{e}");
    // The same rule name at two levels would let a narrower section stand in for a wider one.
    let e = PolicyDocument::parse(
        "guardrails: [{name: x, kind: pii}]\nteams: {t: {guardrails: [{name: x, kind: pii, action: warn}]}}",
        "p",
    )
    .unwrap_err();
    assert!(e.message().contains("`x` is used twice"), "{e}");
    let e = PolicyDocument::parse(
        "guardrails: [{name: models@org, kind: pii}]\nmodels: {blocked: [a]}",
        "p",
    )
    .unwrap_err();
    assert!(e.message().contains("`models@org` is used twice"), "{e}");
    // `${…}` is not read from anybody's environment.
    assert!(PolicyDocument::parse("prices: {\"openai/x\": {input: \"${HOME}\", output: 1}}", "p").is_err());
}

#[test]
fn an_oversized_policy_is_refused_unread() {
    let big = format!("# {}\n{{}}", "x".repeat(MAX_POLICY_BYTES));
    let e = PolicyDocument::parse(&big, "p").unwrap_err();
    assert!(e.message().contains("at most 262144"), "{e}");
}
