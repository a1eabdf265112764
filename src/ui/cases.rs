//! Cases (заявки): the list (requests grouped by the agency system's case number, filtered
//! and paged) and the case card with its tab «Межведомственные запросы».

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;

use crate::domain::{CaseInfo, RequestRecord, RequestState};

use super::choice::Choice;
use super::render::url_encode;
use super::requests::{
    case_href, filter_of, filter_query, kind_options, status_options, FilterValues, ListQuery,
    RequestRow,
};
use super::{UiState, User};

/// Cases per page.
const PAGE: usize = 20;

/// One case of the list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseRow {
    pub system: String,
    pub reference: String,
    pub href: String,
    pub service: Option<String>,
    pub applicant: Option<String>,
    pub inn: Option<String>,
    pub snils: Option<String>,
    pub requests: usize,
    /// (state, label, count), in lifecycle order.
    pub by_status: Vec<(String, String, usize)>,
    pub overdue: usize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `cases.html`: the case list.
#[derive(Debug, Serialize)]
struct CasesPage<'a> {
    title: &'static str,
    nav: &'static str,
    cases: Vec<CaseRow>,
    total: usize,
    page: usize,
    pages: usize,
    prev_href: Option<String>,
    next_href: Option<String>,
    q: FilterValues<'a>,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    filter_error: Option<String>,
}

/// `case.html`: the case card with its requests.
#[derive(Debug, Serialize)]
struct CasePage {
    title: String,
    nav: &'static str,
    case: CaseInfo,
    system: String,
    system_name: String,
    rows: Vec<RequestRow>,
    /// «Создать запрос» with the case filled in.
    new_href: String,
    created_at: Option<DateTime<Utc>>,
    /// The executor's login and name (the newest request's).
    assignee: Option<String>,
    assignee_name: Option<String>,
    /// Whom the руководитель may assign it to (empty for others).
    executors: Vec<super::choice::Choice>,
    notice: Option<&'static str>,
}

/// Groups requests into cases by (system, case number), newest activity first.
pub fn group(requests: &[RequestRecord]) -> Vec<CaseRow> {
    let now = Utc::now();
    let mut map: BTreeMap<(String, String), (CaseRow, BTreeMap<RequestState, usize>)> =
        BTreeMap::new();
    for r in requests {
        let Some(c) = &r.case else { continue };
        let entry = map
            .entry((r.system.clone(), c.reference.clone()))
            .or_insert_with(|| {
                (
                    CaseRow {
                        system: r.system.clone(),
                        reference: c.reference.clone(),
                        href: case_href(&r.system, &c.reference),
                        service: None,
                        applicant: None,
                        inn: None,
                        snils: None,
                        requests: 0,
                        by_status: Vec::new(),
                        overdue: 0,
                        created_at: r.created_at,
                        updated_at: r.updated_at,
                    },
                    BTreeMap::new(),
                )
            });
        let (row, counts) = entry;
        row.requests += 1;
        *counts.entry(r.state).or_insert(0) += 1;
        if r.is_overdue(now) {
            row.overdue += 1;
        }
        row.updated_at = row.updated_at.max(r.updated_at);
        row.created_at = row.created_at.min(r.created_at);
        row.service = row.service.take().or_else(|| c.service.clone());
        row.applicant = row.applicant.take().or_else(|| c.applicant.clone());
        row.inn = row.inn.take().or_else(|| c.inn.clone());
        row.snils = row.snils.take().or_else(|| c.snils.clone());
    }
    let mut out: Vec<CaseRow> = map
        .into_values()
        .map(|(mut row, counts)| {
            row.by_status = counts
                .into_iter()
                .map(|(s, n)| {
                    (
                        s.as_str().to_string(),
                        crate::read::labels::request_state(s).to_string(),
                        n,
                    )
                })
                .collect();
            row
        })
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
    out
}

/// `GET /ui/cases`.
pub async fn list(State(ui): State<UiState>, user: User, q: super::Q<ListQuery>) -> Response {
    let q = super::query(q);
    let (filter, filter_error) = match filter_of(&ui, &user, &q) {
        Ok(f) => (f, None),
        Err(e) => (
            crate::store::RequestFilter {
                systems: ui.systems_of(&user),
                ..Default::default()
            },
            Some(e),
        ),
    };
    let requests = match ui
        .ctx
        .store
        .requests_where(&|r| r.case.is_some() && filter.matches(r))
    {
        Ok(r) => r,
        Err(e) => {
            return ui.error(
                Some(&user),
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Не удалось прочитать заявки: {e}"),
            )
        }
    };
    let cases = group(&requests);
    let total = cases.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let shown: Vec<CaseRow> = cases
        .into_iter()
        .skip((page - 1) * PAGE)
        .take(PAGE)
        .collect();
    let fq = filter_query(&q);
    let href = |p: usize| {
        format!(
            "/ui/cases?{}{}page={p}",
            fq,
            if fq.is_empty() { "" } else { "&" }
        )
    };
    let view = CasesPage {
        title: "Заявки",
        nav: "cases",
        cases: shown,
        total,
        page,
        pages,
        prev_href: (page > 1).then(|| href(page - 1)),
        next_href: (page < pages).then(|| href(page + 1)),
        q: q.shown(),
        statuses: status_options(),
        kinds: kind_options(&ui, &user),
        filter_error,
    };
    ui.page(StatusCode::OK, Some(&user), "cases.html", &view)
}

