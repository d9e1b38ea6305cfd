//! The signer CLI end to end over real HTTP against an in-process API on SQLite: two signers
//! (classes A and B) with keys only on their side sign an order that ends SIGNED.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use kontor_documents::pain::{
    self, AccountParty, PainVersion, PaymentInfo, PaymentOrder, Transaction,
};
use kontor_documents::{Amount, Currency, Iban};
use kontor_storage::{
    EbicsUserStatus, MasterKey, NewAccount, NewBankHost, NewConnection, NewEbicsUser,
    NewPermission, Role, SignatureClass, Store, TenantScope,
};
use secrecy::ExposeSecret;

const PASSPHRASE: &str = "correct horse battery";

struct Cli {
    api: String,
    token: String,
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Cli {
    async fn run(&self, passphrase: &str, args: &[&str]) -> Output {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kontor"))
            .arg("sign")
            .args(args)
            .env("KONTOR_API_URL", &self.api)
            .env("KONTOR_TOKEN", &self.token)
            .env("KONTOR_SIGNER_PASSPHRASE", passphrase)
            .output()
            .await
            .unwrap();
        Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn payment_file() -> Vec<u8> {
    let party = |name: &str, iban: &str| AccountParty::new(name, Iban::parse(iban).unwrap(), None);
    let transfer = |i: usize, name: &str, amount: &str| Transaction {
        end_to_end_id: format!("E2E-{i}"),
        instruction_id: None,
        amount: Amount::parse(amount).unwrap(),
        currency: Currency::EUR,
        counterparty: party(name, "FR1420041010050500013M02606"),
        mandate: None,
        remittance: None,
    };
    let order = PaymentOrder {
        version: PainVersion::Pain001_001_09,
        message_id: "MSG-SIGN-1".into(),
        created: NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        initiating_party: None,
        payment_infos: vec![PaymentInfo {
            id: "PMT-1".into(),
            batch_booking: None,
            service_level: Some("SEPA".into()),
            local_instrument: None,
            sequence_type: None,
            category_purpose: None,
            requested_date: NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(),
            account: party("Muster Treasury GmbH", "DE89370400440532013000"),
            creditor_scheme_id: None,
            charge_bearer: None,
            transactions: vec![
                transfer(1, "Alpha AG", "1200.50"),
                transfer(2, "Beta GmbH", "99.50"),
            ],
        }],
    };
    pain::build(&order).unwrap().into_bytes()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signers_with_their_own_keys_sign_an_order_that_ends_signed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
    let store = Store::connect(&url, Arc::new(MasterKey::generate()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let tenant = store.admin().create_tenant("Muster").await.unwrap();
    let operator = store
        .admin()
        .create_operator("treasury@x", "Treasury", tenant.id, Role::Admin)
        .await
        .unwrap();
    let token = store
        .admin()
        .issue_token(operator.id, "signer", None)
        .await
        .unwrap();

    let scope = TenantScope::system_job(tenant.id, "test setup");
    let mut tx = store.scope(&scope).begin().await.unwrap();
    let host = tx
        .bank_hosts()
        .create(NewBankHost {
            host_id: "BANK".into(),
            name: "Bank".into(),
            url: "https://bank.example".into(),
            protocol_version: "H004".parse().unwrap(),
            btf: false,
            production: false,
            ca_bundle_pem: None,
        })
        .await
        .unwrap();
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host.id,
            partner_id: "P1".into(),
            display_name: "Main".into(),
        })
        .await
        .unwrap();
    tx.connections()
        .set_order_types(connection.id, &["CCT".into()])
        .await
        .unwrap();
    let mut signers = Vec::new();
    for (uid, class) in [("ALICE", SignatureClass::A), ("BOB", SignatureClass::B)] {
        let u = tx
            .ebics_users()
            .create(NewEbicsUser {
                connection_id: connection.id,
                user_id: uid.into(),
                system_id: None,
                name: uid.into(),
                signature_class: class,
            })
            .await
            .unwrap();
        signers.push(u.id.to_string());
    }
    // The bank allows the first signer to send CCT from the ordering account.
    let account = tx
        .accounts()
        .create(
            connection.id,
            NewAccount {
                bank_account_id: None,
                iban: Some("DE89370400440532013000".into()),
                national_number: None,
                bank_code: None,
                bic: None,
                holder_name: "Muster Treasury GmbH".into(),
                currency: "EUR".into(),
            },
        )
        .await
        .unwrap();
    tx.permissions()
        .create(NewPermission {
            ebics_user_id: signers[0].parse().unwrap(),
            order_type: "CCT".into(),
            account_id: Some(account.id),
            authorisation_level: SignatureClass::A,
            max_amount: Some("100000.00".into()),
            currency: Some("EUR".into()),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = kontor_daemon::api::router(kontor_daemon::api::AppState::new(store.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let api = format!("http://{address}");
    let cli = Cli {
        api: api.clone(),
        token: token.secret.expose_secret().to_owned(),
    };

    // Each signer makes a key on their machine and registers only its public part.
    let keys: Vec<_> = ["alice.key", "bob.key"]
        .iter()
        .map(|f| dir.path().join(f))
        .collect();
    for (key, signer) in keys.iter().zip(&signers) {
        let out = cli.run(PASSPHRASE, &["keygen", "--out", path(key)]).await;
        assert!(out.ok, "{}", out.stderr);
        assert!(!std::fs::read_to_string(key)
            .unwrap()
            .contains("PRIVATE KEY"));
        let out = cli
            .run(PASSPHRASE, &["register", path(key), "--signer", signer])
            .await;
        assert!(out.ok, "{}", out.stderr);
    }

    // INI carried those keys; the bank made the users READY.
    let mut tx = store.scope(&scope).begin().await.unwrap();
    for signer in &signers {
        let id = signer.parse().unwrap();
        tx.ebics_users()
            .set_status(id, EbicsUserStatus::New, EbicsUserStatus::Initialised)
            .await
            .unwrap();
        tx.ebics_users()
            .set_status(id, EbicsUserStatus::Initialised, EbicsUserStatus::Ready)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    // From now on the bank holds the signer's key: an Admin cannot swap in a key of their own.
    let intruder = dir.path().join("intruder.key");
    let out = cli
        .run(PASSPHRASE, &["keygen", "--out", path(&intruder)])
        .await;
    assert!(out.ok, "{}", out.stderr);
    let out = cli
        .run(
            PASSPHRASE,
            &["register", path(&intruder), "--signer", &signers[1]],
        )
        .await;
    assert!(!out.ok, "a READY signer's key was replaced");
    assert!(out.stderr.contains("user_not_new"), "{}", out.stderr);

    let http = reqwest::Client::new();
    let order: serde_json::Value = http
        .post(format!(
            "{api}/v1/orders?ebics_user_id={}&order_type=CCT",
            signers[0]
        ))
        .bearer_auth(&cli.token)
        .header("content-type", "application/xml")
        .body(payment_file())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_id = order["id"].as_str().unwrap().to_owned();

    let out = cli.run(PASSPHRASE, &["list"]).await;
    assert!(
        out.ok && out.stdout.contains(&order_id),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let out = cli.run(PASSPHRASE, &["show", &order_id]).await;
    assert!(out.ok, "{}", out.stderr);
    for expected in [
        "transactions 2",
        "1300.00 EUR",
        "Alpha AG, Beta GmbH",
        order["summary"]["content_hash"].as_str().unwrap(),
    ] {
        assert!(
            out.stdout.contains(expected),
            "show lacks {expected:?}:\n{}",
            out.stdout
        );
    }

    // A wrong passphrase signs nothing.
    let out = cli
        .run(
            "not it",
            &[
                "approve",
                &order_id,
                "--key",
                path(&keys[0]),
                "--signer",
                &signers[0],
            ],
        )
        .await;
    assert!(!out.ok);
    assert!(out.stderr.contains("wrong passphrase"), "{}", out.stderr);

    // A key the daemon does not know for this signer is refused before signing.
    let stranger = dir.path().join("stranger.key");
    assert!(
        cli.run(PASSPHRASE, &["keygen", "--out", path(&stranger)])
            .await
            .ok
    );
    let out = cli
        .run(
            PASSPHRASE,
            &[
                "approve",
                &order_id,
                "--key",
                path(&stranger),
                "--signer",
                &signers[0],
            ],
        )
        .await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("not the signer's registered key"),
        "{}",
        out.stderr
    );

    let out = cli
        .run(
            PASSPHRASE,
            &[
                "approve",
                &order_id,
                "--key",
                path(&keys[0]),
                "--signer",
                &signers[0],
            ],
        )
        .await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.contains("now PENDING_SIGNATURE"),
        "{}",
        out.stdout
    );
    let out = cli
        .run(
            PASSPHRASE,
            &[
                "approve",
                &order_id,
                "--key",
                path(&keys[1]),
                "--signer",
                &signers[1],
            ],
        )
        .await;
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.contains("now SIGNED"), "{}", out.stdout);

    // Signed: nothing more to sign, and the daemon holds two signatures and no private key.
    let out = cli
        .run(
            PASSPHRASE,
            &[
                "approve",
                &order_id,
                "--key",
                path(&keys[0]),
                "--signer",
                &signers[0],
            ],
        )
        .await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("no longer awaits signatures"),
        "{}",
        out.stderr
    );
    let shown: serde_json::Value = http
        .get(format!("{api}/v1/orders/{order_id}"))
        .bearer_auth(&cli.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "SIGNED");
    assert_eq!(shown["signatures"].as_array().unwrap().len(), 2);
    let mut tx = store.scope(&scope).begin().await.unwrap();
    for signer in &signers {
        let pairs = tx
            .key_pairs()
            .list_for_user(signer.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].custody, kontor_storage::KeyCustody::Signer);
        assert!(pairs[0].encrypted_private_key().is_empty());
    }
}
