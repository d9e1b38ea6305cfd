//! Orders' payment files, kept on disk below the data directory.
//!
//! A payment file is kept at `orders/{tenant}/{fresh name}.xml`: a name of its own per file,
//! so two orders with the same content never share one. It reaches that name complete and
//! synced, and the directory is synced after the rename: a file received over HTTP is spooled
//! below `incoming/` while it is hashed and then renamed; bytes built in memory (a JSON
//! payment) are written under a temporary name first. The file is kept before its files row
//! is written, so a crash in between leaves at most an orphan file, never a row without its
//! file. Without a data directory (tests), the content is stored inline in the row.
//!
//! Orphans (a crash between keeping a file and committing its row, or during a receive) are
//! found here by age ([`Files::kept_files_untouched_since`],
//! [`Files::remove_incoming_untouched_since`]); whether a kept one is referenced is the
//! database's to say (`services::orders::orphans`).

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use kontor_protocol::signature::{order_data_digest, OrderDataHasher};
use kontor_storage::{private_files, FileBody, TenantId};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{blocking, open_for_writing, Files};
use crate::ebics::EbicsError;

/// A file received from outside, spooled below [`Files::incoming_dir`] and hashed as it
/// arrived. Removed when dropped, unless [`Files::keep`] kept it.
#[derive(Debug)]
pub struct Incoming {
    path: tempfile::TempPath,
    size: u64,
    sha256: String,
    order_data_digest: String,
}

impl Incoming {
    /// The EBICS order data digest (what signatures cover), lower-case hex.
    pub fn order_data_digest(&self) -> &str {
        &self.order_data_digest
    }
}

/// Spools an [`Incoming`] file chunk by chunk (see [`Files::receive`]).
pub struct IncomingWriter {
    path: tempfile::TempPath,
    writer: tokio::io::BufWriter<tokio::fs::File>,
    size: u64,
    hasher: Sha256,
    digest: OrderDataHasher,
}

impl IncomingWriter {
    /// Appends `bytes`.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.digest.update(bytes);
        self.size += bytes.len() as u64;
        self.writer.write_all(bytes).await
    }

    /// How many bytes were written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The received file, flushed and synced.
    pub async fn finish(mut self) -> std::io::Result<Incoming> {
        self.writer.flush().await?;
        self.writer.get_ref().sync_all().await?;
        Ok(Incoming {
            path: self.path,
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
            order_data_digest: hex::encode(self.digest.finalize()),
        })
    }
}

/// A file's content before it is kept: bytes at hand, or a received file on disk.
#[derive(Debug)]
pub struct FileContent {
    source: Source,
    size: u64,
    sha256: String,
    order_data_digest: String,
}

#[derive(Debug)]
enum Source {
    Bytes(Vec<u8>),
    Incoming(tempfile::TempPath),
}

