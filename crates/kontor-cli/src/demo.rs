//! `kontor demo`: a newcomer's first run, on one machine, with no bank and no setup.
//!
//! Starts the bundled bank emulator and a full daemon instance (admin API, scheduler,
//! recovery) on loopback with a fresh master key and database, then tells the whole story
//! through the admin API: onboarding two signers, verifying the bank's keys, downloading
//! statements, and a payment signed by two people with `kontor sign` and sent once, which a
//! local receiver (standing in for the ERP) hears of through a signed webhook.

mod http;
mod payment;
mod signer;
mod webhook;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use kontor_bank::{Bank, RunningBank};
use kontor_daemon::runtime::{DaemonOptions, RunningDaemon};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::ProtocolVersion;
use kontor_storage::{MasterKey, Role, Store};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use http::{text, AdminApi, BankClerk};
use signer::{SignCli, Signer};

const HOST: &str = "KONTORBANK";
const PARTNER: &str = "PARTNER1";
/// The emulator's seeded account the payment debits (USER2 and USER3 may sign for it).
const MAIN_ACCOUNT_IBAN: &str = "DE89370400440532013000";

/// What `kontor demo` was asked to do.
pub struct DemoOptions {
    /// Keep the temporary directory (database, key files, downloads).
    pub keep: bool,
    /// Run on this database (e.g. PostgreSQL) instead of a fresh SQLite file.
    pub database_url: Option<String>,
    /// The EBICS version the bank host is registered with (H004 = 2.5, H005 = 3.0 with BTF).
    pub protocol: ProtocolVersion,
}

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("kontor-demo-").tempdir()?;
    let started = std::time::Instant::now();
    let outcome = run_in(dir.path(), &options).await;
    if options.keep {
        println!("Kept {}", dir.keep().display());
    }
    outcome?;
    println!("\nDone in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

/// The emulator and the daemon, stopped in [`Running::shutdown`] whatever the story's outcome.
struct Running {
    store: Store,
    bank: RunningBank,
    daemon: RunningDaemon,
}

impl Running {
    async fn shutdown(self) {
        self.daemon.shutdown().await;
        self.bank.shutdown().await;
        self.store.close().await;
    }
}

async fn run_in(root: &Path, options: &DemoOptions) -> anyhow::Result<()> {
    step(
        1,
        "Master key, database, bank emulator, daemon; tenant with an owner and an API token",
    );
    let key_file = root.join("keys/master.key");
    MasterKey::generate().write_new(&key_file)?;
    let url = match &options.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}?mode=rwc", root.join("kontor.db").display()),
    };
    let store = Store::connect(&url, Arc::new(MasterKey::load(&key_file)?))
        .await
        .context("cannot open the database")?;
    store.migrate().await?;
    println!(
        "    master key {} (mode 0600), database {:?} in {}",
        key_file.display(),
        store.backend(),
        root.display()
    );
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let bank_config = kontor_bank::config::BankConfig::demo().context("demo bank configuration")?;
    let bank = Bank::start(bank_config, loopback).await?;
    let listener = tokio::net::TcpListener::bind(loopback).await?;
    let mut daemon_options = DaemonOptions::new(root.join("data"));
    // The demo's webhook receiver listens on loopback, which production refuses.
    daemon_options.webhooks.allow_private_targets = true;
    daemon_options.webhooks.idle_wait = std::time::Duration::from_millis(200);
    let daemon = kontor_daemon::runtime::start(store.clone(), listener, daemon_options)?;
    println!("    bank emulator {}", bank.ebics_url());
    println!(
        "    daemon admin API http://{} (scheduler and recovery running)",
        daemon.api_addr
    );
    let running = Running {
        store,
        bank,
        daemon,
    };
    let outcome = story(root, &running, options.protocol).await;
    running.shutdown().await;
    println!("\nEmulator and daemon stopped.");
    outcome
}

