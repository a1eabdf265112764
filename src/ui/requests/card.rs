//! The request card: the page, its live panel and the status endpoint the pages poll, and
//! the operator's retry and cancel. What the card shows is [`RequestCard`].

use super::*;

/// `request.html`: the request card.
#[derive(Debug, Serialize)]
struct RequestPage {
    title: String,
    nav: &'static str,
    r: RequestCard,
    notice: Option<&'static str>,
}

/// `request_panel.html`: the live part of the card, fetched by the page's script.
#[derive(Debug, Serialize)]
struct PanelFragment {
    r: RequestCard,
    csrf: String,
}

/// The answer of `GET /ui/status`.
#[derive(Debug, Serialize)]
struct StatusList {
    items: Vec<StatusItem>,
}

/// A request's status for live refresh (fields in alphabetical order, as the body has always
/// been written).
#[derive(Debug, Serialize)]
struct StatusItem {
    closed: bool,
    id: String,
    label: &'static str,
    overdue: bool,
    status: &'static str,
    updated_at: chrono::DateTime<Utc>,
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
    let card = RequestCard::of(&ui, &user, &r);
    let page = RequestPage {
        title: format!("Запрос: {}", card.kind_name.as_deref().unwrap_or(&r.kind)),
        nav: "requests",
        r: card,
        notice: done_message(done.as_deref()),
    };
    Ok(ui.page(StatusCode::OK, Some(&user), "request.html", &page))
}

/// `print.html`: the answer as a document to print.
#[derive(Debug, Serialize)]
struct PrintPage {
    title: String,
    nav: &'static str,
    r: RequestCard,
    now: chrono::DateTime<Utc>,
}

/// `GET /ui/requests/{id}/print`: the request and its answer as a printable document.
pub async fn print(State(ui): State<UiState>, user: User, Path(id): Path<String>) -> UiResult {
    let r = load(&ui, &user, &id)?;
    let card = RequestCard::of(&ui, &user, &r);
    let page = PrintPage {
        title: format!("Сведения: {}", card.kind_name.as_deref().unwrap_or(&r.kind)),
        nav: "requests",
        r: card,
        now: Utc::now(),
    };
    Ok(ui.page(StatusCode::OK, Some(&user), "print.html", &page))
}

/// `GET /ui/requests/{id}/panel`: the live part of the card (HTML fragment).
pub async fn panel(State(ui): State<UiState>, user: User, Path(id): Path<String>) -> Response {
    let r = match ui.ctx.store.get_request(&id) {
        Ok(r) if ui.sees(&user, &r.system) => r,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let panel = PanelFragment {
        r: RequestCard::of(&ui, &user, &r),
        csrf: user.s.csrf.clone(),
    };
    match ui.fragment("request_panel.html", &panel) {
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
    let items: Vec<StatusItem> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(200)
        .filter_map(|id| ui.ctx.store.get_request(id).ok())
        .filter(|r| ui.sees(&user, &r.system))
        .map(|r| StatusItem {
            closed: r.state.is_closed(),
            overdue: r.is_overdue(Utc::now()),
            id: r.id,
            label: crate::read::labels::request_state(r.state),
            status: r.state.as_str(),
            updated_at: r.updated_at,
        })
        .collect();
    let mut resp = (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        serde_json::to_string(&StatusList { items }).unwrap_or_else(|_| r#"{"items":[]}"#.into()),
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
