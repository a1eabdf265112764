//! A stored file: name, type, size and the content hash that keys its blob.

use serde::{Deserialize, Serialize};

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    /// GOST R 34.11-2012-256 of the bytes, hex: the key in the blob tree.
    pub hash: String,
    /// MTOM content id (outgoing) or the part id it came with.
    #[serde(default)]
    pub content_id: Option<String>,
    /// Received attachments: how the bytes are tied to the signed message (`None` for
    /// outgoing attachments and records stored before the check existed).
    #[serde(default)]
    pub integrity: Option<crate::smev::attachments::Integrity>,
    /// Kept in the file area (a large file-storage download), not in the blob tree.
    #[serde(default)]
    pub in_file_area: bool,
    /// Outgoing files sent through SMEV's file storage: the UUID v1 directory it is uploaded
    /// to, fixed when the request is accepted so every attempt uploads to the same place.
    #[serde(default)]
    pub storage_uuid: Option<String>,
    /// Outgoing files of kinds with `sign_attachments`: the blob key of their detached PKCS#7
    /// signature (DER), made with the system's ЭП-ОВ key when the file was accepted.
    #[serde(default)]
    pub signature_pkcs7: Option<String>,
    /// Received files with a verified PKCS#7 signature: who signed them (the signer
    /// certificate's common name and organization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}
