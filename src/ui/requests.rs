//! Outgoing requests (межведомственные запросы): the list, the card with its live panel, the
//! «Создать запрос» form with its preview, the ЭП-СП step, retry and cancel, downloads, and
//! the small JSON status endpoint the pages poll.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{NaiveDate, TimeZone, Utc};
use minijinja::{context, Value};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::config::{KindConfig, PersonalSignatureMode};
use crate::domain::{RequestRecord, RequestState};
use crate::dsig::certificate::Validity;
use crate::dsig::CertificateInfo;
use crate::engine::intake::{self, NewRequest};
use crate::read::download::file_response;
use crate::read::views::RequestView;
use crate::store::RequestFilter;

use super::access::Action;
use super::forms::{self, FormData};
use super::login::UiForm;
use super::messages;
use super::render::{to_value, url_encode};
use super::{html_response, secure_headers, see_other, Ui, UiState, User};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// Page size of the request list.
const PAGE: usize = 25;

/// The exact command an official runs to sign the SignedInfo bytes.
pub const SIGN_COMMAND: &str =
    "openssl dgst -engine gost -md_gost12_256 -sign key.pem -out signature.bin signed-info.bin";

/// The case page of a request's case.
pub fn case_href(system: &str, reference: &str) -> String {
    format!("/ui/cases/{}/{}", url_encode(system), url_encode(reference))
}

/// Certificate facts for display.
pub fn cert_json(info: &CertificateInfo) -> Json {
    let validity = match info.validity_at(Utc::now()) {
        Validity::Valid => "действителен",
        Validity::Expired => "срок действия истёк",
        Validity::NotYetValid => "срок действия не начался",
    };
    json!({
        "subject": info.subject,
        "common_name": info.common_name,
        "organization": info.organization,
        "issuer": info.issuer,
        "serial": info.serial,
        "not_before": info.not_before,
        "not_after": info.not_after,
        "valid": info.validity_at(Utc::now()) == Validity::Valid,
        "validity": validity,
        "key_algorithm": info.key_algorithm,
        "snils": info.snils,
        "inn": info.inn,
    })
}

/// The certificate inside a `ds:Signature` XML (the ЭП-СП kept with the request).
fn certificate_of_signature(sig_xml: &str) -> Option<CertificateInfo> {
    let doc = crate::xml::tree::Document::parse_str(sig_xml).ok()?;
    let node = doc.descendants(doc.root()).into_iter().find(|n| {
        doc.element(*n)
            .is_some_and(|e| e.local == "X509Certificate")
    })?;
    let b64: String = doc
        .text(node)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = B64.decode(b64).ok()?;
    let cert = openssl::x509::X509::from_der(&der).ok()?;
    Some(CertificateInfo::of(&cert))
}

/// A row of a request table.
pub fn row_json(ui: &Ui, r: &RequestRecord) -> Json {
    let overdue = !r.state.is_closed() && r.deadline.is_some_and(|d| d < Utc::now());
    json!({
        "id": r.id,
        "system": r.system,
        "kind": r.kind,
        "kind_name": ui.ctx.kinds.get(&r.kind).map(|k| k.config.name.clone()).unwrap_or_else(|| r.kind.clone()),
        "case": r.case,
        "case_href": r.case.as_ref().map(|c| case_href(&r.system, &c.reference)),
        "status": r.state.as_str(),
        "status_label": crate::read::labels::request_state(r.state),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "sent_at": r.sent_at,
        "deadline": r.deadline,
        "overdue": overdue,
        "message_id": r.message_id,
    })
}

