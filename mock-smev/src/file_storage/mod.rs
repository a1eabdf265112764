//! The simulated file storage (Файловое хранилище): a real FTP server (libunftp) on loopback.
//!
//! Layout under its directory: `upload/<MNEMONIC>/<uuid>/<FileName>` is what participants
//! upload (they log in with their mnemonic and the configured password, confined to their own
//! area); `delivery/<user>/<uuid>/<FileName>` is what one delivered message offers, through the
//! one-time account `<user>` named in its `FSAttachmentsList` and removed at its Ack; `files/`
//! holds the answer files scenarios declare, prepared (and hashed) once at start.
//!
//! SMEV checks an upload when the message that names it is sent: the file must be in the
//! sender's `<uuid>` directory with the GOST R 34.11-2012 hash of the signed header.

mod accounts;
mod backend;
mod faults;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use smev_protocol::dsig::{DigestAlgorithm, Signer};
use smev_protocol::smev::file_storage::{is_plain_file_name, is_uuid};
use smev_protocol::smev::model::{FsAttachment, RefAttachmentHeader};
use smev_protocol::smev::MessageId;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::config::{FileStorageSettings, StorageFileConfig};
use super::resources;

pub use faults::{FtpFaultSpec, FtpFaults};

use accounts::{Accounts, Login};

/// The piece size of the server's reads from its files (1 MiB).
const TRANSFER_BUFFER_BYTES: usize = 1024 * 1024;

/// A file an answer carries, prepared on disk with its hash.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub path: PathBuf,
    pub file_name: String,
    pub mime_type: String,
    pub hash: Vec<u8>,
    pub size: u64,
    /// The provider's detached PKCS#7 signature of the file, when the scenario asks for one.
    pub signature_pkcs7: Option<Vec<u8>>,
}

/// An upload that matches its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadCheck {
    pub size: u64,
    /// Who signed the file (its `SignaturePKCS7`), when the signature names its signer.
    pub signer: Option<String>,
}

/// The file storage.
#[derive(Debug)]
pub struct FileStorage {
    root: PathBuf,
    _temp: Option<tempfile::TempDir>,
    accounts: Arc<Accounts>,
    faults: Arc<FtpFaults>,
    settings: FileStorageSettings,
    /// Delivered message → its one-time account.
    deliveries: Mutex<HashMap<String, String>>,
    next_file: std::sync::atomic::AtomicU64,
}

fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl FileStorage {
    /// The storage of `settings` (its directories made).
    pub fn new(settings: &FileStorageSettings) -> std::io::Result<FileStorage> {
        let (root, temp) = match &settings.dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("mock-smev-ftp-")
                    .tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        for d in ["upload", "delivery", "files"] {
            std::fs::create_dir_all(root.join(d))?;
        }
        Ok(FileStorage {
            root: std::fs::canonicalize(root)?,
            _temp: temp,
            accounts: Arc::default(),
            faults: Arc::default(),
            settings: settings.clone(),
            deliveries: Mutex::default(),
            next_file: Default::default(),
        })
    }

    /// The armed faults.
    pub fn faults(&self) -> &FtpFaults {
        &self.faults
    }

    /// Prepares a scenario's answer file under `files/`, hashing it once (and signing it with
    /// `signer`, the simulated provider's ЭП-ОВ, when the scenario says `signed`).
    pub fn prepare(
        &self,
        cfg: &StorageFileConfig,
        base: &Path,
        signer: &dyn Signer,
    ) -> anyhow::Result<StoredFile> {
        if !is_plain_file_name(&cfg.name) {
            anyhow::bail!("storage file name {:?} is not a plain file name", cfg.name);
        }
        let n = self
            .next_file
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.root.join("files").join(format!("{n}.bin"));
        let mut hasher = DigestAlgorithm::Streebog256.hasher()?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let size = match (&cfg.file, cfg.generated_bytes) {
            (Some(file), None) => {
                let bytes = resources::read(file, base)?;
                hasher.update(&bytes)?;
                out.write_all(&bytes)?;
                bytes.len() as u64
            }
            (None, Some(size)) => {
                generate(&cfg.name, size, |chunk| {
                    hasher.update(chunk)?;
                    out.write_all(chunk)?;
                    Ok(())
                })?;
                size
            }
            _ => anyhow::bail!(
                "storage file {}: give exactly one of file and generated_bytes",
                cfg.name
            ),
        };
        if size > self.settings.max_file_bytes {
            anyhow::bail!(
                "storage file {} is larger than max_file_bytes ({})",
                cfg.name,
                self.settings.max_file_bytes
            );
        }
        out.flush()?;
        let signature_pkcs7 = if cfg.signed {
            Some(signer.pkcs7_detached_file(&path)?)
        } else {
            None
        };
        Ok(StoredFile {
            path,
            file_name: cfg.name.clone(),
            mime_type: cfg.mime_type.clone(),
            hash: hasher.finish()?.to_vec(),
            size,
            signature_pkcs7,
        })
    }

    /// Offers a simulated provider's `files` to the receiver of `message_id`, each in a fresh
    /// UUID v1 directory; returns the headers the provider signs and the access list.
    pub fn publish(
        &self,
        message_id: &str,
        files: &[StoredFile],
    ) -> std::io::Result<(Vec<RefAttachmentHeader>, Vec<FsAttachment>)> {
        let headers: Vec<RefAttachmentHeader> = files
            .iter()
            .map(|f| RefAttachmentHeader {
                uuid: MessageId::new().to_string(),
                file_name: Some(f.file_name.clone()),
                hash: f.hash.clone(),
                mime_type: f.mime_type.clone(),
                signature_pkcs7: f.signature_pkcs7.clone(),
            })
            .collect();
        let items: Vec<(&str, &Path, &str)> = headers
            .iter()
            .zip(files)
            .map(|(h, f)| (h.uuid.as_str(), f.path.as_path(), f.file_name.as_str()))
            .collect();
        let access = self.offer(message_id, &items)?;
        Ok((headers, access))
    }

    /// Offers what `sender` uploaded for a message it sent (checked by
    /// [`FileStorage::check_upload`]) to that message's receiver, under the same UUIDs.
    pub fn forward(
        &self,
        message_id: &str,
        sender: &str,
        headers: &[RefAttachmentHeader],
    ) -> std::io::Result<Vec<FsAttachment>> {
        let mut sources = Vec::new();
        for h in headers {
            let dir = self.root.join("upload").join(sender).join(&h.uuid);
            let name = match &h.file_name {
                Some(n) => n.clone(),
                None => std::fs::read_dir(&dir)?
                    .flatten()
                    .next()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .ok_or_else(|| std::io::Error::other("empty upload directory"))?,
            };
            sources.push((h.uuid.clone(), dir.join(&name), name));
        }
        let items: Vec<(&str, &Path, &str)> = sources
            .iter()
            .map(|(u, p, n)| (u.as_str(), p.as_path(), n.as_str()))
            .collect();
        self.offer(message_id, &items)
    }

    /// Puts each `(uuid, source, name)` into a one-time account's area for `message_id`.
    fn offer(
        &self,
        message_id: &str,
        items: &[(&str, &Path, &str)],
    ) -> std::io::Result<Vec<FsAttachment>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let user = format!("u{}", &random_token()[..16]);
        let password = random_token();
        let home = self.root.join("delivery").join(&user);
        let mut access = Vec::new();
        for (uuid, source, name) in items {
            let dir = home.join(uuid);
            std::fs::create_dir_all(&dir)?;
            let target = dir.join(name);
            // A hard link: the bytes are offered without a copy.
            if std::fs::hard_link(source, &target).is_err() {
                std::fs::copy(source, &target)?;
            }
            access.push(FsAttachment {
                uuid: uuid.to_string(),
                user_name: user.clone(),
                password: password.clone(),
                file_name: name.to_string(),
            });
        }
        self.accounts.put(&user, &password, &home);
        self.deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(message_id.to_string(), user);
        Ok(access)
    }

    /// The receiver acknowledged `message_id`: its one-time account and files are gone.
    pub fn close(&self, message_id: &str) {
        let user = self
            .deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(message_id);
        if let Some(user) = user {
            self.accounts.remove(&user);
            let dir = self.root.join("delivery").join(&user);
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!("cannot remove {}: {e}", dir.display());
            }
        }
    }

    /// Checks that `mnemonic` uploaded the file `header` names, with its hash and, when the
    /// header has one, its signature; returns its size and signer, or what is wrong (in
    /// Russian, as SMEV's asynchronous errors say it).
    pub fn check_upload(
        &self,
        mnemonic: &str,
        header: &RefAttachmentHeader,
    ) -> Result<UploadCheck, String> {
        if !accounts::is_mnemonic(mnemonic) {
            return Err(format!(
                "Мнемоника {mnemonic:?} не называет каталог хранилища"
            ));
        }
        if !is_uuid(&header.uuid) {
            return Err(format!(
                "Идентификатор каталога файла {:?} не является UUID",
                header.uuid
            ));
        }
        let dir = self.root.join("upload").join(mnemonic).join(&header.uuid);
        let path = match &header.file_name {
            Some(name) if is_plain_file_name(name) => dir.join(name),
            Some(name) => return Err(format!("Недопустимое имя файла {name:?}")),
            // Without FileName (1.1/1.2) the directory holds exactly one file.
            None => match std::fs::read_dir(&dir).map(|d| d.flatten().collect::<Vec<_>>()) {
                Ok(files) if files.len() == 1 => files[0].path(),
                _ => {
                    return Err(format!(
                        "Файл вложения {} не найден в файловом хранилище",
                        header.uuid
                    ))
                }
            },
        };
        let algorithm = match header.hash.len() {
            64 => DigestAlgorithm::Streebog512,
            _ => DigestAlgorithm::Streebog256,
        };
        let (hash, size) =
            hash_file(&path, algorithm, self.settings.max_file_bytes).map_err(|e| {
                format!(
                    "Файл вложения {}/{} не прочитан из файлового хранилища: {e}",
                    header.uuid,
                    header.file_name.as_deref().unwrap_or("")
                )
            })?;
        if hash != header.hash {
            return Err(format!(
                "Хеш файла вложения {}/{} не совпадает с указанным в RefAttachmentHeader",
                header.uuid,
                header.file_name.as_deref().unwrap_or("")
            ));
        }
        // Its own signature, the file streamed through OpenSSL.
        let signer = match &header.signature_pkcs7 {
            Some(sig) => {
                smev_protocol::dsig::pkcs7::verify_detached_file(sig, &path).map_err(|e| {
                    format!(
                        "ЭП файла вложения {}/{} не прошла проверку: {e}",
                        header.uuid,
                        header.file_name.as_deref().unwrap_or("")
                    )
                })?
            }
            None => None,
        };
        Ok(UploadCheck { size, signer })
    }

    /// Serves FTP on `listener` until `shutdown`.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let slots = Arc::new(Semaphore::new(self.settings.max_connections.max(1)));
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.changed() => return,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("FTP accept failed: {e}");
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "FTP connection refused: too many connections");
                continue;
            };
            let server = match self.server() {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("cannot start an FTP session: {e}");
                    continue;
                }
            };
            tokio::spawn(async move {
                if let Err(e) = server.service(stream).await {
                    tracing::debug!(%peer, "FTP session ended: {e:?}");
                }
                drop(slot);
            });
        }
    }

    fn server(
        &self,
    ) -> Result<libunftp::Server<backend::FaultyFilesystem, accounts::FtpUser>, libunftp::ServerError>
    {
        let root = self.root.clone();
        let faults = self.faults.clone();
        let login = Arc::new(Login {
            accounts: self.accounts.clone(),
            faults: self.faults.clone(),
            uploads: (
                self.root.join("upload"),
                self.settings.upload_password.clone(),
            ),
        });
        libunftp::ServerBuilder::<backend::FaultyFilesystem, accounts::FtpUser>::with_user_detail_provider(
            Box::new(move || {
                // The root was made in `new`; failing here means the directory went away.
                backend::FaultyFilesystem::new(&root, faults.clone())
                    .unwrap_or_else(|e| panic!("FTP root {} is gone: {e}", root.display()))
            }),
            login.clone(),
        )
        .authenticator(login)
        .greeting("mock-smev file storage")
        .idle_session_timeout(60)
        .build()
    }
}

/// The hash and size of the file at `path`, read in pieces; refuses more than `limit` bytes.
fn hash_file(
    path: &Path,
    algorithm: DigestAlgorithm,
    limit: u64,
) -> anyhow::Result<(Vec<u8>, u64)> {
    Ok(algorithm.hash_reader(std::fs::File::open(path)?, limit)?)
}

/// Reproducible pseudo-random content of `size` bytes seeded by `name` (xorshift64*), given to
/// `sink` in 1 MiB pieces.
fn generate(
    name: &str,
    size: u64,
    mut sink: impl FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut state = name.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) | 1;
    let mut buf = vec![0u8; 1024 * 1024];
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        for chunk in buf[..n].chunks_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        sink(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}
