//! The one poll loop every receiving worker runs (GetResponse, GetRequest, GetStatus): take up
//! to a batch of messages, then pause — at the floor interval after a message, backing off
//! towards the ceiling on empty queues or errors, cut short by the worker's wake-up signal —
//! until shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Notify;

use super::{pause, Context};
use crate::smev::SmevError;

/// The first pause after an empty round when the floor is zero (poll again at once after a
/// message): doubling from zero would stay at zero and spin on an empty queue.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

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
        interval = next_interval(interval, got > 0, plan.floor, ceiling);
        if !pause(&mut shutdown, wake, interval).await {
            break;
        }
    }
}

/// The pause after a round: the floor after a message, otherwise twice the last pause (at least
/// [`FIRST_BACKOFF`]) up to the ceiling (never below [`FIRST_BACKOFF`]).
fn next_interval(
    last: Duration,
    took_a_message: bool,
    floor: Duration,
    ceiling: Duration,
) -> Duration {
    if took_a_message {
        floor
    } else {
        // A ceiling below the first backoff (0 included) does not make empty rounds spin.
        (last * 2)
            .max(FIRST_BACKOFF)
            .min(ceiling.max(FIRST_BACKOFF))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn empty_rounds_back_off_towards_the_ceiling_even_from_a_zero_floor() {
        for (floor, ceiling, want) in [
            (0, 100, vec![10, 20, 40, 80, 100, 100]),
            (200, 10_000, vec![400, 800, 1600, 3200, 6400, 10_000]),
            (0, 0, vec![10, 10, 10, 10, 10, 10]),
            (0, 5, vec![10, 10, 10, 10, 10, 10]),
        ] {
            let mut interval = MS(floor);
            let got: Vec<u64> = (0..6)
                .map(|_| {
                    interval = next_interval(interval, false, MS(floor), MS(ceiling));
                    interval.as_millis() as u64
                })
                .collect();
            assert_eq!(got, want, "floor {floor} ceiling {ceiling}");
        }
    }

    #[test]
    fn a_message_brings_the_pause_back_to_the_floor() {
        assert_eq!(next_interval(MS(6400), true, MS(0), MS(10_000)), MS(0));
        assert_eq!(next_interval(MS(6400), true, MS(200), MS(10_000)), MS(200));
    }
}
