//! AWS credentials for Bedrock and SageMaker: SigV4 signing of every attempt ([`sign`]) with
//! credentials from the AWS chain ([`credentials`]), or a Bedrock API key sent as a bearer token.

pub mod credentials;
mod deployment;
mod sign;
mod signer;

pub use aws_credential_types::Credentials as AwsCredentials;
pub use credentials::{AwsCredentialsConfig, CredentialChain};
pub use deployment::{AwsAuth, AwsSecrets, aws_auth};
pub use sign::sign_request;
pub use signer::{ProvideCredentials, SigV4Auth, StaticCredentials};