/// Steps 1 (tenant) to 5; everything after the bootstrap goes through the admin API.
async fn story(root: &Path, running: &Running, protocol: ProtocolVersion) -> anyhow::Result<()> {
    let store = &running.store;
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
    println!(
        "    tenant {} with owner {} and an API token",
        tenant.name, owner.email
    );
    let api = AdminApi::new(
        format!("http://{}", running.daemon.api_addr),
        token.secret.expose_secret().to_owned(),
    );
    let clerk = BankClerk::new(running.bank.admin_url());
    let cli = SignCli {
        api: api.base().to_owned(),
        token: api.token().to_owned(),
        passphrase: "demo passphrase, not a secret".into(),
    };

    let receiver = webhook::Receiver::start().await?;
    let subscription = api
        .post(
            "/v1/webhooks",
            json!({"url": receiver.url, "description": "ERP", "event_types": ["order.submitted"]}),
        )
        .await?;
    receiver.trust(text(&subscription, "secret")?)?;
    println!(
        "    webhook subscription for order.submitted to the ERP's receiver {} (secret shown once)",
        receiver.url
    );

    let (signers, connection) = onboard(root, running, &api, &clerk, &cli, protocol).await?;
    let bookings = download_statements(&api, &signers[0]).await?;
    let order = pay(&api, &clerk, &cli, &signers).await?;
    let event = receiver.first().await;
    receiver.stop();
    let event = event?;
    println!(
        "    webhook {} (webhook-id {}) received by the ERP, signature verified: {}",
        event.event_type, event.id, event.signature
    );

    step(5, "Final state");
    for signer in &signers {
        let user = api
            .get(&format!("/v1/ebics-users/{}", signer.ebics_user_id))
            .await?;
        println!(
            "    EBICS user {} ({}) {}",
            text(&user, "user_id")?,
            signer.name,
            text(&user, "status")?
        );
    }
    println!("    connection {PARTNER} at {HOST} ({connection})");
    println!("    booked transactions stored: {bookings}");
    println!(
        "    payment order {}: {}, bank order id {}",
        text(&order, "id")?,
        text(&order, "status")?,
        order["bank_order_id"].as_str().unwrap_or("-")
    );
    // Every state-changing call is audited; the bank key verification is the one to show.
    let verified = api
        .get("/v1/audit-events?operation=POST%20/v1/bank-keys/%7Bid%7D/verify&limit=1")
        .await?;
    let entry = verified["items"]
        .get(0)
        .context("no audit entry for the bank key verification")?;
    println!(
        "    audit: {} operator {} {} {} {} {} (request {})",
        text(entry, "created_at")?,
        text(entry, "actor")?,
        text(entry, "operation")?,
        text(entry, "target_kind")?,
        text(entry, "target_id")?,
        text(entry, "outcome")?,
        entry["request_id"].as_str().unwrap_or("-")
    );
    Ok(())
}

/// Step 2: host, connection, two signers with their own keys, INI/HIA/HPB, the clerk's
/// activation, bank key verification, and READY with the bank's data synced.
async fn onboard(
    root: &Path,
    running: &Running,
    api: &AdminApi,
    clerk: &BankClerk,
    cli: &SignCli,
    protocol: ProtocolVersion,
) -> anyhow::Result<(Vec<Signer>, String)> {
    step(2, "Onboarding through the admin API");
    let host = api
        .post(
            "/v1/bank-hosts",
            json!({
                "host_id": HOST,
                "name": "Kontor Demo Bank",
                "url": running.bank.ebics_url(),
                "protocol_version": protocol.to_string(),
            }),
        )
        .await?;
    let host_id = text(&host, "id")?.to_owned();
    println!(
        "    bank host {HOST} registered ({protocol}, BTF {})",
        host["btf"]
    );
    let connection = api
        .post(
            "/v1/connections",
            json!({ "bank_host_id": host_id, "partner_id": PARTNER, "display_name": "Hausbank" }),
        )
        .await?;
    let connection_id = text(&connection, "id")?.to_owned();
    println!("    connection {PARTNER} created");

    let mut signers = Vec::new();
    for (user_id, class, name) in [
        ("USER2", "A", "Anna Schmidt"),
        ("USER3", "B", "Bernd Weber"),
    ] {
        let user = api
            .post(
                "/v1/ebics-users",
                json!({
                    "connection_id": connection_id,
                    "user_id": user_id,
                    "name": name,
                    "signature_class": class,
                }),
            )
            .await?;
        let signer = Signer {
            name,
            ebics_user_id: text(&user, "id")?.to_owned(),
            key_file: root.join(format!("{}.signer-key", user_id.to_lowercase())),
        };
        cli.keygen(&signer).await?;
        let registered = cli.register(&signer).await?;
        println!(
            "    {user_id} (class {class}, {name}): signature key in {} (`kontor sign keygen`), {}",
            signer.key_file.display(),
            registered.trim()
        );
        signers.push(signer);
    }

    for signer in &signers {
        let status = initialise(api, signer).await?;
        println!(
            "    {}: daemon generated its X002/E002 keys, INI + HIA sent, user {status}",
            signer.name
        );
    }
    for user in ["USER2", "USER3"] {
        clerk
            .post(&format!("/users/{PARTNER}/{user}/activate"))
            .await?;
    }
    println!("    the bank clerk activated USER2 and USER3 (letters received)");
    for signer in &signers {
        initialise(api, signer).await?;
    }
    verify_bank_keys(api, clerk, &host_id, protocol).await?;
    for signer in &signers {
        let status = initialise(api, signer).await?;
        if status != "READY" {
            bail!(
                "{} is {status} after verifying the bank keys, not READY",
                signer.name
            );
        }
        println!(
            "    {}: HPB done, bank keys verified → {status}",
            signer.name
        );
    }
    let connection = api.get(&format!("/v1/connections/{connection_id}")).await?;
    println!(
        "    order types (HTD): {}",
        join(&connection["order_types"])
    );
    let accounts = api.all("/v1/accounts").await?;
    for account in &accounts {
        println!(
            "    account {} {} {}",
            account["bank_account_id"].as_str().unwrap_or("-"),
            account["iban"].as_str().unwrap_or("-"),
            account["currency"].as_str().unwrap_or("")
        );
    }
    for signer in &signers {
        let permissions = api
            .all(&format!(
                "/v1/ebics-users/{}/permissions",
                signer.ebics_user_id
            ))
            .await?;
        let mut list: Vec<String> = Vec::new();
        for described in permissions.iter().map(|p| {
            format!(
                "{} {}{}",
                p["order_type"].as_str().unwrap_or("?"),
                p["authorisation_level"].as_str().unwrap_or("?"),
                p["max_amount"]
                    .as_str()
                    .map(|m| format!(" ≤ {m}"))
                    .unwrap_or_default()
            )
        }) {
            // One line per order type: HAA repeats a permission for each account.
            if !list.contains(&described) {
                list.push(described);
            }
        }
        println!(
            "    permissions of {} (HAA): {}",
            signer.name,
            list.join(", ")
        );
    }
    Ok((signers, connection_id))
}

