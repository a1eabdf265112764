//! SMEV's file storage (Файловое хранилище): the FTP client for attachments above the inline
//! limit. A sender uploads each file into a fresh UUID v1 directory of its system's FTP area and
//! names it in the signed `RefAttachmentHeader` (uuid, file name, GOST R 34.11-2012 hash, MIME
//! type); a receiver gets `FSAttachmentsList` (uuid, one-time user name and password, file name)
//! and downloads `/<uuid>/<FileName>` before it acknowledges the message.
//!
//! Every transfer streams (nothing holds a whole file), is bounded by a per-step timeout and a
//! byte limit, and resumes at an offset with `REST`. Names a peer sent are checked before they
//! become a path: a UUID and a plain file name, nothing else.

use std::time::Duration;

use suppaftp::tokio::AsyncFtpStream;
use suppaftp::types::FileType;
use suppaftp::{FtpError, Mode, Status};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::model::FsAttachment;

/// Where a file storage is and how long one step of a transfer may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpEndpoint {
    /// `host:port`.
    pub address: String,
    /// Connect, each command and each read or write of the data connection.
    pub step_timeout: Duration,
}

/// Why a transfer failed; [`FileStorageError::is_permanent`] tells a retry from a refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileStorageError {
    #[error("SMEV file storage is not configured for this system")]
    NotConfigured,
    #[error("file storage {address} is unreachable: {reason}")]
    Connect { address: String, reason: String },
    #[error("file storage refused the login of {user}: {reason}")]
    LoginRefused { user: String, reason: String },
    #[error("file storage has no file {path}: {reason}")]
    NotFound { path: String, reason: String },
    #[error("file storage transfer of {path} failed: {reason}")]
    Transfer { path: String, reason: String },
    #[error("file storage did not answer within {0:?} ({1})")]
    Timeout(Duration, &'static str),
    #[error("file {path} is larger than the limit of {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error("unsafe file storage name {0:?}: a UUID directory and a plain file name are expected")]
    UnsafeName(String),
    #[error("local file: {0}")]
    Local(String),
}

impl FileStorageError {
    /// A stable short name of the failure (for error codes and metrics).
    pub fn code(&self) -> &'static str {
        match self {
            FileStorageError::NotConfigured => "not_configured",
            FileStorageError::Connect { .. } => "connect",
            FileStorageError::LoginRefused { .. } => "login_refused",
            FileStorageError::NotFound { .. } => "not_found",
            FileStorageError::Transfer { .. } => "transfer",
            FileStorageError::Timeout(..) => "timeout",
            FileStorageError::TooLarge { .. } => "too_large",
            FileStorageError::UnsafeName(_) => "unsafe_name",
            FileStorageError::Local(_) => "local",
        }
    }

    /// Whether trying again cannot help (the peer's names are unusable, the file is too big).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            FileStorageError::TooLarge { .. } | FileStorageError::UnsafeName(_)
        )
    }
}

/// Whether `s` is a UUID in its canonical text form (the storage's directory names).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether `name` is usable as one path segment: not empty, no separators, no `.`/`..`, no
/// control characters, at most 255 bytes.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
}

/// The path of a received file in the storage, once its names are checked.
pub fn download_path(a: &FsAttachment) -> Result<String, FileStorageError> {
    storage_path(&a.uuid, &a.file_name)
}

/// `/<uuid>/<file_name>`, once both are checked.
pub fn storage_path(uuid: &str, file_name: &str) -> Result<String, FileStorageError> {
    if !is_uuid(uuid) {
        return Err(FileStorageError::UnsafeName(uuid.to_string()));
    }
    if !is_plain_file_name(file_name) {
        return Err(FileStorageError::UnsafeName(file_name.to_string()));
    }
    Ok(format!("/{uuid}/{file_name}"))
}

async fn step<T>(
    timeout: Duration,
    what: &'static str,
    f: impl std::future::Future<Output = T>,
) -> Result<T, FileStorageError> {
    tokio::time::timeout(timeout, f)
        .await
        .map_err(|_| FileStorageError::Timeout(timeout, what))
}

