//! SMEV's file storage (Файловое хранилище) for attachments above the inline limit: the
//! pluggable interface and the header it produces. A message refers to each stored file by a
//! `RefAttachmentHeader` (the upload directory's UUID v1, the file name, its GOST R 34.11-2012
//! hash and MIME type); received messages name files in `FSAttachmentsList`.
//!
//! The FTP transfer itself is not implemented yet: [`Unavailable`] is the only backend, so the
//! gateway refuses attachments over the inline limit before anything is queued.

use crate::dsig::DigestAlgorithm;

use super::model::{FsAttachment, RefAttachmentHeader};
use super::MessageId;

/// Why a transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileStorageError {
    #[error("SMEV file storage is not configured")]
    NotConfigured,
    #[error("file storage transfer failed: {0}")]
    Transfer(String),
}

/// A file storage backend (FTP in SMEV 3).
pub trait FileStorage: Send + Sync {
    /// Uploads `bytes` as `file_name` into the directory `uuid`.
    fn upload(&self, uuid: &str, file_name: &str, bytes: &[u8]) -> Result<(), FileStorageError>;
    /// Downloads a file named in a received message's `FSAttachmentsList`.
    fn download(&self, attachment: &FsAttachment) -> Result<Vec<u8>, FileStorageError>;
}

/// The backend used until a real one is configured: every transfer is refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unavailable;

impl FileStorage for Unavailable {
    fn upload(&self, _: &str, _: &str, _: &[u8]) -> Result<(), FileStorageError> {
        Err(FileStorageError::NotConfigured)
    }

    fn download(&self, _: &FsAttachment) -> Result<Vec<u8>, FileStorageError> {
        Err(FileStorageError::NotConfigured)
    }
}

/// Uploads a file to a fresh UUID v1 directory and returns its `RefAttachmentHeader`.
pub fn store(
    storage: &dyn FileStorage,
    file_name: &str,
    mime_type: &str,
    bytes: &[u8],
) -> Result<RefAttachmentHeader, FileStorageError> {
    let uuid = MessageId::new().to_string();
    let hash = DigestAlgorithm::Streebog256
        .hash(bytes)
        .map_err(|e| FileStorageError::Transfer(e.to_string()))?;
    storage.upload(&uuid, file_name, bytes)?;
    Ok(RefAttachmentHeader {
        uuid,
        file_name: Some(file_name.to_string()),
        hash,
        mime_type: mime_type.to_string(),
        signature_pkcs7: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Memory(Mutex<Vec<(String, String, Vec<u8>)>>);

    impl FileStorage for Memory {
        fn upload(&self, uuid: &str, name: &str, bytes: &[u8]) -> Result<(), FileStorageError> {
            self.0
                .lock()
                .map_err(|e| FileStorageError::Transfer(e.to_string()))?
                .push((uuid.into(), name.into(), bytes.to_vec()));
            Ok(())
        }

        fn download(&self, a: &FsAttachment) -> Result<Vec<u8>, FileStorageError> {
            let files = self
                .0
                .lock()
                .map_err(|e| FileStorageError::Transfer(e.to_string()))?;
            files
                .iter()
                .find(|(u, n, _)| *u == a.uuid && *n == a.file_name)
                .map(|(_, _, b)| b.clone())
                .ok_or_else(|| FileStorageError::Transfer("no such file".into()))
        }
    }

    #[test]
    fn store_uploads_and_describes_the_file() {
        let m = Memory::default();
        let data = vec![7u8; 10 * 1024 * 1024];
        let h = store(&m, "выписка.zip", "application/zip", &data).unwrap();
        assert!(
            MessageId::parse(&h.uuid).is_ok(),
            "the directory is a UUID v1"
        );
        assert_eq!(h.hash, DigestAlgorithm::Streebog256.hash(&data).unwrap());
        let back = m
            .download(&FsAttachment {
                uuid: h.uuid.clone(),
                user_name: String::new(),
                password: String::new(),
                file_name: "выписка.zip".into(),
            })
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(
            store(&Unavailable, "a", "application/zip", b"x").unwrap_err(),
            FileStorageError::NotConfigured
        );
    }
}
