//! Bank connections (one partner at one host) and their accounts.

use chrono::{DateTime, Utc};
use kontor_protocol::order_type::{BtfService, OrderType};

use super::{entity, repository};
use crate::db::{now, to_json, RowReader};
use crate::error::Result;
use crate::ids::{AccountId, BankHostId, ConnectionId};

/// A customer (partner) relationship with one bank host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Connection {
    pub id: ConnectionId,
    pub bank_host_id: BankHostId,
    pub partner_id: String,
    pub display_name: String,
    /// Order types the bank offers this partner (synced from HTD/HKD/HAA).
    pub order_types: Vec<OrderType>,
    /// EBICS 3.0: the BTF services the bank offers under BTU/BTD (synced from HTD/HKD).
    pub btf_offers: Vec<BtfOffer>,
    pub created_at: DateTime<Utc>,
}

impl Connection {
    fn read(r: &RowReader<'_>) -> Result<Self> {
        Ok(Self {
            id: r.parsed("id")?,
            bank_host_id: r.parsed("bank_host_id")?,
            partner_id: r.text("partner_id")?,
            display_name: r.text("display_name")?,
            order_types: r.json("order_types")?,
            btf_offers: r.json("btf_offers")?,
            created_at: r.ts("created_at")?,
        })
    }
}
entity!(
    Connection,
    ConnectionId,
    "bank_connections",
    "bank connection",
    Deletable
);

/// A BTF service the bank offers under an admin order type (`BTU` or `BTD`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct BtfOffer {
    pub order_type: OrderType,
    pub service: BtfService,
}

#[derive(Debug, Clone)]
pub struct NewConnection {
    pub bank_host_id: BankHostId,
    pub partner_id: String,
    pub display_name: String,
}

/// A bank account reachable through a connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Account {
    pub id: AccountId,
    pub connection_id: ConnectionId,
    /// The bank's AccountInfo ID from HTD, used in permissions.
    pub bank_account_id: Option<String>,
    pub iban: Option<String>,
    pub national_number: Option<String>,
    pub bank_code: Option<String>,
    pub bic: Option<String>,
    pub holder_name: String,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

impl Account {
    fn read(r: &RowReader<'_>) -> Result<Self> {
        Ok(Self {
            id: r.parsed("id")?,
            connection_id: r.parsed("connection_id")?,
            bank_account_id: r.opt_text("bank_account_id")?,
            iban: r.opt_text("iban")?,
            national_number: r.opt_text("national_number")?,
            bank_code: r.opt_text("bank_code")?,
            bic: r.opt_text("bic")?,
            holder_name: r.text("holder_name")?,
            currency: r.text("currency")?,
            created_at: r.ts("created_at")?,
        })
    }
}
entity!(Account, AccountId, "accounts", "account", Deletable);

#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub bank_account_id: Option<String>,
    pub iban: Option<String>,
    pub national_number: Option<String>,
    pub bank_code: Option<String>,
    pub bic: Option<String>,
    pub holder_name: String,
    pub currency: String,
}

repository!(
    /// Bank connections of the scope's tenant.
    Connections,
    connections
);

impl Connections<'_, '_> {
    pub async fn create(&mut self, new: NewConnection) -> Result<Connection> {
        let id = ConnectionId::new();
        self.tx
            .insert::<Connection>(
                &[
                    "id",
                    "bank_host_id",
                    "partner_id",
                    "display_name",
                    "order_types",
                    "created_at",
                ],
                vec![
                    id.to_db().into(),
                    new.bank_host_id.to_db().into(),
                    new.partner_id.into(),
                    new.display_name.into(),
                    to_json(&Vec::<String>::new()).into(),
                    now().into(),
                ],
            )
            .await?;
        self.tx.get(id).await
    }

    pub async fn rename(&mut self, id: ConnectionId, display_name: &str) -> Result<Connection> {
        self.tx
            .update::<Connection>(id.to_db(), &[("display_name", display_name.into())])
            .await?;
        self.tx.get(id).await
    }

    /// Replaces the order types the bank offers (after HTD/HKD/HAA).
    pub async fn set_order_types(
        &mut self,
        id: ConnectionId,
        order_types: &[OrderType],
    ) -> Result<()> {
        self.tx
            .update::<Connection>(id.to_db(), &[("order_types", to_json(&order_types).into())])
            .await
    }

    /// Replaces the BTF services the bank offers (after HTD/HKD).
    pub async fn set_btf_offers(&mut self, id: ConnectionId, offers: &[BtfOffer]) -> Result<()> {
        self.tx
            .update::<Connection>(id.to_db(), &[("btf_offers", to_json(&offers).into())])
            .await
    }

    pub async fn list_for_host(&mut self, host: BankHostId) -> Result<Vec<Connection>> {
        self.tx
            .list_where("bank_host_id", host.to_db().into())
            .await
    }
}

repository!(
    /// Accounts of the scope's tenant.
    Accounts,
    accounts
);

impl Accounts<'_, '_> {
    pub async fn create(&mut self, connection: ConnectionId, new: NewAccount) -> Result<Account> {
        let id = AccountId::new();
        self.tx
            .insert::<Account>(
                &[
                    "id",
                    "connection_id",
                    "bank_account_id",
                    "iban",
                    "national_number",
                    "bank_code",
                    "bic",
                    "holder_name",
                    "currency",
                    "created_at",
                ],
                vec![
                    id.to_db().into(),
                    connection.to_db().into(),
                    new.bank_account_id.into(),
                    new.iban.into(),
                    new.national_number.into(),
                    new.bank_code.into(),
                    new.bic.into(),
                    new.holder_name.into(),
                    new.currency.into(),
                    now().into(),
                ],
            )
            .await?;
        self.tx.get(id).await
    }

    pub async fn update_holder(&mut self, id: AccountId, holder_name: &str) -> Result<Account> {
        self.tx
            .update::<Account>(id.to_db(), &[("holder_name", holder_name.into())])
            .await?;
        self.tx.get(id).await
    }

    pub async fn list_for_connection(&mut self, connection: ConnectionId) -> Result<Vec<Account>> {
        self.tx
            .list_where("connection_id", connection.to_db().into())
            .await
    }

    /// Every account with this IBAN (one per connection that reaches it).
    pub async fn list_by_iban(&mut self, iban: &str) -> Result<Vec<Account>> {
        self.tx.list_where("iban", iban.into()).await
    }
}
