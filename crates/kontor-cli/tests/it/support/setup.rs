//! What the end-to-end tests prepare in a tenant: a bank connection, an operator's API token,
//! and pain.001 payment files.

use chrono::{NaiveDate, NaiveDateTime};
use kontor_documents::pain::{self, AccountParty, PainVersion, PaymentInfo, PaymentOrder};
use kontor_documents::{Amount, Currency, Iban};
use kontor_storage::{
    BankHost, Connection, NewBankHost, NewConnection, Role, ScopedTx, Store, TenantId,
};
use secrecy::ExposeSecret;

/// Registers `host` and a connection of `partner_id` to it that may send `order_types`.
pub async fn bank_connection(
    tx: &mut ScopedTx<'_>,
    host: NewBankHost,
    partner_id: &str,
    order_types: &[&str],
) -> (BankHost, Connection) {
    let host = tx.bank_hosts().create(host).await.unwrap();
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host.id,
            partner_id: partner_id.into(),
            display_name: "Main".into(),
        })
        .await
        .unwrap();
    let order_types: Vec<kontor_protocol::order_type::OrderType> = order_types
        .iter()
        .map(|t| kontor_protocol::order_type::OrderType::parse_lenient(t).unwrap())
        .collect();
    tx.connections()
        .set_order_types(connection.id, &order_types)
        .await
        .unwrap();
    (host, connection)
}

/// A new operator of `tenant` with `role`, and the secret of an API token issued to them.
pub async fn operator_token(store: &Store, tenant: TenantId, email: &str, role: Role) -> String {
    let operator = store
        .admin()
        .create_operator(email, "Ops", tenant, role)
        .await
        .unwrap();
    let issued = store
        .admin()
        .issue_token(operator.id, "test", None)
        .await
        .unwrap();
    issued.secret.expose_secret().to_owned()
}

/// A credit transfer of `amount` to `name` (a French account).
pub fn transfer(
    end_to_end_id: &str,
    name: &str,
    amount: &str,
    remittance: Option<String>,
) -> pain::Transaction {
    pain::Transaction {
        end_to_end_id: end_to_end_id.into(),
        instruction_id: None,
        amount: Amount::parse(amount).unwrap(),
        currency: Currency::EUR,
        counterparty: AccountParty::new(
            name,
            Iban::parse("FR1420041010050500013M02606").unwrap(),
            None,
        ),
        mandate: None,
        remittance,
    }
}

/// A SEPA pain.001 with one payment information block from `debtor` (name, IBAN).
pub fn payment_file(
    version: PainVersion,
    message_id: &str,
    created: NaiveDateTime,
    requested_date: NaiveDate,
    debtor: (&str, &str),
    transactions: Vec<pain::Transaction>,
) -> Vec<u8> {
    let order = PaymentOrder {
        version,
        message_id: message_id.into(),
        created,
        initiating_party: Some(debtor.0.into()),
        payment_infos: vec![PaymentInfo {
            id: "PMT-1".into(),
            batch_booking: Some(true),
            service_level: Some("SEPA".into()),
            local_instrument: None,
            sequence_type: None,
            category_purpose: None,
            requested_date,
            account: AccountParty::new(debtor.0, Iban::parse(debtor.1).unwrap(), None),
            creditor_scheme_id: None,
            charge_bearer: Some("SLEV".into()),
            transactions,
        }],
    };
    pain::build(&order).unwrap().into_bytes()
}
