//! `/api/v1/requests`: create (JSON or multipart), list with filters and cursor pagination,
//! read, answer, attachments, retry, cancel, and the two-phase ЭП-СП endpoints.

use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::{CaseInfo, RequestRecord, RequestState};
use crate::engine::intake::{self, IntakeError, NewAttachment, NewRequest};
use crate::engine::Context;
use crate::store::RequestFilter;

use super::auth::Caller;
use super::error::ApiError;
use super::ApiJson;
use crate::read::download::attachment_response;
use crate::read::views::{Page, RequestView};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentIn {
    pub name: String,
    pub mime_type: String,
    pub content_base64: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub kind: String,
    /// The business XML as it is, or …
    #[serde(default)]
    pub business_xml: Option<String>,
    /// … the field values, from which the XML is built by the kind's schema.
    #[serde(default)]
    pub fields: Option<serde_json::Value>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub case: Option<CaseInfo>,
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
    #[serde(default)]
    pub test_message: Option<bool>,
}

pub fn decode_attachments(list: Vec<AttachmentIn>) -> Result<Vec<NewAttachment>, ApiError> {
    list.into_iter()
        .enumerate()
        .map(|(i, a)| {
            let compact: String = a
                .content_base64
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let bytes = B64.decode(compact).map_err(|e| {
                ApiError::new(
                    "invalid_parameter",
                    format!("attachments[{i}].content_base64 is not base64: {e}"),
                )
            })?;
            Ok(NewAttachment::in_memory(a.name, a.mime_type, bytes))
        })
        .collect()
}

fn load(ctx: &Context, caller: &Caller, id: &str) -> Result<RequestRecord, ApiError> {
    let r = ctx
        .store
        .get_request(id)
        .map_err(|_| ApiError::not_found("request"))?;
    // Another system's request is reported as missing, not as forbidden.
    if r.system != caller.system {
        return Err(ApiError::not_found("request"));
    }
    Ok(r)
}

async fn submit(
    ctx: &Context,
    caller: &Caller,
    body: CreateRequest,
    extra: Vec<NewAttachment>,
) -> Result<Response, ApiError> {
    let business_xml = business_xml(ctx, &body.kind, body.business_xml, body.fields).await?;
    let mut attachments = decode_attachments(body.attachments)?;
    attachments.extend(extra);
    let (rec, created) = intake::submit(
        ctx,
        NewRequest {
            system: caller.system.clone(),
            kind: body.kind,
            business_xml,
            client_id: body.client_id,
            case: body.case,
            attachments,
            test_message: body.test_message,
            actor: caller.actor(),
        },
    )
    .await?;
    let status = if created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let mut resp = (status, Json(RequestView::of(ctx, &rec))).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&format!("/api/v1/requests/{}", rec.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// The business XML given, or built from the field values by the kind's request schema.
async fn business_xml(
    ctx: &Context,
    kind: &str,
    xml: Option<String>,
    fields: Option<serde_json::Value>,
) -> Result<String, ApiError> {
    let fields = match (xml, fields) {
        (Some(xml), None) => return Ok(xml),
        (None, Some(f)) => f,
        (given, _) => {
            let which = if given.is_some() { "both" } else { "neither" };
            return Err(ApiError::new(
                "invalid_fields",
                format!("give business_xml or fields, not {which}"),
            ));
        }
    };
    let k = ctx
        .kinds
        .get(kind)
        .ok_or_else(|| ApiError::from(IntakeError::UnknownKind(kind.into())))?;
    let Some(trees) = k.fields.clone() else {
        return Err(ApiError::new(
            "invalid_fields",
            format!("the schema of kind {kind} has no field tree (see the gateway's log): send business_xml"),
        ));
    };
    crate::cpu::offload(move || crate::xsd::build::from_json(&trees.request, &fields))
        .await
        .map_err(|errors| {
            let mut e = ApiError::new(
                "invalid_fields",
                format!(
                    "{} field value(s) do not fit the schema of kind {kind}",
                    errors.len()
                ),
            );
            e.field_errors = errors;
            e
        })
}

/// `POST /api/v1/requests` with a JSON body.
pub async fn create(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    submit(&ctx, &caller, body, Vec::new()).await
}

/// `POST /api/v1/requests` as `multipart/form-data`: a `request` part with the JSON and one part
/// per file.
pub async fn create_multipart(
    ctx: Arc<Context>,
    caller: Caller,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    let mut body: Option<CreateRequest> = None;
    let mut files = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::new("invalid_parameter", format!("multipart: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "request" {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::new("payload_too_large", e.to_string()))?;
            body = Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| ApiError::new("invalid_json", format!("request part: {e}")))?,
            );
        } else {
            let file_name = field
                .file_name()
                .map(str::to_string)
                .unwrap_or(name.clone());
            let mime = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            files
                .push(super::uploads::receive(&ctx, &caller.system, file_name, mime, field).await?);
        }
    }
    let body = body.ok_or_else(|| {
        ApiError::new(
            "invalid_parameter",
            "a multipart request needs a \"request\" part with the JSON",
        )
    })?;
    submit(&ctx, &caller, body, files).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub case: Option<String>,
    pub client_id: Option<String>,
    pub message_id: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    pub q: Option<String>,
    /// `true`: only requests unanswered past their deadline (expired ones included).
    pub overdue: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// Parses `status=a,b`.
pub fn parse_states(s: &Option<String>) -> Result<Vec<RequestState>, ApiError> {
    let Some(s) = s else { return Ok(Vec::new()) };
    s.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| {
            RequestState::parse(x.trim())
                .ok_or_else(|| ApiError::new("invalid_parameter", format!("unknown status {x:?}")))
        })
        .collect()
}

