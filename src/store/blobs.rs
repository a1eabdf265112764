//! Content-addressed blobs: business XML, signed envelopes, received envelopes, attachments.
//! The key is the GOST R 34.11-2012-256 digest of the bytes, so a blob is stored once however
//! many records refer to it.

use crate::dsig::DigestAlgorithm;

use super::{SledStore, StoreError};

/// Blob key: GOST R 34.11-2012-256 of the content, hex.
pub fn blob_key(bytes: &[u8]) -> Result<String, StoreError> {
    DigestAlgorithm::Streebog256
        .hash(bytes)
        .map(hex::encode)
        .map_err(|e| StoreError::Sled(e.to_string()))
}

impl SledStore {
    /// Stores a blob outside a transaction.
    pub(super) fn put_blob(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let r = (|| {
            let key = blob_key(bytes)?;
            if !self.blobs.contains_key(key.as_bytes())? {
                self.blobs.insert(key.as_bytes(), bytes)?;
            }
            Ok(key)
        })();
        self.noted("put_blob", r)
    }

    pub(super) fn blob(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let r = self
            .blobs
            .get(key.as_bytes())
            .map_err(StoreError::from)
            .and_then(|v| v.map(|v| v.to_vec()).ok_or(StoreError::NotFound));
        self.noted("blob", r)
    }
}
