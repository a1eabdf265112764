//! A UI user's own password: the hash that counts (one the user set in the UI replaces the
//! configured one), and «Сменить пароль» — the current password, then the new one twice; the
//! change is stored with its audit entry, and the user's other sessions end.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Serialize;

use crate::config::UiUser;
use crate::domain::{Actor, AuditEntry, StoredPassword, Subject};

use super::posted::PostedForm;
use super::{auth, see_other, Ui, UiResult, UiState, User};

/// Shortest new password accepted.
const MIN_LENGTH: usize = 10;
/// Longest (argon2 takes any length; this bounds the work a form can ask for).
const MAX_LENGTH: usize = 256;

impl Ui {
    /// The hash `u`'s password is checked against. When the store cannot say whether the user
    /// changed it, nothing matches: the configured one may be the old, compromised password.
    pub(crate) fn password_hash_of(&self, u: &UiUser) -> String {
        match self.ctx.store.ui_password(&u.login) {
            Ok(Some(p)) => p.hash,
            Ok(None) => u.password_hash.clone(),
            Err(e) => {
                tracing::error!(error = %e, login = %u.login, "cannot read the UI password; login refused");
                String::new()
            }
        }
    }
}

/// `password.html`.
#[derive(Debug, Serialize)]
struct PasswordPage {
    title: &'static str,
    nav: &'static str,
    error: Option<String>,
    notice: Option<&'static str>,
    min_length: usize,
}

fn page(ui: &Ui, user: &User, status: StatusCode, error: Option<String>) -> Response {
    shown(ui, user, status, error, None)
}

fn shown(
    ui: &Ui,
    user: &User,
    status: StatusCode,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let p = PasswordPage {
        title: "Смена пароля",
        nav: "password",
        error,
        notice,
        min_length: MIN_LENGTH,
    };
    ui.page(status, Some(user), "password.html", &p)
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /ui/password`.
pub async fn form(State(ui): State<UiState>, user: User, q: super::Q<DoneQuery>) -> UiResult {
    let notice = (super::query(q).done.as_deref() == Some("changed"))
        .then_some("Пароль изменён. Другие ваши сеансы завершены.");
    Ok(shown(&ui, &user, StatusCode::OK, None, notice))
}

/// What is wrong with the new password, in Russian.
fn refusal(login: &str, current: &str, new: &str, repeat: &str) -> Option<String> {
    let n = new.chars().count();
    if n < MIN_LENGTH {
        Some(format!(
            "Новый пароль слишком короткий: нужно не менее {MIN_LENGTH} символов."
        ))
    } else if n > MAX_LENGTH {
        Some(format!(
            "Новый пароль слишком длинный: не более {MAX_LENGTH} символов."
        ))
    } else if new != repeat {
        Some("Новый пароль и его повтор не совпадают.".into())
    } else if new == current {
        Some("Новый пароль совпадает с текущим.".into())
    } else if new.to_lowercase().contains(&login.to_lowercase()) {
        Some("Новый пароль не должен содержать логин.".into())
    } else {
        None
    }
}

/// `POST /ui/password`.
pub async fn change(
    State(ui): State<UiState>,
    PostedForm { user, form: f }: PostedForm,
) -> UiResult {
    let Some(account) = ui.ctx.config.ui.user(&user.s.login).cloned() else {
        return Ok(page(
            &ui,
            &user,
            StatusCode::FORBIDDEN,
            Some("Учётная запись не найдена в настройках.".into()),
        ));
    };
    let current = f.get("current").to_string();
    let new = f.get("new").to_string();
    if let Some(m) = refusal(&account.login, &current, &new, f.get("repeat")) {
        return Ok(page(&ui, &user, StatusCode::UNPROCESSABLE_ENTITY, Some(m)));
    }
    let hash = ui.password_hash_of(&account);
    let checked = crate::cpu::offload(move || auth::verify_password(&current, &hash)).await;
    if !checked {
        return Ok(page(
            &ui,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Текущий пароль введён неверно.".into()),
        ));
    }
    let hashed = match crate::cpu::offload(move || auth::hash_password(&new)).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot hash the new UI password");
            return Ok(page(
                &ui,
                &user,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("Не удалось сохранить пароль. Обратитесь к администратору.".into()),
            ));
        }
    };
    let now = Utc::now();
    let audit = AuditEntry {
        at: now,
        actor: Actor::User(account.login.clone()),
        subject: Subject::UiUser,
        subject_id: account.login.clone(),
        action: "password_changed".into(),
        from: None,
        to: None,
        reason: "the user changed the UI password; the user's other sessions ended".into(),
        xml: None,
    };
    let stored = StoredPassword {
        hash: hashed,
        changed_at: now,
    };
    if let Err(e) = ui
        .ctx
        .store
        .set_ui_password(&account.login, &stored, &audit)
    {
        tracing::error!(error = %e, login = %account.login, "cannot store the UI password");
        return Ok(page(
            &ui,
            &user,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("Не удалось сохранить пароль: ошибка хранилища. Пароль не изменён.".into()),
        ));
    }
    ui.sessions.remove_login(&account.login, &user.sid);
    Ok(see_other("/ui/password?done=changed"))
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn weak_new_passwords_are_refused() {
        let cases = [
            ("short", "короткий"),
            ("длинный-пароль-1", "не совпадают"),
            ("текущий-пароль", "совпадает с текущим"),
            ("ivanova-2026-!", "содержать логин"),
        ];
        for (new, reason) in cases {
            let repeat = if reason == "не совпадают" {
                "другой"
            } else {
                new
            };
            let m = refusal("ivanova", "текущий-пароль", new, repeat).unwrap_or_default();
            assert!(m.contains(reason), "{new}: {m}");
        }
        assert_eq!(
            refusal("ivanova", "старый", "надёжный-пароль", "надёжный-пароль"),
            None
        );
    }
}
