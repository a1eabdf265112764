//! How a blob's bytes are kept. Signed envelopes and business XML are text and base64 and deflate
//! to about a third, so a blob worth packing is stored deflated under `<key>.z` — its length
//! first, then the deflate stream — and any other (small, or already compressed like a PDF or a
//! zip) is stored as it is under `<key>`. The key is the digest of the original bytes either
//! way, so content addressing and de-duplication are unchanged, and blobs written before packing
//! existed are read as they are.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::StoreError;

/// The first byte of a packed blob: deflate (RFC 1951), then the length as 8 bytes LE.
const DEFLATE_V1: u8 = 1;
const HEADER: usize = 1 + 8;
/// Smaller blobs are not worth a decoder's set-up on every read.
const PACK_FROM_BYTES: usize = 512;
/// Deflate's own limit: one output byte never stands for more than 1032 (a 258-byte match in
/// two bits, with a little slack), which bounds what a damaged length may ask for.
const MAX_RATIO: usize = 1032;

thread_local! {
    // A compressor's state is hundreds of kilobytes: made once per thread and reset per blob
    // rather than allocated and cleared for each one (which cost more than the compression).
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// The sled key of the packed form of the blob `key`.
pub(super) fn packed_key(key: &str) -> String {
    format!("{key}.z")
}

/// The packed form of `bytes`, when it saves at least a tenth.
pub(super) fn pack(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < PACK_FROM_BYTES {
        return None;
    }
    // Room for what is worth keeping only: a stream that does not fit saves too little.
    let worth = HEADER + bytes.len() - bytes.len() / 10;
    let mut out = Vec::with_capacity(worth);
    out.push(DEFLATE_V1);
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    DEFLATE.with(|deflate| {
        let mut deflate = deflate.borrow_mut();
        deflate.reset();
        let status = deflate
            .compress_vec(bytes, &mut out, FlushCompress::Finish)
            .ok()?;
        (status == Status::StreamEnd && deflate.total_in() == bytes.len() as u64).then_some(out)
    })
}

/// The original bytes of a packed blob. The stored length bounds the work: a damaged value
/// cannot inflate past it.
pub(super) fn unpack(stored: &[u8]) -> Result<Vec<u8>, StoreError> {
    let damaged = |why: &str| StoreError::Codec(format!("packed blob: {why}"));
    if stored.len() < HEADER || stored[0] != DEFLATE_V1 {
        return Err(damaged("unknown format"));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&stored[1..HEADER]);
    let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| damaged("too long"))?;
    let stream = &stored[HEADER..];
    if len > stream.len().saturating_mul(MAX_RATIO) {
        return Err(damaged("length beyond what the stream can hold"));
    }
    INFLATE.with(|inflate| {
        let mut inflate = inflate.borrow_mut();
        inflate.reset(false);
        let mut out = Vec::with_capacity(len);
        let status = inflate
            .decompress_vec(stream, &mut out, FlushDecompress::Finish)
            .map_err(|e| damaged(&e.to_string()))?;
        if status != Status::StreamEnd || out.len() != len {
            return Err(damaged("length differs from the stored one"));
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope_like() -> Vec<u8> {
        let mut s = String::from("<soap:Envelope><soap:Body>");
        for i in 0..200 {
            s.push_str(&format!(
                "<td:Debt Code=\"{i}\"><td:Amount>{i}.50</td:Amount></td:Debt>"
            ));
        }
        s.push_str("</soap:Body></soap:Envelope>");
        s.into_bytes()
    }

    #[test]
    fn xml_is_packed_and_unpacks_to_the_same_bytes() {
        let xml = envelope_like();
        let packed = pack(&xml).expect("XML is worth packing");
        assert!(
            packed.len() < xml.len() / 3,
            "{} of {}",
            packed.len(),
            xml.len()
        );
        assert_eq!(unpack(&packed).unwrap(), xml);
    }

    #[test]
    fn small_or_incompressible_blobs_are_kept_as_they_are() {
        assert!(pack(b"<small/>").is_none());
        // A digest chain: bytes with no redundancy to remove, like a PDF's compressed streams.
        let mut noise = Vec::new();
        let mut block = [7u8; 32];
        while noise.len() < 8192 {
            block = openssl::sha::sha256(&block);
            noise.extend_from_slice(&block);
        }
        assert!(pack(&noise).is_none());
    }

    #[test]
    fn damaged_packed_blobs_are_refused_not_misread() {
        let mut packed = pack(&envelope_like()).unwrap();
        let mut wrong_length = packed.clone();
        wrong_length[1] ^= 1;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("unknown format", {
                let mut p = packed.clone();
                p[0] = 9;
                p
            }),
            ("length differs", wrong_length),
            ("length past what deflate can expand to", {
                let mut p = packed.clone();
                p[1..HEADER].copy_from_slice(&(1u64 << 40).to_le_bytes());
                p
            }),
            ("truncated", packed[..packed.len() / 2].to_vec()),
        ];
        for (what, bytes) in cases {
            assert!(unpack(&bytes).is_err(), "{what}");
        }
        packed.truncate(HEADER);
        assert!(unpack(&packed).is_err(), "no stream");
    }
}
