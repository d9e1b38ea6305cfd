//! Transfer spools: the encrypted segments of a transfer on disk, below the data directory.
//!
//! A download appends each received segment (its ciphertext, base64-decoded as it arrived)
//! before the segment is acknowledged; an upload writes all its encrypted segments before the
//! first request. After the last segment of a download, [`Spool::assemble`] streams the
//! ciphertext through decryption and decompression into the result file, one segment in
//! memory at a time. Every file is owner-only (0600), whatever the umask.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use kontor_protocol::keys::PrivateKey;
use kontor_protocol::segmentation::StreamingAssembler;
use kontor_storage::{private_files, FileId, Store, StoredFile, TenantScope, TransactionId};
use sha2::{Digest, Sha256};

use super::EbicsError;

mod order_files;

pub use order_files::{FileContent, Incoming, IncomingWriter, KeptFile};

/// The spool directory below a data directory.
#[derive(Debug, Clone)]
pub(crate) struct Spool {
    data_dir: PathBuf,
}

/// One segment as written: its size and SHA-256 (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub size: usize,
    pub sha256: String,
}

impl Written {
    fn of(bytes: &[u8]) -> Self {
        Self {
            size: bytes.len(),
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }
}

/// One spooled download segment to assemble: number, last flag and size in the spool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpooledSegment {
    pub number: u32,
    pub last: bool,
    pub size: u64,
}

/// An assembled download: its size and SHA-256 (lower-case hex).
#[derive(Debug, Clone)]
pub(crate) struct Assembled {
    pub size: u64,
    pub sha256: String,
}

