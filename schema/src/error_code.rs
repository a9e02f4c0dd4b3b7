//! The stable error code table: [`ErrorKind`] for the codes this version knows, and
//! [`ErrorCode`] for a code as it travels in events, which keeps codes from newer versions.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Every way a modelplug call can fail. The string codes ([`ErrorKind::code`]) are stable: each
/// binding maps them to one exception class in exactly one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorKind {
    /// The request was malformed or used a parameter the provider rejects.
    InvalidRequest,
    /// The provider rejected the credentials.
    Authentication,
    /// The credentials are valid but not allowed to do this.
    PermissionDenied,
    /// The model, deployment or endpoint does not exist.
    NotFound,
    /// The provider asked us to slow down (or the account ran out of quota).
    RateLimited,
    /// The provider did not answer within the deadline.
    Timeout,
    /// The provider failed or is overloaded (5xx, 529, a broken stream).
    ProviderUnavailable,
    /// The prompt does not fit the model's context window.
    ContextLengthExceeded,
    /// The provider's content policy refused the prompt or the completion.
    ContentFiltered,
    /// A modelplug guardrail blocked the call.
    GuardrailBlocked,
    /// A budget set in central policy is used up.
    BudgetExceeded,
    /// Every deployment (including fallbacks) was tried and failed.
    AllDeploymentsFailed,
    /// The caller cancelled the call, or the client was closed.
    Cancelled,
    /// The connection failed (DNS, refused, reset) before a provider answer arrived.
    Network,
    /// The configuration is invalid (file, line and field are in the message).
    Config,
    /// A bug in modelplug, or a provider answer that cannot be understood.
    Internal,
}

impl ErrorKind {
    /// Every kind, in table order (bindings generate their class tables from this).
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::InvalidRequest,
        ErrorKind::Authentication,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::Timeout,
        ErrorKind::ProviderUnavailable,
        ErrorKind::ContextLengthExceeded,
        ErrorKind::ContentFiltered,
        ErrorKind::GuardrailBlocked,
        ErrorKind::BudgetExceeded,
        ErrorKind::AllDeploymentsFailed,
        ErrorKind::Cancelled,
        ErrorKind::Network,
        ErrorKind::Config,
        ErrorKind::Internal,
    ];

    /// The stable string code, e.g. `"RATE_LIMITED"`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "INVALID_REQUEST",
            ErrorKind::Authentication => "AUTHENTICATION",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            ErrorKind::ContextLengthExceeded => "CONTEXT_LENGTH_EXCEEDED",
            ErrorKind::ContentFiltered => "CONTENT_FILTERED",
            ErrorKind::GuardrailBlocked => "GUARDRAIL_BLOCKED",
            ErrorKind::BudgetExceeded => "BUDGET_EXCEEDED",
            ErrorKind::AllDeploymentsFailed => "ALL_DEPLOYMENTS_FAILED",
            ErrorKind::Cancelled => "CANCELLED",
            ErrorKind::Network => "NETWORK",
            ErrorKind::Config => "CONFIG",
            ErrorKind::Internal => "INTERNAL",
        }
    }

    /// Parses a stable code back into a kind (used by config, vectors and bindings).
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether the same deployment may be tried again (PROTOCOLS.md §7), before any provider
    /// hint such as `x-should-retry` is taken into account.
    pub fn retryable_by_default(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Timeout | ErrorKind::ProviderUnavailable | ErrorKind::Network
        )
    }

    /// Whether the router may move on to another deployment after this failure.
    pub fn allows_fallback(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited
                | ErrorKind::Timeout
                | ErrorKind::ProviderUnavailable
                | ErrorKind::Network
                | ErrorKind::Authentication
                | ErrorKind::PermissionDenied
                | ErrorKind::NotFound
                | ErrorKind::ContextLengthExceeded
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error code as it travels in usage events and attempts: one this version knows, or one
/// it does not (from a newer SDK), kept verbatim so that nothing is lost or rewritten.
/// Serialized as the bare code string, e.g. `"RATE_LIMITED"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A code in this version's table.
    Known(ErrorKind),
    /// A code this version does not know.
    Unknown(String),
}

impl ErrorCode {
    /// The code string.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Known(k) => k.code(),
            ErrorCode::Unknown(s) => s,
        }
    }

    /// The kind, when this version knows the code.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            ErrorCode::Known(k) => Some(*k),
            ErrorCode::Unknown(_) => None,
        }
    }

    /// Parses a code string: a known kind, or [`ErrorCode::Unknown`].
    pub fn parse(code: &str) -> ErrorCode {
        ErrorKind::from_code(code).map_or_else(|| ErrorCode::Unknown(code.to_owned()), ErrorCode::Known)
    }
}

impl From<ErrorKind> for ErrorCode {
    fn from(kind: ErrorKind) -> ErrorCode {
        ErrorCode::Known(kind)
    }
}

impl PartialEq<ErrorKind> for ErrorCode {
    fn eq(&self, other: &ErrorKind) -> bool {
        self.kind() == Some(*other)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ErrorCode, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(ErrorCode::parse(&code))
    }
}

#[cfg(feature = "json-schema")]
impl schemars::JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let known: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        schemars::json_schema!({
            "description": "A stable error code. The known codes are listed; any other SCREAMING_SNAKE_CASE code (from a newer SDK) is accepted and kept.",
            "type": "string",
            "anyOf": [
                { "enum": known },
                { "pattern": "^[A-Z][A-Z0-9_]*$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in ErrorKind::ALL {
            assert!(seen.insert(k.code()));
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.code());
            let code: ErrorCode = serde_json::from_value(serde_json::json!(k.code())).unwrap();
            assert_eq!(code, ErrorCode::Known(k));
        }
        assert_eq!(ErrorKind::from_code("NOPE"), None);
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        let code: ErrorCode = serde_json::from_str("\"QUOTA_FROZEN\"").unwrap();
        assert_eq!(code, ErrorCode::Unknown("QUOTA_FROZEN".to_owned()));
        assert_eq!(code.kind(), None);
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"QUOTA_FROZEN\"");
        assert_eq!(ErrorCode::from(ErrorKind::Timeout), ErrorKind::Timeout);
    }
}
