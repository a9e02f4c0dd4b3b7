//! The credentials of one Bedrock or SageMaker deployment: a Bedrock API key as a bearer
//! token when one is given (`api_key`, else `AWS_BEARER_TOKEN_BEDROCK`), else SigV4 with the
//! AWS credential chain (config keys, environment, profile, web identity, container, instance
//! metadata), and the region to sign for.

use futures_util::future::BoxFuture;

use super::credentials::{AwsCredentialsConfig, CredentialChain};
use super::{AwsCredentials, ProvideCredentials, SigV4Auth};
use crate::config::DeploymentConfig;
use crate::error::Result;
use crate::providers::auth::{Auth, HeaderAuth};
use crate::redact::Secret;

impl ProvideCredentials for CredentialChain {
    fn credentials(&self) -> BoxFuture<'_, Result<AwsCredentials>> {
        Box::pin(CredentialChain::credentials(self))
    }
}

/// A deployment's credentials and region.
pub struct AwsAuth {
    /// Applied to every attempt.
    pub auth: Box<dyn Auth>,
    /// The region requests go to (and are signed for).
    pub region: String,
}

/// Builds a deployment's credentials for `service` (the SigV4 signing name). `bearer`: the
/// service takes API keys (Bedrock). Every secret read is added to `secrets`.
pub fn aws_auth(
    d: &DeploymentConfig,
    http: &reqwest::Client,
    service: &'static str,
    bearer: bool,
    secrets: &mut Vec<Secret>,
) -> Result<AwsAuth> {
    let api_key = d.api_key.as_ref().filter(|k| bearer && !k.is_empty());
    if let Some(key) = api_key {
        secrets.push(key.clone());
        let auth = HeaderAuth::bearer(key.expose(), &format!("the API key of deployment `{}`", d.name))?;
        // With a key there is no profile to read a region from.
        let region = crate::providers::bedrock::region_of(d, None)?;
        return Ok(AwsAuth {
            auth: Box::new(auth),
            region,
        });
    }
    let config = AwsCredentialsConfig {
        access_key_id: d.aws.access_key_id.clone(),
        secret_access_key: d.aws.secret_access_key.clone(),
        session_token: d.aws.session_token.clone(),
        profile: d.aws.profile.clone(),
    };
    let chain = CredentialChain::new(&config, http.clone()).map_err(|e| {
        crate::error::Error::new(e.kind(), format!("deployment `{}`: {}", d.name, e.message()))
    })?;
    secrets.extend(chain.secrets());
    let region = crate::providers::bedrock::region_of(d, chain.profile_region())?;
    Ok(AwsAuth {
        auth: Box::new(SigV4Auth::new(Box::new(chain), region.clone(), service)),
        region,
    })
}
