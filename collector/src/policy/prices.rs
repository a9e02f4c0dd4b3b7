//! A price catalog to publish (`serve --price-data FILE`): price data in the genai-prices
//! format, newer than the one built into the clients. It is checked with the core's own
//! reader at start (a file clients could not read is refused), signed once, served at
//! `GET /v1/prices`, and its version named in every policy payload; a client whose catalog
//! differs fetches it and prices with it from then on.

use std::path::Path;

use modelplug_core::policy::Signer;
use modelplug_core::usage::PriceCatalog;
use modelplug_schema::policy::PricesPayload;
use sha2::{Digest, Sha256};

/// Price data read from a file, with the version it is published under.
pub struct PriceData {
    /// `collector-<the first 12 hex digits of the data's SHA-256>`.
    pub version: String,
    data: String,
}

impl PriceData {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<PriceData, String> {
        let data = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let digest = Sha256::digest(data.as_bytes());
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let version = format!("collector-{hex}");
        PriceCatalog::from_json(data.clone(), version.as_str()).map_err(|e| {
            format!(
                "{}: not price data the clients can read: {}",
                path.display(),
                e.message()
            )
        })?;
        Ok(PriceData { version, data })
    }

    /// The signed payload (JSON of a `SignedEnvelope`).
    pub fn sign(&self, signer: &Signer) -> String {
        let payload = PricesPayload {
            kind: "prices".into(),
            version: self.version.clone(),
            data: self.data.clone(),
        };
        let text = serde_json::to_string(&payload).unwrap_or_default();
        serde_json::to_string(&signer.sign(text)).unwrap_or_default()
    }
}
