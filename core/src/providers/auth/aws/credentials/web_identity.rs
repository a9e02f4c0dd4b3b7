//! Web identity (EKS IRSA, or a profile's `role_arn` + `web_identity_token_file`): the token
//! file — re-read on every refresh, as the cluster rotates it — is exchanged for temporary
//! keys with STS `AssumeRoleWithWebIdentity`, an unsigned form POST answered in XML.
//!
//! The endpoint is `AWS_ENDPOINT_URL_STS`, else the regional one of `AWS_REGION` /
//! `AWS_DEFAULT_REGION` / the profile's `region`, else the global `https://sts.amazonaws.com`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::{Vars, auth_error, expand_home, parse_rfc3339, read_token_file, status_kind, transport};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::Secret;

/// The longest an STS call may take.
const STS_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of STS's own error message kept (after scrubbing).
const MAX_STS_MESSAGE: usize = 300;

pub(super) struct WebIdentity {
    token_file: PathBuf,
    role_arn: String,
    session_name: String,
    endpoint: String,
    /// Where the settings came from, for messages.
    origin: String,
}

impl WebIdentity {
    /// From `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`), if set.
    pub(super) fn from_env(vars: &Vars, profile_region: Option<&str>) -> Result<Option<WebIdentity>> {
        let Some(token_file) = vars.get("AWS_WEB_IDENTITY_TOKEN_FILE") else {
            return Ok(None);
        };
        let role_arn = vars
            .get("AWS_ROLE_ARN")
            .ok_or_else(|| Error::config("AWS_WEB_IDENTITY_TOKEN_FILE is set without AWS_ROLE_ARN"))?;
        WebIdentity::new(
            expand_home(token_file.trim(), vars),
            role_arn,
            vars.get("AWS_ROLE_SESSION_NAME"),
            vars,
            profile_region,
            "AWS_WEB_IDENTITY_TOKEN_FILE".to_owned(),
        )
        .map(Some)
    }

    pub(super) fn new(
        token_file: PathBuf,
        role_arn: String,
        session_name: Option<String>,
        vars: &Vars,
        profile_region: Option<&str>,
        origin: String,
    ) -> Result<WebIdentity> {
        let endpoint = match vars.get("AWS_ENDPOINT_URL_STS") {
            Some(url) => {
                let url = url.trim();
                reqwest::Url::parse(url)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| Error::config("AWS_ENDPOINT_URL_STS is not an http(s) URL"))?;
                url.to_owned()
            }
            None => {
                let region = vars
                    .get("AWS_REGION")
                    .map(|r| ("AWS_REGION", r))
                    .or_else(|| vars.get("AWS_DEFAULT_REGION").map(|r| ("AWS_DEFAULT_REGION", r)))
                    .or_else(|| profile_region.map(|r| ("the profile's `region`", r.to_owned())));
                match region {
                    Some((from, region)) => {
                        let region = region.trim();
                        if !crate::config::is_aws_region(region) {
                            return Err(Error::config(format!(
                                "{from} `{region}` is not an AWS region name"
                            )));
                        }
                        let suffix = crate::providers::bedrock::dns_suffix(region);
                        format!("https://sts.{region}.{suffix}")
                    }
                    None => "https://sts.amazonaws.com".to_owned(),
                }
            }
        };
        let session_name = session_name
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                let ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis();
                format!("modelplug-{ms}")
            });
        Ok(WebIdentity {
            token_file,
            role_arn: role_arn.trim().to_owned(),
            session_name,
            endpoint,
            origin,
        })
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "web identity ({}): role {} with the token file {}, at {}",
            self.origin,
            self.role_arn,
            self.token_file.display(),
            self.endpoint
        )
    }

    /// One `AssumeRoleWithWebIdentity` call.
    pub(super) async fn fetch(&self, http: &reqwest::Client) -> Result<Credentials> {
        let token = read_token_file(&self.token_file, "the web identity token file")?;
        let secret = [Secret::new(token.as_str())];
        let what = format!("STS AssumeRoleWithWebIdentity for role {}", self.role_arn);
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "AssumeRoleWithWebIdentity")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", &self.role_arn)
            .append_pair("RoleSessionName", &self.session_name)
            .append_pair("WebIdentityToken", &token)
            .finish();
        let response = http
            .post(&self.endpoint)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "text/xml")
            .body(body)
            .timeout(STS_TIMEOUT)
            .send()
            .await
            .map_err(|e| transport(e, &what).scrubbed(&secret))?;
        let status = response.status().as_u16();
        let body = crate::http::read_error_body(response).await;
        let body = String::from_utf8_lossy(&body);
        if !(200..300).contains(&status) {
            let code = xml_text(&body, "Code").unwrap_or_else(|| "unknown".to_owned());
            let kind = match code.as_str() {
                "Throttling" => ErrorKind::RateLimited,
                "IDPCommunicationError" | "InternalFailure" | "ServiceUnavailable" => {
                    ErrorKind::ProviderUnavailable
                }
                _ => status_kind(status),
            };
            let mut message = format!("{what} was refused: HTTP {status} `{code}`");
            if let Some(said) = xml_text(&body, "Message") {
                let said = crate::redact::scrub(&said, &[token.as_str()]);
                let said: String = said.chars().take(MAX_STS_MESSAGE).collect();
                message.push_str(&format!(": {said}"));
            }
            return Err(Error::new(kind, message)
                .with_provider_code(Some(code))
                .scrubbed(&secret));
        }
        let block = xml_text(&body, "Credentials")
            .ok_or_else(|| auth_error(format!("{what} answered without `Credentials`")))?;
        let field = |name: &str| {
            xml_text(&block, name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| auth_error(format!("{what} answered without `{name}`")))
        };
        let (access_key_id, secret, token) = (
            field("AccessKeyId")?,
            field("SecretAccessKey")?,
            field("SessionToken")?,
        );
        let expiry = parse_rfc3339(&field("Expiration")?).ok_or_else(|| {
            auth_error(format!(
                "{what} answered an `Expiration` that is not an RFC 3339 time"
            ))
        })?;
        Ok(Credentials::new(
            access_key_id,
            secret,
            Some(token),
            Some(expiry),
            "web-identity",
        ))
    }
}

