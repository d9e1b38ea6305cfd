//! Orders' payment files, kept on disk below the data directory.
//!
//! A payment file is kept at `orders/{tenant}/{fresh name}.xml`: a name of its own per file,
//! so two orders with the same content never share one. It reaches that name complete and
//! synced, and the directory is synced after the rename: a file received over HTTP is spooled
//! below `incoming/` while it is hashed and then renamed; bytes built in memory (a JSON
//! payment) are written under a temporary name first. The file is kept before its files row
//! is written, so a crash in between leaves at most an orphan file, never a row without its
//! file. Without a data directory (tests), the content is stored inline in the row.

use std::borrow::Cow;
use std::io::Write;

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
}

/// Spools an [`Incoming`] file chunk by chunk (see [`Files::receive`]).
pub struct IncomingWriter {
    path: tempfile::TempPath,
    writer: tokio::io::BufWriter<tokio::fs::File>,
    size: u64,
    hasher: Sha256,
}

impl IncomingWriter {
    /// Appends `bytes`.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
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
        })
    }
}

/// A file's content before it is kept: bytes at hand, or a received file on disk.
#[derive(Debug)]
pub struct FileContent {
    source: Source,
    size: u64,
    sha256: String,
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