impl Spool {
    pub(crate) fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
        }
    }

    /// The spool of a download's received segments, relative to the data directory.
    pub(crate) fn download_spool(transaction: TransactionId) -> String {
        format!("transfers/{transaction}.spool")
    }

    /// The spool of an upload's encrypted segments, relative to the data directory.
    pub(crate) fn upload_spool(transaction: TransactionId) -> String {
        format!("transfers/{transaction}.upload")
    }

    /// Where a download's assembled order data is stored, relative to the data directory.
    pub(crate) fn download_result(transaction: TransactionId) -> String {
        format!("transfers/{transaction}.data")
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.data_dir.join(relative)
    }

    /// Writes `bytes` at `offset` of the spool (truncating anything after it: bytes there
    /// belong to a segment in flight at a crash) and syncs.
    pub(crate) async fn write_at(
        &self,
        relative: &str,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<Written, EbicsError> {
        let path = self.path(relative);
        blocking(move || {
            let mut file = open_for_writing(&path, false)?;
            file.set_len(offset)?;
            file.seek(std::io::SeekFrom::Start(offset))?;
            file.write_all(&bytes)?;
            file.sync_data()?;
            Ok(Written::of(&bytes))
        })
        .await
    }

    /// A fresh name to spool an upload's segments under while they are produced, before its
    /// transaction exists (see [`Spool::stream_upload`]).
    pub(crate) fn staged_upload() -> String {
        format!("transfers/staged-{}.upload", uuid::Uuid::now_v7())
    }

    /// Writes an upload's segments as `produce` hands them to its writer (each segment's
    /// ciphertext, in order), then syncs; returns what was written and what `produce`
    /// returned. Runs where blocking is allowed, so `produce` may read files; memory is what
    /// `produce` holds, one segment at a time here.
    pub(crate) async fn stream_upload<T: Send + 'static>(
        &self,
        relative: &str,
        produce: impl FnOnce(&mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> Result<T, EbicsError>
            + Send
            + 'static,
    ) -> Result<(Vec<Written>, T), EbicsError> {
        let path = self.path(relative);
        blocking(move || {
            let mut file = open_for_writing(&path, true)?;
            let mut written = Vec::new();
            let produced = produce(&mut |segment: &[u8]| {
                file.write_all(segment)?;
                written.push(Written::of(segment));
                Ok(())
            })?;
            file.sync_all()?;
            Ok((written, produced))
        })
        .await
    }

    /// Gives a spool its final name (an upload's, once its transaction exists).
    pub(crate) async fn rename(&self, from: &str, to: &str) -> Result<(), EbicsError> {
        Ok(tokio::fs::rename(self.path(from), self.path(to)).await?)
    }

    /// Reads `size` bytes at `offset` of a spool.
    pub(crate) async fn read_at(
        &self,
        relative: &str,
        offset: u64,
        size: usize,
    ) -> Result<Vec<u8>, EbicsError> {
        let path = self.path(relative);
        blocking(move || {
            let mut file = std::fs::File::open(&path)?;
            file.seek(std::io::SeekFrom::Start(offset))?;
            let mut buffer = vec![0; size];
            file.read_exact(&mut buffer)?;
            Ok(buffer)
        })
        .await
    }

    /// Streams the spooled ciphertext segments through [`StreamingAssembler`] into `result`
    /// (written to a temporary name and renamed when complete).
    pub(crate) async fn assemble(
        &self,
        own_key: PrivateKey,
        encrypted_transaction_key: Vec<u8>,
        spool: &str,
        result: &str,
        segments: Vec<SpooledSegment>,
        limit: u64,
    ) -> Result<Assembled, EbicsError> {
        let (spool, result) = (self.path(spool), self.path(result));
        blocking(move || {
            let partial = result.with_extension("partial");
            let sink = HashingWriter {
                // Decrypted bank data: owner-only (0600), whatever the umask.
                inner: std::io::BufWriter::new(open_for_writing(&partial, true)?),
                hasher: Sha256::new(),
            };
            let mut assembler = StreamingAssembler::new(
                &own_key,
                &encrypted_transaction_key,
                Some(segments.len() as u32),
                limit,
                sink,
            )
            .map_err(EbicsError::protocol)?;
            let mut input = std::io::BufReader::new(std::fs::File::open(&spool)?);
            let mut buffer = Vec::new();
            for segment in segments {
                buffer.resize(segment.size as usize, 0);
                input.read_exact(&mut buffer)?;
                assembler
                    .push_ciphertext(segment.number, segment.last, &buffer)
                    .map_err(EbicsError::protocol)?;
            }
            let done = assembler.finish().map_err(EbicsError::protocol)?;
            let HashingWriter { inner, hasher } = done.sink;
            let file = inner.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&partial, &result)?;
            Ok(Assembled {
                size: done.plaintext_len,
                sha256: hex::encode(hasher.finalize()),
            })
        })
        .await
    }

    /// Removes a spool that is no longer needed; a missing file is fine.
    pub(crate) async fn remove(&self, relative: &str) {
        let _ = tokio::fs::remove_file(self.path(relative)).await;
    }
}

/// A stored file's content, chunk by chunk.
pub type FileStream = futures::stream::BoxStream<'static, std::io::Result<Vec<u8>>>;

/// How much of an on-disk file is read at a time: a stream's chunk, a reader's buffer.
const STREAM_CHUNK: usize = 64 << 10;

/// Stored files' content: inline in the database, or on disk below the data directory (the
/// downloads this client assembled, orders' payment files). A file is always reached through
/// a tenant scope.
#[derive(Debug, Clone, Default)]
pub struct Files {
    data_dir: Option<PathBuf>,
}