/// Runs the daemon's INI/HIA/HPB/activation/sync for a user and returns its status. The
/// first call sends INI and HIA and then cannot fetch the bank keys yet (the bank has not
/// activated the user); that refusal is expected and shows in the status.
async fn initialise(api: &AdminApi, signer: &Signer) -> anyhow::Result<String> {
    let path = format!("/v1/ebics-users/{}", signer.ebics_user_id);
    let result = api.post(&format!("{path}/initialise"), json!({})).await;
    let user = api.get(&path).await?;
    let status = text(&user, "status")?.to_owned();
    match result {
        Ok(_) => Ok(status),
        Err(refused) if status == "INITIALISED" => {
            tracing::debug!(%refused, "HPB before the bank's activation");
            Ok(status)
        }
        Err(e) => Err(e),
    }
}

/// The operator compares each bank key hash the daemon fetched (HPB) with the bank's letter
/// (the emulator's published hashes) and verifies it only if they match.
async fn verify_bank_keys(
    api: &AdminApi,
    clerk: &BankClerk,
    host_id: &str,
    protocol: ProtocolVersion,
) -> anyhow::Result<()> {
    let letter = clerk.get("/bank-keys").await?;
    let published = if protocol == ProtocolVersion::H004 {
        &letter
    } else {
        &letter["h005"]
    };
    let keys = api.all(&format!("/v1/bank-hosts/{host_id}/keys")).await?;
    if keys.is_empty() {
        bail!("the daemon has no bank keys after HPB");
    }
    for key in &keys {
        let kind = text(key, "kind")?;
        let field = if kind.eq_ignore_ascii_case("AUTHENTICATION") {
            "authentication"
        } else {
            "encryption"
        };
        let on_letter = text(&published[field], "hash_sha256_hex")?;
        let fetched = text(key, "key_hash")?;
        if hash(fetched)? != hash(on_letter)? {
            bail!("bank {field} key hash {fetched} differs from the bank's letter {on_letter}; not verifying");
        }
        let verified = api
            .post(
                &format!("/v1/bank-keys/{}/verify", text(key, "id")?),
                json!({ "expected_hash": on_letter }),
            )
            .await?;
        println!(
            "    bank {field} key {} matches the bank's letter → {}",
            text(key, "version")?,
            text(&verified, "verification_status")?
        );
    }
    Ok(())
}

