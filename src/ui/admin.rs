//! Pages for руководитель and администратор: monitoring (counts by status, oldest waiting,
//! errors today), dead letters with «Подтвердить и закрыть» / «Обработать повторно» (both
//! audited by the engine), and the read-only settings view (no secrets shown).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{TimeZone, Utc};

use crate::domain::{DeadLetter, DeadLetterState, IncomingState, RequestState};
use crate::engine::intake;
use crate::store::IncomingFilter;

use super::access::Action;
use super::admin_view::{
    DeadLetterCard, DeadLetterPage, DeadLettersPage, FailedRow, GeneralSettings, KindSettings,
    MonitoringPage, SettingsPage, StateCount, SystemSettings, UserSettings, WaitingRow,
};
use super::messages;
use super::posted::PostedForm;
use super::render::url_encode;
use super::requests::RequestRow;
use super::{see_other, Ui, UiResult, UiState, User};

/// «2 ч 15 мин», «3 дн 4 ч», «5 мин».
pub fn age_ru(d: chrono::Duration) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, m) = (mins / 1440, (mins / 60) % 24, mins % 60);
    if days > 0 {
        format!("{days} дн {hours} ч")
    } else if hours > 0 {
        format!("{hours} ч {m} мин")
    } else {
        format!("{m} мин")
    }
}

