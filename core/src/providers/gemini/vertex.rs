//! Vertex AI deployments (`provider: vertex`): where a model lives and how calls authenticate.
//!
//! - URL: `https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/
//!   {location}/publishers/{publisher}/models/{model}` (`location: global` →
//!   `https://aiplatform.googleapis.com`; `base_url` replaces the host part). `project` comes
//!   from the config or `GOOGLE_CLOUD_PROJECT`; `location` from the config,
//!   `GOOGLE_CLOUD_LOCATION`, else `us-central1`.
//! - Publisher: models named `claude-…` are Anthropic's (served through `rawPredict` /
//!   `streamRawPredict` with the Messages body, by the Anthropic adapter); every other model
//!   is Google's (`generateContent`, by the Gemini adapter).
//! - Credentials, first found: the deployment's `api_key` (an OAuth access token, sent as
//!   `Authorization: Bearer`); its `credentials_file`; `GOOGLE_ACCESS_TOKEN`;
//!   `GOOGLE_APPLICATION_CREDENTIALS`; gcloud's application-default credentials file. A
//!   credentials file (service account or authorized user) is exchanged for tokens that are
//!   refreshed before they expire ([`GoogleOAuth`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::GeminiProvider;
use crate::config::DeploymentConfig;
use crate::error::{Error, Result};
use crate::providers::Provider;
use crate::providers::anthropic::AnthropicProvider;
use crate::providers::auth::{Auth, GoogleOAuth, HeaderAuth};
use crate::redact::Secret;

/// The location used when neither the config nor `GOOGLE_CLOUD_LOCATION` gives one.
pub const DEFAULT_LOCATION: &str = "us-central1";

/// The `anthropic_version` Claude on Vertex expects in the body.
pub const ANTHROPIC_VERTEX_VERSION: &str = "vertex-2023-10-16";

/// Whether a Vertex model is one of Anthropic's (served with the Messages body).
pub fn is_claude(model: &str) -> bool {
    model.starts_with("claude-") || model.starts_with("anthropic/")
}

/// The model URL of a Vertex deployment (without the `:method` suffix).
pub fn model_url(d: &DeploymentConfig) -> Result<String> {
    let project = d.project.as_deref().ok_or_else(|| {
        Error::config(format!(
            "deployment `{}`: provider vertex needs `project` (or GOOGLE_CLOUD_PROJECT)",
            d.name
        ))
    })?;
    let location = d.location.as_deref().unwrap_or(DEFAULT_LOCATION);
    let root = match &d.base_url {
        Some(b) => b.trim_end_matches('/').to_owned(),
        None if location == "global" => "https://aiplatform.googleapis.com".to_owned(),
        None => format!("https://{location}-aiplatform.googleapis.com"),
    };
    let (publisher, model) = if is_claude(&d.model) {
        (
            "anthropic",
            d.model.strip_prefix("anthropic/").unwrap_or(&d.model),
        )
    } else {
        ("google", d.model.strip_prefix("google/").unwrap_or(&d.model))
    };
    Ok(format!(
        "{root}/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}"
    ))
}

/// Where gcloud keeps application-default credentials.
fn gcloud_default_credentials() -> Option<PathBuf> {
    let config = std::env::var_os("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/gcloud")))?;
    let path = config.join("application_default_credentials.json");
    path.is_file().then_some(path)
}

/// The deployment's credentials, and the secret they add. The config has already filled
/// `api_key` from `GOOGLE_ACCESS_TOKEN` and `credentials_file` from
/// `GOOGLE_APPLICATION_CREDENTIALS` when it gave neither.
fn credentials(d: &DeploymentConfig, http: &reqwest::Client) -> Result<(Box<dyn Auth>, Option<Secret>)> {
    if let Some(t) = d.api_key.as_ref().filter(|k| !k.is_empty()) {
        let auth = HeaderAuth::bearer(
            t.expose(),
            &format!("the access token of deployment `{}`", d.name),
        )?;
        return Ok((Box::new(auth), Some(t.clone())));
    }
    let file = d
        .credentials_file
        .as_ref()
        .map(PathBuf::from)
        .or_else(gcloud_default_credentials);
    match file {
        Some(path) => Ok((Box::new(GoogleOAuth::from_file(&path, http.clone())?), None)),
        None => Err(Error::config(format!(
            "deployment `{}`: provider vertex has no credentials: give `api_key` (an access token) or `credentials_file`, set GOOGLE_ACCESS_TOKEN or GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`",
            d.name
        ))),
    }
}

