//! Signing and checking policy payloads: Ed25519 (`ring`, already in every build through
//! rustls). The collector holds the private key (made at setup); a client is configured with
//! the public key, written `ed25519:<base64>`, and applies nothing — from the network or from
//! its disk cache — whose signature does not check.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use modelplug_schema::policy::SignedEnvelope;
use ring::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The public key's text prefix.
const PREFIX: &str = "ed25519:";

/// A key's id: the first 8 bytes of SHA-256 of the public key, hex.
fn key_id(public: &[u8]) -> String {
    Sha256::digest(public)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Signs payloads (the collector's side).
pub struct Signer {
    pair: Ed25519KeyPair,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A new random 32-byte seed (keep it secret; [`Signer::from_seed`] makes the key).
    pub fn generate_seed() -> Result<[u8; 32]> {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
            .map_err(|_| Error::internal("no randomness for a signing key"))?;
        Ok(seed)
    }

    /// The key pair of a seed.
    pub fn from_seed(seed: &[u8]) -> Result<Signer> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| Error::config("the policy signing key is not a 32-byte Ed25519 seed"))?;
        let key_id = key_id(pair.public_key().as_ref());
        Ok(Signer { pair, key_id })
    }

    /// The public key, `ed25519:<base64>` (what clients are configured with).
    pub fn public_key(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(self.pair.public_key().as_ref()))
    }

    /// The key's id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs `payload` (JSON text).
    pub fn sign(&self, payload: String) -> SignedEnvelope {
        let signature = STANDARD.encode(self.pair.sign(payload.as_bytes()).as_ref());
        SignedEnvelope {
            payload,
            signature,
            key_id: self.key_id.clone(),
        }
    }
}

/// Checks signatures (the client's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    public: Vec<u8>,
    key_id: String,
}

impl Verifier {
    /// Reads a public key written `ed25519:<base64>`.
    pub fn parse(text: &str) -> Result<Verifier> {
        let bad = || Error::config("the policy public key must read `ed25519:<base64 of 32 bytes>`");
        let b64 = text.trim().strip_prefix(PREFIX).ok_or_else(bad)?;
        let public = STANDARD.decode(b64).map_err(|_| bad())?;
        if public.len() != 32 {
            return Err(bad());
        }
        let key_id = key_id(&public);
        Ok(Verifier { public, key_id })
    }

    /// The key's id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The payload of `envelope` if this key signed it; a typed error (never the payload)
    /// otherwise.
    pub fn open<'e>(&self, envelope: &'e SignedEnvelope) -> Result<&'e str> {
        if envelope.key_id != self.key_id {
            return Err(Error::new(
                crate::error::ErrorKind::PermissionDenied,
                format!(
                    "the policy is signed by key {}, not by the configured key {}",
                    short(&envelope.key_id),
                    self.key_id
                ),
            ));
        }
        let sig = STANDARD.decode(&envelope.signature).map_err(|_| {
            Error::new(
                crate::error::ErrorKind::PermissionDenied,
                "the policy's signature is not base64",
            )
        })?;
        UnparsedPublicKey::new(&signature::ED25519, &self.public)
            .verify(envelope.payload.as_bytes(), &sig)
            .map_err(|_| {
                Error::new(
                    crate::error::ErrorKind::PermissionDenied,
                    "the policy's signature does not match its content",
                )
            })?;
        Ok(&envelope.payload)
    }
}

/// A key id as shown in an error (at most 16 characters of whatever was sent).
fn short(id: &str) -> String {
    id.chars().take(16).filter(char::is_ascii_hexdigit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_payloads_check_and_tampered_ones_do_not() {
        let signer = Signer::from_seed(&Signer::generate_seed().unwrap()).unwrap();
        let verifier = Verifier::parse(&signer.public_key()).unwrap();
        assert_eq!(verifier.key_id(), signer.key_id());
        let env = signer.sign(r#"{"kind":"policy","version":3}"#.to_owned());
        assert_eq!(verifier.open(&env).unwrap(), r#"{"kind":"policy","version":3}"#);

        let mut tampered = env.clone();
        tampered.payload = tampered.payload.replace('3', "2");
        let e = verifier.open(&tampered).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::PermissionDenied);
        assert!(!e.to_string().contains("version"), "{e}");

        let other = Signer::from_seed(&[7u8; 32]).unwrap();
        let forged = other.sign(env.payload.clone());
        assert!(
            verifier
                .open(&forged)
                .unwrap_err()
                .to_string()
                .contains("not by the configured key")
        );
        // The other key's signature under this key's id: still refused.
        let relabelled = SignedEnvelope {
            key_id: signer.key_id().to_owned(),
            ..forged
        };
        assert!(verifier.open(&relabelled).is_err());
    }

    #[test]
    fn public_keys_are_checked() {
        assert!(Verifier::parse("ed25519:AAAA").is_err());
        assert!(Verifier::parse("rsa:AAAA").is_err());
        assert!(Signer::from_seed(&[1, 2, 3]).is_err());
    }
}
