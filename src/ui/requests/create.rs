//! «Создать запрос»: the form built from the data kind, its validation, the preview and sending.

use super::super::schema_form;
use super::create_view::{HiddenField, KindSummary, NewRequestPage, PreviewPage};
use super::*;

/// Systems (with kinds) the user may create requests for.
pub(super) fn creatable(ui: &Ui, user: &User) -> Vec<(String, String, Vec<String>)> {
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

pub(super) fn signature_mode_label(m: PersonalSignatureMode) -> &'static str {
    match m {
        PersonalSignatureMode::None => "без ЭП-СП",
        PersonalSignatureMode::TwoPhase => "требуется ЭП-СП должностного лица",
        PersonalSignatureMode::Configured => "ЭП-СП ставится шлюзом автоматически",
    }
}

/// Resolves the chosen system and kind (first ones by default).
pub(super) fn choose<'a>(
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

pub(super) fn new_client_id() -> String {
    match super::super::session::random_token() {
        Ok(t) => format!("ui-{}", &t[..32]),
        Err(_) => format!("ui-{}", crate::store::new_id()),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn form_page(
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
    let systems: Vec<Choice> = options
        .iter()
        .map(|(id, name, _)| Choice::new(id.clone(), name.clone()))
        .collect();
    let kinds: Vec<Choice> = options
        .iter()
        .find(|(id, _, _)| id == system)
        .map(|(_, _, ks)| {
            ks.iter()
                .filter_map(|k| ui.ctx.kinds.get(k))
                .map(|k| Choice::new(k.config.id.clone(), k.config.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let client_id = match form.get("client_id") {
        "" => new_client_id(),
        c => c.to_string(),
    };
    let page = NewRequestPage {
        title: "Создать запрос",
        nav: "new",
        systems,
        kinds,
        system,
        kind: KindSummary::of(kind),
        case_fields: forms::case_specs(form, errors),
        kind_fields: forms::kind_specs(kind, form, errors),
        schema_rows: schema_form::schema_kind(&ui.ctx, &kind.id)
            .map(|(t, labels)| schema_form::rows(&t.request, form, errors, labels))
            .unwrap_or_default(),
        errors,
        general,
        details,
        client_id,
    };
    ui.page(status, Some(user), "new_request.html", &page)
}

/// How many carried-over values the form page takes from its query, and how long each may be.
const MAX_CARRIED: usize = 200;
const MAX_CARRIED_LEN: usize = 1000;

/// `GET /ui/requests/new`: `system`, `kind`, and values to carry over — the case fields
/// (`case_*`, from the case card) and what was typed before the kind was changed (`f_*`, and
/// `x:`/`c:` of schema forms); the new kind takes those of its fields that have the same names,
/// and its ИНН and СНИЛС fields start from the case's.
pub async fn new_form(
    State(ui): State<UiState>,
    user: User,
    q: super::super::Q<Vec<(String, String)>>,
) -> UiResult {
    ui.require(&user, Action::Create)?;
    let q = super::super::query(q);
    let get = |name: &str| {
        q.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let Some((system, kind)) = choose(&ui, &user, get("system"), get("kind")) else {
        return Ok(ui.error(
        Some(&user),
        StatusCode::FORBIDDEN,
        "Вам не назначено ни одной информационной системы с видами сведений: создавать запросы нельзя.",
    ));
    };
    let mut pairs: Vec<(String, String)> = q
        .iter()
        .filter(|(k, v)| {
            ["case_", "f_", "x:", "c:"].iter().any(|p| k.starts_with(p))
                && !v.trim().is_empty()
                && v.len() <= MAX_CARRIED_LEN
        })
        .take(MAX_CARRIED)
        .cloned()
        .collect();
    forms::prefill_from_case(kind, &mut pairs);
    Ok(form_page(
        &ui,
        &user,
        StatusCode::OK,
        &system,
        kind,
        &FormData(pairs),
        &[],
        None,
        Vec::new(),
    ))
}

/// What a valid form becomes.
pub(super) struct Prepared {
    system: String,
    kind: KindConfig,
    case: crate::domain::CaseInfo,
    xml: String,
    client_id: Option<String>,
}

/// Validates the posted form completely; on failure, the form page to show.
pub(super) fn validate_post(ui: &Ui, user: &User, f: &FormData) -> Result<Prepared, Response> {
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
    let mut v = forms::validate(kind, f);
    let built =
        schema_form::schema_kind(&ui.ctx, &kind.id).map(|(t, _)| schema_form::build(&t.request, f));
    if let Some(Err(field_errors)) = &built {
        v.errors.extend(field_errors.iter().cloned());
    }
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
    let rendered = match built {
        Some(b) => b.map_err(|_| String::new()),
        None => forms::render_request(kind, &v.values),
    };
    let xml = match rendered {
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

pub(super) async fn submit(
    ui: &Ui,
    user: &User,
    p: Prepared,
    attachments: Vec<NewAttachment>,
) -> Response {
    let req = NewRequest {
        system: p.system.clone(),
        kind: p.kind.id.clone(),
        business_xml: p.xml,
        client_id: p.client_id,
        case: Some(p.case),
        attachments,
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
pub async fn prepare(
    State(ui): State<UiState>,
    PostedForm { user, form: f }: PostedForm,
) -> UiResult {
    if f.get("edit") == "1" || !f.get(schema_form::ADD).is_empty() {
        return Ok(match choose(&ui, &user, f.get("system"), f.get("kind")) {
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
        });
    }
    let p = validate_post(&ui, &user, &f)?;
    if p.kind.personal_signature == PersonalSignatureMode::TwoPhase {
        // The request is stored now: the official signs exactly what is stored.
        return Ok(submit(&ui, &user, p, Vec::new()).await);
    }
    let hidden: Vec<HiddenField> =
        f.0.iter()
            .filter(|(k, _)| k != "csrf" && k != "edit" && k != schema_form::ADD)
            .map(|(k, v)| HiddenField { name: k, value: v })
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
    let rows = super::super::xmltable::flatten(&p.xml, &labels).unwrap_or_default();
    let page = PreviewPage {
        title: "Проверка запроса перед отправкой",
        nav: "new",
        hidden,
        xml: &p.xml,
        rows,
        case: &p.case,
        kind_name: &p.kind.name,
        signature: signature_mode_label(p.kind.personal_signature),
        system_name,
        max_files_mb: ui.ctx.config.api.max_body_bytes as u64 >> 20,
        inline_mb: ui.ctx.config.smev.inline_attachment_limit_bytes as u64 >> 20,
    };
    Ok(ui.page(StatusCode::OK, Some(&user), "preview.html", &page))
}

/// `POST /ui/requests/send` (multipart: the carried fields and the files chosen on the preview):
/// «Сохранить и отправить запрос».
pub async fn send(State(ui): State<UiState>, posted: PostedMultipart) -> Response {
    let files = posted.files("files");
    let f = posted.fields();
    match validate_post(&ui, &posted.user, &f) {
        Ok(p) => submit(&ui, &posted.user, p, files).await,
        Err(r) => r,
    }
}

// ----- ЭП-СП -----
