//! `/api/v1/incoming` (the provider role), `/api/v1/dead-letters`, `/api/v1/cases` and the
//! webhook dead-letter endpoints.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use crate::domain::WebhookState;
use crate::engine::intake;
use crate::engine::Context;
use crate::smev::model::RejectionReasonCode;
use crate::store::{IncomingFilter, RequestFilter};

use super::auth::Caller;
use super::error::ApiError;
use super::requests::{attachment_number, decode_attachments, page_limit, AttachmentIn};
use super::ApiJson;
use crate::read::download::attachment_response;
use crate::read::views::{DeadLetterView, IncomingView, Page, RequestView};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CursorQuery {
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

/// `GET /api/v1/incoming`.
pub async fn list_incoming(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    q: QueryResult<CursorQuery>,
) -> Result<Json<Page<IncomingView>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new("invalid_parameter", e.body_text()))?;
    let (items, next) = ctx.store.list_incoming(
        &IncomingFilter::of_systems(std::slice::from_ref(&caller.system)),
        q.cursor.as_deref(),
        page_limit(&ctx, q.limit)?,
    )?;
    Ok(Json(Page {
        items: items
            .iter()
            .map(|r| IncomingView::of(&ctx, r, false))
            .collect(),
        next_cursor: next,
    }))
}

fn load_incoming(
    ctx: &Context,
    caller: &Caller,
    id: &str,
) -> Result<crate::domain::IncomingRecord, ApiError> {
    let r = ctx
        .store
        .get_incoming(id)
        .map_err(|_| ApiError::not_found("incoming request"))?;
    if r.system != caller.system {
        return Err(ApiError::not_found("incoming request"));
    }
    Ok(r)
}