impl Files {
    /// Files below `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: Some(data_dir.into()),
        }
    }

    /// Where files received from outside are spooled before they are read (below the data
    /// directory; `None` without one: the system's temporary directory is used).
    pub fn incoming_dir(&self) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|dir| dir.join("incoming"))
    }

    /// Only inline files can be read (a process without a data directory).
    pub fn inline_only() -> Self {
        Self::default()
    }

    /// Loads the file's record through `scope` and reads its content.
    pub async fn read(
        &self,
        store: &Store,
        scope: &TenantScope,
        id: FileId,
    ) -> Result<(StoredFile, Vec<u8>), EbicsError> {
        let mut tx = store.scope(scope).begin().await?;
        let file: StoredFile = tx.get(id).await?;
        tx.commit().await?;
        let content = self.content(&file).await?;
        Ok((file, content))
    }

    /// The content of a file record already loaded through a scope.
    pub async fn content(&self, file: &StoredFile) -> Result<Vec<u8>, EbicsError> {
        match (&file.content, &file.path) {
            (Some(bytes), _) => Ok(bytes.clone()),
            (None, Some(_)) => Ok(tokio::fs::read(self.path_of(file)?).await?),
            (None, None) => Err(EbicsError::FileWithoutContent(file.id)),
        }
    }

    /// The content of a file record as a stream of chunks: an on-disk file is read 64 KiB at
    /// a time, never whole.
    pub async fn stream(&self, file: &StoredFile) -> Result<FileStream, EbicsError> {
        match (&file.content, &file.path) {
            (Some(bytes), _) => Ok(Box::pin(futures::stream::once(std::future::ready(Ok(
                bytes.clone(),
            ))))),
            (None, Some(_)) => {
                let reader = tokio::fs::File::open(self.path_of(file)?).await?;
                Ok(Box::pin(futures::stream::try_unfold(
                    reader,
                    |mut reader| async move {
                        use tokio::io::AsyncReadExt;
                        let mut chunk = vec![0; STREAM_CHUNK];
                        let n = reader.read(&mut chunk).await?;
                        chunk.truncate(n);
                        Ok((n > 0).then_some((chunk, reader)))
                    },
                )))
            }
            (None, None) => Err(EbicsError::FileWithoutContent(file.id)),
        }
    }

    /// The content of a file record as a seekable reader, for readers that need random
    /// access (a ZIP's central directory is at its end). Blocking: call it where blocking is
    /// allowed (`spawn_blocking`).
    pub fn open(&self, file: &StoredFile) -> Result<FileReader, EbicsError> {
        match (&file.content, &file.path) {
            (Some(bytes), _) => Ok(FileReader::Inline(std::io::Cursor::new(bytes.clone()))),
            (None, Some(_)) => Ok(FileReader::Disk(std::io::BufReader::with_capacity(
                STREAM_CHUNK,
                std::fs::File::open(self.path_of(file)?)?,
            ))),
            (None, None) => Err(EbicsError::FileWithoutContent(file.id)),
        }
    }

    /// Where an on-disk file is. Stored paths are written by this client, always below the
    /// data directory; a path that would leave it is corrupt, never followed.
    fn path_of(&self, file: &StoredFile) -> Result<PathBuf, EbicsError> {
        let relative = Path::new(file.path.as_deref().unwrap_or_default());
        let inside = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        match &self.data_dir {
            Some(dir) if inside => Ok(dir.join(relative)),
            _ => Err(EbicsError::FileUnreachable(file.id)),
        }
    }
}

/// A stored file's content as a seekable reader (see [`Files::open`]).
pub enum FileReader {
    Inline(std::io::Cursor<Vec<u8>>),
    Disk(std::io::BufReader<std::fs::File>),
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Inline(r) => r.read(buf),
            Self::Disk(r) => r.read(buf),
        }
    }
}

impl std::io::BufRead for FileReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self {
            Self::Inline(r) => r.fill_buf(),
            Self::Disk(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Self::Inline(r) => r.consume(amount),
            Self::Disk(r) => r.consume(amount),
        }
    }
}

impl Seek for FileReader {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        match self {
            Self::Inline(r) => r.seek(pos),
            Self::Disk(r) => r.seek(pos),
        }
    }
}

fn open_for_writing(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        private_files::create_dir_all(dir)?;
    }
    private_files::open_options()
        .create(true)
        .truncate(truncate)
        .read(true)
        .write(true)
        .open(path)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, EbicsError> + Send + 'static,
) -> Result<T, EbicsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EbicsError::Io(std::io::Error::other(e)))?
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