/// A key hash as the daemon or the bank shows it (upper- or lower-case hex).
fn hash(text: &str) -> anyhow::Result<KeyHash> {
    text.parse()
        .with_context(|| format!("{text:?} is not a key hash"))
}

/// Step 3: a C53 schedule, run now; prints what the API then holds. Returns the booking count.
async fn download_statements(api: &AdminApi, downloader: &Signer) -> anyhow::Result<usize> {
    step(3, "Statement download: a daily C53 schedule, run now");
    let schedule = api
        .post(
            "/v1/schedules",
            json!({
                "ebics_user_id": downloader.ebics_user_id,
                "order_type": "C53",
                "cron": "0 6 * * *",
                "time_zone": "Europe/Berlin",
            }),
        )
        .await?;
    let schedule_id = text(&schedule, "id")?;
    api.post(&format!("/v1/schedules/{schedule_id}/run"), json!({}))
        .await?;
    let statements = api.all("/v1/statements").await?;
    println!(
        "    schedule {} (06:00 Europe/Berlin) ran: {} statements stored",
        schedule_id,
        statements.len()
    );
    let accounts = api.all("/v1/accounts").await?;
    for account in &accounts {
        // Newest first: the first closing balance is the latest.
        let balances = api
            .all(&format!("/v1/accounts/{}/balances", text(account, "id")?))
            .await?;
        let closing = balances.iter().find(|b| b["kind"] == "CLBD");
        if let Some(latest) = closing.or(balances.first()) {
            println!(
                "    {} balance {} {} {} on {}",
                account["iban"].as_str().unwrap_or("-"),
                latest["kind"].as_str().unwrap_or("?"),
                latest["amount"].as_str().unwrap_or("?"),
                latest["currency"].as_str().unwrap_or(""),
                latest["balance_date"].as_str().unwrap_or("?")
            );
        }
    }
    let bookings = count_bookings(api).await?;
    println!("    booked transactions: {bookings}");
    if bookings == 0 {
        bail!("the statement download stored no booked transactions");
    }
    Ok(bookings)
}

async fn count_bookings(api: &AdminApi) -> anyhow::Result<usize> {
    Ok(api.all("/v1/booked-transactions").await?.len())
}

/// Step 4: a pain.001 order, signed A+B through `kontor sign`, submitted once.
async fn pay(
    api: &AdminApi,
    clerk: &BankClerk,
    cli: &SignCli,
    signers: &[Signer],
) -> anyhow::Result<Value> {
    step(
        4,
        "Payment: pain.001, two signatures with `kontor sign`, submission",
    );
    let file = payment::credit_transfers(MAIN_ACCOUNT_IBAN)?;
    let path = format!(
        "/v1/orders?ebics_user_id={}&order_type=CCT&signature_rule=STANDARD",
        signers[0].ebics_user_id
    );
    let key = format!("demo-payment-{}", uuid::Uuid::new_v4());
    let order = api.post_file(&path, &key, file.clone()).await?;
    let order_id = text(&order, "id")?.to_owned();
    // The same request again (a client retry) must not create a second order.
    let again = api.post_file(&path, &key, file).await?;
    if text(&again, "id")? != order_id {
        bail!("a repeated request with the same Idempotency-Key created a second order");
    }
    println!(
        "    order {order_id} created from {MAIN_ACCOUNT_IBAN}: {} EUR in 3 transfers, rule STANDARD (A+B); a retry with the same Idempotency-Key returned the same order",
        payment::expected_total()
    );
    let shown = cli.run(&["show", &order_id]).await?;
    for line in shown.lines() {
        println!("      | {line}");
    }
    for signer in signers {
        let out = cli.approve(signer, &order_id).await?;
        let last = out.lines().last().unwrap_or_default();
        println!("    {} (`kontor sign approve`): {last}", signer.name);
    }
    let submitted = api
        .post(&format!("/v1/orders/{order_id}/submit"), json!({}))
        .await?;
    println!(
        "    submitted: EBICS transaction {}",
        text(&submitted, "transaction_id")?
    );
    let order = api.get(&format!("/v1/orders/{order_id}")).await?;
    let received = clerk.get("/orders/count").await?;
    let count = received["count"].as_u64().unwrap_or_default();
    println!(
        "    order {}: bank order id {}, the bank received {count} order(s)",
        text(&order, "status")?,
        order["bank_order_id"].as_str().unwrap_or("-"),
    );
    if count != 1 {
        bail!("the bank received {count} orders, expected exactly 1");
    }
    Ok(order)
}

fn join(values: &Value) -> String {
    values
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}
