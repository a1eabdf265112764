//! Downloads of a request's files: attachments, the business XML, the answer's XML.

use super::*;

pub(super) fn download(bytes: Vec<u8>, mime: &str, name: &str) -> Response {
    let mut r = file_response(bytes, mime, name);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    r
}

/// `GET /ui/requests/{id}/attachments/{n}`: a file of the answer.
pub async fn attachment(
    State(ui): State<UiState>,
    user: User,
    Path((id, n)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> UiResult {
    let r = load(&ui, &user, &id)?;
    let a = n
        .parse::<usize>()
        .ok()
        .and_then(|n| r.answer.as_ref().and_then(|a| a.attachments.get(n)));
    let Some(a) = a else {
        return Ok(ui.error(Some(&user), StatusCode::NOT_FOUND, "Такого вложения нет."));
    };
    Ok(ui.attachment_download(&user, a, &headers).await)
}

/// `GET /ui/requests/{id}/files/{n}`: a file the request carries — the official downloads it
/// to sign it (two-phase ЭП-СП of files), staff to see what was sent.
pub async fn request_file(
    State(ui): State<UiState>,
    user: User,
    Path((id, n)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> UiResult {
    let r = load(&ui, &user, &id)?;
    let Some(a) = n.parse::<usize>().ok().and_then(|n| r.attachments.get(n)) else {
        return Ok(ui.error(
            Some(&user),
            StatusCode::NOT_FOUND,
            "Такого файла в запросе нет.",
        ));
    };
    Ok(ui.attachment_download(&user, a, &headers).await)
}

/// `GET /ui/requests/{id}/business.xml`: the request XML as stored (and as signed).
pub async fn business_xml(
    State(ui): State<UiState>,
    user: User,
    Path(id): Path<String>,
) -> UiResult {
    let r = load(&ui, &user, &id)?;
    Ok(match ui.ctx.store.blob(&r.business_xml) {
        Ok(b) => download(
            b,
            "application/xml",
            &document_name(&ui, "Запрос", &r, r.created_at),
        ),
        Err(_) => ui.error(Some(&user), StatusCode::NOT_FOUND, "XML запроса не найден."),
    })
}

/// `GET /ui/requests/{id}/answer.xml`: the answer's business XML.
pub async fn answer_xml(State(ui): State<UiState>, user: User, Path(id): Path<String>) -> UiResult {
    let r = load(&ui, &user, &id)?;
    let key = r.answer.as_ref().and_then(|a| a.business_xml.clone());
    Ok(match key.map(|k| ui.ctx.store.blob(&k)) {
        Some(Ok(b)) => download(
            b,
            "application/xml",
            &document_name(
                &ui,
                "Ответ",
                &r,
                r.answer.as_ref().map_or(r.updated_at, |a| a.received_at),
            ),
        ),
        _ => ui.error(
            Some(&user),
            StatusCode::NOT_FOUND,
            "У запроса нет ответа с данными.",
        ),
    })
}

/// A file name a clerk recognises in her downloads folder: «Ответ, заявка ЗАЯВ-2026-000101,
/// fns-tax-debt, 03.12.2026.xml» — what, for which case, which kind, when.
fn document_name(
    ui: &Ui,
    what: &str,
    r: &RequestRecord,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut parts = vec![what.to_string()];
    if let Some(c) = &r.case {
        parts.push(format!("заявка {}", c.reference));
    }
    parts.push(r.kind.clone());
    parts.push(at.with_timezone(&ui.tz).format("%d.%m.%Y").to_string());
    let name: String = parts
        .join(", ")
        .chars()
        // Characters a file system or a header would refuse become a dash.
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '-'
            } else {
                c
            }
        })
        .take(150)
        .collect();
    format!("{name}.xml")
}

impl Ui {
    /// A stored attachment as a download (`Range` honoured for large files), or the error page
    /// when its bytes cannot be read.
    pub(crate) async fn attachment_download(
        &self,
        user: &User,
        a: &crate::domain::AttachmentRef,
        headers: &axum::http::HeaderMap,
    ) -> Response {
        let range = headers.get(axum::http::header::RANGE);
        match crate::read::download::attachment_response(&self.ctx, a, range).await {
            Ok(r) => r,
            Err(e) => self.error(
                Some(user),
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Файл вложения не читается из хранилища: {e}"),
            ),
        }
    }
}
