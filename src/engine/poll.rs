//! The one poll loop every receiving worker runs (GetResponse, GetRequest, GetStatus): take up
//! to a batch of messages, then pause — at the floor interval after a message, backing off
//! towards the ceiling on empty queues or errors, cut short by the worker's wake-up signal —
//! until shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Notify;

use super::{pause, Context};
use crate::smev::SmevError;

/// How one receiving worker polls.
pub(crate) struct PollPlan<'a> {
    /// The SMEV call, for logs.
    pub(crate) call: &'static str,
    pub(crate) system: &'a str,
    pub(crate) floor: Duration,
    pub(crate) ceiling: Duration,
    /// Messages taken before pausing.
    pub(crate) batch: usize,
    /// Cuts a pause short (a request was just sent, so an answer may come soon).
    pub(crate) wake: Option<&'a Notify>,
}

impl<'a> PollPlan<'a> {
    /// The plan of a message queue (GetResponse, GetRequest) per the engine's configuration.
    pub(crate) fn messages(
        ctx: &Context,
        call: &'static str,
        system: &'a str,
        wake: Option<&'a Notify>,
    ) -> PollPlan<'a> {
        let cfg = &ctx.config.engine;
        PollPlan {
            call,
            system,
            floor: Duration::from_millis(cfg.poll_min_interval_ms),
            ceiling: Duration::from_millis(cfg.poll_max_interval_ms),
            batch: cfg.poll_batch,
            wake,
        }
    }
}

/// Runs `step` (one round trip: `Ok(true)` when a message was taken) until shutdown.
pub(crate) async fn run<F, Fut>(ctx: &Context, plan: PollPlan<'_>, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, SmevError>>,
{
    let never = Notify::new();
    let wake = plan.wake.unwrap_or(&never);
    let ceiling = plan.ceiling.max(plan.floor);
    let mut interval = plan.floor;
    let mut shutdown = ctx.shutdown_signal();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let mut got = 0;
        while got < plan.batch.max(1) && !*shutdown.borrow() {
            match step().await {
                Ok(true) => got += 1,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(system = %plan.system, call = plan.call, error = %e, "SMEV call failed");
                    break;
                }
            }
        }
        interval = if got > 0 {
            plan.floor
        } else {
            (interval * 2).min(ceiling)
        };
        if !pause(&mut shutdown, wake, interval).await {
            break;
        }
    }
}