/// `GET /ui/monitoring`.
pub async fn monitoring(State(ui): State<UiState>, user: User) -> UiResult {
    ui.require(&user, Action::Monitor)?;
    let systems = ui.systems_of(&user);
    let all = match ui
        .ctx
        .store
        .requests_where(&|r| systems.contains(&r.system))
    {
        Ok(x) => x,
        Err(e) => {
            return Ok(ui.error(
                Some(&user),
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Не удалось прочитать запросы: {e}"),
            ))
        }
    };
    let now = Utc::now();
    let today = now.with_timezone(&ui.tz).date_naive();
    let today_start = today
        .and_hms_opt(0, 0, 0)
        .and_then(|t| ui.tz.from_local_datetime(&t).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let counts: Vec<StateCount> = RequestState::ALL
        .iter()
        .filter(|s| **s != RequestState::Draft)
        .map(|s| StateCount {
            status: s.as_str(),
            label: crate::read::labels::request_state(*s),
            count: all.iter().filter(|r| r.state == *s).count(),
            href: format!("/ui/requests?status={}", s.as_str()),
        })
        .collect();
    let oldest = all
        .iter()
        .filter(|r| r.state == RequestState::Sent)
        .min_by_key(|r| r.sent_at.unwrap_or(r.created_at));
    let oldest = oldest.map(|r| WaitingRow {
        row: RequestRow::of(&ui, r),
        waiting: age_ru(now - r.sent_at.unwrap_or(r.created_at)),
    });
    // Every failure or rejection that happened today counts, also when the request was
    // retried and answered since.
    let failures_today = |r: &crate::domain::RequestRecord| {
        r.history
            .iter()
            .filter(|t| {
                t.at >= today_start && matches!(t.to, RequestState::Failed | RequestState::Rejected)
            })
            .count()
    };
    let mut errors: Vec<_> = all.iter().filter(|r| failures_today(r) > 0).collect();
    errors.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    let errors_today: usize = errors.iter().map(|r| failures_today(r)).sum();
    let error_rows: Vec<FailedRow> = errors
        .iter()
        .take(20)
        .map(|r| {
            let rejections = r
                .answer
                .as_ref()
                .filter(|a| !a.rejections.is_empty())
                .map(|a| {
                    a.rejections
                        .iter()
                        .map(|x| format!("{}: {}", messages::rejection_ru(x.code), x.description))
                        .collect::<Vec<_>>()
                        .join("; ")
                });
            let fault = r
                .answer
                .as_ref()
                .and_then(|a| a.smev_fault.as_ref())
                .or(r.last_error.as_ref())
                .map(|e| format!("{} ({})", messages::error_code_ru(&e.code), e.code));
            FailedRow {
                row: RequestRow::of(&ui, r),
                reason: rejections.or(fault).unwrap_or_default(),
            }
        })
        .collect();
    let mut overdue_list: Vec<_> = all.iter().filter(|r| r.is_overdue(now)).collect();
    overdue_list.sort_by_key(|r| r.deadline);
    let overdue = overdue_list.len();
    let soon = ui.due_soon_window(now);
    let due_soon = all
        .iter()
        .filter(|r| soon.holds(r.deadline, !r.state.is_closed()))
        .count();
    let overdue_rows: Vec<RequestRow> = overdue_list
        .iter()
        .take(50)
        .map(|r| RequestRow::of(&ui, r))
        .collect();
    let dead_open = ui
        .ctx
        .store
        .list_dead_letters(&systems)
        .map(|v| {
            v.iter()
                .filter(|d| d.state == DeadLetterState::Open)
                .count()
        })
        .unwrap_or(0);
    let incoming = ui
        .ctx
        .store
        .list_incoming(&IncomingFilter::of_systems(&systems), None, 10_000)
        .map(|(v, _)| v)
        .unwrap_or_default();
    let monitored = || super::deadlines::Monitored {
        requests: &all,
        incoming: &incoming,
    };
    let by_kind = ui.deadlines_by_kind(monitored(), now);
    let by_executor = ui.deadlines_by_executor(monitored(), now);
    let incoming_waiting = incoming
        .iter()
        .filter(|r| r.state == IncomingState::Received)
        .count();
    let incoming_overdue = incoming.iter().filter(|r| r.is_overdue(now)).count();
    let incoming_due_soon = incoming
        .iter()
        .filter(|r| soon.holds(r.answer_deadline, r.awaits_answer()))
        .count();
    let page = MonitoringPage {
        title: "Мониторинг",
        nav: "monitoring",
        counts,
        total: all.len(),
        oldest,
        errors_today,
        error_rows,
        overdue,
        overdue_rows,
        due_soon,
        by_kind,
        by_executor,
        dead_open,
        incoming_waiting,
        incoming_overdue,
        incoming_due_soon,
        last_smev_answer: ui.ctx.last_smev_answer(),
        now,
    };
    Ok(ui.page(StatusCode::OK, Some(&user), "monitoring.html", &page))
}

/// `GET /ui/dead-letters`.
pub async fn dead_letters(State(ui): State<UiState>, user: User) -> UiResult {
    ui.require(&user, Action::Admin)?;
    let list = match ui.ctx.store.list_dead_letters(&ui.systems_of(&user)) {
        Ok(x) => x,
        Err(e) => {
            return Ok(ui.error(
                Some(&user),
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Не удалось прочитать сообщения: {e}"),
            ))
        }
    };
    let page = DeadLettersPage {
        title: "Необработанные сообщения",
        nav: "dead_letters",
        rows: list
            .iter()
            .map(|d| DeadLetterCard::of(&ui, d, false))
            .collect(),
    };
    Ok(ui.page(StatusCode::OK, Some(&user), "dead_letters.html", &page))
}

fn load_dead(ui: &Ui, user: &User, id: &str) -> Result<DeadLetter, Response> {
    match ui.ctx.store.get_dead_letter(id) {
        Ok(d) if ui.sees(user, &d.system) => Ok(d),
        _ => Err(ui.error(
            Some(user),
            StatusCode::NOT_FOUND,
            "Сообщение не найдено или недоступно вам.",
        )),
    }
}

/// `GET /ui/dead-letters/{id}`.
pub async fn dead_letter(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
    q: super::Q<std::collections::HashMap<String, String>>,
) -> UiResult {
    ui.require(&user, Action::Admin)?;
    let d = load_dead(&ui, &user, &id)?;
    let q: std::collections::HashMap<String, String> = super::query(q);
    let notice = match q.get("done").map(String::as_str) {
        Some("closed") => {
            Some("Сообщение подтверждено (СМЭВ сообщено об отказе в приёме) и закрыто.")
        }
        Some("reprocessed") => Some("Сообщение обработано повторно."),
        _ => None,
    };
    let page = DeadLetterPage {
        title: "Необработанное сообщение",
        nav: "dead_letters",
        d: DeadLetterCard::of(&ui, &d, true),
        notice,
    };
    Ok(ui.page(StatusCode::OK, Some(&user), "dead_letter.html", &page))
}

async fn dead_action(ui: UiState, user: User, id: String, reprocess: bool) -> UiResult {
    ui.require(&user, Action::Admin)?;
    load_dead(&ui, &user, &id)?;
    let result = if reprocess {
        intake::dead_letter_reprocess(&ui.ctx, &id, &user.actor()).await
    } else {
        intake::dead_letter_ack_and_close(&ui.ctx, &id, &user.actor()).await
    };
    Ok(match result {
        Ok(_) => see_other(&format!(
            "/ui/dead-letters/{}?done={}",
            url_encode(&id),
            if reprocess { "reprocessed" } else { "closed" }
        )),
        Err(e) => {
            let m = messages::intake_error(&e);
            ui.error_details(Some(&user), m.status, &m.message, &m.details)
        }
    })
}

/// `POST /ui/dead-letters/{id}/ack-and-close`.
pub async fn ack_and_close(
    State(ui): State<UiState>,
    Path(id): Path<String>,
    PostedForm { user, .. }: PostedForm,
) -> UiResult {
    dead_action(ui, user, id, false).await
}

/// `POST /ui/dead-letters/{id}/reprocess`.
pub async fn reprocess(
    State(ui): State<UiState>,
    Path(id): Path<String>,
    PostedForm { user, .. }: PostedForm,
) -> UiResult {
    dead_action(ui, user, id, true).await
}

/// `GET /ui/settings`: the configuration as staff may see it (no keys, hashes or tokens).
pub async fn settings(State(ui): State<UiState>, user: User) -> UiResult {
    ui.require(&user, Action::Admin)?;
    let page = SettingsPage {
        title: "Настройки",
        nav: "settings",
        general: GeneralSettings::of(&ui),
        systems: SystemSettings::all(&ui),
        kinds: KindSettings::all(&ui.ctx.config),
        users: UserSettings::all(&ui.ctx.config),
    };
    Ok(ui.page(StatusCode::OK, Some(&user), "settings.html", &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age_ru(chrono::Duration::minutes(5)), "5 мин");
        assert_eq!(age_ru(chrono::Duration::minutes(135)), "2 ч 15 мин");
        assert_eq!(
            age_ru(chrono::Duration::minutes(3 * 1440 + 250)),
            "3 дн 4 ч"
        );
        assert_eq!(age_ru(chrono::Duration::minutes(-5)), "0 мин");
    }
}
