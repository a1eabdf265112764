//! Incoming requests (the provider role): the list, the card with the request's data as a
//! table, and the answer (business XML) and rejection (code + reason) forms.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;

use crate::domain::IncomingRecord;
use crate::engine::intake::{self, IntakeError};
use crate::engine::KindFields;
use crate::smev::model::RejectionReasonCode;
use crate::store::IncomingFilter;

use super::access::Action;
use super::choice::Choice;
use super::forms::{FieldError, FormData};
use super::incoming_view::{kind_name, IncomingCard, IncomingListPage, IncomingPage, IncomingRow};
use super::messages;
use super::posted::{PostedForm, PostedMultipart};
use super::render::url_encode;
use super::schema_form;
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

#[derive(Debug, Deserialize, Default)]
pub struct CursorQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
    /// "1": only the requests the user is the executor of.
    #[serde(default)]
    mine: Option<String>,
}

/// `GET /ui/incoming`.
pub async fn list(State(ui): State<UiState>, user: User, q: super::Q<CursorQuery>) -> Response {
    let q = super::query(q);
    let mine = q.mine.as_deref() == Some("1");
    let filter = IncomingFilter {
        systems: ui.systems_of(&user),
        assignee: mine.then(|| user.s.login.clone()),
    };
    let (items, next) = match ui
        .ctx
        .store
        .list_incoming(&filter, q.cursor.as_deref(), PAGE)
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
    let page = IncomingListPage {
        title: "Входящие запросы",
        nav: "incoming",
        rows: items.iter().map(|r| IncomingRow::of(&ui, r)).collect(),
        next_href: next.map(|c| {
            let mine = if mine { "&mine=1" } else { "" };
            format!("/ui/incoming?cursor={}{mine}", url_encode(&c))
        }),
        first_href: q
            .cursor
            .is_some()
            .then(|| format!("/ui/incoming{}", if mine { "?mine=1" } else { "" })),
        mine,
    };
    ui.page(StatusCode::OK, Some(&user), "incoming_list.html", &page)
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

/// What the answer form holds after a post: the XML typed, or the fields of the form made from
/// the response schema with their errors.
#[derive(Debug, Default)]
struct Typed {
    xml: Option<String>,
    fields: FormData,
    errors: Vec<FieldError>,
}

impl Typed {
    fn xml(xml: String) -> Typed {
        Typed {
            xml: Some(xml),
            ..Typed::default()
        }
    }
}

/// The request's kind, when its answer form is made from its schema.
fn schema_kind<'a>(
    ui: &'a Ui,
    r: &IncomingRecord,
) -> Option<(&'a KindFields, &'a BTreeMap<String, String>)> {
    schema_form::schema_kind(&ui.ctx, r.kind.as_deref()?)
}

#[allow(clippy::too_many_arguments)]
fn card_page(
    ui: &Ui,
    user: &User,
    r: &IncomingRecord,
    status: StatusCode,
    error: Option<String>,
    details: Vec<String>,
    typed: Typed,
    notice: Option<&'static str>,
) -> Response {
    let codes = [
        RejectionReasonCode::NoData,
        RejectionReasonCode::AccessDenied,
        RejectionReasonCode::UnknownRequestDescription,
        RejectionReasonCode::Failure,
    ]
    .iter()
    .map(|c| Choice::new(c.as_str(), c.description_ru()))
    .collect();
    let schema = schema_kind(ui, r);
    let page = IncomingPage {
        title: format!("Входящий запрос: {}", kind_name(ui, r)),
        nav: "incoming",
        r: IncomingCard::of(ui, user, r),
        codes,
        answer_rows: schema
            .map(|(t, labels)| schema_form::rows(&t.response, &typed.fields, &typed.errors, labels))
            .unwrap_or_default(),
        // With a form made from the schema the XML field starts empty (it wins when filled).
        answer_xml: typed.xml.unwrap_or_else(|| match schema {
            Some(_) => String::new(),
            None => response_skeleton(ui, r),
        }),
        error,
        details,
        notice,
    };
    ui.page(status, Some(user), "incoming.html", &page)
}

/// Where a decision on an incoming request leads: back to its card with `done` as the
/// notice, or, when the engine refuses it, the card again with the refusal and what was
/// typed.
fn after_decision<T>(
    ui: &Ui,
    user: &User,
    r: &IncomingRecord,
    result: Result<T, IntakeError>,
    done: &str,
    typed: Typed,
) -> Response {
    match result {
        Ok(_) => see_other(&format!("/ui/incoming/{}?done={done}", url_encode(&r.id))),
        Err(e) => {
            let m = messages::intake_error(&e);
            card_page(
                ui,
                user,
                r,
                m.status,
                Some(m.message),
                m.details,
                typed,
                None,
            )
        }
    }
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
        Some("assigned") => Some("Исполнитель назначен."),
        _ => None,
    };
    Ok(card_page(
        &ui,
        &user,
        &r,
        StatusCode::OK,
        None,
        Vec::new(),
        Typed::default(),
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
    let files = posted.files("files");
    // The text parts: the fields of the form made from the response schema.
    let fields = posted.fields();
    let user = posted.user;
    ui.require(&user, Action::Create)?;
    let r = load(&ui, &user, &id)?;
    if !fields.get(schema_form::ADD).is_empty() {
        let typed = Typed {
            fields,
            ..Typed::default()
        };
        return Ok(card_page(
            &ui,
            &user,
            &r,
            StatusCode::OK,
            None,
            Vec::new(),
            typed,
            None,
        ));
    }
    let xml = match (xml.trim().is_empty(), schema_kind(&ui, &r)) {
        (false, _) => xml,
        (true, Some((tree, _))) => match schema_form::build(&tree.response, &fields) {
            Ok(built) => built,
            Err(errors) => {
                let typed = Typed {
                    xml: None,
                    fields,
                    errors,
                };
                return Ok(card_page(
                    &ui,
                    &user,
                    &r,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some("Ответ заполнен с ошибками — исправьте отмеченные поля.".into()),
                    Vec::new(),
                    typed,
                    None,
                ));
            }
        },
        (true, None) => {
            return Ok(card_page(
                &ui,
                &user,
                &r,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Введите XML ответа.".into()),
                Vec::new(),
                Typed::xml(xml),
                None,
            ));
        }
    };
    let result = intake::respond(&ui.ctx, &id, &xml, files, &user.actor()).await;
    Ok(after_decision(
        &ui,
        &user,
        &r,
        result,
        "answered",
        Typed::xml(xml),
    ))
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
            Typed::default(),
            None,
        ));
    };
    let result = intake::reject(&ui.ctx, &id, code, f.get("reason").trim(), &user.actor()).await;
    Ok(after_decision(
        &ui,
        &user,
        &r,
        result,
        "rejected",
        Typed::default(),
    ))
}

/// `GET /ui/incoming/{id}/attachments/{n}`.
pub async fn attachment(
    State(ui): State<UiState>,
    user: User,
    Path((id, n)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> UiResult {
    let r = load(&ui, &user, &id)?;
    let Some(a) = n.parse::<usize>().ok().and_then(|n| r.attachments.get(n)) else {
        return Ok(ui.error(Some(&user), StatusCode::NOT_FOUND, "Такого вложения нет."));
    };
    Ok(ui.attachment_download(&user, a, &headers).await)
}
