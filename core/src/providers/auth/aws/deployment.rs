//! The credentials of one Bedrock or SageMaker deployment: a Bedrock API key as a bearer
//! token when one is given (`api_key`, else `AWS_BEARER_TOKEN_BEDROCK`), else SigV4 with the
//! AWS credential chain (config keys, environment, profile, web identity, container, instance
//! metadata), and the region to sign for.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::credentials::{AwsCredentialsConfig, CredentialChain};
use super::{AwsCredentials, ProvideCredentials, SigV4Auth};
use crate::config::DeploymentConfig;
use crate::error::{Error, Result};
use crate::providers::auth::{Auth, HeaderAuth};
use crate::redact::Secret;

impl ProvideCredentials for Arc<CredentialChain> {
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
    /// The values to keep out of this deployment's errors.
    pub secrets: AwsSecrets,
}

/// What an AWS deployment keeps out of its errors: the secrets known when it was built, and
/// those its credential chain holds when the error happens (keys and session tokens fetched
/// later, from STS, a container, instance metadata or a `credential_process`).
#[derive(Debug, Clone)]
pub struct AwsSecrets {
    fixed: Arc<[Secret]>,
    chain: Option<Arc<CredentialChain>>,
}

impl AwsSecrets {
    /// The secrets known when the deployment was built (for streams' errors).
    pub fn fixed(&self) -> Arc<[Secret]> {
        self.fixed.clone()
    }

    /// `e` without any of them.
    pub fn scrub(&self, e: Error) -> Error {
        let e = e.scrubbed(&self.fixed);
        match &self.chain {
            Some(c) => e.scrubbed(&c.secrets()),
            None => e,
        }
    }
}

/// Builds a deployment's credentials for `service` (the SigV4 signing name). `bearer`: the
/// service takes API keys (Bedrock). `secrets` are the client's other credentials and the
/// deployment's headers; every secret read is added.
pub fn aws_auth(
    d: &DeploymentConfig,
    http: &reqwest::Client,
    service: &'static str,
    bearer: bool,
    mut secrets: Vec<Secret>,
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
            secrets: AwsSecrets {
                fixed: secrets.into(),
                chain: None,
            },
        });
    }
    let config = AwsCredentialsConfig {
        access_key_id: d.aws.access_key_id.clone(),
        secret_access_key: d.aws.secret_access_key.clone(),
        session_token: d.aws.session_token.clone(),
        profile: d.aws.profile.clone(),
    };
    let chain = CredentialChain::new(&config, http.clone())
        .map_err(|e| Error::new(e.kind(), format!("deployment `{}`: {}", d.name, e.message())))?;
    secrets.extend(chain.secrets());
    let region = crate::providers::bedrock::region_of(d, chain.profile_region())?;
    let chain = Arc::new(chain);
    Ok(AwsAuth {
        auth: Box::new(SigV4Auth::new(Box::new(chain.clone()), region.clone(), service)),
        region,
        secrets: AwsSecrets {
            fixed: secrets.into(),
            chain: Some(chain),
        },
    })
}
