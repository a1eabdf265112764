//! Pages for руководитель and администратор: monitoring (counts by status, oldest waiting,
//! errors today), dead letters with «Подтвердить и закрыть» / «Обработать повторно» (both
//! audited by the engine), and the read-only settings view (no secrets shown).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{TimeZone, Utc};
use minijinja::context;
use serde_json::{json, Value as Json};

use crate::config::PersonalSignatureMode;
use crate::domain::{DeadLetter, DeadLetterState, IncomingState, RequestState};
use crate::dsig::CertificateInfo;
use crate::engine::intake;
use crate::read::views::DeadLetterView;

use super::access::Action;
use super::messages;
use super::posted::PostedForm;
use super::render::{to_value, url_encode};
use super::requests::{cert_json, row_json};
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
    let counts: Vec<Json> = RequestState::ALL
        .iter()
        .filter(|s| **s != RequestState::Draft)
        .map(|s| {
            json!({
                "status": s.as_str(),
                "label": crate::read::labels::request_state(*s),
                "count": all.iter().filter(|r| r.state == *s).count(),
                "href": format!("/ui/requests?status={}", s.as_str()),
            })
        })
        .collect();
    let oldest = all
        .iter()
        .filter(|r| r.state == RequestState::Sent)
        .min_by_key(|r| r.sent_at.unwrap_or(r.created_at));
    let oldest = oldest.map(|r| {
        let since = r.sent_at.unwrap_or(r.created_at);
        let mut v = row_json(&ui, r);
        if let Json::Object(m) = &mut v {
            m.insert("waiting".into(), json!(age_ru(now - since)));
        }
        v
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
    let error_rows: Vec<Json> = errors
        .iter()
        .take(20)
        .map(|r| {
            let mut v = row_json(&ui, r);
            if let Json::Object(m) = &mut v {
                let rejections = r
                    .answer
                    .as_ref()
                    .filter(|a| !a.rejections.is_empty())
                    .map(|a| {
                        a.rejections
                            .iter()
                            .map(|x| {
                                format!("{}: {}", messages::rejection_ru(x.code), x.description)
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    });
                let fault = r
                    .answer
                    .as_ref()
                    .and_then(|a| a.smev_fault.as_ref())
                    .or(r.last_error.as_ref())
                    .map(|e| format!("{} ({})", messages::error_code_ru(&e.code), e.code));
                let reason = rejections.or(fault).unwrap_or_default();
                m.insert("reason".into(), json!(reason));
            }
            v
        })
        .collect();
    let overdue = all
        .iter()
        .filter(|r| !r.state.is_closed() && r.deadline.is_some_and(|d| d < now))
        .count();
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
    let incoming_waiting = ui
        .ctx
        .store
        .list_incoming(&systems, None, 10_000)
        .map(|(v, _)| {
            v.iter()
                .filter(|r| r.state == IncomingState::Received)
                .count()
        })
        .unwrap_or(0);
    Ok(ui.page(
        StatusCode::OK,
        Some(&user),
        "monitoring.html",
        context! {
            title => "Мониторинг",
            nav => "monitoring",
            counts => to_value(&counts),
            total => all.len(),
            oldest => to_value(&oldest),
            errors_today,
            error_rows => to_value(&error_rows),
            overdue,
            dead_open,
            incoming_waiting,
            last_smev_answer => to_value(&ui.ctx.last_smev_answer()),
            now => to_value(&now),
        },
    ))
}

fn dead_json(ui: &Ui, d: &DeadLetter, with_xml: bool) -> Json {
    let mut v =
        serde_json::to_value(DeadLetterView::of(&ui.ctx, d, with_xml)).unwrap_or(Json::Null);
    if let Json::Object(m) = &mut v {
        m.insert(
            "href".into(),
            json!(format!("/ui/dead-letters/{}", url_encode(&d.id))),
        );
        m.insert(
            "reason_ru".into(),
            json!(messages::dead_letter_reason_ru(&d.reason)),
        );
        m.insert(
            "queue_ru".into(),
            json!(messages::queue_ru(d.source.as_str())),
        );
        m.insert(
            "reason_short".into(),
            json!(if d.reason.chars().count() > 160 {
                format!("{}…", d.reason.chars().take(160).collect::<String>())
            } else {
                d.reason.clone()
            }),
        );
        m.insert("undecided".into(), json!(d.state == DeadLetterState::Open));
        m.insert(
            "state_label".into(),
            json!(match d.state {
                DeadLetterState::Open => "Требует решения",
                DeadLetterState::Closed => "Подтверждено и закрыто",
                DeadLetterState::Reprocessed => "Обработано повторно",
            }),
        );
        m.insert(
            "history".into(),
            json!(d
                .history
                .iter()
                .map(|(at, actor, what)| json!({"at": at, "actor": actor, "what": what}))
                .collect::<Vec<_>>()),
        );
    }
    v
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
    let rows: Vec<Json> = list.iter().map(|d| dead_json(&ui, d, false)).collect();
    Ok(ui.page(
        StatusCode::OK,
        Some(&user),
        "dead_letters.html",
        context! {
            title => "Необработанные сообщения",
            nav => "dead_letters",
            rows => to_value(&rows),
        },
    ))
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
    Ok(ui.page(
        StatusCode::OK,
        Some(&user),
        "dead_letter.html",
        context! {
            title => "Необработанное сообщение",
            nav => "dead_letters",
            d => to_value(&dead_json(&ui, &d, true)),
            notice,
        },
    ))
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
    let cfg = &ui.ctx.config;
    let systems: Vec<Json> = cfg
    .systems
    .iter()
    .map(|s| {
        let rt = ui.ctx.systems.get(&s.id);
        json!({
            "id": s.id,
            "name": s.name,
            "mnemonic": s.mnemonic,
            "kinds": s.kinds,
            "provider_kinds": s.provider_kinds,
            "endpoint": s.endpoint.clone().unwrap_or_else(|| cfg.smev.endpoint.clone()),
            "node_id": s.node_id,
            "tokens": s.tokens.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
            "webhook": s.webhook.as_ref().map(|w| w.url.clone()),
            "ov_cert": rt.map(|r| cert_json(&CertificateInfo::of(r.client.signer().certificate()))),
            "sp_cert": rt.and_then(|r| r.personal_signer.as_ref()).map(|p| cert_json(&CertificateInfo::of(p.certificate()))),
        })
    })
    .collect();
    let kinds: Vec<Json> = cfg
        .kinds
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "name": k.name,
                "request": format!("{{{}}}{}", k.request.namespace, k.request.root),
                "response": format!("{{{}}}{}", k.response.namespace, k.response.root),
                "signature": match k.personal_signature {
                    PersonalSignatureMode::None => "без ЭП-СП",
                    PersonalSignatureMode::TwoPhase => "ЭП-СП должностного лица (двухэтапно)",
                    PersonalSignatureMode::Configured => "ЭП-СП ключом системы",
                },
                "deadline_working_days": k.deadline_working_days,
                "fields": k.fields.iter().map(|f| json!({
                    "name": f.name, "label": f.label, "required": f.required, "format": f.format,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let users: Vec<Json> = cfg
    .ui
    .users
    .iter()
    .map(|u| {
        json!({
            "login": u.login,
            "name": u.name,
            "role": super::access::role_label(u.role),
            "systems": if u.systems.is_empty() { "все".to_string() } else { u.systems.join(", ") },
        })
    })
    .collect();
    let general = json!({
        "smev_endpoint": cfg.smev.endpoint,
        "test_messages": cfg.smev.test_messages,
        "verify_answers": cfg.smev.verify_answers,
        "smev_trust": cfg.smev.trust.as_ref().map(|p| p.display().to_string()),
        "listen": cfg.api.listen,
        "timezone": cfg.ui.timezone,
        "session_ttl_minutes": cfg.ui.session_ttl_minutes,
        "secure_cookie": cfg.ui.secure_cookie,
        "send_concurrency": cfg.engine.send_concurrency,
        "retry_base_ms": cfg.engine.retry_base_ms,
        "retry_max_ms": cfg.engine.retry_max_ms,
        "storage": cfg.storage.path.display().to_string(),
        "storage_bytes": ui.ctx.store.size_on_disk().ok(),
        "retention_days": cfg.retention.enabled.then_some(cfg.retention.closed_after_days),
        "sessions": ui.sessions.len(),
    });
    Ok(ui.page(
        StatusCode::OK,
        Some(&user),
        "settings.html",
        context! {
            title => "Настройки",
            nav => "settings",
            general => to_value(&general),
            systems => to_value(&systems),
            kinds => to_value(&kinds),
            users => to_value(&users),
        },
    ))
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