/// Builds a Vertex deployment: the Gemini adapter for Google's models, the Anthropic adapter
/// (with Vertex's URL, body and credentials) for Claude.
pub fn build(
    d: &DeploymentConfig,
    http: &reqwest::Client,
    known_secrets: &[Secret],
) -> Result<Arc<dyn Provider>> {
    let url = model_url(d)?;
    let (auth, secret) = credentials(d, http)?;
    let mut secrets = known_secrets.to_vec();
    secrets.extend(secret);
    Ok(if is_claude(&d.model) {
        Arc::new(AnthropicProvider::on_vertex(
            d,
            &url,
            auth,
            http.clone(),
            secrets,
        )?)
    } else {
        Arc::new(GeminiProvider::vertex(d, url, auth, http.clone(), secrets)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn deployment(yaml: &str, env: &[(&str, &str)]) -> crate::Result<DeploymentConfig> {
        let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned());
        let c = Config::from_yaml_str(yaml, "modelplug.yaml", &lookup)?;
        Ok(c.models[0].deployments[0].clone())
    }

    #[test]
    fn urls_by_location_publisher_and_base_url() {
        let d = deployment(
            "models:\n  - name: m\n    deployments:\n      - { provider: vertex, model: gemini-2.5-flash, project: p, api_key: t }\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            model_url(&d).unwrap(),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash"
        );
        let d = deployment(
            "models:\n  - name: m\n    deployments:\n      - { provider: vertex, model: claude-sonnet-4-5, api_key: t }\n",
            &[("GOOGLE_CLOUD_PROJECT", "envp"), ("GOOGLE_CLOUD_LOCATION", "global")],
        )
        .unwrap();
        assert_eq!(
            model_url(&d).unwrap(),
            "https://aiplatform.googleapis.com/v1/projects/envp/locations/global/publishers/anthropic/models/claude-sonnet-4-5"
        );
        let d = deployment(
            "models:\n  - name: m\n    deployments:\n      - { provider: gemini, model: models/gemini-2.0-flash, api_key: k, base_url: 'http://h/v1' }\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            super::super::gemini_model_url(&d),
            "http://h/v1/models/gemini-2.0-flash"
        );
    }

    #[test]
    fn credentials_come_from_the_config_then_the_environment() {
        let yaml = "models:\n  - name: m\n    deployments:\n      - { provider: vertex, model: gemini-2.5-flash, project: p }\n";
        let d = deployment(
            yaml,
            &[
                ("GOOGLE_ACCESS_TOKEN", "ya29.env"),
                ("GOOGLE_APPLICATION_CREDENTIALS", "/x.json"),
            ],
        )
        .unwrap();
        assert_eq!(
            d.api_key.as_ref().map(|k| k.expose().to_owned()).as_deref(),
            Some("ya29.env")
        );
        assert_eq!(
            d.credentials_file, None,
            "a token wins over a file from the environment"
        );
        let d = deployment(yaml, &[("GOOGLE_APPLICATION_CREDENTIALS", "/x.json")]).unwrap();
        assert_eq!(d.credentials_file.as_deref(), Some("/x.json"));
        let with_file = "models:\n  - name: m\n    deployments:\n      - { provider: vertex, model: gemini-2.5-flash, project: p, credentials_file: /sa.json }\n";
        let d = deployment(with_file, &[("GOOGLE_ACCESS_TOKEN", "ya29.env")]).unwrap();
        assert_eq!(
            (d.api_key.is_none(), d.credentials_file.as_deref()),
            (true, Some("/sa.json"))
        );
        // A missing file is a CONFIG error naming it when the client is built.
        let http = crate::http::build_client().unwrap();
        let d = deployment(
            "models:\n  - name: m\n    deployments:\n      - { provider: vertex, model: gemini-2.5-flash, project: p, credentials_file: /nonexistent/sa.json }\n",
            &[],
        )
        .unwrap();
        let e = build(&d, &http, &[]).err().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(e.message().contains("/nonexistent/sa.json"), "{e}");
    }

    #[test]
    fn config_mistakes_name_their_line_and_field() {
        let e = deployment(
            "models:\n  - name: m\n    deployments:\n      - { provider: vertex, model: gemini-2.5-flash, api_key: t }\n",
            &[],
        )
        .unwrap_err();
        assert!(e.message().contains("modelplug.yaml:4"), "{e}");
        assert!(e.message().contains("project"), "{e}");
        let e = deployment(
            "models:\n  - name: m\n    deployments:\n      - { provider: openai, model: gpt-4o, api_key: k, location: eu }\n",
            &[],
        )
        .unwrap_err();
        assert!(
            e.message().contains("`location` applies to provider vertex only"),
            "{e}"
        );
    }
}
