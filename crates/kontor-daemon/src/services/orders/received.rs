//! A payment file received over HTTP, before it becomes an order.
//!
//! The body is streamed to an anonymous temporary file below the data directory and counted
//! as it arrives: a file over the limit is refused as soon as the limit is passed (or at once
//! when its `Content-Length` says so), without ever being held whole in memory, and nothing
//! of it is stored. A file within the limit is then read back and goes through
//! [`create_order`] like any other.

use std::io::{Read, Seek, SeekFrom};

use futures::{Stream, StreamExt};
use kontor_protocol::signature::order_data_digest;
use kontor_storage::TenantScope;
use tokio::io::AsyncWriteExt;

use super::{create_order, CreateOrder, Created, OrderError};
use crate::services::Services;

/// Why a received payment file did not become an order.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("the payment file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The client's body broke off or could not be decoded.
    #[error("the request body could not be read: {0}")]
    Body(String),
    #[error("the payment file could not be spooled: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Order(#[from] OrderError),
}

/// An order created from a received file.
#[derive(Debug, Clone)]
pub struct Received {
    pub created: Created,
    /// The EBICS order data digest of the file (what signers sign), lower-case hex.
    pub order_data_digest: String,
}

/// Receives `body` (at most `limit` bytes) and creates the order from it; `order.content` is
/// replaced by what was received.
pub async fn create_order_from_body<S, B, E>(
    services: &Services,
    scope: &TenantScope,
    mut order: CreateOrder,
    body: S,
    limit: u64,
) -> Result<Received, ReceiveError>
where
    S: Stream<Item = Result<B, E>> + Send,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let spooled = spool(services, body, limit).await?;
    order.content = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut file = spooled;
        file.seek(SeekFrom::Start(0))?;
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        Ok(content)
    })
    .await
    .map_err(std::io::Error::other)??;
    let order_data_digest = hex::encode(order_data_digest(&order.content));
    Ok(Received {
        created: create_order(services.store(), scope, order).await?,
        order_data_digest,
    })
}

/// Streams `body` into an anonymous temporary file (gone when dropped), refusing it once it
/// passes `limit`.
async fn spool<S, B, E>(
    services: &Services,
    body: S,
    limit: u64,
) -> Result<std::fs::File, ReceiveError>
where
    S: Stream<Item = Result<B, E>> + Send,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let dir = services.files().incoming_dir();
    let file = tokio::task::spawn_blocking(move || match dir {
        Some(dir) => {
            kontor_storage::private_files::create_dir_all(&dir)?;
            tempfile::tempfile_in(dir)
        }
        None => tempfile::tempfile(),
    })
    .await
    .map_err(std::io::Error::other)??;
    let mut writer = tokio::io::BufWriter::new(tokio::fs::File::from_std(file));
    let mut received: u64 = 0;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ReceiveError::Body(e.to_string()))?;
        let bytes = chunk.as_ref();
        received += bytes.len() as u64;
        if received > limit {
            return Err(ReceiveError::TooLarge { limit });
        }
        writer.write_all(bytes).await?;
    }
    writer.flush().await?;
    Ok(writer.into_inner().into_std().await)
}
