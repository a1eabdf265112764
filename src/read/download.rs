//! File downloads (stored attachments, XML), the same for the API and the UI: the stored type
//! only when it is a plain `type/subtype`, an RFC 6266 name, and a sandbox so a received file
//! can never act as one of the gateway's pages.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

/// A file download with its type and name (RFC 6266 `filename*`).
pub fn file_response(bytes: Vec<u8>, mime: &str, name: &str) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut headers = HeaderMap::new();
    // A stored MIME type may come from a peer: only a plain `type/subtype` is echoed.
    let mime = crate::smev::attachments::safe_mime(mime);
    if let Ok(v) = header::HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    // Even if a browser renders the file (HTML, SVG), it runs in an opaque origin without
    // scripts: a received file can never act as the gateway's own page.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    if let Ok(v) = header::HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    (headers, Body::from(bytes)).into_response()
}