/// The page size asked for, or the default; refused outside `1..=api.max_page_size`.
pub fn page_limit(ctx: &Context, asked: Option<usize>) -> Result<usize, ApiError> {
    let l = asked.unwrap_or(ctx.config.api.page_size);
    if l == 0 || l > ctx.config.api.max_page_size {
        return Err(ApiError::new(
            "invalid_parameter",
            format!("limit must be 1..={}", ctx.config.api.max_page_size),
        ));
    }
    Ok(l)
}

/// `GET /api/v1/requests`.
pub async fn list(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<RequestView>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new("invalid_parameter", e.body_text()))?;
    let limit = page_limit(&ctx, q.limit)?;
    let filter = RequestFilter {
        systems: vec![caller.system.clone()],
        states: parse_states(&q.status)?,
        kind: q.kind,
        case: q.case,
        client_id: q.client_id,
        message_id: q.message_id,
        created_from: q.created_from,
        created_to: q.created_to,
        updated_from: q.updated_from,
        updated_to: q.updated_to,
        text: q.q.filter(|t| !t.trim().is_empty()),
        overdue_at: (q.overdue == Some(true)).then(Utc::now),
        deadline_to: None,
        assignee: None,
    };
    let (items, next) = ctx
        .store
        .list_requests(&filter, q.cursor.as_deref(), limit)?;
    Ok(Json(Page {
        items: items.iter().map(|r| RequestView::of(&ctx, r)).collect(),
        next_cursor: next,
    }))
}

/// `GET /api/v1/requests/{id}`.
pub async fn get(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let r = load(&ctx, &caller, &id)?;
    Ok(Json(RequestView::of(&ctx, &r)))
}

/// `GET /api/v1/requests/{id}/answer`.
pub async fn answer(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let r = load(&ctx, &caller, &id)?;
    let Some(a) = &r.answer else {
        return Err(ApiError::new(
            "answer_not_available",
            format!("request {id} is {} and has no answer yet", r.state.as_str()),
        ));
    };
    let xml = a
        .business_xml
        .as_deref()
        .and_then(|k| ctx.store.blob_text(k).ok());
    let view = RequestView::of(&ctx, &r);
    Ok(Json(serde_json::json!({
        "request_id": r.id,
        "status": r.state,
        "kind": a.kind,
        "message_id": a.message_id,
        "received_at": a.received_at,
        "business_xml": xml,
        "rejections": a.rejections,
        "smev_fault": a.smev_fault,
        "statuses": r.statuses,
        "attachments": view.answer.map(|x| x.attachments).unwrap_or_default(),
        "sender": a.sender,
        "signatures": a.signatures,
    })))
}

