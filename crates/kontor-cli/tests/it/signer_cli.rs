//! The signer CLI end to end over real HTTP against an in-process API on SQLite: two signers
//! (classes A and B) with keys only on their side sign an order that ends SIGNED.

use std::path::Path;

use chrono::NaiveDate;
use kontor_documents::pain::PainVersion;
use kontor_protocol::order_type::OrderType;
use kontor_protocol::ProtocolVersion;
use kontor_storage::testing::TestDb;
use kontor_storage::{NewPermission, Role, SignatureClass};
use kontor_testkit::bank::ready_user;
use kontor_testkit::seed::{self, Seed, IBAN};

use crate::support::setup::{operator_token, payment_file, transfer};
use crate::support::{kontor_sign, post_order};

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

impl Output {
    /// The command succeeded and printed `text`.
    fn assert_printed(&self, text: &str) {
        assert!(self.ok, "{}", self.stderr);
        assert!(self.stdout.contains(text), "{}", self.stdout);
    }

    /// The command failed and said `text`.
    fn assert_refused(&self, text: &str) {
        assert!(!self.ok, "succeeded: {}", self.stdout);
        assert!(self.stderr.contains(text), "{}", self.stderr);
    }
}

impl Cli {
    async fn run(&self, passphrase: &str, args: &[&str]) -> Output {
        let out = kontor_sign(&self.api, &self.token, passphrase, args).await;
        Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `kontor sign approve`: `signer` signs `order` with the key in `key`.
    async fn approve(&self, passphrase: &str, order: &str, key: &Path, signer: &str) -> Output {
        self.run(
            passphrase,
            &["approve", order, "--key", path(key), "--signer", signer],
        )
        .await
    }
}

fn two_transfers() -> Vec<u8> {
    let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    payment_file(
        PainVersion::Pain001_001_09,
        "MSG-SIGN-1",
        date.and_hms_opt(9, 0, 0).unwrap(),
        date + chrono::Days::new(3),
        ("Muster Treasury GmbH", IBAN),
        vec![
            transfer("E2E-1", "Alpha AG", "1200.50", None),
            transfer("E2E-2", "Beta GmbH", "99.50", None),
        ],
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signers_with_their_own_keys_sign_an_order_that_ends_signed() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    // The bank allows the first signer to send CCT from the ordering account.
    let seed = Seed {
        host_id: "BANK".into(),
        partner: "P1".into(),
        user: "ALICE".into(),
        user_name: "ALICE".into(),
        signature_class: SignatureClass::A,
        account_holder: "Muster Treasury GmbH".into(),
        ..Seed::new("Muster")
            .at("https://bank.example", ProtocolVersion::H004)
            .with_account(IBAN)
    };
    let tenant = seed::plant(&store, seed).await;
    tenant.offer(&store, &[OrderType::CCT]).await;
    let bob = tenant
        .add_user(&store, "BOB", "BOB", SignatureClass::B)
        .await;
    let signers = [tenant.user.to_string(), bob.to_string()];
    let scope = tenant.scope.clone();
    let token = operator_token(&store, scope.tenant(), "treasury@x", Role::Admin).await;
    let mut tx = store.scope(&scope).begin().await.unwrap();
    tx.permissions()
        .create(NewPermission {
            account_id: Some(tenant.account()),
            max_amount: Some("100000.00".parse().unwrap()),
            currency: Some("EUR".parse().unwrap()),
            ..seed::permission(tenant.user, OrderType::CCT, SignatureClass::A)
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
        token,
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
        ready_user(&mut tx, signer.parse().unwrap()).await;
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
    out.assert_refused("user_not_new");

    let http = reqwest::Client::new();
    let order = post_order(&api, &cli.token, &signers[0], two_transfers()).await;
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

    // A key the daemon does not know for this signer is refused before signing.
    let stranger = dir.path().join("stranger.key");
    assert!(
        cli.run(PASSPHRASE, &["keygen", "--out", path(&stranger)])
            .await
            .ok
    );
    // Each approval in turn: (passphrase, key, signer, what it ends in).
    let approvals: [(&str, &Path, usize, Result<&str, &str>); 5] = [
        // A wrong passphrase signs nothing.
        ("not it", &keys[0], 0, Err("wrong passphrase")),
        (
            PASSPHRASE,
            &stranger,
            0,
            Err("not the signer's registered key"),
        ),
        (PASSPHRASE, &keys[0], 0, Ok("now PENDING_SIGNATURE")),
        (PASSPHRASE, &keys[1], 1, Ok("now SIGNED")),
        // Signed: nothing more to sign.
        (PASSPHRASE, &keys[0], 0, Err("no longer awaits signatures")),
    ];
    for (passphrase, key, signer, outcome) in approvals {
        let out = cli
            .approve(passphrase, &order_id, key, &signers[signer])
            .await;
        match outcome {
            Ok(printed) => out.assert_printed(printed),
            Err(refusal) => out.assert_refused(refusal),
        }
    }

    // The daemon holds two signatures and no private key.
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
