//! Custom guardrails written in JavaScript. The core runs each as a host check
//! (`modelplug_core::guardrails::HostCheck`); here a check becomes one call of a threadsafe
//! function: the call is queued to the JS thread (never blocking the core's thread), the JS
//! wrapper (`lib/guardrails.ts`) runs the user's function there, awaits it when it returns a
//! Promise, and resolves with the verdict's JSON text or the name of what it threw; the core's
//! future awaits that Promise through a oneshot channel. Timeouts and fail-open/closed are the
//! core's: on a timeout it drops the future, and the late answer goes nowhere.
//!
//! One weak threadsafe function per client serves all its guardrails (by index): it never
//! keeps the process alive.

use std::sync::Arc;

use modelplug_core::Error;
use modelplug_core::guardrails::{CustomGuardrail, HostCheck};
use napi::Status;
use napi::bindgen_prelude::{FnArgs, Function, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

/// A custom guardrail's settings, as the TypeScript layer hands them over (defaults applied,
/// types checked; the core validates the values).
#[napi(object)]
pub struct GuardrailOptions {
    /// Its name, as outcomes and GUARDRAIL_BLOCKED errors name it.
    pub name: String,
    /// `input`, `output` or `both`.
    pub stage: String,
    /// How long one check may take, in milliseconds.
    pub timeout_ms: f64,
    /// `open` or `closed`: what an exception or a timeout means.
    pub fail: String,
}

/// What the JS wrapper resolves with: the verdict's JSON text, or the name of the exception
/// the check threw (its type only: the message may quote the checked text).
#[napi(object)]
pub struct CheckAnswer {
    /// `{"action": ...}` JSON text.
    pub verdict: Option<String>,
    /// The thrown value's type name.
    pub raised: Option<String>,
}

/// The JS wrapper: `(index, inputJson) => Promise<CheckAnswer>`; `index` picks the guardrail.
pub type Dispatch<'a> = Function<'a, FnArgs<(u32, String)>, Promise<CheckAnswer>>;

/// Weak (never keeps the process alive), unbounded, errors not passed to the callee.
type Tsfn = ThreadsafeFunction<
    FnArgs<(u32, String)>,
    Promise<CheckAnswer>,
    FnArgs<(u32, String)>,
    Status,
    false,
    true,
>;

/// The core's custom guardrails for `options`, all answered by `dispatch` (wrapped here, on the
/// JS thread). A bad setting is the core's CONFIG error (the inner `Err`).
pub fn custom_guardrails(
    options: Vec<GuardrailOptions>,
    dispatch: Dispatch<'_>,
) -> napi::Result<Result<Vec<CustomGuardrail>, Error>> {
    let tsfn: Arc<Tsfn> = Arc::new(
        dispatch
            .build_threadsafe_function::<FnArgs<(u32, String)>>()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?,
    );
    Ok(options
        .into_iter()
        .enumerate()
        .map(|(index, o)| {
            let index = u32::try_from(index).map_err(|_| Error::config("too many custom guardrails"))?;
            let timeout = millis(&o.name, o.timeout_ms)?;
            let tsfn = tsfn.clone();
            let check: HostCheck = Arc::new(move |input: String| Box::pin(ask(tsfn.clone(), index, input)));
            CustomGuardrail::new(&o.name, &o.stage, timeout, &o.fail, check)
        })
        .collect())
}

/// `timeoutMs` as whole milliseconds (a fraction rounds up); not finite or negative is a
/// CONFIG error (0 is the core's to refuse).
fn millis(name: &str, ms: f64) -> Result<u64, Error> {
    if ms.is_finite() && ms >= 0.0 {
        // Saturating: a bound beyond u64 milliseconds is no bound at all.
        Ok(ms.ceil() as u64)
    } else {
        Err(Error::config(format!(
            "custom guardrail `{name}`: `timeoutMs` must be a finite number of milliseconds, got {ms}"
        )))
    }
}

/// One check: queued to the JS thread (non-blocking), then the wrapper's Promise awaited.
/// `Err` names what was thrown; a failure of the call itself (the JS environment shutting
/// down) is named by its napi status.
async fn ask(tsfn: Arc<Tsfn>, index: u32, input: String) -> Result<String, String> {
    let pending = tsfn
        .call_async_catch(FnArgs::from((index, input)))
        .await
        .map_err(|e| e.status.to_string())?;
    let answer = pending.await.map_err(|e| e.status.to_string())?;
    match answer {
        CheckAnswer {
            raised: Some(kind), ..
        } => Err(kind),
        // No verdict is not a verdict: the core says so (`null` does not parse as one).
        CheckAnswer { verdict, .. } => Ok(verdict.unwrap_or_else(|| "null".to_owned())),
    }
}