/// Parses an attachment number: digits only (no sign); a number beyond any list is simply
/// not found.
pub fn attachment_number(n: &str) -> Result<usize, ApiError> {
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            "invalid_parameter",
            "the attachment number must be a non-negative integer",
        ));
    }
    Ok(n.parse().unwrap_or(usize::MAX))
}

/// `GET /api/v1/requests/{id}/attachments/{n}`: a file of the answer (`Range` honoured for files
/// from the file storage).
pub async fn attachment(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let r = load(&ctx, &caller, &id)?;
    let n = attachment_number(&n)?;
    let a = r
        .answer
        .as_ref()
        .and_then(|a| a.attachments.get(n))
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    Ok(attachment_response(&ctx, a, headers.get(axum::http::header::RANGE)).await?)
}

/// `POST /api/v1/requests/{id}/retry`.
pub async fn retry(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    load(&ctx, &caller, &id)?;
    let r = intake::retry(&ctx, &id, &caller.actor()).await?;
    Ok(Json(RequestView::of(&ctx, &r)))
}

/// `POST /api/v1/requests/{id}/cancel`.
pub async fn cancel(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    load(&ctx, &caller, &id)?;
    let r = intake::cancel(&ctx, &id, &caller.actor()).await?;
    Ok(Json(RequestView::of(&ctx, &r)))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PayloadQuery {
    pub algorithm: Option<String>,
}

/// `GET /api/v1/requests/{id}/signing-payload`.
pub async fn signing_payload(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<PayloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<intake::SigningPayload>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new("invalid_parameter", e.body_text()))?;
    load(&ctx, &caller, &id)?;
    Ok(Json(intake::signing_payload(
        &ctx,
        &id,
        q.algorithm.as_deref(),
    )?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalSignatureIn {
    /// Base64 of the raw GOST signature over the SignedInfo bytes of the signing payload (either
    /// byte order), or of a detached CMS/PKCS#7 signature of those bytes without signed
    /// attributes.
    pub signature_base64: String,
    /// The signer's certificate: PEM or base64 DER; may be empty when the CMS carries it.
    pub certificate: String,
    /// Kinds with `personal_sign_attachments`: base64 of the official's detached CMS/PKCS#7
    /// of each file the signing payload lists, in its order (DER or PEM inside).
    #[serde(default)]
    pub file_signatures_base64: Vec<String>,
}

/// `POST /api/v1/requests/{id}/personal-signature`.
pub async fn personal_signature(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PersonalSignatureIn>,
) -> Result<Json<RequestView>, ApiError> {
    load(&ctx, &caller, &id)?;
    let compact: String = body
        .signature_base64
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = B64
        .decode(compact)
        .map_err(|_| ApiError::new("bad_signature", "signature_base64 is not base64"))?;
    // A bare value, or a detached CMS whose certificate stands in for an empty `certificate`.
    let sig = intake::handed_back(&bytes)?;
    let cert = match sig.certificates.first() {
        Some(c) if body.certificate.trim().is_empty() => c.clone(),
        _ => intake::parse_certificate(&body.certificate)?,
    };
    let mut files = Vec::with_capacity(body.file_signatures_base64.len());
    for (n, text) in body.file_signatures_base64.iter().enumerate() {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        files.push(B64.decode(compact).map_err(|_| {
            ApiError::new(
                "bad_signature",
                format!("file_signatures_base64[{n}] is not base64"),
            )
        })?);
    }
    let r =
        intake::accept_personal_signature(&ctx, &id, &sig.value, &files, &cert, &caller.actor())
            .await?;
    Ok(Json(RequestView::of(&ctx, &r)))
}
