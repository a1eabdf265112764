//! Content-addressed blobs: business XML, signed envelopes, received envelopes, attachments.
//! The key is the GOST R 34.11-2012-256 digest of the bytes, so a blob is stored once however
//! many records refer to it.

use crate::dsig::DigestAlgorithm;

use super::blob_codec::{packed_key, stored_form, unpack};
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
            if !self.blobs.contains_key(key.as_bytes())?
                && !self.blobs.contains_key(packed_key(&key).as_bytes())?
            {
                let (at, value) = stored_form(&key, bytes);
                self.blobs.insert(at.as_bytes(), value.as_ref())?;
            }
            Ok(key)
        })();
        self.noted("put_blob", r)
    }

    pub(super) fn blob(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let r = (|| {
            if let Some(raw) = self.blobs.get(key.as_bytes())? {
                return Ok(raw.to_vec());
            }
            match self.blobs.get(packed_key(key).as_bytes())? {
                Some(packed) => unpack(&packed),
                None => Err(StoreError::NotFound),
            }
        })();
        self.noted("blob", r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn large_xml() -> Vec<u8> {
        (0..300)
            .map(|i| format!("<Debt Code=\"{i}\">Задолженность {i}</Debt>"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn a_packed_blob_reads_back_after_a_restart_and_takes_less_room() {
        let dir = tempfile::tempdir().unwrap();
        let xml = large_xml();
        let key = {
            let store = SledStore::open(dir.path(), 8 << 20).unwrap();
            let key = store.put_blob(&xml).unwrap();
            assert_eq!(store.put_blob(&xml).unwrap(), key, "stored once");
            store.flush().unwrap();
            key
        };
        let store = SledStore::open(dir.path(), 8 << 20).unwrap();
        assert_eq!(store.blob(&key).unwrap(), xml);
        let kept = store
            .blobs
            .get(packed_key(&key).as_bytes())
            .unwrap()
            .unwrap();
        assert!(
            kept.len() < xml.len() / 2,
            "{} of {}",
            kept.len(),
            xml.len()
        );
        assert!(store.blobs.get(key.as_bytes()).unwrap().is_none());
    }

    #[test]
    fn a_blob_stored_before_packing_existed_is_read_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 8 << 20).unwrap();
        let xml = large_xml();
        let key = blob_key(&xml).unwrap();
        store.blobs.insert(key.as_bytes(), xml.as_slice()).unwrap();
        assert_eq!(store.blob(&key).unwrap(), xml);
        assert_eq!(store.put_blob(&xml).unwrap(), key);
        assert!(
            store
                .blobs
                .get(packed_key(&key).as_bytes())
                .unwrap()
                .is_none(),
            "not stored a second time"
        );
    }
}
