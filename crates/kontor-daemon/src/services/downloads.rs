//! On-demand downloads: any download order type or BTF service the bank offers, for an
//! optional period, stored as a file and, when it carries statements, ingested like a
//! scheduled download (see [`super::statement_files`]).

use chrono::NaiveDate;
use kontor_protocol::order_type::{BtfService, Direction, OrderDataFormat, OrderType};
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    BankHost, Connection, EbicsUserId, StatementFile, TenantScope, TransactionId, TransferEffect,
    UserAtHost,
};

use super::orders::offered_service;
use super::statement_files::{ingest_delivered, DeliveredStatements, Reading};
use super::statements::IngestError;
use super::{AsUser, Delivery, ServiceError, Services};
use crate::ebics::DownloadRequest;

/// A download an operator asks for.
#[derive(Debug, Clone)]
pub struct DownloadOrder {
    pub user: EbicsUserId,
    /// A classic download order type (`C53`, `HAC`, `PTK`, `Z54`, ...), or `BTD` with
    /// [`DownloadOrder::service`].
    pub order_type: OrderType,
    /// An explicit BTF service (EBICS 3.0 hosts only).
    pub service: Option<BtfService>,
    /// First and last day of the data (otherwise what the bank has not delivered yet).
    pub period: Option<(NaiveDate, NaiveDate)>,
}

/// Why a download was refused before anything was sent.
#[derive(Debug, thiserror::Error)]
pub enum DownloadRefusal {
    #[error("{0} is not a download order type")]
    NotADownload(OrderType),
    #[error("the bank does not offer {0} on this connection")]
    NotOffered(String),
    #[error("a BTF service needs an EBICS 3.0 (H005) host; this host speaks {0}")]
    ServiceNeedsH005(ProtocolVersion),
    #[error("the period ends before it starts")]
    EmptyPeriod,
    #[error("a schedule downloads statements; {0} delivers none")]
    NotStatements(String),
}

/// What a download delivered.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct DownloadResult {
    pub transaction_id: TransactionId,
    /// The stored file (absent when the bank had no data).
    pub file_id: Option<kontor_storage::FileId>,
    pub no_data: bool,
    /// For statements: the file's ingestion record.
    pub statement_file: Option<StatementFile>,
}

/// Downloads for the user now, stores the file and ingests statements. A statement file that
/// does not parse is still stored (see its record); the download itself succeeded.
pub async fn download(
    services: &Services,
    scope: &TenantScope,
    order: DownloadOrder,
) -> Result<DownloadResult, ServiceError> {
    let bank = services.bank()?;
    let statements = check_offered(services, scope, &order).await?;
    let mut request = DownloadRequest::new(order.order_type.clone());
    request.service = order.service.clone();
    if let Some((from, to)) = order.period {
        request = request.with_period(from, to);
    }
    if statements {
        request = request.with_effect(TransferEffect::IngestStatements);
    }
    let (bytes_len, file, transaction) = match bank
        .download(
            AsUser {
                scope,
                user: order.user,
            },
            request,
        )
        .await?
    {
        Delivery::NoData { transaction } => {
            return Ok(DownloadResult {
                transaction_id: transaction,
                file_id: None,
                no_data: true,
                statement_file: None,
            })
        }
        Delivery::Data { file, transaction } => (file.size, file.id, transaction),
    };
    tracing::info!(%transaction, size = bytes_len, order_type = %order.order_type, "on-demand download stored");
    let mut result = DownloadResult {
        transaction_id: transaction,
        file_id: Some(file),
        no_data: false,
        statement_file: None,
    };
    if statements {
        let files = bank.files();
        let reading = Reading::new(services.store(), &files);
        let delivered = DeliveredStatements::downloaded(
            order.user,
            order.order_type.clone(),
            file,
            Some(transaction),
        );
        match ingest_delivered(reading, scope, &delivered).await {
            Ok(_) | Err(IngestError::Failed { .. }) => {}
            // The effect stays pending: the background pass ingests it later.
            Err(error) => tracing::warn!(%transaction, %error, "ingestion deferred"),
        }
        let mut tx = services.store().scope(scope).begin().await?;
        result.statement_file = tx.statement_files().by_file(file).await?;
    }
    Ok(result)
}

/// Checks the order against the connection's offer; returns whether it delivers statements.
async fn check_offered(
    services: &Services,
    scope: &TenantScope,
    order: &DownloadOrder,
) -> Result<bool, ServiceError> {
    if let Some((from, to)) = order.period {
        if to < from {
            return Err(ServiceError::Precondition(Box::new(
                DownloadRefusal::EmptyPeriod,
            )));
        }
    }
    let mut tx = services.store().scope(scope).begin().await?;
    let UserAtHost {
        connection, host, ..
    } = tx.ebics_users().at_host(order.user).await?;
    super::hosts::ensure_active(&host)?;
    drop(tx);
    offered(
        &order.order_type,
        order.service.as_ref(),
        &host,
        &connection,
    )
    .map_err(|r| ServiceError::Precondition(Box::new(r)))
}

/// Whether `connection` at `host` offers the download of `order_type` (with `service`);
/// returns whether it delivers statements. Shared with the schedules, which check their
/// download when they are created.
pub(super) fn offered(
    order_type: &OrderType,
    service: Option<&BtfService>,
    host: &BankHost,
    connection: &Connection,
) -> Result<bool, DownloadRefusal> {
    // Key management and the VEU have their own routes (their requests carry more).
    let own_route = matches!(
        order_type,
        OrderType::HPB | OrderType::HVU | OrderType::HVZ | OrderType::HVD | OrderType::HVT
    );
    if own_route || !matches!(order_type.direction(), Some(Direction::Download) | None) {
        return Err(DownloadRefusal::NotADownload(order_type.clone()));
    }
    let h005 = host.protocol_version >= ProtocolVersion::H005;
    if service.is_some() && !h005 {
        return Err(DownloadRefusal::ServiceNeedsH005(host.protocol_version));
    }
    // On EBICS 3.0 a classic business type travels as BTD with its service, which HTD/HAA
    // list under BTD.
    let mut names = vec![order_type.clone()];
    if h005 {
        if let Ok((admin, _)) = order_type.to_h005() {
            names.push(admin);
        }
    }
    if !connection
        .order_types
        .iter()
        .any(|offered| names.contains(offered))
    {
        return Err(DownloadRefusal::NotOffered(order_type.to_string()));
    }
    // An explicit service must be one the bank offers under BTD, matched as uploads are.
    if let Some(service) = service {
        if offered_service(connection, &OrderType::BTD, order_type, service.clone()).is_none() {
            return Err(DownloadRefusal::NotOffered(format!(
                "{order_type} ({service})"
            )));
        }
    }
    // Z52/Z54 (the Swiss camt.052/054) are not named types of the protocol crate.
    let by_type = matches!(
        order_type.data_format(),
        Some(OrderDataFormat::Camt | OrderDataFormat::Mt940)
    ) || matches!(order_type.as_str(), "Z52" | "Z54");
    let by_service = service.is_some_and(|s| {
        let name = s.message.name.as_str();
        name.starts_with("camt.05") || name == "mt940" || name == "mt942"
    });
    Ok(by_type || by_service)
}