/// The text of the first `<tag>…</tag>` element of `xml` (without attributes on it), with the
/// five predefined entities and numeric character references decoded. Enough for STS's
/// answers, whose elements are plain.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(xml[start..end].trim()))
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(semi) = after.find(';').filter(|&n| n <= 10) else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let entity = &after[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn reads_sts_xml() {
        let xml = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIA1</AccessKeyId>
      <SecretAccessKey>a&amp;b&#x2F;c&#61;</SecretAccessKey>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"#;
        let creds = xml_text(xml, "Credentials").unwrap();
        assert_eq!(xml_text(&creds, "AccessKeyId").as_deref(), Some("ASIA1"));
        assert_eq!(xml_text(&creds, "SecretAccessKey").as_deref(), Some("a&b/c="));
        assert_eq!(xml_text(&creds, "SessionToken"), None);
        assert_eq!(unescape("x &unknown; & y &lt;"), "x &unknown; & y <");
    }

    #[test]
    fn endpoint_from_region() {
        let endpoint = |pairs: &'static [(&'static str, &'static str)], profile: Option<&str>| {
            let vars = Vars(Arc::new(move |n: &str| {
                pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned())
            }));
            WebIdentity::new("/t".into(), "arn".into(), None, &vars, profile, "test".into())
                .map(|w| w.endpoint)
        };
        assert_eq!(endpoint(&[], None).unwrap(), "https://sts.amazonaws.com");
        assert_eq!(
            endpoint(&[], Some("eu-west-1")).unwrap(),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint(
                &[("AWS_DEFAULT_REGION", "us-east-2"), ("AWS_REGION", "cn-north-1")],
                Some("x")
            )
            .unwrap(),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            endpoint(
                &[
                    ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4566"),
                    ("AWS_REGION", "us-east-1")
                ],
                None
            )
            .unwrap(),
            "http://127.0.0.1:4566"
        );
        let e = endpoint(&[("AWS_REGION", "us east/1")], None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(endpoint(&[("AWS_ENDPOINT_URL_STS", "sts.local")], None).is_err());
    }
}
