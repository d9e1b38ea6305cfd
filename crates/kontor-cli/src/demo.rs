//! `kontor demo`: a newcomer's first run, on one machine, with no bank and no setup.
//!
//! Starts the bundled bank emulator and the daemon's admin API on loopback, with a fresh
//! SQLite database and master key in a temporary directory, and walks through what Kontor can
//! do today, printing each step. Steps that need engine parts still being built say so.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use kontor_protocol::certificate::CertificateSubject;
use kontor_protocol::envelope::{HevRequest, HevResponse, HostId};
use kontor_protocol::keys::KeySize;
use kontor_storage::{
    BankHost, EbicsUserId, KeyPair, MasterKey, NewConnection, NewEbicsUser, Role, SignatureClass,
    Store, TenantScope,
};
use secrecy::ExposeSecret;

const PARTNER: &str = "PARTNER1";
const USER: &str = "USER1";

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

pub async fn run(keep: bool) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("kontor-demo-").tempdir()?;
    let root = dir.path().to_owned();
    println!(
        "Kontor demo: bank emulator + daemon on SQLite in {}",
        root.display()
    );

    step(1, "Create a master key and the SQLite database");
    let key_file = root.join("keys/master.key");
    MasterKey::generate().write_new(&key_file)?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        root.join("data/kontor.db").display()
    );
    let store = Store::connect(&url, Arc::new(MasterKey::load(&key_file)?)).await?;
    store.migrate().await?;
    println!(
        "    key file {} (mode 0600), database {}",
        key_file.display(),
        root.join("data/kontor.db").display()
    );

    step(2, "Start the bank emulator (host KONTORBANK)");
    let bank_config = kontor_bank::config::BankConfig::demo().context("demo bank configuration")?;
    let bank = kontor_bank::Bank::start(bank_config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    println!("    EBICS endpoint {}", bank.ebics_url());

    step(
        3,
        "Start the admin API and create a tenant with an owner and an API token",
    );
    let tenant = store.admin().create_tenant("Muster Maschinenbau").await?;
    let owner = store
        .admin()
        .create_operator(
            "treasury@muster.example",
            "Treasury",
            tenant.id,
            Role::Owner,
        )
        .await?;
    let token = store.admin().issue_token(owner.id, "demo", None).await?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let api = format!("http://{}", listener.local_addr()?);
    let app = kontor_daemon::api::router(kontor_daemon::api::AppState::new(store.clone()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!(
        "    admin API {api}, tenant {} ({})",
        tenant.name, tenant.id
    );

    step(4, "Register the bank host through the admin API");
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{api}/v1/bank-hosts"))
        .bearer_auth(token.secret.expose_secret())
        .json(&serde_json::json!({
            "host_id": "KONTORBANK",
            "name": "Kontor Demo Bank",
            "url": bank.ebics_url(),
            "protocol_version": "H005",
        }))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "registering the bank host failed: {} {}",
            response.status(),
            response.text().await?
        );
    }
    let created: serde_json::Value = response.json().await?;
    let host_id: kontor_storage::BankHostId = created["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .context("host id in the API response")?;
    let mut tx = store
        .scope(&TenantScope::system_job(tenant.id, "demo"))
        .begin()
        .await?;
    let host: BankHost = tx.get(host_id).await?;
    drop(tx);
    println!(
        "    bank host {} ({}, BTF {})",
        host.host_id, host.protocol_version, host.btf
    );

    step(5, "Ask the bank which EBICS versions it speaks (HEV)");
    let hev = HevRequest {
        host_id: HostId::new("KONTORBANK")?,
    }
    .to_xml()?;
    let body = http
        .post(bank.ebics_url())
        .header("content-type", "text/xml")
        .body(hev)
        .send()
        .await?
        .bytes()
        .await?;
    let versions = HevResponse::parse(&body)?;
    let list: Vec<String> = versions
        .versions
        .iter()
        .map(|v| format!("{} ({})", v.protocol_version, v.version_number))
        .collect();
    println!("    bank supports {}", list.join(", "));

    step(
        6,
        "Create the partner connection and EBICS user, generate keys, print the letters",
    );
    let scope = TenantScope::system_job(tenant.id, "demo");
    let mut tx = store.scope(&scope).begin().await?;
    let connection = tx
        .connections()
        .create(NewConnection {
            bank_host_id: host.id,
            partner_id: PARTNER.into(),
            display_name: "Hausbank".into(),
        })
        .await?;
    let user = tx
        .ebics_users()
        .create(NewEbicsUser {
            connection_id: connection.id,
            user_id: USER.into(),
            system_id: None,
            name: "Erika Mustermann".into(),
            signature_class: SignatureClass::E,
        })
        .await?;
    tx.commit().await?;
    let subject = CertificateSubject {
        common_name: "Erika Mustermann".into(),
        organization: Some("Muster Maschinenbau GmbH".into()),
        country: Some("DE".into()),
    };
    let now = chrono::Utc::now();
    let material = tokio::task::spawn_blocking(move || {
        kontor_daemon::engine::keys::generate_key_material(&subject, KeySize::Bits2048, now)
    })
    .await??;
    let mut tx = store.scope(&scope).begin().await?;
    let letters =
        kontor_daemon::engine::keys::store_user_keys(&mut tx, user.id, &material, now).await?;
    tx.commit().await?;
    std::fs::write(root.join("ini-letter.html"), letters.ini.html())?;
    std::fs::write(root.join("hia-letter.html"), letters.hia.html())?;
    println!(
        "    signature key A006 hash      {}",
        letters.signature_hash
    );
    println!(
        "    authentication key X002 hash {}",
        letters.authentication_hash
    );
    println!(
        "    encryption key E002 hash     {}",
        letters.encryption_hash
    );
    println!(
        "    letters written to {}",
        root.join("ini-letter.html").display()
    );
    show_keys_at_rest(&store, &scope, user.id).await?;

    step(
        7,
        "Next: INI/HIA/HPB, statement download and a signed payment",
    );
    println!(
        "    The engine steps that exchange orders with the bank (INI, HIA, HPB, C53, CCT with"
    );
    println!(
        "    A+B signatures) are being wired to the emulator; see the open issues. This demo stops"
    );
    println!("    after onboarding preparation.");

    println!("\nFinal state: tenant {}, bank host {}, EBICS user {USER} with 3 key pairs (encrypted at rest).", tenant.name, host.host_id);
    server.abort();
    bank.shutdown().await;
    store.close().await;
    if keep {
        let kept = dir.keep();
        println!("Kept {}", kept.display());
    }
    Ok(())
}

async fn show_keys_at_rest(
    store: &Store,
    scope: &TenantScope,
    user: EbicsUserId,
) -> anyhow::Result<()> {
    let mut tx = store.scope(scope).begin().await?;
    let pairs: Vec<KeyPair> = tx.key_pairs().list_for_user(user).await?;
    for pair in &pairs {
        let restored = tx.key_pairs().load_private_key(pair.id).await?;
        println!(
            "    {} {}: {} bytes of AES-256-GCM ciphertext in the database, decrypts to a {}-byte PKCS#8 key",
            pair.usage,
            pair.version,
            pair.encrypted_private_key().len(),
            restored.len()
        );
    }
    Ok(())
}
