//! The audit log: append-only entries keyed by time and sequence, indexed by subject. Entries
//! of record changes are written by the aggregates' transactions; this file reads them and
//! appends the ones that stand alone (logins, administrative actions).

use super::{codec, SledStore, StoreError};
use crate::domain::AuditEntry;

impl SledStore {
    /// Audit entries of a subject, oldest first.
    pub(super) fn audit_of(&self, subject_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let r = (|| {
            let mut prefix = subject_id.as_bytes().to_vec();
            prefix.push(0);
            let mut out = Vec::new();
            for item in self.audit_index.scan_prefix(&prefix) {
                let (_, key) = item?;
                if let Some(v) = self.audit.get(&key)? {
                    out.push(codec::decode(&v)?);
                }
            }
            Ok(out)
        })();
        self.noted("audit_of", r)
    }

    /// Appends an audit entry outside any other change (logins, admin actions).
    pub(super) fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.transaction("audit", |tx| tx.audit(&entry))
    }
}
