//! The request card: what it shows (answer, signatures, history), its live panel and the
//! status endpoint the pages poll, and the operator's retry and cancel.

use super::*;

/// Everything the request card shows.
pub(super) fn card_json(ui: &Ui, user: &User, r: &RequestRecord) -> Json {
    let view = RequestView::of(&ui.ctx, r);
    let mut v = serde_json::to_value(&view).unwrap_or(Json::Null);
    let (req_labels, ans_labels) = ui.labels.get(&r.kind).cloned().unwrap_or_default();
    let business = ui.ctx.store.blob_text(&r.business_xml).unwrap_or_default();
    let request_rows = super::super::xmltable::flatten(&business, &req_labels).unwrap_or_default();
    let answer = r.answer.as_ref().map(|a| {
        let xml = a
            .business_xml
            .as_ref()
            .and_then(|k| ui.ctx.store.blob_text(k).ok());
        let rows = xml
            .as_deref()
            .map(|x| super::super::xmltable::flatten(x, &ans_labels).unwrap_or_default())
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
    let can_retry = super::super::access::allows(user.s.role, Action::Retry)
        && matches!(
            r.state,
            RequestState::Failed | RequestState::Rejected | RequestState::Expired
        );
    let can_cancel = super::super::access::allows(user.s.role, Action::Create)
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

pub(super) fn signature_place(location: &str) -> &'static str {
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

#[derive(Debug, Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

pub(super) fn done_message(done: Option<&str>) -> Option<&'static str> {
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
    q: super::super::Q<DoneQuery>,
) -> UiResult {
    let r = load(&ui, &user, &id)?;
    let done = super::super::query(q).done;
    let v = card_json(&ui, &user, &r);
    Ok(ui.page(
        StatusCode::OK,
        Some(&user),
        "request.html",
        context! {
            title => format!("Запрос: {}", v["kind_name"].as_str().unwrap_or(&r.kind)),
            nav => "requests",
            r => to_value(&v),
            notice => done_message(done.as_deref()),
        },
    ))
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
pub async fn status(
    State(ui): State<UiState>,
    user: User,
    q: super::super::Q<StatusQuery>,
) -> Response {
    let ids = super::super::query(q).ids;
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

/// `POST /ui/requests/{id}/retry`.
pub async fn retry(
    State(ui): State<UiState>,
    Path(id): Path<String>,
    PostedForm { user, form: _f }: PostedForm,
) -> UiResult {
    ui.require(&user, Action::Retry)?;
    load(&ui, &user, &id)?;
    Ok(match intake::retry(&ui.ctx, &id, &user.actor()).await {
        Ok(_) => see_other(&format!("/ui/requests/{}?done=retried", url_encode(&id))),
        Err(e) => refusal_page(&ui, &user, &e),
    })
}

/// `POST /ui/requests/{id}/cancel`.
pub async fn cancel(
    State(ui): State<UiState>,
    Path(id): Path<String>,
    PostedForm { user, form: _f }: PostedForm,
) -> UiResult {
    ui.require(&user, Action::Create)?;
    load(&ui, &user, &id)?;
    Ok(match intake::cancel(&ui.ctx, &id, &user.actor()).await {
        Ok(_) => see_other(&format!("/ui/requests/{}?done=cancelled", url_encode(&id))),
        Err(e) => refusal_page(&ui, &user, &e),
    })
}

// ----- create -----
