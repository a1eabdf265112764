//! The request list with its filters (shared with the case list).

use super::*;

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
    /// `1`: only the user's own (as executor).
    #[serde(default)]
    pub mine: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub page: Option<usize>,
}

impl ListQuery {
    /// The filter values the form shows again.
    pub(crate) fn shown(&self) -> FilterValues<'_> {
        FilterValues {
            status: self.status.as_deref(),
            kind: self.kind.as_deref(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            q: self.q.as_deref(),
            mine: self.mine.as_deref() == Some("1"),
        }
    }
}

/// The filters as the list form shows them (`q` in the `filters` macro).
#[derive(Debug, Serialize)]
pub(crate) struct FilterValues<'a> {
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub q: Option<&'a str>,
    pub mine: bool,
}

/// `requests.html`: the request list.
#[derive(Debug, Serialize)]
struct RequestsPage<'a> {
    title: &'static str,
    nav: &'static str,
    rows: Vec<RequestRow>,
    q: FilterValues<'a>,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    filter_error: Option<String>,
    next_href: Option<String>,
    first_href: Option<String>,
}

/// Status filter options: groups first, then every state.
pub(crate) fn status_options() -> Vec<Choice> {
    let mut v = vec![
        Choice::new("active", "В работе (все незавершённые)"),
        Choice::new("problems", "С ошибками (ошибка, отклонён, срок истёк)"),
        Choice::new("overdue", "Просроченные (и истёкшие без ответа)"),
        Choice::new(
            "due_soon",
            "Срок истекает сегодня или в следующий рабочий день",
        ),
    ];
    for s in RequestState::ALL {
        if *s != RequestState::Draft {
            v.push(Choice::new(
                s.as_str(),
                crate::read::labels::request_state(*s),
            ));
        }
    }
    v
}

/// The filter of the list query, or a Russian message for a bad date.
pub fn filter_of(ui: &Ui, user: &User, q: &ListQuery) -> Result<RequestFilter, String> {
    let now = Utc::now();
    let status = q.status.as_deref().unwrap_or("");
    let open_states = || -> Vec<RequestState> {
        RequestState::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_closed())
            .collect()
    };
    let states = match status {
        "" | "overdue" => Vec::new(),
        "due_soon" => open_states(),
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
        overdue_at: (status == "overdue").then_some(now),
        deadline_to: (status == "due_soon").then(|| ui.end_of_next_working_day(now)),
        assignee: (q.mine.as_deref() == Some("1")).then(|| user.s.login.clone()),
        ..Default::default()
    })
}

/// Kinds for the filter (those of the user's systems).
pub(crate) fn kind_options(ui: &Ui, user: &User) -> Vec<Choice> {
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
        .map(|k| Choice::new(k.config.id.clone(), k.config.name.clone()))
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
        ("mine", &q.mine),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", url_encode(v)));
        }
    }
    parts.join("&")
}

/// `GET /ui/requests`.
pub async fn list(
    State(ui): State<UiState>,
    user: User,
    q: super::super::Q<ListQuery>,
) -> Response {
    let q = super::super::query(q);
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
    let fq = filter_query(&q);
    let next_href = next.map(|c| {
        format!(
            "/ui/requests?{}{}cursor={}",
            fq,
            if fq.is_empty() { "" } else { "&" },
            url_encode(&c)
        )
    });
    let page = RequestsPage {
        title: "Межведомственные запросы",
        nav: "requests",
        rows: RequestRow::all(&ui, &items),
        q: q.shown(),
        statuses: status_options(),
        kinds: kind_options(&ui, &user),
        filter_error,
        next_href,
        first_href: q.cursor.is_some().then(|| format!("/ui/requests?{fq}")),
    };
    ui.page(StatusCode::OK, Some(&user), "requests.html", &page)
}

// ----- card -----
