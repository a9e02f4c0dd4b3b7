//! The policy signing key: an Ed25519 seed made at the first start and kept in the database
//! (so every PostgreSQL replica signs with the same key), or read from a file
//! (`--policy-signing-key`). The seed is never logged nor put in an error message.

use std::path::Path;

use base64::Engine as _;
use modelplug_core::policy::Signer;

use crate::store::Store;

/// Reads a seed file: 32 raw bytes, or their base64 (standard or URL-safe) or hex text.
pub fn read_seed_file(path: &Path) -> Result<[u8; 32], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = || {
        format!(
            "{}: expected a 32-byte Ed25519 seed (32 raw bytes, or them in base64 or hex)",
            path.display()
        )
    };
    if bytes.len() == 32 {
        return bytes.try_into().map_err(|_| bad());
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| bad())?.trim();
    let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .ok()
    };
    decoded.and_then(|d| d.try_into().ok()).ok_or_else(bad)
}

/// The signing seed: from `file` when given, else the database's (made and stored now if
/// there is none). Dashboard sessions are signed with a key derived from it too.
pub async fn load_seed(store: &Store, file: Option<&Path>, now_ms: i64) -> Result<Vec<u8>, String> {
    match file {
        Some(path) => Ok(read_seed_file(path)?.to_vec()),
        None => {
            let candidate = Signer::generate_seed().map_err(|e| e.message().to_owned())?;
            store
                .policy_signing_seed(candidate.to_vec(), now_ms)
                .await
                .map_err(|e| format!("reading the policy signing key: {e}"))
        }
    }
}

/// The policy signer of a seed.
pub fn signer_of(seed: &[u8]) -> Result<Signer, String> {
    Signer::from_seed(seed)
        .map_err(|_| "the stored policy signing key is not a 32-byte Ed25519 seed".to_owned())
}

/// The signer: from `file` when given, else the database's seed.
pub async fn load_signer(store: &Store, file: Option<&Path>, now_ms: i64) -> Result<Signer, String> {
    signer_of(&load_seed(store, file, now_ms).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_files_read_raw_base64_and_hex() {
        let dir = tempfile::tempdir().unwrap();
        let seed = [7u8; 32];
        let raw = dir.path().join("raw");
        std::fs::write(&raw, seed).unwrap();
        assert_eq!(read_seed_file(&raw).unwrap(), seed);
        let b64 = dir.path().join("b64");
        std::fs::write(
            &b64,
            format!("{}\n", base64::engine::general_purpose::STANDARD.encode(seed)),
        )
        .unwrap();
        assert_eq!(read_seed_file(&b64).unwrap(), seed);
        let hex = dir.path().join("hex");
        std::fs::write(&hex, "07".repeat(32)).unwrap();
        assert_eq!(read_seed_file(&hex).unwrap(), seed);
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "secret-looking-text").unwrap();
        let e = read_seed_file(&bad).unwrap_err();
        assert!(!e.contains("secret-looking"), "{e}");
    }
}
