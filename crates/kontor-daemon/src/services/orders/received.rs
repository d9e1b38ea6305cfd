//! A payment file received over HTTP, before it becomes an order.
//!
//! The body is streamed to a file below the data directory's `incoming/` and counted and
//! hashed as it arrives: a file over the limit is refused as soon as the limit is passed (or
//! at once when its `Content-Length` says so), without ever being held whole in memory, and
//! nothing of it is stored. A file within the limit goes through [`create_order_of`] like any
//! other; with a data directory it becomes the order's file by a rename, never copied.

use futures::{Stream, StreamExt};
use kontor_storage::TenantScope;

use super::{create_order_of, CreateOrder, Created, OrderError};
use crate::ebics::{Files, Incoming};
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
/// ignored (the received file is the content).
pub async fn create_order_from_body<S, B, E>(
    services: &Services,
    scope: &TenantScope,
    order: CreateOrder,
    body: S,
    limit: u64,
) -> Result<Received, ReceiveError>
where
    S: Stream<Item = Result<B, E>> + Send,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let incoming = receive(services.files(), body, limit).await?;
    let order_data_digest = incoming.order_data_digest().to_owned();
    let created = create_order_of(
        services.store(),
        services.files(),
        scope,
        order,
        incoming.into(),
    )
    .await?;
    Ok(Received {
        created,
        order_data_digest,
    })
}

/// Streams `body` into an incoming file (removed when dropped), refusing it once it passes
/// `limit`.
async fn receive<S, B, E>(files: &Files, body: S, limit: u64) -> Result<Incoming, ReceiveError>
where
    S: Stream<Item = Result<B, E>> + Send,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut writer = files.receive().await?;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ReceiveError::Body(e.to_string()))?;
        let bytes = chunk.as_ref();
        if writer.size() + bytes.len() as u64 > limit {
            return Err(ReceiveError::TooLarge { limit });
        }
        writer.write(bytes).await?;
    }
    Ok(writer.finish().await?)
}