/// `GET /api/v1/incoming/{id}`.
pub async fn get_incoming(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncomingView>, ApiError> {
    let r = load_incoming(&ctx, &caller, &id)?;
    Ok(Json(IncomingView::of(&ctx, &r, true)))
}

/// `GET /api/v1/incoming/{id}/attachments/{n}`.
pub async fn incoming_attachment(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let r = load_incoming(&ctx, &caller, &id)?;
    let n = attachment_number(&n)?;
    let a = r
        .attachments
        .get(n)
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    Ok(attachment_response(&ctx, a, headers.get(axum::http::header::RANGE)).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseIn {
    pub business_xml: String,
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
}

/// `POST /api/v1/incoming/{id}/response`.
pub async fn respond(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResponseIn>,
) -> Result<Json<IncomingView>, ApiError> {
    load_incoming(&ctx, &caller, &id)?;
    let limit = ctx.config.api.max_xml_bytes;
    if body.business_xml.len() > limit {
        return Err(ApiError::new(
            "payload_too_large",
            format!(
                "business XML of {} bytes exceeds {limit} bytes",
                body.business_xml.len()
            ),
        ));
    }
    let files = decode_attachments(body.attachments)?;
    let r = intake::respond(&ctx, &id, &body.business_xml, files, &caller.actor()).await?;
    Ok(Json(IncomingView::of(&ctx, &r, false)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    /// ACCESS_DENIED, NO_DATA, UNKNOWN_REQUEST_DESCRIPTION or FAILURE.
    pub code: String,
    pub description: String,
}

/// `POST /api/v1/incoming/{id}/reject`.
pub async fn reject(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectIn>,
) -> Result<Json<IncomingView>, ApiError> {
    load_incoming(&ctx, &caller, &id)?;
    let code = RejectionReasonCode::parse(&body.code).ok_or_else(|| {
        ApiError::new(
            "invalid_parameter",
            "code must be ACCESS_DENIED, NO_DATA, UNKNOWN_REQUEST_DESCRIPTION or FAILURE",
        )
    })?;
    let r = intake::reject(&ctx, &id, code, &body.description, &caller.actor()).await?;
    Ok(Json(IncomingView::of(&ctx, &r, false)))
}

/// `GET /api/v1/dead-letters`.
pub async fn list_dead_letters(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
) -> Result<Json<Page<DeadLetterView>>, ApiError> {
    let items = ctx
        .store
        .list_dead_letters(std::slice::from_ref(&caller.system))?;
    Ok(Json(Page {
        items: items
            .iter()
            .map(|d| DeadLetterView::of(&ctx, d, false))
            .collect(),
        next_cursor: None,
    }))
}

fn load_dead(ctx: &Context, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let d = ctx
        .store
        .get_dead_letter(id)
        .map_err(|_| ApiError::not_found("dead letter"))?;
    if d.system != caller.system {
        return Err(ApiError::not_found("dead letter"));
    }
    Ok(())
}

/// `GET /api/v1/dead-letters/{id}`.
pub async fn get_dead_letter(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeadLetterView>, ApiError> {
    load_dead(&ctx, &caller, &id)?;
    let d = ctx.store.get_dead_letter(&id)?;
    Ok(Json(DeadLetterView::of(&ctx, &d, true)))
}

/// `POST /api/v1/dead-letters/{id}/ack-and-close`.
pub async fn ack_and_close(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeadLetterView>, ApiError> {
    load_dead(&ctx, &caller, &id)?;
    let d = intake::dead_letter_ack_and_close(&ctx, &id, &caller.actor()).await?;
    Ok(Json(DeadLetterView::of(&ctx, &d, false)))
}

/// `POST /api/v1/dead-letters/{id}/reprocess`.
pub async fn reprocess(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeadLetterView>, ApiError> {
    load_dead(&ctx, &caller, &id)?;
    let d = intake::dead_letter_reprocess(&ctx, &id, &caller.actor()).await?;
    Ok(Json(DeadLetterView::of(&ctx, &d, false)))
}

/// One case (заявка): the requests of the agency system grouped by its case reference.
#[derive(Debug, serde::Serialize)]
pub struct CaseView {
    pub reference: String,
    pub service: Option<String>,
    pub applicant: Option<String>,
    pub requests: usize,
    pub by_status: BTreeMap<String, usize>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Groups requests into cases.
pub fn cases_of(requests: &[crate::domain::RequestRecord]) -> Vec<CaseView> {
    let mut map: BTreeMap<(String, String), CaseView> = BTreeMap::new();
    for r in requests {
        let Some(c) = &r.case else { continue };
        let v = map
            .entry((r.system.clone(), c.reference.clone()))
            .or_insert_with(|| CaseView {
                reference: c.reference.clone(),
                service: c.service.clone(),
                applicant: c.applicant.clone(),
                requests: 0,
                by_status: BTreeMap::new(),
                updated_at: r.updated_at,
            });
        v.requests += 1;
        *v.by_status.entry(r.state.as_str().to_string()).or_insert(0) += 1;
        if r.updated_at > v.updated_at {
            v.updated_at = r.updated_at;
        }
        if v.service.is_none() {
            v.service = c.service.clone();
        }
        if v.applicant.is_none() {
            v.applicant = c.applicant.clone();
        }
    }
    let mut out: Vec<CaseView> = map.into_values().collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
    out
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
}

/// `GET /api/v1/cases`.
pub async fn list_cases(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    q: QueryResult<CasesQuery>,
) -> Result<Json<Page<CaseView>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new("invalid_parameter", e.body_text()))?;
    let filter = RequestFilter {
        systems: vec![caller.system.clone()],
        states: super::requests::parse_states(&q.status)?,
        kind: q.kind,
        text: q.q,
        ..Default::default()
    };
    let requests = ctx
        .store
        .requests_where(&|r| r.case.is_some() && filter.matches(r))?;
    Ok(Json(Page {
        items: cases_of(&requests),
        next_cursor: None,
    }))
}

/// `GET /api/v1/cases/{reference}`.
pub async fn get_case(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(reference): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ids = ctx.store.case_request_ids(&caller.system, &reference)?;
    if ids.is_empty() {
        return Err(ApiError::not_found("case"));
    }
    let mut requests = Vec::new();
    for id in ids {
        if let Ok(r) = ctx.store.get_request(&id) {
            requests.push(r);
        }
    }
    requests.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let summary = cases_of(&requests).into_iter().next();
    let case = requests.iter().find_map(|r| r.case.clone());
    Ok(Json(serde_json::json!({
        "reference": reference,
        "case": case,
        "summary": summary,
        "requests": requests.iter().map(|r| RequestView::of(&ctx, r)).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/webhooks/dead-letters`.
pub async fn dead_webhooks(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
) -> Result<Json<Page<crate::domain::WebhookEvent>>, ApiError> {
    Ok(Json(Page {
        items: ctx
            .store
            .webhooks_in_state(std::slice::from_ref(&caller.system), WebhookState::Dead)?,
        next_cursor: None,
    }))
}

/// `POST /api/v1/webhooks/dead-letters/{id}/redeliver`.
pub async fn redeliver(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<crate::domain::WebhookEvent>, ApiError> {
    let e = ctx
        .store
        .get_webhook(&id)
        .map_err(|_| ApiError::not_found("webhook event"))?;
    if e.system != caller.system {
        return Err(ApiError::not_found("webhook event"));
    }
    if e.state != WebhookState::Dead {
        return Err(ApiError::new(
            "conflict",
            format!("the event is {}, not dead", e.state.as_str()),
        ));
    }
    Ok(Json(intake::webhook_redeliver(&ctx, &id).await?))
}
