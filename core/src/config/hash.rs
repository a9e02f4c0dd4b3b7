//! The config hash: SHA-256 of the document's canonical JSON (keys sorted, comments and layout
//! ignored), taken *before* `${ENV}` interpolation so that no secret value ever enters it.
//! Secrets written inline (not as `${…}`) are replaced by a marker first.

use sha2::{Digest, Sha256};

use super::node::{Node, Value};

/// Field names whose values are credentials.
const SECRET_FIELDS: [&str; 2] = ["api_key", "key"];

/// 16 hex digits identifying what the config means.
pub fn config_hash(root: &Node) -> String {
    let canonical = masked(root, false).to_json();
    // serde_json's Map is ordered by key, so this text is canonical.
    let text = canonical.to_string();
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn masked(node: &Node, is_secret: bool) -> Node {
    let value = match &node.value {
        Value::Str(s) if is_secret && !super::env::has_reference(s) => {
            Value::Str("<inline secret>".to_owned())
        }
        Value::Seq(items) => Value::Seq(items.iter().map(|n| masked(n, is_secret)).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let secret = is_secret || SECRET_FIELDS.contains(&k.as_str()) || k == "headers";
                    (k.clone(), masked(v, secret))
                })
                .collect(),
        ),
        other => other.clone(),
    };
    Node { value, pos: None }
}

#[cfg(test)]
mod tests {
    use super::super::node::parse_yaml;
    use super::*;

    fn h(yaml: &str) -> String {
        config_hash(&parse_yaml(yaml).unwrap())
    }

    #[test]
    fn layout_and_order_do_not_matter_meaning_does() {
        let a = h("app: x\nmodels: [{name: m, deployments: [{provider: mock, model: a}]}]\n");
        let b = h(
            "# c\nmodels:\n  - deployments:\n      - model: a\n        provider: mock\n    name: m\napp: x\n",
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 16);
        assert_ne!(
            a,
            h("app: y\nmodels: [{name: m, deployments: [{provider: mock, model: a}]}]\n")
        );
    }

    #[test]
    fn inline_secrets_do_not_change_the_hash() {
        assert_eq!(h("api_key: sk-one\n"), h("api_key: sk-two\n"));
        assert_ne!(h("api_key: ${A}\n"), h("api_key: ${B}\n"));
    }
}