/// Everything the request card shows.
fn card_json(ui: &Ui, user: &User, r: &RequestRecord) -> Json {
    let view = RequestView::of(&ui.ctx, r);
    let mut v = serde_json::to_value(&view).unwrap_or(Json::Null);
    let (req_labels, ans_labels) = ui.labels.get(&r.kind).cloned().unwrap_or_default();
    let business = ui.ctx.store.blob_text(&r.business_xml).unwrap_or_default();
    let request_rows = super::xmltable::flatten(&business, &req_labels).unwrap_or_default();
    let answer = r.answer.as_ref().map(|a| {
        let xml = a
            .business_xml
            .as_ref()
            .and_then(|k| ui.ctx.store.blob_text(k).ok());
        let rows = xml
            .as_deref()
            .map(|x| super::xmltable::flatten(x, &ans_labels).unwrap_or_default())
            .unwrap_or_default();
        json!({
            "kind": a.kind,
            "message_id": a.message_id,
            "received_at": a.received_at,
            "xml": xml,
            "rows": rows,
            "rejections": a.rejections.iter().map(|x| json!({
                "code": x.code.as_str(),
                "meaning": messages::rejection_ru(x.code),
                "description": x.description,
            })).collect::<Vec<_>>(),
            "smev_fault": a.smev_fault,
            "sender": a.sender,
            "attachments": a.attachments.iter().enumerate().map(|(n, x)| json!({
                "n": n,
                "name": x.name,
                "mime_type": x.mime_type,
                "size": x.size,
                "integrity": x.integrity.map(messages::integrity_ru),
                "href": format!("/ui/requests/{}/attachments/{n}", r.id),
            })).collect::<Vec<_>>(),
            "signatures": a.signatures.iter().map(|s| json!({
                "location": s.location,
                "what": signature_place(&s.location),
                "valid": s.valid,
                "trusted": s.trusted,
                "by_smev": s.location.contains("SMEVSignature"),
                "signer": s.signer,
                "not_before": s.not_before,
                "not_after": s.not_after,
                "problems": s.problems,
            })).collect::<Vec<_>>(),
        })
    });
    let personal_cert = r
        .personal
        .signature_xml
        .as_deref()
        .and_then(certificate_of_signature)
        .map(|c| cert_json(&c));
    let ov_cert = ui
        .ctx
        .systems
        .get(&r.system)
        .map(|s| cert_json(&CertificateInfo::of(s.client.signer().certificate())));
    let can_retry = super::access::allows(user.s.role, Action::Retry)
        && matches!(
            r.state,
            RequestState::Failed | RequestState::Rejected | RequestState::Expired
        );
    let can_cancel = super::access::allows(user.s.role, Action::Create)
        && !r.state.is_closed()
        && r.state != RequestState::Sending;
    let history: Vec<Json> = r
        .history
        .iter()
        .map(|t| {
            json!({
                "at": t.at,
                "actor": t.actor,
                "from": t.from.map(crate::read::labels::request_state),
                "to": t.to.as_str(),
                "to_label": crate::read::labels::request_state(t.to),
                "reason": t.reason,
            })
        })
        .collect();
    if let Json::Object(m) = &mut v {
        m.insert("status".into(), json!(r.state.as_str()));
        m.insert(
            "case_href".into(),
            json!(r.case.as_ref().map(|c| case_href(&r.system, &c.reference))),
        );
        m.insert("request_rows".into(), json!(request_rows));
        m.insert("answer".into(), answer.unwrap_or(Json::Null));
        m.insert("personal_cert".into(), personal_cert.unwrap_or(Json::Null));
        m.insert("ov_cert".into(), ov_cert.unwrap_or(Json::Null));
        m.insert("can_retry".into(), json!(can_retry));
        m.insert("can_cancel".into(), json!(can_cancel));
        m.insert(
            "awaiting_signature".into(),
            json!(r.state == RequestState::AwaitingPersonalSignature),
        );
        m.insert("history".into(), json!(history));
        m.insert(
            "system_name".into(),
            json!(ui
                .ctx
                .config
                .system(&r.system)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| r.system.clone())),
        );
    }
    v
}

fn signature_place(location: &str) -> &'static str {
    if location.contains("SMEVSignature") {
        "ЭП-СМЭВ (подпись СМЭВ)"
    } else if location.contains("PersonalSignature") {
        "ЭП-СП (подпись должностного лица)"
    } else if location.contains("SenderInformationSystemSignature")
        || location.contains("CallerInformationSystemSignature")
    {
        "ЭП-ОВ (подпись ведомства-поставщика)"
    } else {
        "Подпись"
    }
}

/// Loads a request the user may see, or the 404 page.
fn load(ui: &Ui, user: &User, id: &str) -> Result<RequestRecord, Response> {
    match ui.ctx.store.get_request(id) {
        Ok(r) if ui.sees(user, &r.system) => Ok(r),
        _ => Err(ui.error(
            Some(user),
            StatusCode::NOT_FOUND,
            "Запрос не найден или недоступен вам.",
        )),
    }
}

fn refusal_page(ui: &Ui, user: &User, e: &intake::IntakeError) -> Response {
    let r = messages::intake_error(e);
    ui.error_details(Some(user), r.status, &r.message, &r.details)
}

// ----- list -----

/// The list filters (shared by the request and case lists).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub page: Option<usize>,
}

/// Status filter options: groups first, then every state.
pub fn status_options() -> Vec<Json> {
    let mut v = vec![
        json!({"value": "active", "label": "В работе (все незавершённые)"}),
        json!({"value": "problems", "label": "С ошибками (ошибка, отклонён, срок истёк)"}),
    ];
    for s in RequestState::ALL {
        if *s != RequestState::Draft {
            v.push(json!({"value": s.as_str(), "label": crate::read::labels::request_state(*s)}));
        }
    }
    v
}

