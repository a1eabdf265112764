//! When the file-storage downloads of a received message first failed, so that a download that
//! keeps failing is handed to a person after `file_storage.give_up_after_minutes` even across
//! restarts. Kept in the `meta` tree (outside transactions: it is a note, not a record).

use chrono::{DateTime, TimeZone, Utc};

use super::{SledStore, StoreError};

fn key(message_id: &str) -> Vec<u8> {
    format!("download_failure/{message_id}").into_bytes()
}

impl SledStore {
    /// The first failure of `message_id`'s downloads (`now` when this is the first).
    pub(super) fn first_download_failure(
        &self,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let r = (|| {
            let k = key(message_id);
            if let Some(v) = self.meta.get(&k)? {
                let ms = i64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8]));
                if let Some(t) = Utc.timestamp_millis_opt(ms).single() {
                    return Ok(t);
                }
            }
            self.meta.insert(k, &now.timestamp_millis().to_be_bytes())?;
            Ok(now)
        })();
        self.noted("first_download_failure", r)
    }

    /// Forgets `message_id`'s failures (its files arrived, or a person decided).
    pub(super) fn clear_download_failure(&self, message_id: &str) -> Result<(), StoreError> {
        let r = self
            .meta
            .remove(key(message_id))
            .map(|_| ())
            .map_err(StoreError::from);
        self.noted("clear_download_failure", r)
    }
}
