//! `/v1/webhooks`: subscriptions to the tenant's events (Standard Webhooks), their delivery
//! log, ping, redelivery, secret rotation and resumption after parking.

use axum::Json;
use kontor_storage::{
    NewWebhookSubscription, WebhookAttempt, WebhookDelivery, WebhookDeliveryId, WebhookEventType,
    WebhookSubscription, WebhookSubscriptionChange, WebhookSubscriptionId,
};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{JsonBody, On, QueryParams};
use super::input::{HttpUrl, Name, Valid};
use super::page::{ItemPage, PageQuery};
use super::records::{children, show};
use super::respond::{Accepted, Created, NoContent};
use super::{Access, Routes};
use crate::services::webhooks::{self, WithSecret};

/// Deliveries shown per subscription, newest first.
const DELIVERY_LOG_LIMIT: u32 = 100;

pub fn routes(routes: Routes) -> Routes {
    routes
        .read("/v1/webhooks", "List webhook subscriptions", list)
        .post(
            "/v1/webhooks",
            Access::Configure,
            "Create a webhook subscription (the target must resolve to a public address); the answer shows its secret, once",
            create,
        )
        .read("/v1/webhooks/{id}", "Show a webhook subscription", show::<WebhookSubscriptionId>)
        .patch(
            "/v1/webhooks/{id}",
            Access::Configure,
            "Change a subscription's URL, description, event types, or enable/disable it",
            update,
        )
        .delete(
            "/v1/webhooks/{id}",
            Access::Configure,
            "Delete a subscription with its deliveries",
            delete,
        )
        .post(
            "/v1/webhooks/{id}/ping",
            Access::Configure,
            "Send a webhook.ping event to this subscription",
            ping,
        )
        .post(
            "/v1/webhooks/{id}/rotate-secret",
            Access::Configure,
            "Replace the secret (shown once); the old one keeps signing during the overlap",
            rotate,
        )
        .post(
            "/v1/webhooks/{id}/resume",
            Access::Configure,
            "Resume a parked subscription: its failed deliveries go out again, in order",
            resume,
        )
        .read(
            "/v1/webhooks/{id}/deliveries",
            "Delivery log of a subscription, newest first, with the last response code",
            deliveries,
        )
        .read(
            "/v1/webhook-deliveries/{id}/attempts",
            "Every attempt of one delivery with the receiver's response code",
            children::<WebhookAttempt>,
        )
        .post(
            "/v1/webhook-deliveries/{id}/redeliver",
            Access::Configure,
            "Send a delivery's event again under the same webhook-id",
            redeliver,
        )
}

async fn list(
    caller: Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<WebhookSubscription>>, ApiError> {
    let page = q.newest()?;
    let mut tx = caller.read().await?;
    let all = tx.webhooks().list().await?;
    Ok(Json(ItemPage::of_all(all, page, |s| s.id)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateWebhook {
    url: Valid<HttpUrl>,
    description: Option<Valid<Name>>,
    /// Empty or absent: every event type.
    #[serde(default)]
    event_types: Vec<WebhookEventType>,
}

/// A subscription with its secret, answered once at creation and rotation.
#[derive(Serialize, schemars::JsonSchema)]
struct SubscriptionWithSecret {
    #[serde(flatten)]
    subscription: WebhookSubscription,
    /// `whsec_<base64>`: store it now, it is not shown again.
    secret: String,
}

impl From<WithSecret> for SubscriptionWithSecret {
    fn from(created: WithSecret) -> Self {
        Self {
            subscription: created.subscription,
            secret: created.secret.to_whsec().to_string(),
        }
    }
}

async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CreateWebhook>,
) -> Result<Created<SubscriptionWithSecret>, ApiError> {
    let new = NewWebhookSubscription {
        url: body.url.into_inner().0,
        description: body.description.map(|d| d.into_inner().into_string()),
        event_types: body.event_types,
    };
    let created = webhooks::create(caller.services(), &caller.scope, new).await?;
    Ok(Created(created.into()))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateWebhook {
    url: Option<Valid<HttpUrl>>,
    description: Option<Valid<Name>>,
    event_types: Option<Vec<WebhookEventType>>,
    enabled: Option<bool>,
}

async fn update(
    On(caller, id): On<WebhookSubscriptionId>,
    JsonBody(body): JsonBody<UpdateWebhook>,
) -> Result<Json<WebhookSubscription>, ApiError> {
    let change = WebhookSubscriptionChange {
        url: body.url.map(|u| u.into_inner().0),
        description: body.description.map(|d| Some(d.into_inner().into_string())),
        event_types: body.event_types,
        enabled: body.enabled,
    };
    Ok(Json(
        webhooks::update(caller.services(), &caller.scope, id, change).await?,
    ))
}

async fn delete(On(caller, id): On<WebhookSubscriptionId>) -> Result<NoContent, ApiError> {
    webhooks::delete(caller.services(), &caller.scope, id).await?;
    Ok(NoContent)
}

async fn ping(
    On(caller, id): On<WebhookSubscriptionId>,
) -> Result<Accepted<WebhookDelivery>, ApiError> {
    let delivery = webhooks::ping(caller.services(), &caller.scope, id).await?;
    Ok(Accepted(delivery))
}

async fn rotate(
    On(caller, id): On<WebhookSubscriptionId>,
) -> Result<Json<SubscriptionWithSecret>, ApiError> {
    let rotated = webhooks::rotate_secret(caller.services(), &caller.scope, id).await?;
    Ok(Json(rotated.into()))
}

async fn resume(
    On(caller, id): On<WebhookSubscriptionId>,
) -> Result<Json<WebhookSubscription>, ApiError> {
    Ok(Json(
        webhooks::resume(caller.services(), &caller.scope, id).await?,
    ))
}

async fn deliveries(
    On(caller, id): On<WebhookSubscriptionId>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ItemPage<WebhookDelivery>>, ApiError> {
    let page = q.newest()?;
    let mut tx = caller.read().await?;
    let log = tx.webhooks().deliveries(id, DELIVERY_LOG_LIMIT).await?;
    Ok(Json(ItemPage::of_all(log, page, |d| d.id)))
}

async fn redeliver(
    On(caller, id): On<WebhookDeliveryId>,
) -> Result<Accepted<WebhookDelivery>, ApiError> {
    let delivery = webhooks::redeliver(caller.services(), &caller.scope, id).await?;
    Ok(Accepted(delivery))
}
