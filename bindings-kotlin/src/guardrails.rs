//! Custom guardrails written in Kotlin: the core's [`HostCheck`] over a uniffi foreign trait
//! whose one method is `suspend` on the Kotlin side.
//!
//! Nothing here blocks a core thread: calling [`FfiGuardrailCheck::check`] only launches a
//! coroutine in Kotlin and returns; the core awaits a oneshot that the coroutine completes.
//! When the core gives up on the check (its timeout, or the call was cancelled) it drops the
//! future, and uniffi cancels the coroutine.

use std::sync::Arc;

use modelplug_core::Error;
use modelplug_core::guardrails::{CustomGuardrail, HostCheck};

/// A Kotlin check that threw. Only the exception's type crosses: its message may quote the
/// text being checked.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FfiGuardrailError {
    /// The check threw an exception of this type.
    #[error("{kind}")]
    Raised {
        /// The exception class's simple name.
        kind: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FfiGuardrailError {
    /// An exception the Kotlin adapter did not turn into [`FfiGuardrailError::Raised`] (it
    /// catches them all, so a bug): its text (which may quote the input) is dropped.
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> FfiGuardrailError {
        FfiGuardrailError::Raised {
            kind: "UnexpectedUniFFICallbackError".to_owned(),
        }
    }
}

/// A custom guardrail's check: implemented in Kotlin (`dev.modelplug.GuardrailAdapter`) as a
/// `suspend fun`, run in a coroutine of its own.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait FfiGuardrailCheck: Send + Sync {
    /// The check on `input_json` (`{"name", "stage", "texts", "model"}`): the verdict's JSON
    /// (`{"action": "pass" | "block" | "warn"}` or `{"action": "redact", "texts": [...]}`).
    async fn check(&self, input_json: String) -> Result<String, FfiGuardrailError>;
}

/// A custom guardrail as the Kotlin `Guardrail` describes it; the core validates it when the
/// client is built (a bad `stage`, `fail` or `timeout_ms` is a CONFIG error).
#[derive(uniffi::Record)]
pub struct FfiGuardrail {
    /// The name outcomes and GUARDRAIL_BLOCKED errors give it.
    pub name: String,
    /// `input`, `output` or `both`.
    pub stage: String,
    /// How long one check may take, in milliseconds (at least 1).
    pub timeout_ms: u64,
    /// What a throw or a timeout means: `open` or `closed`.
    pub fail: String,
    /// The check.
    pub check: Arc<dyn FfiGuardrailCheck>,
}

impl FfiGuardrail {
    /// The core's custom guardrail.
    pub(crate) fn into_core(self) -> Result<CustomGuardrail, Error> {
        let check = self.check;
        let host: HostCheck = Arc::new(move |input: String| {
            let check = check.clone();
            Box::pin(async move {
                check
                    .check(input)
                    .await
                    .map_err(|FfiGuardrailError::Raised { kind }| kind)
            })
        });
        CustomGuardrail::new(&self.name, &self.stage, self.timeout_ms, &self.fail, host)
    }
}
