//! GetStatus: SMEV's statuses of the messages we sent. A status about one of our requests or
//! responses is applied as the same domain event a GetResponse delivery of it would be, so both
//! calls follow one rule. Status messages have no Ack; one that cannot be processed is kept as
//! a dead letter for a person.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::domain::{Actor, IncomingEvent, Owner, RequestEvent, Source};
use crate::smev::model::InteractionStatus;
use crate::smev::{parse, SmevError};
use crate::store::StoreError;

use super::acknowledge::{count_call, unprocessable};
use super::poll::{self, PollPlan};
use super::receiver::{is_rejection, smev_rejection};
use super::signatures::check_signatures;
use super::Context;

/// Polls GetStatus for one system until shutdown.
pub async fn run_status(ctx: Arc<Context>, system: String) {
    let cfg = &ctx.config.engine;
    let plan = PollPlan {
        call: "GetStatus",
        system: &system,
        floor: Duration::from_millis(cfg.poll_min_interval_ms.max(1000)),
        ceiling: Duration::from_millis(cfg.poll_max_interval_ms),
        batch: 1,
        wake: None,
    };
    poll::run(&ctx, plan, || poll_status(&ctx, &system)).await;
}

async fn poll_status(ctx: &Context, system: &str) -> Result<bool, SmevError> {
    let raw = ctx.systems[system]
        .client
        .get_status_raw()
        .await
        .inspect_err(|e| count_call(ctx, "GetStatus", e))?;
    ctx.smev_answered();
    let received = match crate::cpu::offload(|| parse::get_status_answer(&raw)).await {
        Ok(r) => r,
        Err(SmevError::Fault(f)) => {
            let e = SmevError::Fault(f);
            count_call(ctx, "GetStatus", &e);
            return Err(e);
        }
        Err(e) => {
            let reason = format!("unparsable status message: {e}");
            unprocessable(ctx, system, Source::GetStatus, &raw, &reason, None, false).await;
            return Ok(true);
        }
    };
    ctx.metrics
        .smev_calls
        .with_label_values(&["GetStatus", "ok"])
        .inc();
    let Some(status) = received.value else {
        return Ok(false);
    };
    let (_, problems) = crate::cpu::offload(|| check_signatures(ctx, &received.envelope)).await;
    if !problems.is_empty() {
        // There is no Ack for status messages: keep it for a human and move on.
        let reason = format!("signature check failed: {}", problems.join(" | "));
        let envelope = &received.envelope;
        unprocessable(
            ctx,
            system,
            Source::GetStatus,
            envelope,
            &reason,
            None,
            false,
        )
        .await;
        return Ok(true);
    }
    let s = status.status;
    let key = ctx
        .store
        .put_blob(&received.envelope)
        .map_err(|e| SmevError::UnexpectedAnswer(e.to_string()))?;
    let category = s.category.as_str().to_string();
    let applied = match ctx.store.owner_of_message_id(&s.original_message_id) {
        Ok(Some(Owner::Request(id))) => {
            let event = RequestEvent::SmevStatus {
                category,
                rejection: is_rejection(&s)
                    .then(|| smev_rejection(&s, "", &key, None, Vec::new(), Utc::now())),
                evidence: key,
            };
            ctx.store
                .apply_request(&id, &Actor::Smev, &event)
                .map(|_| ())
                .map_err(|e| (id, e))
        }
        Ok(Some(Owner::Incoming(id))) => {
            let event = IncomingEvent::SmevVerdict {
                category: Some(category),
                rejected: is_rejection(&s),
                evidence: key,
            };
            ctx.store
                .apply_incoming(&id, &Actor::Smev, &event)
                .map(|_| ())
                .map_err(|e| (id, e))
        }
        Ok(_) => {
            if s.category != InteractionStatus::DoesNotExist {
                tracing::info!(original = %s.original_message_id, "status message about an unknown MessageID ignored");
            }
            Ok(())
        }
        Err(e) => Err((s.original_message_id.clone(), e)),
    };
    match applied {
        Ok(()) => {}
        Err((id, StoreError::Lifecycle(e))) => {
            tracing::info!(record = %id, reason = %e, "status message not applied");
        }
        // The store noted it (log, metric, health); the status comes again or its answer does.
        Err((id, e)) => tracing::warn!(record = %id, error = %e, "status message not stored"),
    }
    ctx.store
        .durable()
        .await
        .map_err(|e| SmevError::UnexpectedAnswer(e.to_string()))?;
    Ok(true)
}
