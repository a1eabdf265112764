//! The storage backend of the FTP server: libunftp's local file system backend (which confines
//! each session to its account's home), with the armed faults applied to what it serves and
//! receives. Uploads are written here rather than by that backend, in 1 MiB pieces on the
//! blocking pool (it writes 4 KiB at a time, which made the simulator, not the gateway, the
//! limit of a 1 GB upload), confined the same way through a capability handle of the home.

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
    root: PathBuf,
    /// The session's home once entered (the storage root before): uploads cannot leave it.
    home: Arc<cap_std::fs::Dir>,
}

impl FaultyFilesystem {
    pub fn new(root: &Path, faults: Arc<FtpFaults>) -> std::io::Result<Self> {
        let home = cap_std::fs::Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
        Ok(FaultyFilesystem {
            inner: Filesystem::new(root)?,
            faults,
            root: root.to_path_buf(),
            home: Arc::new(home),
        })
    }
}

/// A client's path as a path under the home (`/a/b` and `a/b` alike; `/` is the home).
fn relative(path: &Path) -> &Path {
    match path.strip_prefix("/") {
        Ok(p) if p.as_os_str().is_empty() => Path::new("."),
        Ok(p) => p,
        Err(_) => path,
    }
}

#[async_trait]
impl StorageBackend<FtpUser> for FaultyFilesystem {
    type Metadata = Meta;

    fn enter(&mut self, user: &FtpUser) -> std::io::Result<()> {
        StorageBackend::<FtpUser>::enter(&mut self.inner, user)?;
        if let Some(home) = unftp_core::auth::UserDetail::home(user) {
            let below = home
                .strip_prefix(&self.root)
                .map_err(|_| std::io::Error::other("the home is not under the storage root"))?;
            self.home = Arc::new(self.home.open_dir(below)?);
        }
        Ok(())
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
        _user: &FtpUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> Result<u64> {
        use tokio::io::AsyncReadExt;
        let mut input = FaultyReader::upload(Box::new(input), self.faults.clone());
        let (home, target) = (self.home.clone(), relative(path.as_ref()).to_path_buf());
        let mut file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let mut options = cap_std::fs::OpenOptions::new();
            options.write(true).create(true);
            let file = home.open_with(target, &options)?.into_std();
            // STOR after REST keeps the first `start_pos` bytes and writes from there; a REST
            // past the end would leave a gap of zeros, so it is refused.
            if start_pos > file.metadata()?.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "REST past the end of the file",
                ));
            }
            file.set_len(start_pos)?;
            std::io::Seek::seek(&mut &file, std::io::SeekFrom::Start(start_pos))?;
            Ok(file)
        })
        .await
        .map_err(std::io::Error::other)??;
        let mut written = 0u64;
        let mut buf = Vec::with_capacity(super::TRANSFER_BUFFER_BYTES);
        loop {
            buf.clear();
            while buf.len() < super::TRANSFER_BUFFER_BYTES {
                if (&mut input)
                    .take((super::TRANSFER_BUFFER_BYTES - buf.len()) as u64)
                    .read_buf(&mut buf)
                    .await?
                    == 0
                {
                    break;
                }
            }
            if buf.is_empty() {
                let synced = tokio::task::spawn_blocking(move || file.sync_all())
                    .await
                    .map_err(std::io::Error::other)?;
                synced?;
                return Ok(written);
            }
            written += buf.len() as u64;
            let (f, b) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
                std::io::Write::write_all(&mut file, &buf)?;
                Ok((file, buf))
            })
            .await
            .map_err(std::io::Error::other)??;
            (file, buf) = (f, b);
        }
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