/// The filter of the list query, or a Russian message for a bad date.
pub fn filter_of(ui: &Ui, user: &User, q: &ListQuery) -> Result<RequestFilter, String> {
    let states = match q.status.as_deref().unwrap_or("") {
        "" => Vec::new(),
        "active" => RequestState::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_closed())
            .collect(),
        "problems" => vec![
            RequestState::Failed,
            RequestState::Rejected,
            RequestState::Expired,
        ],
        other => match RequestState::parse(other) {
            Some(s) => vec![s],
            None => return Err("Неизвестный статус в фильтре.".into()),
        },
    };
    let day = |s: &Option<String>, end: bool| -> Result<Option<chrono::DateTime<Utc>>, String> {
        let Some(s) = s.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"))
            .map_err(|_| "Дата в фильтре указана неверно: нужен формат ДД.ММ.ГГГГ.".to_string())?;
        let t = if end {
            d.and_hms_opt(23, 59, 59)
        } else {
            d.and_hms_opt(0, 0, 0)
        }
        .ok_or("Дата в фильтре указана неверно.")?;
        Ok(ui
            .tz
            .from_local_datetime(&t)
            .single()
            .map(|x| x.with_timezone(&Utc)))
    };
    Ok(RequestFilter {
        systems: ui.systems_of(user),
        states,
        kind: q.kind.clone().filter(|k| !k.is_empty()),
        created_from: day(&q.from, false)?,
        created_to: day(&q.to, true)?,
        text: q
            .q
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        ..Default::default()
    })
}

/// Kinds for the filter (those of the user's systems).
pub fn kind_options(ui: &Ui, user: &User) -> Vec<Json> {
    let systems = ui.systems_of(user);
    ui.ctx
        .kinds
        .values()
        .filter(|k| {
            ui.ctx
                .config
                .systems
                .iter()
                .any(|s| systems.contains(&s.id) && s.kinds.contains(&k.config.id))
        })
        .map(|k| json!({"value": k.config.id, "label": k.config.name}))
        .collect()
}

/// The query string of the filters (for paging links).
pub fn filter_query(q: &ListQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("status", &q.status),
        ("kind", &q.kind),
        ("from", &q.from),
        ("to", &q.to),
        ("q", &q.q),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", url_encode(v)));
        }
    }
    parts.join("&")
}

/// `GET /ui/requests`.
pub async fn list(State(ui): State<UiState>, user: User, q: super::Q<ListQuery>) -> Response {
    let q = super::query(q);
    let (filter, filter_error) = match filter_of(&ui, &user, &q) {
        Ok(f) => (f, None),
        Err(e) => (
            RequestFilter {
                systems: ui.systems_of(&user),
                ..Default::default()
            },
            Some(e),
        ),
    };
    let (items, next) = match ui
        .ctx
        .store
        .list_requests(&filter, q.cursor.as_deref(), PAGE)
    {
        Ok(x) => x,
        Err(e) => {
            return ui.error(
                Some(&user),
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Не удалось прочитать список запросов: {e}"),
            )
        }
    };
    let rows: Vec<Json> = items.iter().map(|r| row_json(&ui, r)).collect();
    let fq = filter_query(&q);
    let next_href = next.map(|c| {
        format!(
            "/ui/requests?{}{}cursor={}",
            fq,
            if fq.is_empty() { "" } else { "&" },
            url_encode(&c)
        )
    });
    ui.page(
        StatusCode::OK,
        Some(&user),
        "requests.html",
        context! {
            title => "Межведомственные запросы",
            nav => "requests",
            rows => to_value(&rows),
            q => to_value(&json!({
                "status": q.status, "kind": q.kind, "from": q.from, "to": q.to, "q": q.q,
            })),
            statuses => to_value(&status_options()),
            kinds => to_value(&kind_options(&ui, &user)),
            filter_error,
            next_href,
            first_href => q.cursor.is_some().then(|| format!("/ui/requests?{fq}")),
        },
    )
}

// ----- card -----

#[derive(Debug, Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("Запрос сохранён и поставлен в очередь на отправку в СМЭВ."),
        "signed" => {
            Some("Подпись ЭП-СП проверена и принята; запрос поставлен в очередь на отправку.")
        }
        "retried" => Some("Запрос поставлен в очередь на повторную отправку."),
        "cancelled" => Some("Запрос отменён."),
        _ => None,
    }
}

/// `GET /ui/requests/{id}`.
pub async fn card(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
    q: super::Q<DoneQuery>,
) -> Response {
    let r = match load(&ui, &user, &id) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let done = super::query(q).done;
    let v = card_json(&ui, &user, &r);
    ui.page(
        StatusCode::OK,
        Some(&user),
        "request.html",
        context! {
            title => format!("Запрос: {}", v["kind_name"].as_str().unwrap_or(&r.kind)),
            nav => "requests",
            r => to_value(&v),
            notice => done_message(done.as_deref()),
        },
    )
}

