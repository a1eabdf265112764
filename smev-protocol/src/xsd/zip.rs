//! Unpacking the `.zip` of a VS package as the SMEV portal hands it out: the central directory
//! read from the end, each entry stored or deflated ([`super::inflate`]), its CRC-32 checked,
//! names in UTF-8 or, without the UTF-8 flag, in CP866 (Russian Windows archivers). Hostile
//! archives are bounded: entry count, each file's and the total inflated size, no encryption,
//! no Zip64, and no name that is absolute or climbs out of the target folder.

use std::path::{Component, Path, PathBuf};

use super::inflate::{inflate, InflateError};

/// Most entries in one archive.
pub const MAX_ENTRIES: usize = 1024;
/// Largest inflated file.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Largest inflated archive in all.
pub const MAX_TOTAL_BYTES: usize = 128 * 1024 * 1024;

/// Why an archive could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("not a zip archive (no end-of-central-directory record)")]
    NotZip,
    #[error("the archive is damaged: {0}")]
    Damaged(&'static str),
    #[error("{name}: {what}")]
    Entry { name: String, what: String },
    #[error("more than {0} entries")]
    TooManyEntries(usize),
    #[error("more than {0} bytes when unpacked")]
    TooLarge(usize),
    #[error("{path}: {message}")]
    Write { path: PathBuf, message: String },
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, ZipError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(ZipError::Damaged("record ends early"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ZipError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(ZipError::Damaged("record ends early"))
}

/// CRC-32 (IEEE), as zip stores it.
fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (i, t) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *t = c;
        }
        table
    });
    !data.iter().fold(!0u32, |c, b| {
        table[((c ^ u32::from(*b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// The entry name as a relative path inside the target, or why it is refused.
fn safe_path(name: &str) -> Result<PathBuf, String> {
    let unified = name.replace('\\', "/");
    let path = Path::new(&unified);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return Err("absolute or climbing out of the folder (`..`)".into()),
        }
    }
    if out.as_os_str().is_empty() {
        return Err("empty name".into());
    }
    Ok(out)
}

/// Unpacks `archive` into the folder `into` (created; it must not hold files already), returning
/// the files written.
pub fn extract(archive: &[u8], into: &Path) -> Result<Vec<PathBuf>, ZipError> {
    let tail_start = archive.len().saturating_sub(22 + 65_535);
    let eocd = (tail_start..archive.len().saturating_sub(21))
        .rev()
        .find(|&i| archive[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))
        .ok_or(ZipError::NotZip)?;
    let entries = u16_at(archive, eocd + 10)? as usize;
    let mut at = u32_at(archive, eocd + 16)? as usize;
    if entries > MAX_ENTRIES {
        return Err(ZipError::TooManyEntries(MAX_ENTRIES));
    }
    let write_error = |path: &Path, e: std::io::Error| ZipError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(into).map_err(|e| write_error(into, e))?;
    let mut total = 0usize;
    let mut written = Vec::new();
    for _ in 0..entries {
        if u32_at(archive, at)? != 0x0201_4b50 {
            return Err(ZipError::Damaged("central directory entry expected"));
        }
        let flags = u16_at(archive, at + 8)?;
        let method = u16_at(archive, at + 10)?;
        let crc = u32_at(archive, at + 16)?;
        let compressed = u32_at(archive, at + 20)? as usize;
        let size = u32_at(archive, at + 24)? as usize;
        let name_len = u16_at(archive, at + 28)? as usize;
        let extra_len = u16_at(archive, at + 30)? as usize;
        let comment_len = u16_at(archive, at + 32)? as usize;
        let local = u32_at(archive, at + 42)? as usize;
        let raw_name = archive
            .get(at + 46..at + 46 + name_len)
            .ok_or(ZipError::Damaged("name ends early"))?;
        let name = if flags & 0x0800 != 0 {
            String::from_utf8_lossy(raw_name).to_string()
        } else {
            encoding_rs::IBM866
                .decode_without_bom_handling(raw_name)
                .0
                .to_string()
        };
        at += 46 + name_len + extra_len + comment_len;
        if name.ends_with('/') || name.ends_with('\\') {
            continue;
        }
        let refuse = |what: String| ZipError::Entry {
            name: name.clone(),
            what,
        };
        if flags & 1 != 0 {
            return Err(refuse("encrypted entries are not read".into()));
        }
        if compressed == 0xffff_ffff || size == 0xffff_ffff {
            return Err(refuse("Zip64 entries are not read".into()));
        }
        if size > MAX_FILE_BYTES {
            return Err(refuse(format!("{size} bytes, more than {MAX_FILE_BYTES}")));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(ZipError::TooLarge(MAX_TOTAL_BYTES));
        }
        let relative = safe_path(&name).map_err(&refuse)?;
        if u32_at(archive, local)? != 0x0403_4b50 {
            return Err(refuse("local header missing".into()));
        }
        let data_at = local
            + 30
            + u16_at(archive, local + 26)? as usize
            + u16_at(archive, local + 28)? as usize;
        let data = archive
            .get(data_at..data_at + compressed)
            .ok_or_else(|| refuse("data ends early".into()))?;
        let bytes = match method {
            0 => data.to_vec(),
            8 => inflate(data, size).map_err(|e: InflateError| refuse(e.to_string()))?,
            m => {
                return Err(refuse(format!(
                    "compression method {m} is not read (stored and deflate are)"
                )))
            }
        };
        if bytes.len() != size || crc32(&bytes) != crc {
            return Err(refuse(
                "CRC or size does not match: the archive is damaged".into(),
            ));
        }
        let path = into.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| write_error(&path, e))?;
        std::io::Write::write_all(&mut f, &bytes).map_err(|e| write_error(&path, e))?;
        written.push(relative);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        for bad in ["/etc/passwd", "../x.xsd", "a/../../x.xsd", "..\\x.xsd", ""] {
            assert!(safe_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            safe_path("commons\\types.xsd").unwrap(),
            Path::new("commons/types.xsd")
        );
    }

    #[test]
    fn crc32_of_a_known_string() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
