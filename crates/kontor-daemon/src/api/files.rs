//! Stored files as HTTP downloads, streamed.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use kontor_storage::{FileId, TenantScope};

use super::error::ApiError;
use super::respond::FileDownload;
use crate::services::Services;

/// A file as a download, with its SHA-256 so clients can check what they got.
pub async fn download(
    services: &Services,
    scope: &TenantScope,
    id: FileId,
) -> Result<FileDownload, ApiError> {
    let (file, content) = services.file(scope, id).await?;
    let mut response = Body::from_stream(content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    if let Ok(v) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&file.sha256) {
        headers.insert("x-content-sha256", v);
    }
    Ok(FileDownload(response))
}
