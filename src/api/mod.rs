//! The local HTTP interface (axum on hyper): the JSON API for agency systems under `/api/v1`
//! (bearer tokens, RFC 7807 errors, OpenAPI at `/api/openapi.json`), health and metrics.
//! axum is used over bare hyper for routing, extractors and body limits; the UI mounts its own
//! router under `/ui`.

pub mod auth;
mod early_upload;
pub mod error;
pub mod health;
mod kinds;
pub mod provider;
pub mod requests;
mod uploads;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::engine::Context;

use error::ApiError;

/// The OpenAPI document, kept next to the handlers and checked by the tests.
pub const OPENAPI: &str = include_str!("openapi.json");

/// A JSON body whose every rejection is a problem+json with a stable code.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                "unsupported_media_type",
                "Content-Type must be application/json",
            )),
            Err(JsonRejection::BytesRejection(e)) => {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Err(ApiError::new(
                        "payload_too_large",
                        "the request body exceeds the configured limit (api.max_body_bytes)",
                    ))
                } else {
                    Err(ApiError::new("invalid_json", e.body_text()))
                }
            }
            Err(e) => Err(ApiError::new("invalid_json", e.body_text())),
        }
    }
}

async fn create_request(
    State(ctx): State<Arc<Context>>,
    caller: auth::Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let form = Multipart::from_request(req, &ctx)
            .await
            .map_err(|e| ApiError::new("invalid_parameter", e.body_text()))?;
        requests::create_multipart(ctx, caller, form).await
    } else {
        // This route admits uploads: a JSON body is held to the ordinary limit here.
        let limit = ctx.config.api.max_body_bytes;
        let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)));
        let body = ApiJson::from_request(req, &ctx).await?;
        requests::create(State(ctx), caller, body).await
    }
}

/// The body limit of `POST /api/v1/requests`, which takes files as multipart.
fn upload_limit(ctx: &Context) -> usize {
    usize::try_from(ctx.config.api.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .max(ctx.config.api.max_body_bytes)
}

/// Refuses bodies whose declared length exceeds the limit with a problem+json 413 — after
/// reading and discarding them (up to 64 MiB), so the client, still sending, receives the answer
/// instead of a connection reset.
async fn declared_length_limit(
    State(ctx): State<Arc<Context>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    // Inside the nested router the URI has lost its `/api/v1` prefix; the original keeps it.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().path(), |u| u.path());
    let multipart_upload = path == "/api/v1/requests"
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let limit = if multipart_upload {
        upload_limit(&ctx)
    } else {
        ctx.config.api.max_body_bytes
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared {
        if len > limit as u64 {
            use http_body_util::BodyExt;
            let mut body = req.into_body();
            let mut read: u64 = 0;
            while read < 64 * 1024 * 1024 {
                match body.frame().await {
                    Some(Ok(f)) => read += f.data_ref().map(|d| d.len() as u64).unwrap_or(0),
                    _ => break,
                }
            }
            return ApiError::new(
                "payload_too_large",
                format!("the request body of {len} bytes exceeds the limit of {limit} bytes (api.max_body_bytes; api.max_upload_bytes for multipart requests)"),
            )
            .into_response();
        }
    }
    next.run(req).await
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        "method_not_allowed",
        "this endpoint does not support the HTTP method",
    )
}

async fn not_found() -> ApiError {
    ApiError::new("not_found", "no such endpoint")
}

/// The API, health and metrics routes.
pub fn router(ctx: Arc<Context>) -> Router {
    let api = Router::new()
        .route(
            "/requests",
            post(create_request)
                .layer(DefaultBodyLimit::max(upload_limit(&ctx)))
                .get(requests::list),
        )
        .route("/requests/{id}", get(requests::get))
        .route("/requests/{id}/answer", get(requests::answer))
        .route("/requests/{id}/attachments/{n}", get(requests::attachment))
        .route("/requests/{id}/retry", post(requests::retry))
        .route("/requests/{id}/cancel", post(requests::cancel))
        .route(
            "/requests/{id}/signing-payload",
            get(requests::signing_payload),
        )
        .route(
            "/requests/{id}/personal-signature",
            post(requests::personal_signature),
        )
        .route("/kinds", get(kinds::list))
        .route("/kinds/{id}", get(kinds::get))
        .route("/incoming", get(provider::list_incoming))
        .route("/incoming/{id}", get(provider::get_incoming))
        .route(
            "/incoming/{id}/attachments/{n}",
            get(provider::incoming_attachment),
        )
        .route("/incoming/{id}/response", post(provider::respond))
        .route("/incoming/{id}/reject", post(provider::reject))
        .route("/dead-letters", get(provider::list_dead_letters))
        .route("/dead-letters/{id}", get(provider::get_dead_letter))
        .route(
            "/dead-letters/{id}/ack-and-close",
            post(provider::ack_and_close),
        )
        .route("/dead-letters/{id}/reprocess", post(provider::reprocess))
        .route("/cases", get(provider::list_cases))
        .route("/cases/{reference}", get(provider::get_case))
        .route("/webhooks/dead-letters", get(provider::dead_webhooks))
        .route(
            "/webhooks/dead-letters/{id}/redeliver",
            post(provider::redeliver),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(ctx.config.api.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            declared_length_limit,
        ));
    let mut r = Router::new()
        .nest("/api/v1", api)
        .route("/api/openapi.json", get(openapi))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready));
    if ctx.config.metrics.enabled {
        r = r.route("/metrics", get(health::metrics));
    }
    r.with_state(ctx)
}
