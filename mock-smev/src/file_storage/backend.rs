//! The storage backend of the FTP server: libunftp's local file system backend (which confines
//! each session to its account's home), with the armed download faults applied to what it
//! serves.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use unftp_core::storage::{Fileinfo, Result, StorageBackend};
use unftp_sbe_fs::{Filesystem, Meta};

use super::accounts::FtpUser;
use super::faults::{FaultyReader, FtpFaults};

/// [`Filesystem`] with faults.
#[derive(Debug)]
pub struct FaultyFilesystem {
    inner: Filesystem,
    faults: Arc<FtpFaults>,
}

impl FaultyFilesystem {
    pub fn new(root: &Path, faults: Arc<FtpFaults>) -> std::io::Result<Self> {
        Ok(FaultyFilesystem {
            inner: Filesystem::new(root)?,
            faults,
        })
    }
}

#[async_trait]
impl StorageBackend<FtpUser> for FaultyFilesystem {
    type Metadata = Meta;

    fn enter(&mut self, user: &FtpUser) -> std::io::Result<()> {
        StorageBackend::<FtpUser>::enter(&mut self.inner, user)
    }

    fn supported_features(&self) -> u32 {
        StorageBackend::<FtpUser>::supported_features(&self.inner)
    }

    async fn metadata<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &FtpUser,
        path: P,
    ) -> Result<Meta> {
        self.inner.metadata(user, path).await
    }

    async fn list<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &FtpUser,
        path: P,
    ) -> Result<Vec<Fileinfo<PathBuf, Meta>>> {
        self.inner.list(user, path).await
    }

    async fn get<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &FtpUser,
        path: P,
        start_pos: u64,
    ) -> Result<Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>> {
        let reader = self.inner.get(user, path, start_pos).await?;
        // Read in large pieces: libunftp's file reader asks the runtime's blocking pool for
        // 4 KiB at a time, which caps a 1 GB download well below the disk and the hash.
        let faulty = FaultyReader::download(reader, self.faults.clone());
        Ok(Box::new(tokio::io::BufReader::with_capacity(
            super::TRANSFER_BUFFER_BYTES,
            faulty,
        )))
    }

    async fn put<
        P: AsRef<Path> + Send + Debug,
        R: tokio::io::AsyncRead + Send + Sync + Unpin + 'static,
    >(
        &self,
        user: &FtpUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> Result<u64> {
        let faulty = FaultyReader::upload(Box::new(input), self.faults.clone());
        self.inner.put(user, faulty, path, start_pos).await
    }

    async fn del<P: AsRef<Path> + Send + Debug>(&self, user: &FtpUser, path: P) -> Result<()> {
        self.inner.del(user, path).await
    }

    async fn mkd<P: AsRef<Path> + Send + Debug>(&self, user: &FtpUser, path: P) -> Result<()> {
        self.inner.mkd(user, path).await
    }

    async fn rename<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &FtpUser,
        from: P,
        to: P,
    ) -> Result<()> {
        self.inner.rename(user, from, to).await
    }

    async fn rmd<P: AsRef<Path> + Send + Debug>(&self, user: &FtpUser, path: P) -> Result<()> {
        self.inner.rmd(user, path).await
    }

    async fn cwd<P: AsRef<Path> + Send + Debug>(&self, user: &FtpUser, path: P) -> Result<()> {
        self.inner.cwd(user, path).await
    }
}
