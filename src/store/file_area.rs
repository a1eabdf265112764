//! Received files too large to keep in the database (SMEV's file-storage attachments): one file
//! per content, named by the hex GOST R 34.11-2012-256 digest of its bytes like a blob, so a
//! file is stored once however many records refer to it. A download grows in `partial/` (where
//! a broken transfer resumes) and moves into place only after its hash was checked, with the
//! file and the directory synced so that an acknowledged message's file survives a crash.

use std::path::{Path, PathBuf};

/// The directory of received files.
#[derive(Debug)]
pub struct FileArea {
    dir: PathBuf,
}

fn is_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

impl FileArea {
    /// The area at `dir` (made when missing).
    pub fn open(dir: &Path) -> std::io::Result<FileArea> {
        std::fs::create_dir_all(dir.join("partial"))?;
        Ok(FileArea {
            dir: dir.to_path_buf(),
        })
    }

    /// Where the download named `name` (made of safe characters by the caller) grows.
    pub fn partial(&self, name: &str) -> PathBuf {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(150)
            .collect();
        self.dir.join("partial").join(safe)
    }

    /// The stored file of `key`, if there is one.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        let p = self.dir.join(key);
        (is_key(key) && p.is_file()).then_some(p)
    }

    /// Moves a checked download into place under `key` (its Streebog-256 hex), durably.
    pub fn commit(&self, partial: &Path, key: &str) -> std::io::Result<PathBuf> {
        if !is_key(key) {
            return Err(std::io::Error::other(format!("not a file key: {key:?}")));
        }
        std::fs::File::open(partial)?.sync_all()?;
        let target = self.dir.join(key);
        std::fs::rename(partial, &target)?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(target)
    }
}
