//! Incoming requests (the provider role): the list, the card with the request's data as a
//! table, and the answer (business XML) and rejection (code + reason) forms.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::domain::{IncomingRecord, IncomingState, OutgoingResponse};
use crate::engine::intake::{self, NewAttachment};
use crate::read::download::file_response;
use crate::smev::model::RejectionReasonCode;

use super::access::Action;
use super::messages;
use super::posted::{PostedForm, PostedMultipart};
use super::render::{to_value, url_encode};
use super::{see_other, Ui, UiResult, UiState, User};

const PAGE: usize = 25;

fn load(ui: &Ui, user: &User, id: &str) -> Result<IncomingRecord, Response> {
    match ui.ctx.store.get_incoming(id) {
        Ok(r) if ui.sees(user, &r.system) => Ok(r),
        _ => Err(ui.error(
            Some(user),
            StatusCode::NOT_FOUND,
            "Входящий запрос не найден или недоступен вам.",
        )),
    }
}

fn kind_name(ui: &Ui, r: &IncomingRecord) -> String {
    r.kind
        .as_ref()
        .and_then(|k| ui.ctx.kinds.get(k))
        .map(|k| k.config.name.clone())
        .unwrap_or_else(|| r.root_element.clone())
}

fn row(ui: &Ui, r: &IncomingRecord) -> Json {
    json!({
        "id": r.id,
        "href": format!("/ui/incoming/{}", url_encode(&r.id)),
        "system": r.system,
        "kind_name": kind_name(ui, r),
        "status": r.state.as_str(),
        "status_label": crate::read::labels::incoming_state(r.state),
        "received_at": r.received_at,
        "sender": r.sender.as_ref().and_then(|s| s.human_readable_name.clone().or(s.mnemonic.clone())),
        "test_message": r.test_message,
    })
}

#[derive(Debug, Deserialize, Default)]
pub struct CursorQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// `GET /ui/incoming`.
pub async fn list(State(ui): State<UiState>, user: User, q: super::Q<CursorQuery>) -> Response {
    let q = super::query(q);
    let systems = ui.systems_of(&user);
    let (items, next) = match ui
        .ctx
        .store
        .list_incoming(&systems, q.cursor.as_deref(), PAGE)
    {
        Ok(x) => x,
        Err(e) => {
            return ui.error(
                Some(&user),
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Не удалось прочитать входящие запросы: {e}"),
            )
        }
    };
    let rows: Vec<Json> = items.iter().map(|r| row(&ui, r)).collect();
    ui.page(
        StatusCode::OK,
        Some(&user),
        "incoming_list.html",
        context! {
            title => "Входящие запросы",
            nav => "incoming",
            rows => to_value(&rows),
            next_href => next.map(|c| format!("/ui/incoming?cursor={}", url_encode(&c))),
            first_href => q.cursor.is_some().then_some("/ui/incoming"),
        },
    )
}

