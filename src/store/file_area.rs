//! Received files too large to keep in the database (SMEV's file-storage attachments): one file
//! per content, named by the hex GOST R 34.11-2012-256 digest of its bytes like a blob, so a
//! file is stored once however many records refer to it. A download grows in `partial/` (where
//! a broken transfer resumes) and moves into place only after its hash was checked, with the
//! file and the directory synced so that an acknowledged message's file survives a crash.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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

    /// Removes stored files no record refers to (`referenced`) and partial downloads, both when
    /// last written before `before` (a file committed just now may not have its record yet);
    /// returns how many files and bytes were freed.
    pub fn collect_garbage(
        &self,
        referenced: &HashSet<String>,
        before: SystemTime,
    ) -> std::io::Result<(usize, u64)> {
        let mut freed = (0usize, 0u64);
        let stale = |m: &std::fs::Metadata| m.modified().is_ok_and(|t| t < before);
        for dir in [self.dir.clone(), self.dir.join("partial")] {
            for entry in std::fs::read_dir(&dir)?.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                let Ok(meta) = entry.metadata() else { continue };
                let unreferenced =
                    dir != self.dir || (is_key(&name) && !referenced.contains(&name));
                if meta.is_file() && unreferenced && stale(&meta) {
                    std::fs::remove_file(entry.path())?;
                    freed.0 += 1;
                    freed.1 += meta.len();
                }
            }
        }
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stored(area: &FileArea, key: &str) -> PathBuf {
        let partial = area.partial(key);
        std::fs::write(&partial, key.as_bytes()).unwrap();
        area.commit(&partial, key).unwrap()
    }

    #[test]
    fn garbage_is_what_no_record_refers_to_and_is_old_enough() {
        let dir = tempfile::tempdir().unwrap();
        let area = FileArea::open(dir.path()).unwrap();
        let (kept, dropped) = ("a".repeat(64), "b".repeat(64));
        stored(&area, &kept);
        stored(&area, &dropped);
        std::fs::write(area.partial("msg-1-uuid"), b"half a file").unwrap();
        let referenced: HashSet<String> = [kept.clone()].into();
        // Nothing is old enough yet: nothing goes.
        let past = SystemTime::now() - Duration::from_secs(3600);
        assert_eq!(area.collect_garbage(&referenced, past).unwrap(), (0, 0));
        let later = SystemTime::now() + Duration::from_secs(1);
        assert_eq!(
            area.collect_garbage(&referenced, later).unwrap(),
            (2, 64 + 11)
        );
        assert!(area.path(&kept).is_some());
        assert!(area.path(&dropped).is_none());
        assert!(!area.partial("msg-1-uuid").exists());
    }
}
