//! Executors (исполнители): the staff member in charge of a case and its requests, or of an
//! incoming request. A request created in the UI is its creator's; the руководитель reassigns a
//! whole case with «Назначить исполнителя» on the case card (every request of the case,
//! audited), and assigns an incoming request on its card. Lists filter by «Только мои», and
//! monitoring counts by executor.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::config::Role;
use crate::engine::intake;

use super::access::Action;
use super::choice::Choice;
use super::posted::PostedForm;
use super::render::url_encode;
use super::{see_other, Ui, UiResult, UiState};

impl Ui {
    /// The people a case of `system` can be assigned to: operators and руководители who work
    /// for that system.
    pub(crate) fn executor_choices(&self, system: &str) -> Vec<Choice> {
        self.ctx
            .config
            .ui
            .users
            .iter()
            .filter(|u| matches!(u.role, Role::Operator | Role::Supervisor))
            .filter(|u| u.systems.is_empty() || u.systems.iter().any(|s| s == system))
            .map(|u| Choice::new(u.login.clone(), u.name.clone()))
            .collect()
    }

    /// An executor's name from the configuration, or the login of someone no longer there.
    pub(crate) fn executor_name(&self, login: &str) -> String {
        self.ctx
            .config
            .ui
            .user(login)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| login.to_string())
    }
}

/// The executor a form posted for an item of `system`: `Ok(None)` for nobody, an error page
/// when that person does not work with the system.
fn posted_executor<'a>(
    ui: &Ui,
    user: &super::User,
    system: &str,
    form: &'a super::forms::FormData,
    what: &str,
) -> Result<Option<&'a str>, axum::response::Response> {
    let assignee = form.get("assignee").trim();
    let assignee = (!assignee.is_empty()).then_some(assignee);
    if let Some(a) = assignee {
        if !ui.executor_choices(system).iter().any(|c| c.value == a) {
            return Err(ui.error(
                Some(user),
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!(
                    "Этому сотруднику нельзя назначить {what}: он не работает с этой информационной системой."
                ),
            ));
        }
    }
    Ok(assignee)
}

/// `POST /ui/cases/{system}/{reference}/assign`: `assignee` (a login, or empty for nobody).
pub async fn assign(
    State(ui): State<UiState>,
    Path((system, reference)): Path<(String, String)>,
    PostedForm { user, form }: PostedForm,
) -> UiResult {
    ui.require(&user, Action::Monitor)?;
    if !ui.sees(&user, &system) {
        return Ok(ui.error(
            Some(&user),
            StatusCode::NOT_FOUND,
            "Заявка не найдена или недоступна вам.",
        ));
    }
    let assignee = posted_executor(&ui, &user, &system, &form, "заявку")?;
    let card = format!(
        "/ui/cases/{}/{}",
        url_encode(&system),
        url_encode(&reference)
    );
    match intake::assign_case(&ui.ctx, &system, &reference, assignee, &user.actor()).await {
        Ok(0) => Ok(ui.error(
            Some(&user),
            StatusCode::NOT_FOUND,
            "Заявка не найдена или недоступна вам.",
        )),
        Ok(_) => Ok(see_other(&format!("{card}?done=assigned"))),
        Err(e) => {
            let r = super::messages::intake_error(&e);
            Ok(ui.error_details(Some(&user), r.status, &r.message, &r.details))
        }
    }
}

/// `POST /ui/incoming/{id}/assign`: `assignee` (a login, or empty for nobody).
pub async fn assign_incoming(
    State(ui): State<UiState>,
    Path(id): Path<String>,
    PostedForm { user, form }: PostedForm,
) -> UiResult {
    ui.require(&user, Action::Monitor)?;
    let r = match ui.ctx.store.get_incoming(&id) {
        Ok(r) if ui.sees(&user, &r.system) => r,
        _ => {
            return Ok(ui.error(
                Some(&user),
                StatusCode::NOT_FOUND,
                "Входящий запрос не найден или недоступен вам.",
            ))
        }
    };
    let assignee = posted_executor(&ui, &user, &r.system, &form, "этот запрос")?;
    match intake::assign_incoming(&ui.ctx, &id, assignee, &user.actor()).await {
        Ok(_) => Ok(see_other(&format!(
            "/ui/incoming/{}?done=assigned",
            url_encode(&id)
        ))),
        Err(e) => {
            let r = super::messages::intake_error(&e);
            Ok(ui.error_details(Some(&user), r.status, &r.message, &r.details))
        }
    }
}
