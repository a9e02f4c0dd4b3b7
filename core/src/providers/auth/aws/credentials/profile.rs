//! The shared files: `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`, sections
//! `[name]`) and `AWS_CONFIG_FILE` (default `~/.aws/config`, sections `[profile name]` and
//! `[default]`). A profile's properties from both are merged, the credentials file winning.
//!
//! The format is the AWS SDKs' INI dialect: `#` and `;` start comment lines (and, after
//! whitespace, end-of-line comments); indented lines continue the property above (sub-property
//! blocks such as `s3 =`), which no credential setting uses, so they are skipped; other
//! sections (`[sso-session x]`, `[services x]`, and `[x]` without `profile` in the config file)
//! are ignored, as the SDKs do.
//!
//! A profile gives credentials in the SDKs' order: a web identity role
//! (`role_arn` + `web_identity_token_file`), a `credential_process`, or static keys. Roles
//! assumed with other credentials (`source_profile`, `credential_source`) and IAM Identity
//! Center (SSO) profiles are not supported: they are CONFIG errors that say what to use instead.

use std::collections::HashMap;
use std::path::PathBuf;

use super::process::CredentialProcess;
use super::static_keys::{self, Names};
use super::web_identity::WebIdentity;
use super::{Vars, expand_home};
use crate::error::{Error, Result};

/// What a profile gives.
pub(super) enum ProfileCredentials {
    Static(aws_credential_types::Credentials),
    Process(CredentialProcess),
    WebIdentity(WebIdentity),
    /// No credential settings (or no such profile).
    None,
}

/// The profiles of both files, merged.
#[derive(Clone, Debug)]
pub(super) struct ProfileFiles {
    profiles: HashMap<String, HashMap<String, String>>,
    credentials_path: Option<PathBuf>,
    config_path: Option<PathBuf>,
}