/// `GET /ui/requests/{id}/panel`: the live part of the card (HTML fragment).
pub async fn panel(State(ui): State<UiState>, user: User, Path(id): Path<String>) -> Response {
    let r = match ui.ctx.store.get_request(&id) {
        Ok(r) if ui.sees(&user, &r.system) => r,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let v = card_json(&ui, &user, &r);
    match ui.fragment(
        "request_panel.html",
        context! { r => to_value(&v), csrf => user.s.csrf.clone() },
    ) {
        Ok(html) => html_response(StatusCode::OK, html),
        Err(e) => {
            tracing::error!(error = %e, "request panel failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct StatusQuery {
    #[serde(default)]
    ids: String,
}

/// `GET /ui/status?ids=a,b`: statuses for live refresh.
pub async fn status(State(ui): State<UiState>, user: User, q: super::Q<StatusQuery>) -> Response {
    let ids = super::query(q).ids;
    let items: Vec<Json> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(200)
        .filter_map(|id| ui.ctx.store.get_request(id).ok())
        .filter(|r| ui.sees(&user, &r.system))
        .map(|r| {
            json!({
                "id": r.id,
                "status": r.state.as_str(),
                "label": crate::read::labels::request_state(r.state),
                "updated_at": r.updated_at,
                "closed": r.state.is_closed(),
                "overdue": !r.state.is_closed() && r.deadline.is_some_and(|d| d < Utc::now()),
            })
        })
        .collect();
    let mut resp = (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({ "items": items }).to_string(),
    )
        .into_response();
    secure_headers(&mut resp);
    resp
}

// ----- downloads -----

fn download(bytes: Vec<u8>, mime: &str, name: &str) -> Response {
    let mut r = file_response(bytes, mime, name);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    r
}

/// `GET /ui/requests/{id}/attachments/{n}`: a file of the answer.
pub async fn attachment(
    State(ui): State<UiState>,
    user: User,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    let r = match load(&ui, &user, &id) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let a = n
        .parse::<usize>()
        .ok()
        .and_then(|n| r.answer.as_ref().and_then(|a| a.attachments.get(n)));
    let Some(a) = a else {
        return ui.error(Some(&user), StatusCode::NOT_FOUND, "Такого вложения нет.");
    };
    match ui.ctx.store.blob(&a.hash) {
        Ok(bytes) => download(bytes, &a.mime_type, &a.name),
        Err(e) => ui.error(
            Some(&user),
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Файл вложения не читается из хранилища: {e}"),
        ),
    }
}

/// `GET /ui/requests/{id}/business.xml`: the request XML as stored (and as signed).
pub async fn business_xml(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
) -> Response {
    let r = match load(&ui, &user, &id) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match ui.ctx.store.blob(&r.business_xml) {
        Ok(b) => download(b, "application/xml", &format!("request-{}.xml", r.id)),
        Err(_) => ui.error(Some(&user), StatusCode::NOT_FOUND, "XML запроса не найден."),
    }
}

/// `GET /ui/requests/{id}/answer.xml`: the answer's business XML.
pub async fn answer_xml(State(ui): State<UiState>, user: User, Path(id): Path<String>) -> Response {
    let r = match load(&ui, &user, &id) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let key = r.answer.as_ref().and_then(|a| a.business_xml.clone());
    match key.map(|k| ui.ctx.store.blob(&k)) {
        Some(Ok(b)) => download(b, "application/xml", &format!("answer-{}.xml", r.id)),
        _ => ui.error(
            Some(&user),
            StatusCode::NOT_FOUND,
            "У запроса нет ответа с данными.",
        ),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct AlgQuery {
    #[serde(default)]
    algorithm: Option<String>,
}

/// `GET /ui/requests/{id}/signed-info.bin`: the exact bytes the official signs.
pub async fn signed_info(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
    q: super::Q<AlgQuery>,
) -> Response {
    if let Err(r) = load(&ui, &user, &id) {
        return r;
    }
    let alg = super::query(q).algorithm;
    match intake::signing_payload(&ui.ctx, &id, alg.as_deref()) {
        Ok(p) => match B64.decode(&p.signed_info) {
            Ok(bytes) => download(bytes, "application/octet-stream", "signed-info.bin"),
            Err(_) => ui.error(
                Some(&user),
                StatusCode::INTERNAL_SERVER_ERROR,
                "Данные для подписи повреждены.",
            ),
        },
        Err(e) => refusal_page(&ui, &user, &e),
    }
}

// ----- retry, cancel -----

/// `POST /ui/requests/{id}/retry`.
pub async fn retry(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
    UiForm(f): UiForm,
) -> Response {
    if let Err(r) = ui.check_csrf(&user, f.get("csrf")) {
        return r;
    }
    if let Err(r) = ui.require(&user, Action::Retry) {
        return r;
    }
    if let Err(r) = load(&ui, &user, &id) {
        return r;
    }
    match intake::retry(&ui.ctx, &id, &user.actor()).await {
        Ok(_) => see_other(&format!("/ui/requests/{}?done=retried", url_encode(&id))),
        Err(e) => refusal_page(&ui, &user, &e),
    }
}

/// `POST /ui/requests/{id}/cancel`.
pub async fn cancel(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
    UiForm(f): UiForm,
) -> Response {
    if let Err(r) = ui.check_csrf(&user, f.get("csrf")) {
        return r;
    }
    if let Err(r) = ui.require(&user, Action::Create) {
        return r;
    }
    if let Err(r) = load(&ui, &user, &id) {
        return r;
    }
    match intake::cancel(&ui.ctx, &id, &user.actor()).await {
        Ok(_) => see_other(&format!("/ui/requests/{}?done=cancelled", url_encode(&id))),
        Err(e) => refusal_page(&ui, &user, &e),
    }
}

// ----- create -----

/// Systems (with kinds) the user may create requests for.
fn creatable(ui: &Ui, user: &User) -> Vec<(String, String, Vec<String>)> {
    ui.ctx
        .config
        .systems
        .iter()
        .filter(|s| ui.sees(user, &s.id) && !s.kinds.is_empty())
        .map(|s| {
            (
                s.id.clone(),
                s.name.clone(),
                s.kinds
                    .iter()
                    .filter(|k| ui.ctx.kinds.contains_key(*k))
                    .cloned()
                    .collect(),
            )
        })
        .collect()
}

fn signature_mode_label(m: PersonalSignatureMode) -> &'static str {
    match m {
        PersonalSignatureMode::None => "без ЭП-СП",
        PersonalSignatureMode::TwoPhase => "требуется ЭП-СП должностного лица",
        PersonalSignatureMode::Configured => "ЭП-СП ставится шлюзом автоматически",
    }
}

/// Resolves the chosen system and kind (first ones by default).
fn choose<'a>(
    ui: &'a Ui,
    user: &User,
    system: &str,
    kind: &str,
) -> Option<(String, &'a KindConfig)> {
    let options = creatable(ui, user);
    let (sys, _, kinds) = options
        .iter()
        .find(|(id, _, _)| id == system)
        .or_else(|| options.first())?;
    let k = kinds
        .iter()
        .find(|k| *k == kind)
        .or_else(|| kinds.first())?;
    Some((sys.clone(), &ui.ctx.kinds.get(k)?.config))
}

fn new_client_id() -> String {
    match super::session::random_token() {
        Ok(t) => format!("ui-{}", &t[..32]),
        Err(_) => format!("ui-{}", crate::store::new_id()),
    }
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    ui: &Ui,
    user: &User,
    status: StatusCode,
    system: &str,
    kind: &KindConfig,
    form: &FormData,
    errors: &[forms::FieldError],
    general: Option<String>,
    details: Vec<String>,
) -> Response {
    let options = creatable(ui, user);
    let systems: Vec<Json> = options
        .iter()
        .map(|(id, name, _)| json!({"value": id, "label": name}))
        .collect();
    let kinds: Vec<Json> = options
        .iter()
        .find(|(id, _, _)| id == system)
        .map(|(_, _, ks)| {
            ks.iter()
                .filter_map(|k| ui.ctx.kinds.get(k))
                .map(|k| json!({"value": k.config.id, "label": k.config.name}))
                .collect()
        })
        .unwrap_or_default();
    let client_id = match form.get("client_id") {
        "" => new_client_id(),
        c => c.to_string(),
    };
    let error_list: Vec<Json> = errors
        .iter()
        .map(|e| json!({"field": e.field, "message": e.message}))
        .collect();
    ui.page(
        status,
        Some(user),
        "new_request.html",
        context! {
            title => "Создать запрос",
            nav => "new",
            systems => to_value(&systems),
            kinds => to_value(&kinds),
            system,
            kind => to_value(&json!({
                "id": kind.id,
                "name": kind.name,
                "signature": signature_mode_label(kind.personal_signature),
                "two_phase": kind.personal_signature == PersonalSignatureMode::TwoPhase,
                "deadline_days": kind.deadline_working_days,
            })),
            case_fields => to_value(&forms::case_specs(form, errors)),
            kind_fields => to_value(&forms::kind_specs(kind, form, errors)),
            errors => to_value(&error_list),
            general,
            details,
            client_id,
        },
    )
}

#[derive(Debug, Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    case_reference: Option<String>,
    #[serde(default)]
    case_service: Option<String>,
    #[serde(default)]
    case_applicant: Option<String>,
    #[serde(default)]
    case_inn: Option<String>,
    #[serde(default)]
    case_snils: Option<String>,
}

/// `GET /ui/requests/new`.
pub async fn new_form(State(ui): State<UiState>, user: User, q: super::Q<NewQuery>) -> Response {
    if let Err(r) = ui.require(&user, Action::Create) {
        return r;
    }
    let q = super::query(q);
    let Some((system, kind)) = choose(
        &ui,
        &user,
        q.system.as_deref().unwrap_or(""),
        q.kind.as_deref().unwrap_or(""),
    ) else {
        return ui.error(
            Some(&user),
            StatusCode::FORBIDDEN,
            "Вам не назначено ни одной информационной системы с видами сведений: создавать запросы нельзя.",
        );
    };
    let mut pairs = Vec::new();
    for (k, v) in [
        ("case_reference", q.case_reference),
        ("case_service", q.case_service),
        ("case_applicant", q.case_applicant),
        ("case_inn", q.case_inn),
        ("case_snils", q.case_snils),
    ] {
        if let Some(v) = v {
            pairs.push((k.to_string(), v));
        }
    }
    form_page(
        &ui,
        &user,
        StatusCode::OK,
        &system,
        kind,
        &FormData(pairs),
        &[],
        None,
        Vec::new(),
    )
}

/// What a valid form becomes.
struct Prepared {
    system: String,
    kind: KindConfig,
    case: crate::domain::CaseInfo,
    xml: String,
    client_id: Option<String>,
}

/// Validates the posted form completely; on failure, the form page to show.
fn validate_post(ui: &Ui, user: &User, f: &FormData) -> Result<Prepared, Response> {
    ui.check_csrf(user, f.get("csrf"))?;
    ui.require(user, Action::Create)?;
    let Some((system, kind)) = choose(ui, user, f.get("system"), f.get("kind")) else {
        return Err(ui.error(
            Some(user),
            StatusCode::FORBIDDEN,
            "Вам не назначено ни одной информационной системы с видами сведений.",
        ));
    };
    if system != f.get("system") || kind.id != f.get("kind") {
        return Err(ui.error(
            Some(user),
            StatusCode::FORBIDDEN,
            "Выбранная информационная система или вид сведений вам недоступны.",
        ));
    }
    let v = forms::validate(kind, f);
    if !v.errors.is_empty() {
        return Err(form_page(
            ui,
            user,
            StatusCode::UNPROCESSABLE_ENTITY,
            &system,
            kind,
            f,
            &v.errors,
            Some("Форма заполнена с ошибками — исправьте отмеченные поля.".into()),
            Vec::new(),
        ));
    }
    let xml = match forms::render_request(kind, &v.values) {
        Ok(x) => x,
        Err(m) => {
            return Err(form_page(
                ui,
                user,
                StatusCode::INTERNAL_SERVER_ERROR,
                &system,
                kind,
                f,
                &[],
                Some(m),
                Vec::new(),
            ))
        }
    };
    if let Err(e) = intake::check_business_xml(&ui.ctx, &kind.id, &xml) {
        let r = messages::intake_error(&e);
        return Err(form_page(
            ui,
            user,
            r.status,
            &system,
            kind,
            f,
            &[],
            Some(format!(
                "Сведения не прошли проверку по схеме вида сведений. {}",
                r.message
            )),
            r.details,
        ));
    }
    let client_id = Some(f.get("client_id"))
        .filter(|c| c.starts_with("ui-") && c.len() <= 100)
        .map(str::to_string);
    Ok(Prepared {
        system,
        kind: kind.clone(),
        case: v.case,
        xml,
        client_id,
    })
}

async fn submit(ui: &Ui, user: &User, p: Prepared) -> Response {
    let req = NewRequest {
        system: p.system.clone(),
        kind: p.kind.id.clone(),
        business_xml: p.xml,
        client_id: p.client_id,
        case: Some(p.case),
        attachments: Vec::new(),
        test_message: None,
        actor: user.actor(),
    };
    match intake::submit(&ui.ctx, req).await {
        Ok((r, _)) => {
            if r.state == RequestState::AwaitingPersonalSignature {
                see_other(&format!("/ui/requests/{}/sign", url_encode(&r.id)))
            } else {
                see_other(&format!("/ui/requests/{}?done=created", url_encode(&r.id)))
            }
        }
        Err(e) => refusal_page(ui, user, &e),
    }
}

/// `POST /ui/requests/new`: «Подготовить запрос к отправке» (or «Изменить» from the preview).
pub async fn prepare(State(ui): State<UiState>, user: User, UiForm(f): UiForm) -> Response {
    if f.get("edit") == "1" {
        if let Err(r) = ui.check_csrf(&user, f.get("csrf")) {
            return r;
        }
        return match choose(&ui, &user, f.get("system"), f.get("kind")) {
            Some((system, kind)) => form_page(
                &ui,
                &user,
                StatusCode::OK,
                &system,
                kind,
                &f,
                &[],
                None,
                Vec::new(),
            ),
            None => ui.error(
                Some(&user),
                StatusCode::FORBIDDEN,
                "Вид сведений недоступен.",
            ),
        };
    }
    let p = match validate_post(&ui, &user, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.kind.personal_signature == PersonalSignatureMode::TwoPhase {
        // The request is stored now: the official signs exactly what is stored.
        return submit(&ui, &user, p).await;
    }
    let hidden: Vec<Json> =
        f.0.iter()
            .filter(|(k, _)| k != "csrf" && k != "edit")
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
    let system_name = ui
        .ctx
        .config
        .system(&p.system)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let labels = ui
        .labels
        .get(&p.kind.id)
        .map(|l| l.0.clone())
        .unwrap_or_default();
    let rows = super::xmltable::flatten(&p.xml, &labels).unwrap_or_default();
    ui.page(
        StatusCode::OK,
        Some(&user),
        "preview.html",
        context! {
            title => "Проверка запроса перед отправкой",
            nav => "new",
            hidden => to_value(&hidden),
            xml => p.xml.clone(),
            rows => to_value(&rows),
            case => to_value(&p.case),
            kind_name => p.kind.name.clone(),
            signature => signature_mode_label(p.kind.personal_signature),
            system_name,
        },
    )
}

/// `POST /ui/requests/send`: «Сохранить и отправить запрос» from the preview.
pub async fn send(State(ui): State<UiState>, user: User, UiForm(f): UiForm) -> Response {
    match validate_post(&ui, &user, &f) {
        Ok(p) => submit(&ui, &user, p).await,
        Err(r) => r,
    }
}

// ----- ЭП-СП -----

fn sign_page(
    ui: &Ui,
    user: &User,
    r: &RequestRecord,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let payload = match intake::signing_payload(&ui.ctx, &r.id, None) {
        Ok(p) => p,
        Err(e) => return refusal_page(ui, user, &e),
    };
    let v = row_json(ui, r);
    ui.page(
        status,
        Some(user),
        "sign.html",
        context! {
            title => "Подпись ЭП-СП",
            nav => "new",
            r => to_value(&v),
            xml => payload.business_xml,
            digest => payload.digest,
            signed_info_b64 => payload.signed_info,
            reference_id => payload.reference_id,
            command => SIGN_COMMAND,
            error,
        },
    )
}

/// `GET /ui/requests/{id}/sign`: the ЭП-СП step.
pub async fn sign_form(State(ui): State<UiState>, user: User, Path(id): Path<String>) -> Response {
    if let Err(r) = ui.require(&user, Action::Create) {
        return r;
    }
    let r = match load(&ui, &user, &id) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if r.state != RequestState::AwaitingPersonalSignature {
        return see_other(&format!("/ui/requests/{}", url_encode(&r.id)));
    }
    sign_page(&ui, &user, &r, StatusCode::OK, None)
}

/// The signature value from an uploaded file or pasted text: raw binary (64 or 128 bytes for
/// GOST R 34.10-2012) or base64.
pub fn decode_signature(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.is_empty() {
        return Err("Приложите файл подписи (signature.bin) или вставьте её в base64.".into());
    }
    if matches!(bytes.len(), 64 | 128) && !bytes.iter().all(|b| b.is_ascii_graphic()) {
        return Ok(bytes.to_vec());
    }
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    match B64.decode(text.as_bytes()) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ if matches!(bytes.len(), 64 | 128) => Ok(bytes.to_vec()),
        _ => Err(
            "Файл подписи не распознан: нужна подпись в двоичном виде (результат openssl dgst -sign) или в base64."
                .into(),
        ),
    }
}

/// The certificate from an uploaded file (PEM or DER) or pasted text (PEM or base64 DER).
pub fn decode_certificate(bytes: &[u8]) -> Result<openssl::x509::X509, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("Приложите сертификат должностного лица (PEM или DER).".into());
    }
    let r = match std::str::from_utf8(bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") || text.is_ascii() => {
            intake::parse_certificate(text)
        }
        _ => {
            // Without the engine a GOST certificate does not parse, which is reported below.
            if let Err(e) = crate::dsig::engine::ensure_gost_engine() {
                tracing::debug!(error = %e, "GOST engine unavailable");
            }
            openssl::x509::X509::from_der(bytes).map_err(|_| {
                intake::IntakeError::BadSignature(
                    "the certificate is not a valid X.509 certificate".into(),
                )
            })
        }
    };
    r.map_err(|e| messages::intake_error(&e).message)
}

