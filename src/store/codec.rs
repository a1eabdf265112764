//! Versioned value encoding: one format byte, then the payload. Version 1 is JSON (readable with
//! standard tools when investigating an incident; values are small compared to the XML blobs).
//! A later release adds version 2 and keeps decoding version 1.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

const V1_JSON: u8 = 1;

/// Encodes a value.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![V1_JSON];
    serde_json::to_writer(&mut out, value).map_err(|e| StoreError::Codec(e.to_string()))?;
    Ok(out)
}

/// Decodes a value of any known version.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&V1_JSON, rest)) => {
            serde_json::from_slice(rest).map_err(|e| StoreError::Codec(e.to_string()))
        }
        Some((v, _)) => Err(StoreError::Codec(format!(
            "unknown value format version {v}"
        ))),
        None => Err(StoreError::Codec("empty value".into())),
    }
}
