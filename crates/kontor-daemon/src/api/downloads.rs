//! `/v1/downloads`: an on-demand download of any order type or BTF service the bank offers.

use chrono::NaiveDate;
use kontor_protocol::order_type::{BtfService, ContainerType, MessageName, OrderType};
use kontor_storage::EbicsUserId;
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::JsonBody;
use super::input::Valid;
use super::respond::Created;
use super::{Access, Routes};
use crate::services::downloads::{self, DownloadOrder, DownloadResult};

pub fn routes(routes: Routes) -> Routes {
    routes.post(
        "/v1/downloads",
        Access::Operate,
        "Download an order type or BTF service now (engine); statements are ingested",
        create,
    )
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateDownload {
    ebics_user_id: Valid<EbicsUserId>,
    /// A download order type (`C53`, `HAC`, `PTK`, `Z54`, ...); `BTD` (the default with a
    /// service) with `service`.
    order_type: Option<Valid<OrderType>>,
    service: Option<ServiceBody>,
    /// First and last day of the data; both or neither.
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// A BTF service as HTD/HAA list it (also taken by `/v1/schedules`).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ServiceBody {
    service_name: String,
    scope: Option<String>,
    service_option: Option<String>,
    /// `ZIP`, `XML` or `SVC`.
    container: Option<String>,
    msg_name: String,
    msg_version: Option<String>,
}

impl ServiceBody {
    pub(super) fn into_service(self) -> Result<BtfService, ApiError> {
        let invalid = |message: String| ApiError::Input {
            code: "invalid_service".into(),
            field: Some("service".into()),
            message,
        };
        let container = self
            .container
            .map(|c| c.parse::<ContainerType>())
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        let mut message = MessageName::new(&self.msg_name);
        message.version = self.msg_version;
        let service = BtfService {
            service_name: self.service_name,
            scope: self.scope,
            service_option: self.service_option,
            container,
            message,
        };
        service.validate().map_err(|e| invalid(e.to_string()))?;
        Ok(service)
    }
}

/// The order type a download names, or `BTD` when it names only a service.
pub(super) fn order_type_or_btd(
    order_type: Option<Valid<OrderType>>,
    service: Option<&BtfService>,
) -> Result<OrderType, ApiError> {
    match (order_type, service) {
        (Some(order_type), _) => Ok(order_type.into_inner()),
        (None, Some(_)) => Ok(OrderType::BTD),
        (None, None) => Err(ApiError::Input {
            code: "missing_field".into(),
            field: Some("order_type".into()),
            message: "name an order type or a service".into(),
        }),
    }
}

async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CreateDownload>,
) -> Result<Created<DownloadResult>, ApiError> {
    let user = *body.ebics_user_id;
    caller.acting_for(user).await?;
    let period = match (body.from, body.to) {
        (Some(from), Some(to)) => Some((from, to)),
        (None, None) => None,
        _ => {
            return Err(ApiError::Input {
                code: "invalid_period".into(),
                field: Some("to".into()),
                message: "give both from and to, or neither".into(),
            })
        }
    };
    let service = body.service.map(ServiceBody::into_service).transpose()?;
    let order_type = order_type_or_btd(body.order_type, service.as_ref())?;
    let result = downloads::download(
        caller.services(),
        &caller.scope,
        DownloadOrder {
            user,
            order_type,
            service,
            period,
        },
    )
    .await?;
    Ok(Created(result))
}
