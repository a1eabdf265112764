//! Every state-changing request of the UI arrives through these extractors, which find the
//! signed-in user and check the session's CSRF token before the handler runs — so a new POST
//! route cannot forget the check. The login form, which has no session yet, is the one
//! exception: [`LoginForm`] reads it, and `login.rs` checks the login page's own token.

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use super::forms::FormData;
use super::{UiState, User};
use crate::engine::intake::{self, NewAttachment};

/// A urlencoded form; a malformed body is a Russian 400 page. Private: handlers take
/// [`PostedForm`] (or [`LoginForm`]).
struct UiForm(FormData);

impl FromRequest<UiState> for UiForm {
    type Rejection = Response;

    async fn from_request(req: Request, ui: &UiState) -> Result<Self, Self::Rejection> {
        match axum::Form::<Vec<(String, String)>>::from_request(req, ui).await {
            Ok(axum::Form(v)) => Ok(UiForm(FormData(v))),
            Err(e) => Err(ui.error(
                None,
                StatusCode::BAD_REQUEST,
                &format!("Форма не может быть прочитана ({}).", e.body_text()),
            )),
        }
    }
}

/// The login form (no session yet: its token is checked by the login handler).
pub struct LoginForm(pub FormData);

impl FromRequest<UiState> for LoginForm {
    type Rejection = Response;

    async fn from_request(req: Request, ui: &UiState) -> Result<Self, Self::Rejection> {
        let UiForm(form) = UiForm::from_request(req, ui).await?;
        Ok(LoginForm(form))
    }
}

/// A urlencoded POST with a valid CSRF token.
pub struct PostedForm {
    pub user: User,
    pub form: FormData,
}

impl FromRequest<UiState> for PostedForm {
    type Rejection = Response;

    async fn from_request(req: Request, ui: &UiState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = User::from_request_parts(&mut parts, ui).await?;
        let UiForm(form) = UiForm::from_request(Request::from_parts(parts, body), ui).await?;
        ui.check_csrf(&user, form.get("csrf"))?;
        Ok(PostedForm { user, form })
    }
}

/// One part of a multipart form.
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// A multipart POST (bounded by the router's body limit) with a valid CSRF token.
pub struct PostedMultipart {
    pub user: User,
    pub parts: Vec<Part>,
}

impl PostedMultipart {
    /// The files posted in the parts named `name` (a file input with `multiple`), skipping an
    /// input left empty; an unusable content type becomes `application/octet-stream`.
    pub fn files(&self, name: &str) -> Vec<NewAttachment> {
        self.parts
            .iter()
            .filter(|p| p.name == name && !p.bytes.is_empty())
            .filter_map(|p| {
                let file_name = p.file_name.clone().filter(|n| !n.is_empty())?;
                let mime = p
                    .content_type
                    .clone()
                    .filter(|m| intake::valid_mime(m))
                    .unwrap_or_else(|| "application/octet-stream".into());
                Some(NewAttachment::in_memory(file_name, mime, p.bytes.to_vec()))
            })
            .collect()
    }

    /// The text parts (those that are not files) as a form.
    pub fn fields(&self) -> FormData {
        FormData(
            self.parts
                .iter()
                .filter(|p| p.file_name.is_none())
                .map(|p| {
                    (
                        p.name.clone(),
                        String::from_utf8_lossy(&p.bytes).to_string(),
                    )
                })
                .collect(),
        )
    }

    /// The first part named `name` as text (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.bytes).to_string())
            .unwrap_or_default()
    }
}

impl FromRequest<UiState> for PostedMultipart {
    type Rejection = Response;

    async fn from_request(req: Request, ui: &UiState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = User::from_request_parts(&mut parts, ui).await?;
        let unreadable = |what: &str, detail: String| {
            ui.error(
                Some(&user),
                StatusCode::BAD_REQUEST,
                &format!("{what} ({detail})."),
            )
        };
        let mut mp = Multipart::from_request(Request::from_parts(parts, body), ui)
            .await
            .map_err(|e| unreadable("Форма не может быть прочитана", e.body_text()))?;
        let mut out = Vec::new();
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(unreadable("Форма не может быть прочитана", e.body_text())),
            };
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(str::to_string);
            let content_type = field.content_type().map(str::to_string);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| unreadable("Файл не загружен полностью", e.body_text()))?;
            out.push(Part {
                name,
                file_name,
                content_type,
                bytes,
            });
        }
        let posted = PostedMultipart { user, parts: out };
        ui.check_csrf(&posted.user, &posted.text("csrf"))?;
        Ok(posted)
    }
}
