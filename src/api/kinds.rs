//! `GET /api/v1/kinds` and `GET /api/v1/kinds/{id}`: the data kinds a system may use, and a
//! kind's request and response as field trees, so that an agency system can build its own form
//! and send `fields` instead of XML. A kind the caller's system does not use is reported as
//! missing, like another system's request.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;

use crate::config::{ElementName, PersonalSignatureMode};
use crate::engine::{Context, KindFields, KindRuntime};

use super::auth::Caller;
use super::error::ApiError;

/// A kind as listed.
#[derive(Debug, Serialize)]
pub(crate) struct KindView {
    id: String,
    name: String,
    request: ElementName,
    response: ElementName,
    personal_signature: PersonalSignatureMode,
    deadline_working_days: u32,
    /// `consumer` (the system sends requests of it), `provider` (it answers them), or both.
    roles: Vec<&'static str>,
    /// Whether `fields` can be sent instead of `business_xml` (the schema model describes it).
    fields_available: bool,
    href: String,
}

/// A kind with its field trees.
#[derive(Debug, Serialize)]
pub(crate) struct KindDetail {
    #[serde(flatten)]
    kind: KindView,
    /// `null` when the schema model cannot describe the kind (then only XML is accepted).
    fields: Option<SharedFields>,
}

/// The kind's field trees, shared with the engine rather than copied for each answer.
#[derive(Debug)]
struct SharedFields(Arc<KindFields>);

impl Serialize for SharedFields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_ref().serialize(s)
    }
}

/// Kinds listed.
#[derive(Debug, Serialize)]
pub(crate) struct KindList {
    items: Vec<KindView>,
}

fn view(ctx: &Context, caller: &Caller, k: &KindRuntime) -> Option<KindView> {
    let system = ctx.config.system(&caller.system)?;
    let id = k.config.id.as_str();
    let mut roles = Vec::new();
    if system.kinds.iter().any(|x| x == id) {
        roles.push("consumer");
    }
    if system.provider_kinds.iter().any(|x| x == id) {
        roles.push("provider");
    }
    (!roles.is_empty()).then(|| KindView {
        id: id.to_string(),
        name: k.config.name.clone(),
        request: k.config.request.clone(),
        response: k.config.response.clone(),
        personal_signature: k.config.personal_signature,
        deadline_working_days: k.config.deadline_working_days,
        roles,
        fields_available: k.fields.is_some(),
        href: format!("/api/v1/kinds/{id}"),
    })
}

/// `GET /api/v1/kinds`.
pub async fn list(State(ctx): State<Arc<Context>>, caller: Caller) -> Json<KindList> {
    let items = ctx
        .kinds
        .values()
        .filter_map(|k| view(&ctx, &caller, k))
        .collect();
    Json(KindList { items })
}

/// `GET /api/v1/kinds/{id}`.
pub async fn get(
    State(ctx): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<KindDetail>, ApiError> {
    let k = ctx
        .kinds
        .get(&id)
        .ok_or_else(|| ApiError::not_found("kind"))?;
    let kind = view(&ctx, &caller, k).ok_or_else(|| ApiError::not_found("kind"))?;
    Ok(Json(KindDetail {
        kind,
        fields: k.fields.clone().map(SharedFields),
    }))
}