fn transfer(path: &str, e: impl std::fmt::Display) -> FileStorageError {
    FileStorageError::Transfer {
        path: path.to_string(),
        reason: e.to_string(),
    }
}

/// A logged-in session in binary passive mode.
async fn session(
    endpoint: &FtpEndpoint,
    user: &str,
    password: &str,
) -> Result<AsyncFtpStream, FileStorageError> {
    let t = endpoint.step_timeout;
    let mut ftp = step(t, "connect", AsyncFtpStream::connect(&endpoint.address))
        .await?
        .map_err(|e| FileStorageError::Connect {
            address: endpoint.address.clone(),
            reason: e.to_string(),
        })?;
    ftp.set_mode(Mode::Passive);
    step(t, "login", ftp.login(user, password))
        .await?
        .map_err(|e| FileStorageError::LoginRefused {
            user: user.to_string(),
            reason: e.to_string(),
        })?;
    step(t, "TYPE I", ftp.transfer_type(FileType::Binary))
        .await?
        .map_err(|e| transfer("/", e))?;
    Ok(ftp)
}

async fn quit(mut ftp: AsyncFtpStream, t: Duration) {
    // The transfer is complete; a failed QUIT only leaves the server to drop the connection.
    if let Ok(Err(e)) = tokio::time::timeout(t, ftp.quit()).await {
        tracing::debug!(error = %e, "FTP QUIT failed");
    }
}

/// Copies `from` into `to`, each read and write bounded by `t`, refusing more than `limit`
/// bytes in all (`already` of them written before); returns the bytes copied.
async fn copy_bounded(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    t: Duration,
    already: u64,
    limit: u64,
    path: &str,
) -> Result<u64, FileStorageError> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut copied = 0u64;
    loop {
        let n = step(t, "data read", from.read(&mut buf))
            .await?
            .map_err(|e| transfer(path, e))?;
        if n == 0 {
            return Ok(copied);
        }
        if already + copied + n as u64 > limit {
            return Err(FileStorageError::TooLarge {
                path: path.to_string(),
                limit,
            });
        }
        step(t, "data write", to.write_all(&buf[..n]))
            .await?
            .map_err(|e| transfer(path, e))?;
        copied += n as u64;
    }
}

/// Downloads a received file from `offset` on into `sink`; returns the bytes written this
/// time. At most `limit` bytes in all (`offset` included) are accepted.
pub async fn download(
    endpoint: &FtpEndpoint,
    attachment: &FsAttachment,
    offset: u64,
    limit: u64,
    sink: &mut (impl AsyncWrite + Unpin),
) -> Result<u64, FileStorageError> {
    let path = download_path(attachment)?;
    let t = endpoint.step_timeout;
    let mut ftp = session(endpoint, &attachment.user_name, &attachment.password).await?;
    if offset > 0 {
        let offset = usize::try_from(offset).map_err(|e| transfer(&path, e))?;
        step(t, "REST", ftp.resume_transfer(offset))
            .await?
            .map_err(|e| transfer(&path, e))?;
    }
    let mut stream = match step(t, "RETR", ftp.retr_as_stream(&path)).await? {
        Ok(s) => s,
        Err(FtpError::UnexpectedResponse(r)) if r.status == Status::FileUnavailable => {
            return Err(FileStorageError::NotFound {
                path,
                reason: String::from_utf8_lossy(&r.body).trim().to_string(),
            })
        }
        Err(e) => return Err(transfer(&path, e)),
    };
    let copied = copy_bounded(&mut stream, sink, t, offset, limit, &path).await?;
    step(t, "transfer end", stream.finish())
        .await?
        .map_err(|e| transfer(&path, e))?;
    step(t, "local flush", sink.flush())
        .await?
        .map_err(|e| FileStorageError::Local(e.to_string()))?;
    quit(ftp, t).await;
    Ok(copied)
}

