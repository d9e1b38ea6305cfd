//! What the end-to-end tests prepare in a tenant: a bank connection, the emulator's demo
//! subscriber and its onboarding, an operator's API token, and pain.001 payment files.

use chrono::{NaiveDate, NaiveDateTime};
use kontor_bank::RunningBank;
use kontor_daemon::ebics::Client;
use kontor_documents::pain::{self, AccountParty, PainVersion, PaymentInfo, PaymentOrder};
use kontor_documents::{Amount, Currency, Iban};
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{
    AccountId, BankHost, BankHostId, BankKeyVerification, Connection, EbicsUserId, EbicsUserStatus,
    NewAccount, NewBankHost, NewConnection, NewEbicsUser, NewPermission, Role, ScopedTx,
    SignatureClass, Store, TenantId, TenantScope, VerificationMethod,
};
use secrecy::ExposeSecret;

/// The account holder and IBAN of the emulator's demo subscriber: the debtor of its payments.
pub const DEBTOR: (&str, &str) = ("Muster Maschinenbau GmbH", "DE89370400440532013000");

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

/// The emulator's demo subscriber as the daemon knows it (see [`demo_subscriber`]).
pub struct Subscriber {
    pub host: BankHostId,
    pub user: EbicsUserId,
    pub account: AccountId,
}

/// The emulator's demo subscriber at the bank served at `url`: host KONTORBANK speaking
/// `version`, PARTNER1's connection offering `order_types`, user USER1 (Erika Mustermann,
/// class E) who may send CCT up to `max_amount` EUR (any amount with `None`), and the
/// [`DEBTOR`] account.
pub async fn demo_subscriber(
    tx: &mut ScopedTx<'_>,
    url: String,
    version: ProtocolVersion,
    order_types: &[&str],
    max_amount: Option<&str>,
) -> Subscriber {
    let host = NewBankHost {
        host_id: "KONTORBANK".into(),
        name: "Kontor Demo Bank".into(),
        url,
        protocol_version: version,
        btf: version.uses_btf(),
        production: false,
        ca_bundle_pem: None,
    };
    let (host, connection) = bank_connection(tx, host, "PARTNER1", order_types).await;
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: connection.id,
            user_id: "USER1".into(),
            system_id: None,
            name: "Erika Mustermann".into(),
            signature_class: SignatureClass::E,
        })
        .await
        .unwrap()
        .id;
    let account = tx
        .accounts()
        .create(
            connection.id,
            NewAccount {
                iban: Some(DEBTOR.1.into()),
                holder_name: DEBTOR.0.into(),
                currency: "EUR".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    tx.permissions()
        .create(NewPermission {
            ebics_user_id: user,
            order_type: OrderType::CCT,
            btf_service: None,
            account_id: None,
            authorisation_level: SignatureClass::E,
            max_amount: max_amount.map(Into::into),
            currency: max_amount.map(|_| "EUR".into()),
        })
        .await
        .unwrap();
    Subscriber {
        host: host.id,
        user,
        account,
    }
}

/// The demo subscriber's onboarding, as an operator does it: INI and HIA with the keys the
/// user has, activation by the bank clerk, HPB, the bank keys verified by fingerprint, READY.
pub async fn onboard(client: &Client, bank: &RunningBank, scope: &TenantScope, who: &Subscriber) {
    client.send_ini(scope, who.user).await.unwrap();
    client.send_hia(scope, who.user).await.unwrap();
    bank.activate_user(&"PARTNER1".parse().unwrap(), &"USER1".parse().unwrap())
        .unwrap();
    client.fetch_bank_keys(scope, who.user).await.unwrap();
    let mut tx = client.store().scope(scope).begin().await.unwrap();
    for key in tx.bank_keys().list_for_host(who.host).await.unwrap() {
        tx.bank_keys()
            .decide(
                key.id,
                BankKeyVerification::Verified,
                VerificationMethod::FingerprintConfirmed,
                "ops@acme.example",
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(
        client.activate(scope, who.user).await.unwrap(),
        EbicsUserStatus::Ready
    );
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
