//! How a blob's bytes are kept. Signed envelopes and business XML are text and base64 and deflate
//! to about a third, so a blob worth packing is stored deflated under `<key>.z` — a format byte,
//! its length, then a zlib stream (deflate with an Adler-32 of the content, so a damaged value
//! is refused rather than read back wrong) — and any other (small, or already compressed like a
//! PDF or a zip) is stored as it is under `<key>`. The key is the digest of the original bytes
//! either way, so content addressing and de-duplication are unchanged, and blobs written before
//! packing existed are read as they are.

use std::borrow::Cow;
use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::StoreError;

/// Format byte of a raw deflate stream (RFC 1951) without a checksum: read, no longer written.
const DEFLATE_V1: u8 = 1;
/// Format byte of a zlib stream (RFC 1950: deflate and the Adler-32 of the content).
const ZLIB_V2: u8 = 2;
/// The format byte and the length as 8 bytes LE.
const HEADER: usize = 1 + 8;
/// Smaller blobs are not worth a decoder's set-up on every read.
const PACK_FROM_BYTES: usize = 512;
/// Deflate's own limit: one output byte never stands for more than 1032 (a 258-byte match in
/// two bits, with a little slack), which bounds what a damaged length may ask for.
const MAX_RATIO: usize = 1032;
/// The output buffer starts at most this many times the stream and grows as it fills, so a
/// damaged length never makes a read allocate more than the content really inflates to.
const FIRST_GUESS_RATIO: usize = 8;

thread_local! {
    // A compressor's state is hundreds of kilobytes: made once per thread and reset per blob
    // rather than allocated and cleared for each one (which cost more than the compression).
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), true));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(true));
}

/// The sled key of the packed form of the blob `key`.
pub(super) fn packed_key(key: &str) -> String {
    format!("{key}.z")
}

/// The sled key and value a new blob `bytes` (whose key is `key`) is written as: packed under
/// [`packed_key`] when that pays, as it is under `key` otherwise.
pub(super) fn stored_form<'b>(key: &str, bytes: &'b [u8]) -> (String, Cow<'b, [u8]>) {
    match pack(bytes) {
        Some(z) => (packed_key(key), Cow::Owned(z)),
        None => (key.to_string(), Cow::Borrowed(bytes)),
    }
}

/// The packed form of `bytes`, when it saves at least a tenth.
pub(super) fn pack(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < PACK_FROM_BYTES {
        return None;
    }
    // Room for what is worth keeping only: a stream that does not fit saves too little.
    let worth = HEADER + bytes.len() - bytes.len() / 10;
    let mut out = Vec::with_capacity(worth);
    out.push(ZLIB_V2);
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
    let zlib = match stored.first() {
        Some(&ZLIB_V2) => true,
        Some(&DEFLATE_V1) => false,
        _ => return Err(damaged("unknown format")),
    };
    if stored.len() < HEADER {
        return Err(damaged("no length"));
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
        inflate.reset(zlib);
        let mut out = Vec::with_capacity(len.min(stream.len().saturating_mul(FIRST_GUESS_RATIO)));
        loop {
            if out.len() == out.capacity() {
                // Grow by doubling, up to one byte past the stated length: room for the decoder
                // to reach the stream's end, or to show that it runs longer.
                out.reserve_exact(out.len().max(4096).min(len + 1 - out.len()));
            }
            let (read, written) = (inflate.total_in() as usize, out.len());
            let status = inflate
                .decompress_vec(&stream[read..], &mut out, FlushDecompress::None)
                .map_err(|e| damaged(&e.to_string()))?;
            let stuck = inflate.total_in() as usize == read && out.len() == written;
            match status {
                Status::StreamEnd if out.len() == len => return Ok(out),
                Status::Ok | Status::BufError if out.len() <= len && !stuck => {}
                _ => return Err(damaged("length differs from the stored one")),
            }
        }
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
    fn every_packed_blob_reads_back_whatever_its_ratio() {
        // Text with a growing share of incompressible bytes: ratios from ~20x down to ~1.1x, so
        // the output buffer is sometimes big enough at once and sometimes grown.
        let mut digest = [1u8; 32];
        for noise_per_mille in (0..=900).step_by(50) {
            for len in [512usize, 700, 2_000, 9_000, 40_000] {
                let mut bytes = Vec::with_capacity(len);
                while bytes.len() < len {
                    if bytes.len() % 1000 < noise_per_mille {
                        digest = openssl::sha::sha256(&digest);
                        bytes.extend_from_slice(&digest);
                    } else {
                        bytes.extend_from_slice(b"<td:Amount>1000.50</td:Amount>");
                    }
                }
                bytes.truncate(len);
                if let Some(packed) = pack(&bytes) {
                    assert_eq!(unpack(&packed).unwrap(), bytes, "{noise_per_mille} {len}");
                }
            }
        }
    }

    #[test]
    fn packed_blobs_of_the_first_format_are_still_read() {
        let xml = envelope_like();
        let mut v1 = vec![DEFLATE_V1];
        v1.extend_from_slice(&(xml.len() as u64).to_le_bytes());
        let mut raw = Compress::new(Compression::fast(), false);
        let mut stream = Vec::with_capacity(xml.len());
        raw.compress_vec(&xml, &mut stream, FlushCompress::Finish)
            .unwrap();
        v1.extend_from_slice(&stream);
        assert_eq!(unpack(&v1).unwrap(), xml);
    }

    #[test]
    fn a_flipped_bit_anywhere_in_the_stream_is_refused() {
        let xml = envelope_like();
        let packed = pack(&xml).unwrap();
        for at in HEADER..packed.len() {
            for bit in 0..8 {
                let mut damaged = packed.clone();
                damaged[at] ^= 1 << bit;
                assert!(
                    unpack(&damaged).map_or(true, |out| out == xml),
                    "byte {at} bit {bit} read back wrong"
                );
            }
        }
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