impl FileContent {
    /// Bytes built or received in memory.
    pub fn bytes(bytes: Vec<u8>) -> Self {
        Self {
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            order_data_digest: hex::encode(order_data_digest(&bytes)),
            source: Source::Bytes(bytes),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// SHA-256, lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The EBICS order data digest (what signatures cover), lower-case hex.
    pub fn order_data_digest(&self) -> &str {
        &self.order_data_digest
    }

    /// The whole content (to parse it): borrowed when at hand, read when on disk.
    pub async fn read(&self) -> std::io::Result<Cow<'_, [u8]>> {
        match &self.source {
            Source::Bytes(bytes) => Ok(Cow::Borrowed(bytes)),
            Source::Incoming(path) => Ok(Cow::Owned(tokio::fs::read(path).await?)),
        }
    }
}

impl From<Incoming> for FileContent {
    fn from(incoming: Incoming) -> Self {
        Self {
            source: Source::Incoming(incoming.path),
            size: incoming.size,
            sha256: incoming.sha256,
            order_data_digest: incoming.order_data_digest,
        }
    }
}

impl Files {
    /// Starts spooling a file received from outside below [`Files::incoming_dir`] (the
    /// system's temporary directory without a data directory).
    pub async fn receive(&self) -> std::io::Result<IncomingWriter> {
        let dir = self.incoming_dir();
        let (file, path) = tokio::task::spawn_blocking(move || {
            let file = match dir {
                Some(dir) => {
                    private_files::create_dir_all(&dir)?;
                    tempfile::NamedTempFile::new_in(dir)?
                }
                None => tempfile::NamedTempFile::new()?,
            };
            Ok::<_, std::io::Error>(file.into_parts())
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(IncomingWriter {
            path,
            writer: tokio::io::BufWriter::new(tokio::fs::File::from_std(file)),
            size: 0,
            hasher: Sha256::new(),
            digest: OrderDataHasher::new(),
        })
    }

    /// Keeps `content` as a tenant's file and says where it is, for its files row: on disk
    /// below the data directory (see the module docs), inline without one. A kept file whose
    /// row is not written is removed with [`Files::discard`].
    pub async fn keep(
        &self,
        tenant: TenantId,
        content: FileContent,
    ) -> Result<FileBody, EbicsError> {
        let Some(data_dir) = &self.data_dir else {
            let bytes = match content.source {
                Source::Bytes(bytes) => bytes,
                Source::Incoming(path) => tokio::fs::read(&path).await?,
            };
            return Ok(FileBody::Inline(bytes));
        };
        let relative = format!("orders/{tenant}/{}.xml", uuid::Uuid::now_v7());
        let path = data_dir.join(&relative);
        let FileContent {
            source,
            size,
            sha256,
            ..
        } = content;
        blocking(move || {
            let dir = path.parent().unwrap_or(&path).to_owned();
            private_files::create_dir_all(&dir)?;
            match source {
                Source::Incoming(incoming) => incoming.persist(&path).map_err(|e| e.error)?,
                Source::Bytes(bytes) => {
                    let partial = path.with_extension("partial");
                    let mut file = open_for_writing(&partial, true)?;
                    file.write_all(&bytes)?;
                    file.sync_all()?;
                    std::fs::rename(&partial, &path)?;
                }
            }
            // The rename is durable only once the directory is.
            std::fs::File::open(&dir)?.sync_all()?;
            Ok(())
        })
        .await?;
        Ok(FileBody::OnDisk {
            path: relative,
            size: size as i64,
            sha256,
        })
    }

    /// Removes a file [`Files::keep`] kept on disk when its row was not written (e.g. the
    /// order was refused or an earlier request's was answered); inline content is nothing
    /// to remove, and a missing file is fine.
    pub async fn discard(&self, body: &FileBody) {
        if let (FileBody::OnDisk { path, .. }, Some(data_dir)) = (body, &self.data_dir) {
            let _ = tokio::fs::remove_file(data_dir.join(path)).await;
        }
    }
}

/// A kept file below `orders/{tenant}/` not written since a cutoff: an orphan unless a files
/// row names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptFile {
    pub tenant: TenantId,
    /// Relative to the data directory, as its files row would name it.
    pub path: String,
}

impl Files {
    /// Every tenant's kept files not written since `cutoff`, one tenant's after the other (none
    /// without a data directory). With `named_since`, a file whose name says it was kept
    /// before then (the time in its UUIDv7) is left out without a look at its metadata; names
    /// that carry no time are always listed.
    pub async fn kept_files_untouched_since(
        &self,
        cutoff: SystemTime,
        named_since: Option<SystemTime>,
    ) -> std::io::Result<Vec<KeptFile>> {
        let Some(data_dir) = self.data_dir.clone() else {
            return Ok(Vec::new());
        };
        in_blocking(move || {
            let mut found = Vec::new();
            for tenant_dir in entries(&data_dir.join("orders"))? {
                let Some(tenant) = tenant_dir
                    .file_name()
                    .to_str()
                    .and_then(|name| name.parse::<TenantId>().ok())
                else {
                    continue;
                };
                for entry in entries(&tenant_dir.path())? {
                    let name = entry.file_name();
                    let Some(name) = name.to_str() else { continue };
                    if named_since.is_some_and(|since| kept_at(name).is_some_and(|at| at < since)) {
                        continue;
                    }
                    if untouched_since(&entry, cutoff)? {
                        found.push(KeptFile {
                            tenant,
                            path: format!("orders/{tenant}/{name}"),
                        });
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    /// Removes a kept file unless it was written since `cutoff`; whether it was removed here
    /// (another instance may have been first).
    pub async fn remove_kept(&self, file: &KeptFile, cutoff: SystemTime) -> std::io::Result<bool> {
        let Some(data_dir) = &self.data_dir else {
            return Ok(false);
        };
        let path = data_dir.join(&file.path);
        in_blocking(move || {
            let modified = match std::fs::symlink_metadata(&path) {
                Ok(meta) => meta.modified()?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(e),
            };
            if modified >= cutoff {
                return Ok(false);
            }
            removed(std::fs::remove_file(&path))
        })
        .await
    }

    /// Removes received files below `incoming/` not written since `cutoff`: what a receive
    /// interrupted by a crash left (a live receive writes as its body arrives, and its file
    /// is kept or dropped at once). Returns how many it removed.
    pub async fn remove_incoming_untouched_since(
        &self,
        cutoff: SystemTime,
    ) -> std::io::Result<usize> {
        let Some(incoming) = self.incoming_dir() else {
            return Ok(0);
        };
        in_blocking(move || {
            let mut count = 0;
            for entry in entries(&incoming)? {
                if untouched_since(&entry, cutoff)? && removed(std::fs::remove_file(entry.path()))?
                {
                    count += 1;
                }
            }
            Ok(count)
        })
        .await
    }
}

async fn in_blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)?
}

/// The entries of `dir`; none when it does not exist (nothing was ever kept there).
fn entries(dir: &Path) -> std::io::Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// When a file [`Files::keep`] named was kept: the time in its UUIDv7 name.
fn kept_at(name: &str) -> Option<SystemTime> {
    let id = uuid::Uuid::parse_str(name.strip_suffix(".xml")?).ok()?;
    let (seconds, nanos) = id.get_timestamp()?.to_unix();
    SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::new(seconds, nanos))
}

/// Whether `entry` is a plain file last written before `cutoff`.
fn untouched_since(entry: &std::fs::DirEntry, cutoff: SystemTime) -> std::io::Result<bool> {
    let meta = entry.metadata()?;
    Ok(meta.is_file() && meta.modified()? < cutoff)
}

/// A removal's outcome: a file already gone (another instance removed it) was not removed here.
fn removed(outcome: std::io::Result<()>) -> std::io::Result<bool> {
    match outcome {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
