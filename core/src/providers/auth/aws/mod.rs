//! AWS credentials for Bedrock and SageMaker: SigV4 signing of every attempt ([`sign`]) with
//! credentials from the AWS chain ([`credentials`]), or a Bedrock API key sent as a bearer token.

mod sign;

pub use aws_credential_types::Credentials as AwsCredentials;
pub use sign::sign_request;
