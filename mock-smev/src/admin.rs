//! The admin HTTP API (JSON, under `/admin/`): what mock-smev received and how it judged it,
//! per-MessageID counters, queue depths and statistics, injected requests of simulated consumers,
//! fault rules on/off, file storage (FTP) faults, and reset. For tests and for the gateway's dev mode; no authentication —
//! bind it to loopback.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::faults::FaultSpec;
use super::simulator::{AdminError, InjectRequest, LogFilter, Simulator};

type Sim = State<Arc<Simulator>>;

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match &self {
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::BadRequest(_) | AdminError::Fault(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// Admin routes (relative to `/admin`).
pub fn router() -> Router<Arc<Simulator>> {
    Router::new()
        .route("/health", get(health))
        .route("/messages", get(messages))
        .route("/messages/count", get(count))
        .route("/stats", get(stats))
        .route("/requests", post(inject))
        .route("/inbox", get(inbox))
        .route("/faults", get(faults).post(add_fault).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/consumers", get(consumers).post(set_consumer))
        .route("/reset", post(reset))
        .route(
            "/file-storage/faults",
            get(file_storage_faults).post(set_file_storage_faults),
        )
        .route("/file-storage/stats", get(file_storage_stats))
}

fn file_storage(sim: &Simulator) -> Result<&super::file_storage::FileStorage, AdminError> {
    sim.file_storage()
        .map(|s| s.as_ref())
        .ok_or_else(|| AdminError::NotFound("no file storage: set [file_storage] listen".into()))
}

async fn file_storage_faults(State(sim): Sim) -> Result<Response, AdminError> {
    Ok(Json(file_storage(&sim)?.faults().get()).into_response())
}

async fn file_storage_stats(State(sim): Sim) -> Result<Response, AdminError> {
    let storage = file_storage(&sim)?;
    Ok(Json(json!({
        "served_bytes": storage.faults().served_bytes(),
        "received_bytes": storage.faults().received_bytes(),
    }))
    .into_response())
}

async fn set_file_storage_faults(
    State(sim): Sim,
    Json(spec): Json<super::file_storage::FtpFaultSpec>,
) -> Result<Response, AdminError> {
    let storage = file_storage(&sim)?;
    storage.faults().set(&spec);
    Ok(Json(storage.faults().get()).into_response())
}

async fn health(State(sim): Sim) -> impl IntoResponse {
    let s = sim.stats();
    Json(json!({
        "status": "ok",
        "service": "mock-smev",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_ms": s.uptime_ms,
        "kinds": sim.config().kinds.iter().map(|k| &k.name).collect::<Vec<_>>(),
    }))
}

async fn messages(State(sim): Sim, Query(f): Query<LogFilter>) -> impl IntoResponse {
    Json(sim.messages(&f))
}

#[derive(Debug, Deserialize)]
struct CountQuery {
    message_id: String,
}

async fn count(State(sim): Sim, Query(q): Query<CountQuery>) -> impl IntoResponse {
    Json(sim.count(q.message_id.trim()))
}

async fn stats(State(sim): Sim) -> impl IntoResponse {
    Json(sim.stats())
}

async fn inject(State(sim): Sim, Json(req): Json<InjectRequest>) -> Result<Response, AdminError> {
    let injected = sim.inject_request(req)?;
    Ok((StatusCode::CREATED, Json(injected)).into_response())
}

async fn inbox(State(sim): Sim) -> impl IntoResponse {
    Json(sim.inbox())
}

async fn faults(State(sim): Sim) -> impl IntoResponse {
    Json(sim.faults())
}

/// One rule or a list of rules.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FaultBody {
    One(Box<FaultSpec>),
    Many(Vec<FaultSpec>),
}

async fn add_fault(State(sim): Sim, Json(body): Json<FaultBody>) -> Result<Response, AdminError> {
    let specs = match body {
        FaultBody::One(s) => vec![*s],
        FaultBody::Many(v) => v,
    };
    let mut ids = Vec::new();
    for s in specs {
        ids.push(sim.add_fault(s)?);
    }
    Ok((StatusCode::CREATED, Json(json!({ "ids": ids }))).into_response())
}

async fn clear_faults(State(sim): Sim) -> impl IntoResponse {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(sim): Sim, Path(id): Path<u64>) -> Result<StatusCode, AdminError> {
    if sim.remove_fault(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AdminError::NotFound(format!("no fault rule {id}")))
    }
}

async fn consumers(State(sim): Sim) -> impl IntoResponse {
    Json(sim.consumers_view())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerChange {
    mnemonic: String,
    enabled: Option<bool>,
    every_secs: Option<u64>,
}

async fn set_consumer(
    State(sim): Sim,
    Json(c): Json<ConsumerChange>,
) -> Result<Response, AdminError> {
    let view = sim.set_consumer(&c.mnemonic, c.enabled, c.every_secs)?;
    Ok(Json(view).into_response())
}

async fn reset(State(sim): Sim) -> impl IntoResponse {
    sim.reset();
    StatusCode::NO_CONTENT
}