/// The size of `/<uuid>/<file_name>` in the system's area, or None when it is not there.
pub async fn uploaded_size(
    endpoint: &FtpEndpoint,
    user: &str,
    password: &str,
    uuid: &str,
    file_name: &str,
) -> Result<Option<u64>, FileStorageError> {
    let path = storage_path(uuid, file_name)?;
    let t = endpoint.step_timeout;
    let mut ftp = session(endpoint, user, password).await?;
    let size = match step(t, "SIZE", ftp.size(&path)).await? {
        Ok(n) => Some(n as u64),
        Err(FtpError::UnexpectedResponse(r)) if r.status == Status::FileUnavailable => None,
        Err(e) => return Err(transfer(&path, e)),
    };
    quit(ftp, t).await;
    Ok(size)
}

/// Uploads `source` as `/<uuid>/<file_name>` of the system's area (the directory is made when
/// missing), writing from `offset` on (`source` must already be at that offset); returns the
/// bytes sent this time.
pub async fn upload(
    endpoint: &FtpEndpoint,
    user: &str,
    password: &str,
    uuid: &str,
    file_name: &str,
    offset: u64,
    source: &mut (impl AsyncRead + Unpin),
) -> Result<u64, FileStorageError> {
    let path = storage_path(uuid, file_name)?;
    let t = endpoint.step_timeout;
    let mut ftp = session(endpoint, user, password).await?;
    match step(t, "MKD", ftp.mkdir(format!("/{uuid}"))).await? {
        Ok(()) => {}
        // It exists already: an earlier attempt made it.
        Err(FtpError::UnexpectedResponse(r)) if r.status == Status::FileUnavailable => {}
        Err(e) => return Err(transfer(&path, e)),
    }
    if offset > 0 {
        let offset = usize::try_from(offset).map_err(|e| transfer(&path, e))?;
        step(t, "REST", ftp.resume_transfer(offset))
            .await?
            .map_err(|e| transfer(&path, e))?;
    }
    let mut stream = step(t, "STOR", ftp.put_with_stream(&path))
        .await?
        .map_err(|e| transfer(&path, e))?;
    let sent = copy_bounded(source, &mut stream, t, 0, u64::MAX, &path).await?;
    step(t, "transfer end", stream.finish())
        .await?
        .map_err(|e| transfer(&path, e))?;
    quit(ftp, t).await;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_a_peer_are_checked_before_they_become_a_path() {
        let ok = FsAttachment {
            uuid: "5f1c0e2a-8b8c-11eb-8dcd-0242ac130003".into(),
            user_name: "u".into(),
            password: "p".into(),
            file_name: "Выписка ЕГРН.pdf".into(),
        };
        assert_eq!(
            download_path(&ok).unwrap(),
            "/5f1c0e2a-8b8c-11eb-8dcd-0242ac130003/Выписка ЕГРН.pdf"
        );
        for (uuid, name) in [
            ("../../etc", "passwd"),
            ("5f1c0e2a-8b8c-11eb-8dcd-0242ac13000", "a.pdf"),
            ("5f1c0e2a-8b8c-11eb-8dcd-0242ac13000g", "a.pdf"),
            ("5f1c0e2a-8b8c-11eb-8dcd-0242ac130003", "../a.pdf"),
            ("5f1c0e2a-8b8c-11eb-8dcd-0242ac130003", ".."),
            ("5f1c0e2a-8b8c-11eb-8dcd-0242ac130003", ""),
            ("5f1c0e2a-8b8c-11eb-8dcd-0242ac130003", "a\r\nDELE x"),
            ("5f1c0e2a-8b8c-11eb-8dcd-0242ac130003", "dir\\a.pdf"),
        ] {
            let a = FsAttachment {
                uuid: uuid.into(),
                file_name: name.into(),
                ..ok.clone()
            };
            assert!(
                matches!(download_path(&a), Err(FileStorageError::UnsafeName(_))),
                "{uuid} {name:?}"
            );
        }
    }
}