/// `?done=…` of the case card.
#[derive(Debug, serde::Deserialize, Default)]
pub struct CaseQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /ui/cases/{system}/{reference}`.
pub async fn card(
    State(ui): State<UiState>,
    user: User,
    Path((system, reference)): Path<(String, String)>,
    q: super::Q<CaseQuery>,
) -> Response {
    let done = super::query(q).done;
    let not_found = || {
        ui.error(
            Some(&user),
            StatusCode::NOT_FOUND,
            "Заявка не найдена или недоступна вам.",
        )
    };
    if !ui.sees(&user, &system) {
        return not_found();
    }
    let ids = ui
        .ctx
        .store
        .case_request_ids(&system, &reference)
        .unwrap_or_default();
    let mut requests: Vec<RequestRecord> = ids
        .iter()
        .filter_map(|id| ui.ctx.store.get_request(id).ok())
        .collect();
    if requests.is_empty() {
        return not_found();
    }
    requests.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let info: CaseInfo = group(&requests)
        .into_iter()
        .next()
        .map(|c| CaseInfo {
            reference: c.reference,
            service: c.service,
            applicant: c.applicant,
            inn: c.inn,
            snils: c.snils,
            metadata: Json::Null,
        })
        .unwrap_or_default();
    let mut new_href = format!(
        "/ui/requests/new?system={}&case_reference={}",
        url_encode(&system),
        url_encode(&info.reference)
    );
    for (k, v) in [
        ("case_service", &info.service),
        ("case_applicant", &info.applicant),
        ("case_inn", &info.inn),
        ("case_snils", &info.snils),
    ] {
        if let Some(v) = v {
            new_href.push_str(&format!("&{k}={}", url_encode(v)));
        }
    }
    let system_name = ui
        .ctx
        .config
        .system(&system)
        .map(|s| s.name.clone())
        .unwrap_or_else(|| system.clone());
    let assignee = requests.iter().find_map(|r| r.assignee.clone());
    let can_assign = super::access::allows(user.s.role, super::access::Action::Monitor);
    let view = CasePage {
        title: format!("Заявка № {}", info.reference),
        nav: "cases",
        assignee_name: assignee.as_deref().map(|a| ui.executor_name(a)),
        assignee,
        executors: if can_assign {
            ui.executor_choices(&system)
        } else {
            Vec::new()
        },
        notice: (done.as_deref() == Some("assigned")).then_some("Исполнитель назначен."),
        created_at: requests.iter().map(|r| r.created_at).min(),
        rows: RequestRow::all(&ui, &requests),
        case: info,
        system,
        system_name,
        new_href,
    };
    ui.page(StatusCode::OK, Some(&user), "case.html", &view)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        id: &str,
        system: &str,
        case: Option<&str>,
        state: RequestState,
        mins: i64,
    ) -> RequestRecord {
        let t = Utc::now() - chrono::Duration::minutes(mins);
        RequestRecord {
            id: id.into(),
            system: system.into(),
            kind: "k".into(),
            client_id: None,
            case: case.map(|c| CaseInfo {
                reference: c.into(),
                applicant: (id == "b").then(|| "Иванов".to_string()),
                ..Default::default()
            }),
            state,
            created_at: t,
            updated_at: t,
            business_xml: String::new(),
            test_message: false,
            attachments: vec![],
            personal: Default::default(),
            message_id: None,
            replaced_message_ids: vec![],
            signed_envelope: None,
            attempts: 0,
            next_due: None,
            last_error: None,
            sent_at: None,
            smev_status: None,
            deadline: Some(Utc::now() - chrono::Duration::hours(1)),
            answer: None,
            statuses: vec![],
            history: vec![],
            created_by: "user:x".into(),
            search_digits: Vec::new(),
            assignee: None,
        }
    }

    #[test]
    fn grouping_by_system_and_case() {
        let rs = vec![
            rec("a", "s1", Some("C-1"), RequestState::Answered, 30),
            rec("b", "s1", Some("C-1"), RequestState::Sent, 10),
            rec("c", "s2", Some("C-1"), RequestState::Failed, 20),
            rec("d", "s1", None, RequestState::Sent, 5),
        ];
        let g = group(&rs);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].system, "s1");
        assert_eq!(g[0].requests, 2);
        assert_eq!(g[0].applicant.as_deref(), Some("Иванов"));
        assert_eq!(g[0].overdue, 1);
        assert_eq!(
            g[0].by_status,
            vec![
                ("sent".to_string(), "Ожидает ответа".to_string(), 1),
                ("answered".to_string(), "Ответ получен".to_string(), 1)
            ]
        );
        assert_eq!(g[1].system, "s2");
        assert_eq!(g[0].href, "/ui/cases/s1/C-1");
    }
}
