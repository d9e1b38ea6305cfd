//! Bank connections (one partner at one host) and their accounts.

use chrono::{DateTime, Utc};
use kontor_documents::{Bic, Currency, Iban};
use kontor_protocol::order_type::{BtfService, OrderType};

use super::{entity, repository};
use crate::db::{now, record, to_json};
use crate::error::Result;
use crate::ids::{AccountId, BankHostId, ConnectionId};

record! {
    /// A customer (partner) relationship with one bank host.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Connection {
        pub id: ConnectionId,
        #[new] pub bank_host_id: BankHostId,
        #[new] pub partner_id: String,
        #[new] pub display_name: String,
        /// Order types the bank offers this partner (synced from HTD/HKD/HAA).
        pub order_types: Vec<OrderType>,
        /// EBICS 3.0: the BTF services the bank offers under BTU/BTD (synced from HTD/HKD).
        pub btf_offers: Vec<BtfOffer>,
        pub created_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewConnection;
}

crate::db::column_via!(Vec<BtfOffer> => json);

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

record! {
    /// A bank account reachable through a connection.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
    pub struct Account {
        pub id: AccountId,
        pub connection_id: ConnectionId,
        /// The bank's AccountInfo ID from HTD, used in permissions.
        #[new] pub bank_account_id: Option<String>,
        #[new] pub iban: Option<Iban>,
        #[new] pub national_number: Option<String>,
        #[new] pub bank_code: Option<String>,
        #[new] pub bic: Option<Bic>,
        #[new] pub holder_name: String,
        #[new] pub currency: Currency,
        pub created_at: DateTime<Utc>,
    }
    #[derive(Debug, Clone)]
    pub struct NewAccount;
}

entity!(Account, AccountId, "accounts", "account", Deletable);

repository!(
    /// Bank connections of the scope's tenant.
    Connections,
    connections
);

impl Connections<'_, '_> {
    pub async fn create(&mut self, new: NewConnection) -> Result<Connection> {
        self.tx
            .create_new(&new.into_row([
                ("order_types", to_json(&Vec::<String>::new()).into()),
                ("created_at", now().into()),
            ]))
            .await
    }

    pub async fn rename(&mut self, id: ConnectionId, display_name: &str) -> Result<Connection> {
        self.tx
            .updated(id, &[("display_name", display_name.into())])
            .await
    }

    /// Replaces the order types the bank offers (after HTD/HKD/HAA).
    pub async fn set_order_types(
        &mut self,
        id: ConnectionId,
        order_types: &[OrderType],
    ) -> Result<()> {
        self.tx
            .update(id, &[("order_types", to_json(&order_types).into())])
            .await
    }

    /// Replaces the BTF services the bank offers (after HTD/HKD).
    pub async fn set_btf_offers(&mut self, id: ConnectionId, offers: &[BtfOffer]) -> Result<()> {
        self.tx
            .update(id, &[("btf_offers", to_json(&offers).into())])
            .await
    }

    pub async fn list_for_host(&mut self, host: BankHostId) -> Result<Vec<Connection>> {
        self.tx.list_where("bank_host_id", host).await
    }
}

repository!(
    /// Accounts of the scope's tenant.
    Accounts,
    accounts
);

impl Accounts<'_, '_> {
    pub async fn create(&mut self, connection: ConnectionId, new: NewAccount) -> Result<Account> {
        self.tx
            .create_new(&new.into_row([
                ("connection_id", connection.to_db().into()),
                ("created_at", now().into()),
            ]))
            .await
    }

    pub async fn update_holder(&mut self, id: AccountId, holder_name: &str) -> Result<Account> {
        self.tx
            .updated(id, &[("holder_name", holder_name.into())])
            .await
    }

    pub async fn list_for_connection(&mut self, connection: ConnectionId) -> Result<Vec<Account>> {
        self.tx.list_where("connection_id", connection).await
    }

    /// Every account with this IBAN (one per connection that reaches it).
    pub async fn list_by_iban(&mut self, iban: &Iban) -> Result<Vec<Account>> {
        self.tx.list_where("iban", iban.clone()).await
    }
}