fn response_skeleton(ui: &Ui, r: &IncomingRecord) -> String {
    match r.kind.as_ref().and_then(|k| ui.ctx.kinds.get(k)) {
        Some(k) => format!(
            "<resp:{root} xmlns:resp=\"{ns}\">\n  \n</resp:{root}>",
            root = k.config.response.root,
            ns = k.config.response.namespace
        ),
        None => String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn card_page(
    ui: &Ui,
    user: &User,
    r: &IncomingRecord,
    status: StatusCode,
    error: Option<String>,
    details: Vec<String>,
    answer_xml: Option<String>,
    notice: Option<&str>,
) -> Response {
    let xml = ui.ctx.store.blob_text(&r.business_xml).unwrap_or_default();
    let labels = r
        .kind
        .as_ref()
        .and_then(|k| ui.labels.get(k))
        .map(|l| l.0.clone())
        .unwrap_or_default();
    let rows = super::xmltable::flatten(&xml, &labels).unwrap_or_default();
    let response = r.response.as_ref().map(|resp| match resp {
        OutgoingResponse::Data { business_xml, .. } => json!({
            "kind": "data",
            "xml": ui.ctx.store.blob_text(business_xml).ok(),
        }),
        OutgoingResponse::Reject { code, description } => json!({
            "kind": "reject",
            "code": code.as_str(),
            "meaning": messages::rejection_ru(*code),
            "description": description,
        }),
    });
    let codes: Vec<Json> = [
        RejectionReasonCode::NoData,
        RejectionReasonCode::AccessDenied,
        RejectionReasonCode::UnknownRequestDescription,
        RejectionReasonCode::Failure,
    ]
    .iter()
    .map(|c| json!({"value": c.as_str(), "label": c.description_ru()}))
    .collect();
    let can_answer = super::access::allows(user.s.role, Action::Create)
        && matches!(r.state, IncomingState::Received | IncomingState::Failed);
    let v = json!({
        "row": row(ui, r),
        "message_id": r.message_id,
        "reply_to_set": !r.reply_to.is_empty(),
        "sending_timestamp": r.sending_timestamp,
        "root_element": r.root_element,
        "xml": xml,
        "rows": rows,
        "attachments": r.attachments.iter().enumerate().map(|(n, a)| json!({
            "name": a.name, "size": a.size, "mime_type": a.mime_type,
            "href": format!("/ui/incoming/{}/attachments/{n}", url_encode(&r.id)),
        })).collect::<Vec<_>>(),
        "signatures": r.signatures,
        "response": response,
        "response_message_id": r.response_message_id,
        "last_error": r.last_error,
        "history": r.history.iter().map(|(at, actor, what)| json!({"at": at, "actor": actor, "what": what})).collect::<Vec<_>>(),
        "can_answer": can_answer,
    });
    ui.page(
        status,
        Some(user),
        "incoming.html",
        context! {
            title => format!("Входящий запрос: {}", kind_name(ui, r)),
            nav => "incoming",
            r => to_value(&v),
            codes => to_value(&codes),
            answer_xml => answer_xml.unwrap_or_else(|| response_skeleton(ui, r)),
            error,
            details,
            notice,
        },
    )
}

/// `GET /ui/incoming/{id}`.
pub async fn card(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
    q: super::Q<CursorQuery>,
) -> UiResult {
    let r = load(&ui, &user, &id)?;
    let notice = match super::query(q).done.as_deref() {
        Some("answered") => Some("Ответ принят и поставлен в очередь на отправку в СМЭВ."),
        Some("rejected") => Some("Отказ принят и поставлен в очередь на отправку в СМЭВ."),
        _ => None,
    };
    Ok(card_page(
        &ui,
        &user,
        &r,
        StatusCode::OK,
        None,
        Vec::new(),
        None,
        notice,
    ))
}

/// `POST /ui/incoming/{id}/respond` (multipart: csrf, business_xml, files).
pub async fn respond(
    State(ui): State<UiState>,
    Path(id): Path<String>,
    posted: PostedMultipart,
) -> UiResult {
    let xml = posted.text("business_xml");
    let mut files = Vec::new();
    for part in posted.parts.iter().filter(|p| p.name == "files") {
        let Some(name) = part.file_name.clone().filter(|n| !n.is_empty()) else {
            continue;
        };
        if part.bytes.is_empty() {
            continue;
        }
        let mime = part
            .content_type
            .clone()
            .filter(|m| intake::valid_mime(m))
            .unwrap_or_else(|| "application/octet-stream".into());
        files.push(NewAttachment {
            name,
            mime_type: mime,
            bytes: part.bytes.to_vec(),
        });
    }
    let user = posted.user;
    ui.require(&user, Action::Create)?;
    let r = load(&ui, &user, &id)?;
    if xml.trim().is_empty() {
        return Ok(card_page(
            &ui,
            &user,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Введите XML ответа.".into()),
            Vec::new(),
            Some(xml),
            None,
        ));
    }
    Ok(
        match intake::respond(&ui.ctx, &id, &xml, files, &user.actor()).await {
            Ok(_) => see_other(&format!("/ui/incoming/{}?done=answered", url_encode(&id))),
            Err(e) => {
                let m = messages::intake_error(&e);
                card_page(
                    &ui,
                    &user,
                    &r,
                    m.status,
                    Some(m.message),
                    m.details,
                    Some(xml),
                    None,
                )
            }
        },
    )
}

/// `POST /ui/incoming/{id}/reject`.
pub async fn reject(
    State(ui): State<UiState>,
    Path(id): Path<String>,
    PostedForm { user, form: f }: PostedForm,
) -> UiResult {
    ui.require(&user, Action::Create)?;
    let r = load(&ui, &user, &id)?;
    let Some(code) = RejectionReasonCode::parse(f.get("code")) else {
        return Ok(card_page(
            &ui,
            &user,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Выберите код причины отказа.".into()),
            Vec::new(),
            None,
            None,
        ));
    };
    Ok(
        match intake::reject(&ui.ctx, &id, code, f.get("reason").trim(), &user.actor()).await {
            Ok(_) => see_other(&format!("/ui/incoming/{}?done=rejected", url_encode(&id))),
            Err(e) => {
                let m = messages::intake_error(&e);
                card_page(
                    &ui,
                    &user,
                    &r,
                    m.status,
                    Some(m.message),
                    m.details,
                    None,
                    None,
                )
            }
        },
    )
}

/// `GET /ui/incoming/{id}/attachments/{n}`.
pub async fn attachment(
    State(ui): State<UiState>,
    user: User,
    Path((id, n)): Path<(String, String)>,
) -> UiResult {
    let r = load(&ui, &user, &id)?;
    let Some(a) = n.parse::<usize>().ok().and_then(|n| r.attachments.get(n)) else {
        return Ok(ui.error(Some(&user), StatusCode::NOT_FOUND, "Такого вложения нет."));
    };
    Ok(match ui.ctx.store.blob(&a.hash) {
        Ok(b) => file_response(b, &a.mime_type, &a.name),
        Err(e) => ui.error(
            Some(&user),
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Файл вложения не читается из хранилища: {e}"),
        ),
    })
}
