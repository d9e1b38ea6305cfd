//! What an order is (classic order type or H005 BTF service, mapped to the classic meaning the
//! emulator implements) and whether a subscriber may give it (permissions from the seed).

use kontor_protocol::envelope::{OrderDetails, OrderParams};
use kontor_protocol::order_type::{BtfService, BtfServiceText, Direction, OrderType};

use super::reply::Reject;
use crate::config::{BankConfig, BtfDirection, PartnerConfig, PermissionConfig};
use crate::ids::{AccountId, OrderTypeCode, PartnerId, UserId};
use crate::return_codes::ReturnCode;
use crate::state::OrderKind;

/// An order as the bank understands it, whatever envelope it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedOrder {
    /// What is recorded: the classic type, or BTU/BTD with the service.
    pub kind: OrderKind,
    /// The meaning the emulator implements, e.g. `C53` for BTD EOP/camt.053.
    pub classic: String,
    /// For BTF orders without a classic equivalent: the message name.
    pub msg_name: Option<String>,
    pub direction: Direction,
}

impl ResolvedOrder {
    /// The code permissions list: BTU/BTD for BTF orders, else the order type.
    pub fn permission_code(&self) -> &str {
        self.kind.order_type.as_str()
    }

    pub fn service_name(&self) -> Option<&str> {
        self.kind.service.as_ref().map(|s| s.service_name.as_str())
    }
}

/// The order data form (HKD/HTD/HAA/HVU) of a BTF service, its parts unchecked: writing the
/// order data checks them. The container is one of the schema's, as the configuration is
/// validated when it is loaded and a recorded service keeps its offer's container.
pub fn service_to_orderdata(service: &BtfServiceText) -> BtfService {
    BtfService {
        service_name: service.service_name.clone(),
        scope: service.scope.clone(),
        service_option: service.service_option.clone(),
        container: service.container.as_deref().and_then(|c| c.parse().ok()),
        message: service.message_name(),
    }
}

fn code(text: &str) -> Result<OrderTypeCode, Reject> {
    text.parse()
        .map_err(|_| Reject::new(ReturnCode::INVALID_ORDER_TYPE, text.to_owned()))
}

/// Direction of bank-specific order types the emulator implements beyond the ones
/// `kontor-protocol` names: the DK payment status reports CRZ/CDZ (pain.002 in ZIP) and the
/// Swiss camt order types Z52/Z54.
pub fn emulator_direction(code: &str) -> Option<Direction> {
    matches!(code, "CRZ" | "CDZ" | "Z52" | "Z54").then_some(Direction::Download)
}

/// Resolves the order of a request for a partner; unknown or not offered → 091005.
pub fn resolve(partner: &PartnerConfig, details: &OrderDetails) -> Result<ResolvedOrder, Reject> {
    let requested = details.order_type.as_str();
    if !partner.order_types.iter().any(|t| t.as_str() == requested) {
        return Err(Reject::new(
            ReturnCode::INVALID_ORDER_TYPE,
            format!("{requested} is not offered to partner {}", partner.id),
        ));
    }
    let btf = match &details.params {
        OrderParams::Btd { service, .. } => Some((service, BtfDirection::Download)),
        OrderParams::Btu { service, .. } => Some((service, BtfDirection::Upload)),
        _ => None,
    };
    if let Some((asked, direction)) = btf {
        let offer = partner
            .btf
            .iter()
            .find(|o| o.direction == direction && o.covers(asked))
            .ok_or_else(|| {
                Reject::new(
                    ReturnCode::INVALID_ORDER_TYPE,
                    format!(
                        "service {}/{} is not offered to partner {}",
                        asked.service_name, asked.message.name, partner.id
                    ),
                )
            })?;
        return Ok(ResolvedOrder {
            kind: OrderKind {
                order_type: code(requested)?,
                service: Some(offer.recorded_for(asked)),
            },
            classic: offer
                .classic
                .as_ref()
                .map_or_else(String::new, |c| c.to_string()),
            msg_name: Some(offer.service.msg_name.clone()),
            direction: match direction {
                BtfDirection::Download => Direction::Download,
                BtfDirection::Upload => Direction::Upload,
            },
        });
    }
    if matches!(details.order_type, OrderType::BTD | OrderType::BTU) {
        return Err(Reject::new(
            ReturnCode::INVALID_ORDER_PARAMS,
            "BTD/BTU without a service",
        ));
    }
    let direction = details
        .order_type
        .direction()
        .or_else(|| emulator_direction(requested))
        .ok_or_else(|| {
            Reject::new(
                ReturnCode::INVALID_ORDER_TYPE,
                format!("{requested} is not implemented by the emulator"),
            )
        })?;
    Ok(ResolvedOrder {
        kind: OrderKind::classic(code(requested)?),
        classic: requested.to_owned(),
        msg_name: None,
        direction,
    })
}

/// The permissions of a subscriber that allow an order (order type, and service for BTF).
pub fn permissions<'a>(
    config: &'a BankConfig,
    partner: &'a PartnerId,
    user: &'a UserId,
    order: &'a ResolvedOrder,
) -> impl Iterator<Item = &'a PermissionConfig> + 'a {
    config.permissions_of(partner, user).filter(move |p| {
        p.order_types
            .iter()
            .any(|t| t.as_str() == order.permission_code())
            && match order.service_name() {
                Some(name) => p.services.is_empty() || p.services.iter().any(|s| s == name),
                None => true,
            }
    })
}

/// Refuses an order the subscriber has no permission for (090003).
pub fn require_permission(
    config: &BankConfig,
    partner: &PartnerId,
    user: &UserId,
    order: &ResolvedOrder,
) -> Result<(), Reject> {
    // Every subscriber may suspend itself (SPR is key management, like INI/HIA, not a business
    // order a permission grants); the partner must still be offered SPR.
    // Key changes (HCA, HCS, PUB) likewise: the subscriber's own keys, signed with its own
    // current key.
    if order.classic == "SPR" || super::key_change::is_key_change(&order.classic) {
        return Ok(());
    }
    if permissions(config, partner, user, order).next().is_none() {
        return Err(Reject::new(
            ReturnCode::AUTHORISATION_ORDER_TYPE_FAILED,
            format!(
                "{partner}/{user} may not give {}{}",
                order.permission_code(),
                order
                    .service_name()
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// Whether a permission covers an account (no account list: all of the partner's accounts).
pub fn covers_account(permission: &PermissionConfig, account: &AccountId) -> bool {
    permission.accounts.is_empty() || permission.accounts.contains(account)
}