/// `POST /ui/requests/{id}/sign` (multipart): verify the uploaded ЭП-СП and queue the request.
pub async fn sign_submit(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let mut fields: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut mp = match multipart {
        Ok(m) => m,
        Err(e) => {
            return ui.error(
                Some(&user),
                StatusCode::BAD_REQUEST,
                &format!("Форма не может быть прочитана ({}).", e.body_text()),
            )
        }
    };
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(b) => {
                        let e = fields.entry(name).or_default();
                        if e.is_empty() {
                            *e = b.to_vec();
                        }
                    }
                    Err(e) => {
                        return ui.error(
                            Some(&user),
                            StatusCode::BAD_REQUEST,
                            &format!("Файл не загружен полностью ({}).", e.body_text()),
                        )
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                return ui.error(
                    Some(&user),
                    StatusCode::BAD_REQUEST,
                    &format!("Форма не может быть прочитана ({}).", e.body_text()),
                )
            }
        }
    }
    let text = |k: &str| {
        String::from_utf8_lossy(fields.get(k).map(Vec::as_slice).unwrap_or(&[])).to_string()
    };
    if let Err(r) = ui.check_csrf(&user, &text("csrf")) {
        return r;
    }
    if let Err(r) = ui.require(&user, Action::Create) {
        return r;
    }
    let r = match load(&ui, &user, &id) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if r.state != RequestState::AwaitingPersonalSignature {
        return see_other(&format!("/ui/requests/{}", url_encode(&r.id)));
    }
    let pick = |file: &str, pasted: &str| -> Vec<u8> {
        match fields.get(file) {
            Some(b) if !b.is_empty() => b.clone(),
            _ => fields.get(pasted).cloned().unwrap_or_default(),
        }
    };
    let refuse = |m: String| sign_page(&ui, &user, &r, StatusCode::UNPROCESSABLE_ENTITY, Some(m));
    let sig = match decode_signature(&pick("signature", "signature_text")) {
        Ok(s) => s,
        Err(m) => return refuse(m),
    };
    let cert = match decode_certificate(&pick("certificate", "certificate_text")) {
        Ok(c) => c,
        Err(m) => return refuse(m),
    };
    match intake::accept_personal_signature(&ui.ctx, &id, &sig, &cert, &user.actor()).await {
        Ok(_) => see_other(&format!("/ui/requests/{}?done=signed", url_encode(&id))),
        Err(e) => {
            let m = messages::intake_error(&e);
            if m.status == StatusCode::UNPROCESSABLE_ENTITY {
                refuse(m.message)
            } else {
                ui.error_details(Some(&user), m.status, &m.message, &m.details)
            }
        }
    }
}

