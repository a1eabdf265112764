//! File downloads (stored attachments, XML), the same for the API and the UI: the stored type
//! only when it is a plain `type/subtype`, an RFC 6266 name, and a sandbox so a received file
//! can never act as one of the gateway's pages.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::domain::AttachmentRef;
use crate::engine::Context;
use crate::store::StoreError;

/// A file download with its type and name (RFC 6266 `filename*`).
pub fn file_response(bytes: Vec<u8>, mime: &str, name: &str) -> Response {
    (download_headers(mime, name), Body::from(bytes)).into_response()
}

/// The headers of a download of `name` typed `mime`.
fn download_headers(mime: &str, name: &str) -> HeaderMap {
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
    headers
}

/// A stored attachment as a download: a file of the file area streamed from disk (a single
/// `Range: bytes=…` honoured with 206, an unsatisfiable one answered 416), a blob read from the
/// database.
pub async fn attachment_response(
    ctx: &Context,
    a: &AttachmentRef,
    range: Option<&header::HeaderValue>,
) -> Result<Response, StoreError> {
    if !a.in_file_area {
        return Ok(file_response(
            ctx.store.blob(&a.hash)?,
            &a.mime_type,
            &a.name,
        ));
    }
    let path = ctx.files.path(&a.hash).ok_or(StoreError::NotFound)?;
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| StoreError::Sled(format!("file area {}: {e}", path.display())))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| StoreError::Sled(format!("file area {}: {e}", path.display())))?
        .len();
    let mut headers = download_headers(&a.mime_type, &a.name);
    headers.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    let wanted = range
        .and_then(|r| r.to_str().ok())
        .map(|r| byte_range(r, size));
    let (status, start, len) = match wanted {
        None => (StatusCode::OK, 0, size),
        Some(Some((start, end))) => {
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Some(None) => {
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes */{size}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response());
        }
    };
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| StoreError::Sled(format!("file area {}: {e}", path.display())))?;
    headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        file.take(len),
        256 * 1024,
    ));
    Ok((status, headers, body).into_response())
}

/// The one range `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size` bytes, as inclusive
/// offsets; None when it is malformed, one of several, or outside the file.
fn byte_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = match (a.is_empty(), b.is_empty()) {
        (true, false) => {
            let n: u64 = b.parse().ok()?;
            (size.saturating_sub(n), size - 1)
        }
        (false, _) => {
            let start: u64 = a.parse().ok()?;
            let end = if b.is_empty() {
                size - 1
            } else {
                b.parse::<u64>().ok()?.min(size - 1)
            };
            (start, end)
        }
        (true, true) => return None,
    };
    (start <= end && start < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn byte_ranges_of_a_thousand_byte_file() {
        for (header, want) in [
            ("bytes=0-99", Some((0, 99))),
            ("bytes=900-", Some((900, 999))),
            ("bytes=-100", Some((900, 999))),
            ("bytes=-5000", Some((0, 999))),
            ("bytes=990-5000", Some((990, 999))),
            ("bytes=1000-", None),
            ("bytes=5-1", None),
            ("bytes=0-1,5-6", None),
            ("bytes=-", None),
            ("items=0-1", None),
            ("bytes=a-b", None),
        ] {
            assert_eq!(byte_range(header, 1000), want, "{header}");
        }
    }
}
