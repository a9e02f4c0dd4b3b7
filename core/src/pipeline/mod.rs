//! The one call path (DESIGN §2). Chat, streams and embeddings all run the same ordered
//! [`Stage`]s around the attempts:
//!
//! ```text
//! admit → input guardrails → cache lookup → attempts → output guardrails → cache store → price → record
//! ```
//!
//! Each concern is a small type behind [`Stage`], placed by its [`Position`]; a new concern is
//! a new stage, not a change to the client or the stream. A call's usage event is built in one
//! place (`record`), for every outcome — success, error, block and cancellation (a dropped
//! future or an aborted stream, see `call`).

mod admit;
mod assemble;
mod attempts;
mod build;
mod call;
mod context;
mod price;
mod record;
mod stage;
mod stream;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

pub use admit::Admit;
pub use context::{CallCx, CallRequest};
pub use price::Pricing;
pub use stage::{Flow, Position, Reply, ReplyMut, Stage, Step, StreamFilter};

pub(crate) use assemble::Assembler;
pub(crate) use build::PipelineSettings;
pub(crate) use call::Call;
pub(crate) use stream::CallStream;

use crate::error::{Error, Result};
use crate::routing::Router;
use crate::runtime::Services;
use crate::usage::{ClientFacts, UsageLog};

/// A client's engine in one process: the stages in order, the router (with its connection
/// pool), the client-level event fields, the calls in flight and the background services.
pub(crate) struct Pipeline {
    /// Outermost first (sorted by [`Position`], stable).
    pub(crate) stages: Vec<Arc<dyn Stage>>,
    pub(crate) router: Router,
    pub(crate) facts: ClientFacts,
    pub(crate) inflight: InFlight,
    pub(crate) services: Services,
    /// This process's usage events (the record stage's in-process sink).
    pub(crate) usage: Arc<UsageLog>,
    /// The usage reporter, when the config names a collector.
    pub(crate) reporter: Option<Arc<crate::usage::Reporter>>,
    /// The guardrails (whose rule set can be replaced while calls run).
    pub(crate) guardrails: Option<Arc<crate::guardrails::Guardrails>>,
    /// Central policy, when the config names a collector with a policy key.
    pub(crate) policy: Option<Arc<crate::policy::PolicyState>>,
    closed: AtomicBool,
}

impl Pipeline {
    pub(crate) fn new(
        mut stages: Vec<Arc<dyn Stage>>,
        router: Router,
        facts: ClientFacts,
        services: Services,
        usage: Arc<UsageLog>,
    ) -> Pipeline {
        stages.sort_by_key(|s| s.position());
        Pipeline {
            stages,
            router,
            facts,
            inflight: InFlight::default(),
            services,
            usage,
            reporter: None,
            guardrails: None,
            policy: None,
            closed: AtomicBool::new(false),
        }
    }

    /// Fails with CANCELLED once the client is closed.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::cancelled("the client is closed"));
        }
        Ok(())
    }

    /// Closes to new calls without waiting for anything.
    pub(crate) fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Runs the `before` hooks, outer → inner, until one answers the call. Returns the flow
    /// and how many stages (outermost first) are outside the one that answered.
    pub(crate) async fn before(&self, cx: &mut CallCx) -> Result<(Flow, usize)> {
        for (i, stage) in self.stages.iter().enumerate() {
            if let Flow::Answer(reply) = stage.before(cx).resolve().await? {
                return Ok((Flow::Answer(reply), i));
            }
        }
        Ok((Flow::Continue, self.stages.len()))
    }

    /// One call answered at once (chat or embeddings), start to end.
    pub(crate) async fn call(self: &Arc<Self>, request: CallRequest) -> Result<Reply> {
        self.check_open()?;
        let mut call = Call::start(self.clone(), request, false);
        match self.run(&mut call.cx).await {
            Ok(mut reply) => {
                call.cx.note_served_model(reply.model());
                call.settle();
                reply.set_cost(call.cx.cost);
                call.end_ok(reply.model(), reply.chat_text());
                Ok(reply)
            }
            Err(e) => {
                let e = match &call.cx.run {
                    Some(run) if e.attempts().is_empty() => e.with_attempts(run.attempts().to_vec()),
                    _ => e,
                };
                call.end_err(&e);
                Err(e)
            }
        }
    }

    async fn run(&self, cx: &mut CallCx) -> Result<Reply> {
        let (flow, outer) = self.before(cx).await?;
        let mut reply = match flow {
            Flow::Answer(reply) => reply,
            Flow::Continue => attempts::call(&self.router, cx).await?,
        };
        for stage in self.stages[..outer].iter().rev() {
            stage.after(cx, reply.as_mut()).resolve().await?;
        }
        Ok(reply)
    }

    /// A streamed call (nothing happens until its first read).
    pub(crate) fn stream(self: &Arc<Self>, request: crate::types::ChatRequest) -> CallStream {
        CallStream::new(self.clone(), request)
    }

    /// Flushes the background services, within `within`.
    pub(crate) async fn flush(&self, within: Duration) -> Result<()> {
        self.services.flush(within).await
    }

    /// Closes: new calls fail with CANCELLED at once; calls in flight get up to nine tenths
    /// of `within` to finish (a call still running then goes on to its end and is recorded
    /// then: close does not cut it off); last, the services flush and stop in what is left of
    /// `within` (at least a tenth of it).
    pub(crate) async fn close(&self, within: Duration) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        let started = Instant::now();
        self.inflight.wait_idle(started + within.mul_f32(0.9)).await;
        let left = within.saturating_sub(started.elapsed()).max(within / 10);
        self.services.shutdown(left).await
    }
}

/// Counts the calls in flight, and wakes whoever waits for none to be.
#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    pub(crate) fn enter(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn leave(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// How many calls are in flight.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until no call is in flight or `deadline` passes; true when idle.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> bool {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.count() == 0 {
                return true;
            }
            let until = tokio::time::Instant::from_std(deadline);
            if tokio::time::timeout_at(until, idle).await.is_err() {
                return self.count() == 0;
            }
        }
    }
}