/// Template value of a list of request rows.
pub fn rows_value(ui: &Ui, items: &[RequestRecord]) -> Value {
    let rows: Vec<Json> = items.iter().map(|r| row_json(ui, r)).collect();
    to_value(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_decode_from_binary_or_base64() {
        let raw: Vec<u8> = (0u8..64).collect();
        assert_eq!(decode_signature(&raw).unwrap(), raw);
        let b64 = B64.encode(&raw);
        assert_eq!(decode_signature(b64.as_bytes()).unwrap(), raw);
        let wrapped = format!("{}\n{}\n", &b64[..40], &b64[40..]);
        assert_eq!(decode_signature(wrapped.as_bytes()).unwrap(), raw);
        assert!(decode_signature(b"").unwrap_err().contains("Приложите"));
        assert!(decode_signature("не подпись".as_bytes())
            .unwrap_err()
            .contains("не распознан"));
    }

    #[test]
    fn certificates_decode_from_pem_der_or_refuse() {
        let pem = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-example/sp.cert.pem"),
        )
        .unwrap();
        let c = decode_certificate(&pem).unwrap();
        let der = c.to_der().unwrap();
        assert!(decode_certificate(&der).is_ok());
        assert!(decode_certificate(b"").unwrap_err().contains("Приложите"));
        let junk = decode_certificate(b"hello").unwrap_err();
        assert!(junk.starts_with("Подпись ЭП-СП не принята"), "{junk}");
        assert!(decode_certificate(&[0x30, 0x82, 0xff, 0x00, 0x01])
            .unwrap_err()
            .contains("X.509"));
    }

    #[test]
    fn case_links_are_encoded() {
        assert_eq!(
            case_href("is-main", "2026/1 а"),
            "/ui/cases/is-main/2026%2F1%20%D0%B0"
        );
    }

    #[test]
    fn done_messages() {
        assert!(done_message(Some("retried")).unwrap().contains("повторную"));
        assert!(done_message(Some("<script>")).is_none());
        assert!(done_message(None).is_none());
    }
}