/// Reads one file: its text; `None` when a default path does not exist. A file named by the
/// variable `var` must be readable.
fn read(var: &str, default: &str, vars: &Vars) -> Result<(Option<PathBuf>, Option<String>)> {
    let (path, named) = match vars.get(var) {
        Some(p) => (Some(expand_home(p.trim(), vars)), true),
        None => (super::home_dir(vars).map(|h| h.join(".aws").join(default)), false),
    };
    let Some(path) = path else {
        return Ok((None, None));
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((Some(path), Some(text))),
        Err(e) if named => Err(Error::config(format!(
            "{var} names {}, which cannot be read: {e}",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Some(path), None)),
        Err(e) => {
            tracing::warn!(target: "modelplug::aws", file = %path.display(), "the AWS profile file cannot be read and is ignored: {e}");
            Ok((Some(path), None))
        }
    }
}

impl ProfileFiles {
    /// Reads both files (missing default files are empty).
    pub(super) fn load(vars: &Vars) -> Result<ProfileFiles> {
        let (config_path, config) = read("AWS_CONFIG_FILE", "config", vars)?;
        let (credentials_path, credentials) = read("AWS_SHARED_CREDENTIALS_FILE", "credentials", vars)?;
        let mut profiles: HashMap<String, HashMap<String, String>> = HashMap::new();
        for (section, props) in parse(config.as_deref().unwrap_or_default()) {
            let name = if section == "default" {
                "default"
            } else {
                match section.strip_prefix("profile") {
                    Some(rest) if rest.starts_with([' ', '\t']) => rest.trim(),
                    _ => continue,
                }
            };
            profiles.entry(name.to_owned()).or_default().extend(props);
        }
        for (section, props) in parse(credentials.as_deref().unwrap_or_default()) {
            profiles.entry(section).or_default().extend(props);
        }
        Ok(ProfileFiles {
            profiles,
            credentials_path,
            config_path,
        })
    }

    /// Whether either file has the profile.
    pub(super) fn has(&self, name: &str) -> bool {
        self.profiles.contains_key(name)
    }

    /// A CONFIG error when the profile named by `by` is in neither file.
    pub(super) fn require(&self, name: &str, by: &str) -> Result<()> {
        if self.has(name) {
            return Ok(());
        }
        Err(Error::config(format!(
            "{by} names the AWS profile `{name}`, which is in neither {}",
            self.describe_paths("nor")
        )))
    }

    /// One property of a profile.
    pub(super) fn get(&self, name: &str, key: &str) -> Option<&str> {
        self.profiles
            .get(name)?
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Both files' paths joined by `and` (or `nor`), for messages.
    pub(super) fn describe_paths(&self, and: &str) -> String {
        let show = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(no home directory)".to_owned(), |p| p.display().to_string())
        };
        format!(
            "{} {and} {}",
            show(&self.credentials_path),
            show(&self.config_path)
        )
    }

    /// What profile `name` gives.
    pub(super) fn credentials(&self, name: &str, vars: &Vars) -> Result<ProfileCredentials> {
        if !self.has(name) {
            return Ok(ProfileCredentials::None);
        }
        let get = |key: &str| self.get(name, key).map(str::to_owned);
        let place = format!("AWS profile `{name}`");
        if let Some(role_arn) = get("role_arn") {
            if let Some(token_file) = get("web_identity_token_file") {
                let w = WebIdentity::new(
                    expand_home(&token_file, vars),
                    role_arn,
                    get("role_session_name"),
                    vars,
                    get("region").as_deref(),
                    format!("profile `{name}`"),
                )?;
                return Ok(ProfileCredentials::WebIdentity(w));
            }
            let how = if get("source_profile").is_some() {
                "`role_arn` with `source_profile` (assuming a role with another profile's credentials)"
            } else if get("credential_source").is_some() {
                "`role_arn` with `credential_source`"
            } else {
                "`role_arn` without `web_identity_token_file`"
            };
            return Err(Error::config(format!(
                "{place} uses {how}, which modelplug does not support; use keys, a \
                 `credential_process` (e.g. `credential_process = aws configure \
                 export-credentials --profile {name} --format process`), or a web identity role"
            )));
        }
        if get("web_identity_token_file").is_some() {
            return Err(Error::config(format!(
                "{place} sets `web_identity_token_file` without `role_arn`"
            )));
        }
        if ["sso_session", "sso_start_url", "sso_account_id", "sso_role_name"]
            .iter()
            .any(|k| get(k).is_some())
        {
            return Err(Error::config(format!(
                "{place} is an IAM Identity Center (SSO) profile, which modelplug does not \
                 read; add `credential_process = aws configure export-credentials --profile \
                 {name} --format process` to a profile and name that one"
            )));
        }
        if let Some(command) = get("credential_process") {
            return Ok(ProfileCredentials::Process(CredentialProcess::new(command, name)));
        }
        let keys = static_keys::build(
            get("aws_access_key_id"),
            get("aws_secret_access_key"),
            get("aws_session_token"),
            "profile",
            &Names {
                place: &place,
                access_key_id: "aws_access_key_id",
                secret_access_key: "aws_secret_access_key",
                session_token: "aws_session_token",
            },
        )?;
        Ok(keys.map_or(ProfileCredentials::None, ProfileCredentials::Static))
    }
}

/// The sections of one file in order, each with its properties (names lower-cased).
fn parse(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    // Whether the line above was a property, so that an indented line continues it.
    let mut after_property = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if after_property && line.starts_with([' ', '\t']) {
            continue; // a continuation or sub-property line
        }
        after_property = false;
        if let Some(header) = trimmed.strip_prefix('[') {
            match header.find(']') {
                Some(end) => sections.push((header[..end].trim().to_owned(), Vec::new())),
                // A malformed header: its properties belong to no profile.
                None => sections.push((String::new(), Vec::new())),
            }
            continue;
        }
        let Some((_, props)) = sections.last_mut() else {
            continue; // properties before any section
        };
        let Some((key, value)) = trimmed.split_once('=') else {
            continue;
        };
        props.push((
            key.trim().to_ascii_lowercase(),
            without_comment(value).trim().to_owned(),
        ));
        after_property = true;
    }
    sections
}

/// A property value without its end-of-line comment (`#` or `;` after whitespace).
fn without_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if matches!(bytes[i], b'#' | b';') && bytes[i - 1].is_ascii_whitespace() {
            return &value[..i];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sdk_ini_dialect() {
        let text = "\
top = ignored
# comment
; comment
[default]
aws_access_key_id = AKID # a comment
Aws_Secret_Access_Key=se#cr;et
s3 =
  max_concurrent_requests = 20
region=eu-west-1
[ profile dev ]   # trailing
region = us-east-2
[broken
aws_access_key_id = nope
";
        let sections = parse(text);
        let names: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["default", "profile dev", ""]);
        let default: HashMap<_, _> = sections[0].1.iter().cloned().collect();
        assert_eq!(default["aws_access_key_id"], "AKID");
        assert_eq!(default["aws_secret_access_key"], "se#cr;et");
        assert_eq!(default["s3"], "");
        assert_eq!(default["region"], "eu-west-1");
        assert!(!default.contains_key("max_concurrent_requests"));
        assert_eq!(sections[1].1, [("region".to_owned(), "us-east-2".to_owned())]);
    }
}
