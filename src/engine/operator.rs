//! What staff and agency systems decide about records already in the engine: retry and cancel a
//! request, acknowledge-and-close or reprocess a dead letter, redeliver a dead webhook event.
//! Each is a domain event the store applies; the lifecycle refuses what the state does not allow.

use super::intake::IntakeError;
use super::Context;
use crate::domain::*;
use chrono::Utc;

/// Operator retry of a failed, rejected or expired request: a new MessageID (the old one may be
/// known to SMEV), due now.
pub async fn retry(ctx: &Context, id: &str, actor: &Actor) -> Result<RequestRecord, IntakeError> {
    let now = Utc::now();
    let r = ctx
        .store
        .apply_request(id, actor, &RequestEvent::OperatorRetry { due: now })?;
    ctx.store.durable().await?;
    ctx.wake_sender.notify_one();
    Ok(r)
}

/// Cancels a request that has no final answer yet.
pub async fn cancel(ctx: &Context, id: &str, actor: &Actor) -> Result<RequestRecord, IntakeError> {
    let r = ctx.store.apply_request(id, actor, &RequestEvent::Cancel)?;
    ctx.store.durable().await?;
    Ok(r)
}

/// Assigns the executor of every request of a case (None: nobody); returns how many.
pub async fn assign_case(
    ctx: &Context,
    system: &str,
    reference: &str,
    assignee: Option<&str>,
    actor: &Actor,
) -> Result<usize, IntakeError> {
    let ids = ctx.store.case_request_ids(system, reference)?;
    let event = RequestEvent::Assigned {
        assignee: assignee.map(str::to_string),
    };
    for id in &ids {
        ctx.store.apply_request(id, actor, &event)?;
    }
    ctx.store.durable().await?;
    Ok(ids.len())
}

/// Assigns the executor of the incoming request `id` (None: nobody).
pub async fn assign_incoming(
    ctx: &Context,
    id: &str,
    assignee: Option<&str>,
    actor: &Actor,
) -> Result<IncomingRecord, IntakeError> {
    let event = IncomingEvent::Assigned {
        assignee: assignee.map(str::to_string),
    };
    let r = ctx.store.apply_incoming(id, actor, &event)?;
    ctx.store.durable().await?;
    Ok(r)
}

/// "Ack and close" a dead letter: tell SMEV it was not accepted (so it stops redelivering) and
/// close it.
pub async fn dead_letter_ack_and_close(
    ctx: &Context,
    id: &str,
    actor: &Actor,
) -> Result<DeadLetter, IntakeError> {
    let d = open_dead_letter(ctx, id)?;
    if !d.acked {
        if let (Some(mid), Some(system)) = (&d.smev_message_id, ctx.systems.get(&d.system)) {
            system
                .client
                .ack(mid, false)
                .await
                .map_err(|e| IntakeError::Conflict(format!("SMEV did not take the Ack: {e}")))?;
        }
    }
    let r = ctx
        .store
        .apply_dead_letter(id, actor, &DeadLetterEvent::AckAndClose)?;
    ctx.store.durable().await?;
    Ok(r)
}

/// The dead letter `id`, if a person may still decide about it.
fn open_dead_letter(ctx: &Context, id: &str) -> Result<DeadLetter, IntakeError> {
    let d = ctx.store.get_dead_letter(id)?;
    if d.state != DeadLetterState::Open {
        return Err(LifecycleError::DeadLetterClosed(d.state).into());
    }
    Ok(d)
}

/// Reprocess a dead letter: run the stored envelope through the receiving side again.
pub async fn dead_letter_reprocess(
    ctx: &Context,
    id: &str,
    actor: &Actor,
) -> Result<DeadLetter, IntakeError> {
    let d = open_dead_letter(ctx, id)?;
    let envelope = ctx.store.blob(&d.envelope)?;
    let outcome = match d.source {
        Source::GetResponse => super::receiver::reprocess(ctx, &d.system, &envelope).await,
        Source::GetRequest => super::provider::reprocess(ctx, &d.system, &envelope).await,
        Source::GetStatus => Err("messages from GetStatus cannot be reprocessed".into()),
    };
    match outcome {
        Ok(()) => {
            if !d.acked {
                if let (Some(mid), Some(system)) = (&d.smev_message_id, ctx.systems.get(&d.system))
                {
                    // A failed Ack only means SMEV delivers it again, and then it is a duplicate.
                    if let Err(e) = system.client.ack(mid, true).await {
                        tracing::warn!(dead_letter = id, error = %e, "Ack after reprocessing failed");
                    }
                }
            }
            let r = ctx
                .store
                .apply_dead_letter(id, actor, &DeadLetterEvent::Reprocessed)?;
            ctx.store.durable().await?;
            Ok(r)
        }
        Err(reason) => {
            let event = DeadLetterEvent::ReprocessFailed(reason.clone());
            ctx.store.apply_dead_letter(id, actor, &event)?;
            Err(IntakeError::Conflict(format!(
                "reprocessing failed again: {reason}"
            )))
        }
    }
}

/// Redelivers a dead webhook event.
pub async fn webhook_redeliver(ctx: &Context, id: &str) -> Result<WebhookEvent, IntakeError> {
    let redeliver = Delivery::Redeliver { due: Utc::now() };
    let e = ctx
        .store
        .apply_webhook(id, &redeliver)?
        .ok_or(IntakeError::NotFound)?;
    ctx.store.durable().await?;
    ctx.wake_webhooks.notify_one();
    Ok(e)
}
