//! `kontor sign`: a signer's side. Keys live in a local passphrase-encrypted file; orders and
//! VEU items are fetched from the daemon's API, shown, checked and signed here, and only the
//! signature is sent back.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::{Args, Subcommand};
use kontor_protocol::keys::KeyHash;
use kontor_protocol::SignatureVersion;
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::signer_key::{self, PublicPart};

#[derive(Args)]
pub struct SignArgs {
    /// Base URL of the daemon's admin API.
    #[arg(
        long,
        env = "KONTOR_API_URL",
        global = true,
        default_value = "http://127.0.0.1:8080"
    )]
    api: String,
    /// API token of the operator acting for the signer.
    #[arg(long, env = "KONTOR_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: SignCommand,
}

/// The new signature key's version and certificate name (`keygen`, `rotate`, HCS).
#[derive(Args)]
struct NewKeyArgs {
    /// A005 or A006 for the new key.
    #[arg(long, default_value = "A006")]
    version: String,
    /// Name in the new key's self-signed certificate (needed by H005 banks).
    #[arg(long, default_value = "Kontor signer")]
    name: String,
}

impl NewKeyArgs {
    fn version(&self) -> anyhow::Result<SignatureVersion> {
        self.version
            .parse()
            .map_err(|_| anyhow!("--version must be A005 or A006"))
    }
}

#[derive(Subcommand)]
enum SignCommand {
    /// Generate a signature key into a new passphrase-encrypted file.
    Keygen {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        new_key: NewKeyArgs,
    },
    /// Print the public key and certificate (PEM) and both EBICS hashes; no passphrase needed.
    Pubkey { file: PathBuf },
    /// Register the key file's public key for an EBICS user with the daemon.
    Register {
        file: PathBuf,
        /// The EBICS user (id) this key signs for.
        #[arg(long)]
        signer: String,
    },
    /// Replace the signer's signature key with the bank (PUB): generates a new key file,
    /// signs the change with the old key here and sends only the public part and the
    /// signature. Retrying with the same --out reuses the new file.
    Rotate {
        /// The current key file (it signs the change).
        file: PathBuf,
        /// The new key file to create (passphrase: `KONTOR_SIGNER_NEW_PASSPHRASE`, else the
        /// current one from `KONTOR_SIGNER_PASSPHRASE`, else a prompt).
        #[arg(long)]
        out: PathBuf,
        /// The EBICS user (id) whose signature key this is.
        #[arg(long)]
        signer: String,
        #[command(flatten)]
        new_key: NewKeyArgs,
    },
    /// Change the user's authentication and encryption keys (HCA), or all three (HCS, with a
    /// new signature key file), signed with the current key here: the daemon prepares the
    /// document with the new keys it holds, this command checks and signs it, and only the
    /// signature (and for HCS the new public key) leaves the machine.
    KeyChange {
        /// HCA or HCS.
        #[arg(long, value_enum)]
        kind: crate::rotate::ChangeKind,
        /// The current key file (it signs the change).
        #[arg(long)]
        key: PathBuf,
        /// HCS: the new signature key file to create (passphrase as for `rotate`; its version
        /// and name as below).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The EBICS user (id) whose keys change.
        #[arg(long)]
        signer: String,
        #[command(flatten)]
        new_key: NewKeyArgs,
    },
    /// Suspend the signer at the bank at once (SPR), e.g. when they leave: signs SPR's order
    /// data with the key file here and sends only the signature; the bank then refuses every
    /// request of this user until it is initialised again.
    Suspend {
        /// The signer's current key file (it signs the SPR).
        #[arg(long)]
        key: PathBuf,
        /// The EBICS user (id) to suspend.
        #[arg(long)]
        signer: String,
    },
    /// Orders awaiting signatures.
    List,
    /// An order's content summary.
    Show { order: String },
    /// Check and sign an order locally, then send only the signature.
    Approve {
        order: String,
        #[arg(long)]
        key: PathBuf,
        /// The EBICS user (id) who signs.
        #[arg(long)]
        signer: String,
    },
    /// Reject (cancel) an order that awaits signatures.
    Reject { order: String },
    /// Distributed signature (VEU) items at the bank.
    #[command(subcommand)]
    Veu(VeuCommand),
}

#[derive(Subcommand)]
enum VeuCommand {
    List,
    Show {
        item: String,
    },
    Approve {
        item: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        signer: String,
    },
    Reject {
        item: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        signer: String,
    },
}

/// Passphrase from `KONTOR_SIGNER_PASSPHRASE` (scripts) or a prompt.
fn passphrase(confirm: bool) -> anyhow::Result<SecretString> {
    if let Ok(p) = std::env::var("KONTOR_SIGNER_PASSPHRASE") {
        return Ok(p.into());
    }
    let first = rpassword::prompt_password("Passphrase: ")?;
    if confirm {
        let second = rpassword::prompt_password("Repeat passphrase: ")?;
        if first != second {
            bail!("the passphrases differ");
        }
        if first.chars().count() < 8 {
            bail!("use a passphrase of at least 8 characters");
        }
    }
    Ok(first.into())
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn new(args: &SignArgs) -> anyhow::Result<Self> {
        let token = args
            .token
            .clone()
            .context("no API token: pass --token or set KONTOR_TOKEN")?;
        Ok(Self {
            base: args.api.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::new(),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {}", self.base))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let code = body["error"]["code"].as_str().unwrap_or("");
        let message = body["error"]["message"].as_str().unwrap_or("");
        Err(match code {
            "unknown_signer_key" => anyhow!(
                "the daemon does not know this key for the signer ({message}); register it with `kontor sign register`"
            ),
            "not_awaiting_signatures" => anyhow!("{message}"),
            "unauthorized" => anyhow!("the API token was refused (missing, expired or revoked)"),
            _ => anyhow!("the daemon answered {status}: {code} {message}"),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await?
            .json()
            .await?)
    }

    /// Every item of a list route, newest first, following `next_cursor` page by page.
    async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        crate::pages::every_item(path, |page| async move { self.get(&page).await }).await
    }

    async fn get_bytes(&self, path: &str) -> anyhow::Result<(Vec<u8>, Option<String>)> {
        let response = self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await?;
        let declared = response
            .headers()
            .get("x-content-sha256")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((response.bytes().await?.to_vec(), declared))
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await?;
        Ok(response.json().await.unwrap_or(Value::Null))
    }
}

/// The signer's registered key hash, if it is one of the key file's two hashes.
async fn matching_registered_hash(
    api: &Api,
    signer: &str,
    public: &PublicPart,
) -> anyhow::Result<KeyHash> {
    let (key_hash, cert_hash) = public.hashes()?;
    let pairs = api
        .all(&format!("/v1/ebics-users/{signer}/key-pairs"))
        .await?;
    // Newest first, as every list of the API.
    let signature_keys: Vec<&Value> = pairs
        .iter()
        .filter(|p| {
            p["usage"] == "SIGNATURE"
                && !matches!(p["status"].as_str(), Some("EXPIRED" | "REVOKED"))
        })
        .collect();
    // The ACTIVE key signs; a newer one may still wait for the bank (a key change). Without
    // an ACTIVE key (before READY) the newest registered one counts.
    let registered: Vec<&str> = signature_keys
        .iter()
        .filter(|p| p["status"] == "ACTIVE")
        .chain(
            signature_keys
                .first()
                .filter(|_| !signature_keys.iter().any(|p| p["status"] == "ACTIVE")),
        )
        .filter_map(|p| p["key_hash"].as_str())
        .collect();
    let Some(current) = registered.first() else {
        bail!("the signer has no signature key registered with the daemon; run `kontor sign register` first");
    };
    let known: KeyHash = current
        .parse()
        .with_context(|| format!("the daemon shows the key hash {current:?}"))?;
    if let Some(mine) = [key_hash, cert_hash].into_iter().find(|h| *h == known) {
        return Ok(mine);
    }
    bail!(
        "this key is not the signer's registered key: the daemon knows {current}, this file has {}",
        key_hash.to_hex_upper()
    )
}

fn print_summary(order: &Value) {
    let s = &order["summary"];
    println!("order        {}", order["id"].as_str().unwrap_or("?"));
    println!(
        "type         {}",
        order["order_type"].as_str().unwrap_or("?")
    );
    println!("status       {}", order["status"].as_str().unwrap_or("?"));
    println!("transactions {}", s["number_of_transactions"]);
    let totals = s["totals"].as_object().cloned().unwrap_or_default();
    for (currency, amount) in &totals {
        println!("total        {} {currency}", amount.as_str().unwrap_or("?"));
    }
    let names: Vec<&str> = s["creditor_names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    println!("creditors    {}", names.join(", "));
    println!("content hash {}", s["content_hash"].as_str().unwrap_or("?"));
    for sig in order["signatures"].as_array().into_iter().flatten() {
        println!(
            "signed by    {} (class {})",
            sig["signer_id"].as_str().unwrap_or("?"),
            sig["signature_class"].as_str().unwrap_or("?")
        );
    }
}

fn awaits_signatures(order: &Value) -> bool {
    matches!(
        order["status"].as_str(),
        Some("DRAFT" | "PENDING_SIGNATURE")
    )
}

pub async fn run(args: SignArgs) -> anyhow::Result<()> {
    match &args.command {
        SignCommand::Keygen { out, new_key } => {
            let public =
                signer_key::generate(out, &passphrase(true)?, new_key.version()?, &new_key.name)?;
            println!("wrote {} ({})", out.display(), public.version.as_str());
            print_hashes(&public)?;
        }
        SignCommand::Pubkey { file } => {
            let public = signer_key::public_part(file)?;
            print!("{}", public.public_key_pem);
            print!("{}", public.certificate_pem);
            print_hashes(&public)?;
        }
        SignCommand::Register { file, signer } => {
            let api = Api::new(&args)?;
            let public = signer_key::public_part(file)?;
            let pair = api
                .post(
                    &format!("/v1/ebics-users/{signer}/signer-keys"),
                    json!({
                        "version": public.version,
                        "public_key_pem": public.public_key_pem,
                        "certificate_pem": public.certificate_pem,
                    }),
                )
                .await?;
            println!(
                "registered key {} for {signer}: hash {}",
                pair["id"].as_str().unwrap_or("?"),
                pair["key_hash"].as_str().unwrap_or("?")
            );
        }
        SignCommand::Rotate {
            file,
            out,
            signer,
            new_key,
        } => {
            let api = Api::new(&args)?;
            rotate(&api, file, out, signer, new_key).await?;
        }
        SignCommand::KeyChange {
            kind,
            key,
            out,
            signer,
            new_key,
        } => {
            let api = Api::new(&args)?;
            key_change(&api, *kind, key, signer, out.as_deref(), new_key).await?;
        }
        SignCommand::Suspend { key, signer } => {
            let api = Api::new(&args)?;
            suspend(&api, key, signer).await?;
        }
        SignCommand::List => {
            let api = Api::new(&args)?;
            let orders = api.all("/v1/orders").await?;
            for order in orders.iter().filter(|o| awaits_signatures(o)) {
                println!(
                    "{}\t{}\t{}\t{} {}",
                    order["id"].as_str().unwrap_or("?"),
                    order["order_type"].as_str().unwrap_or("?"),
                    order["status"].as_str().unwrap_or("?"),
                    order["amount_total"].as_str().unwrap_or("-"),
                    order["currency"].as_str().unwrap_or(""),
                );
            }
        }
        SignCommand::Show { order } => {
            let api = Api::new(&args)?;
            print_summary(&api.get(&format!("/v1/orders/{order}")).await?);
        }
        SignCommand::Approve { order, key, signer } => {
            let api = Api::new(&args)?;
            approve_order(&api, order, key, signer).await?;
        }
        SignCommand::Reject { order } => {
            let api = Api::new(&args)?;
            let current = api.get(&format!("/v1/orders/{order}")).await?;
            if !awaits_signatures(&current) {
                bail!(
                    "order {order} is {} and no longer awaits signatures",
                    current["status"].as_str().unwrap_or("?")
                );
            }
            api.post(&format!("/v1/orders/{order}/cancel"), json!({}))
                .await?;
            println!("order {order} rejected (cancelled)");
        }
        SignCommand::Veu(command) => {
            let api = Api::new(&args)?;
            veu(&api, command).await?;
        }
    }
    Ok(())
}

async fn rotate(
    api: &Api,
    file: &Path,
    out: &Path,
    signer: &str,
    new_key: &NewKeyArgs,
) -> anyhow::Result<()> {
    use crate::rotate;
    let version = new_key.version()?;
    let (old_public, old, subscriber) = current_key(api, signer, file).await?;
    let new_public = new_key_file(out, version, &new_key.name, &old_public)?;
    let document = rotate::pub_document(&subscriber, &new_public, chrono::Utc::now())?;
    let signature = old.sign(&document)?;
    let body = rotate::rotation_body(&document, &signature, old.version, &new_public);
    let answer = api
        .post(
            &format!("/v1/ebics-users/{signer}/signer-keys/rotate"),
            body,
        )
        .await?;
    let hash = answer["keys"][0]["key_hash"].as_str().unwrap_or("?");
    println!(
        "the bank accepted the new signature key {hash} for {signer}; sign with {} from now on",
        out.display()
    );
    Ok(())
}

/// The user's ids and its bank's protocol version, from the daemon.
async fn subscriber(api: &Api, signer: &str) -> anyhow::Result<crate::rotate::Subscriber> {
    let user = api.get(&format!("/v1/ebics-users/{signer}")).await?;
    let connection = api
        .get(&format!(
            "/v1/connections/{}",
            user["connection_id"].as_str().unwrap_or("-")
        ))
        .await?;
    let host = api
        .get(&format!(
            "/v1/bank-hosts/{}",
            connection["bank_host_id"].as_str().unwrap_or("-")
        ))
        .await?;
    crate::rotate::Subscriber::from_api(&user, &connection, &host)
}

/// The passphrase of a new key file: `KONTOR_SIGNER_NEW_PASSPHRASE`, else as for the current.
fn new_passphrase() -> anyhow::Result<SecretString> {
    match std::env::var("KONTOR_SIGNER_NEW_PASSPHRASE") {
        Ok(p) => Ok(p.into()),
        Err(_) => passphrase(true),
    }
}

/// The signer's current key file, public part and opened, once its key is the one the
/// daemon has registered for `signer`; with the user's ids from the daemon.
async fn current_key(
    api: &Api,
    signer: &str,
    file: &Path,
) -> anyhow::Result<(PublicPart, signer_key::SignerKey, crate::rotate::Subscriber)> {
    let public = signer_key::public_part(file)?;
    matching_registered_hash(api, signer, &public).await?;
    let subscriber = subscriber(api, signer).await?;
    let key = signer_key::open(file, &passphrase(false)?)?;
    Ok((public, key, subscriber))
}

/// Creates the new key file (or reopens it on a retry); refused when it holds the current key.
fn new_key_file(
    out: &Path,
    version: SignatureVersion,
    name: &str,
    current: &PublicPart,
) -> anyhow::Result<PublicPart> {
    let public = crate::rotate::new_key_file(out, &new_passphrase()?, version, name)?;
    crate::rotate::distinct(current, &public)?;
    Ok(public)
}

/// What carries a signature made here to the daemon (orders and VEU items alike).
fn signature_body(
    signer: &str,
    secret: &signer_key::SignerKey,
    key_hash: &KeyHash,
    signature: &[u8],
) -> Value {
    json!({
        "signer_id": signer,
        "signature_version": secret.version.as_str(),
        "key_hash": key_hash,
        "signature": B64.encode(signature),
    })
}

fn print_hashes(public: &PublicPart) -> anyhow::Result<()> {
    let (key_hash, cert_hash) = public.hashes()?;
    println!("key hash (H004)         {}", key_hash.to_hex_upper());
    println!("certificate hash (H005) {}", cert_hash.to_hex_upper());
    Ok(())
}

/// HCA/HCS for a signer-held user: the daemon prepares the document (its new keys; for HCS
/// the public part of the new key file made here), this machine checks and signs it with the
/// current key, and the daemon sends it (EBICS Annex 1, "changing the subscriber keys").
async fn key_change(
    api: &Api,
    kind: crate::rotate::ChangeKind,
    key: &Path,
    signer: &str,
    out: Option<&Path>,
    new_key: &NewKeyArgs,
) -> anyhow::Result<()> {
    use crate::rotate::{self, ChangeKind};
    let (old_public, old, subscriber) = current_key(api, signer, key).await?;
    let new_public = match (kind, out) {
        (ChangeKind::Hca, None) => None,
        (ChangeKind::Hca, Some(_)) => bail!("HCA keeps the signature key; --out is for HCS"),
        (ChangeKind::Hcs, None) => {
            bail!("HCS replaces the signature key too: name the new key file with --out")
        }
        (ChangeKind::Hcs, Some(out)) => Some(new_key_file(
            out,
            new_key.version()?,
            &new_key.name,
            &old_public,
        )?),
    };
    let new_signature_key = new_public.as_ref().map(|p| {
        json!({
            "version": p.version,
            "public_key_pem": p.public_key_pem,
            "certificate_pem": p.certificate_pem,
        })
    });
    let prepared = api
        .post(
            &format!("/v1/ebics-users/{signer}/key-changes/prepare"),
            json!({ "kind": kind.as_str(), "new_signature_key": new_signature_key }),
        )
        .await?;
    let document = B64
        .decode(
            prepared["document"]
                .as_str()
                .context("the daemon prepared no document")?,
        )
        .context("the prepared document is not base64")?;
    rotate::check_prepared(kind, &document, &subscriber, new_public.as_ref())?;
    let signature = old.sign(&document)?;
    let answer = api
        .post(
            &format!("/v1/ebics-users/{signer}/key-changes/signed"),
            json!({
                "kind": kind.as_str(),
                "document": B64.encode(&document),
                "signature": B64.encode(signature),
                "signature_version": old.version.as_str(),
            }),
        )
        .await?;
    let keys: Vec<String> = answer["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            format!(
                "{} {}",
                k["usage"].as_str().unwrap_or("?"),
                k["key_hash"].as_str().unwrap_or("?")
            )
        })
        .collect();
    println!(
        "the bank accepted the {} of {signer}; new keys: {}",
        kind.as_str(),
        keys.join(", ")
    );
    if let Some(out) = out {
        println!("sign with {} from now on", out.display());
    }
    Ok(())
}

/// SPR with the signer's own ES over SPR's order data, signed here (EBICS Annex 2, SPR).
async fn suspend(api: &Api, key: &Path, signer: &str) -> anyhow::Result<()> {
    let public = signer_key::public_part(key)?;
    let key_hash = matching_registered_hash(api, signer, &public).await?;
    let secret = signer_key::open(key, &passphrase(false)?)?;
    let signature = secret.sign(kontor_protocol::signature::SPR_ORDER_DATA)?;
    let user = api
        .post(
            &format!("/v1/ebics-users/{signer}/suspend/signed"),
            json!({
                "signature_version": secret.version.as_str(),
                "key_hash": key_hash,
                "signature": B64.encode(signature),
            }),
        )
        .await?;
    println!(
        "the bank suspended {signer} ({}); it is {} until re-activated",
        user["user_id"].as_str().unwrap_or("?"),
        user["status"].as_str().unwrap_or("?")
    );
    Ok(())
}

async fn approve_order(api: &Api, order: &str, key: &Path, signer: &str) -> anyhow::Result<()> {
    let current = api.get(&format!("/v1/orders/{order}")).await?;
    print_summary(&current);
    if !awaits_signatures(&current) {
        bail!(
            "order {order} is {} and no longer awaits signatures",
            current["status"].as_str().unwrap_or("?")
        );
    }
    let expected = current["summary"]["content_hash"]
        .as_str()
        .context("the daemon sent no content hash")?
        .to_owned();
    let (content, declared) = api.get_bytes(&format!("/v1/orders/{order}/file")).await?;
    let actual = hex::encode(Sha256::digest(&content));
    if actual != expected || declared.is_some_and(|d| d != expected) {
        bail!("the order file does not match its summary (hash {actual}, summary {expected}); not signing");
    }
    let public = signer_key::public_part(key)?;
    let key_hash = matching_registered_hash(api, signer, &public).await?;
    let secret = signer_key::open(key, &passphrase(false)?)?;
    let signature = secret.sign(&content)?;
    let updated = api
        .post(
            &format!("/v1/orders/{order}/signatures"),
            signature_body(signer, &secret, &key_hash, &signature),
        )
        .await?;
    println!(
        "signed; order {order} is now {}",
        updated["status"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// The digest the bank announced for a VEU item: the one the daemon stored (from its VEU
/// sync), or, when the bank has not reported it yet, fetched from the bank as `signer`.
async fn veu_digest(
    api: &Api,
    item: &impl std::fmt::Display,
    signer: &impl std::fmt::Display,
) -> anyhow::Result<Value> {
    let stored = api
        .http
        .get(format!(
            "{}/v1/veu-items/{item}/digest?signer_id={signer}",
            api.base
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .with_context(|| format!("cannot reach the daemon at {}", api.base))?;
    if stored.status().is_success() {
        return Ok(stored.json().await?);
    }
    let status = stored.status();
    let body: Value = stored.json().await.unwrap_or(Value::Null);
    if body["error"]["code"] == "digest_not_fetched" {
        return api
            .post(
                &format!("/v1/veu-items/{item}/digest"),
                json!({ "signer_id": signer.to_string() }),
            )
            .await;
    }
    bail!(
        "the daemon answered {status}: {} {}",
        body["error"]["code"].as_str().unwrap_or(""),
        body["error"]["message"].as_str().unwrap_or("")
    )
}

async fn veu(api: &Api, command: &VeuCommand) -> anyhow::Result<()> {
    match command {
        VeuCommand::List => {
            for item in api.all("/v1/veu-items").await? {
                println!(
                    "{}\t{}\t{}\t{}/{}\t{} {}",
                    item["id"].as_str().unwrap_or("?"),
                    item["order_type"].as_str().unwrap_or("?"),
                    item["status"].as_str().unwrap_or("?"),
                    item["signatures_collected"],
                    item["signatures_required"],
                    item["amount"].as_str().unwrap_or("-"),
                    item["currency"].as_str().unwrap_or(""),
                );
            }
        }
        VeuCommand::Show { item } => {
            let v = api.get(&format!("/v1/veu-items/{item}")).await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        VeuCommand::Approve { item, key, signer } | VeuCommand::Reject { item, key, signer } => {
            let approve = matches!(command, VeuCommand::Approve { .. });
            let public = signer_key::public_part(key)?;
            let key_hash = matching_registered_hash(api, signer, &public).await?;
            let digest = veu_digest(api, item, signer).await?;
            let digest_hex = digest["data_digest"]
                .as_str()
                .context("no digest from the bank")?;
            let digest: [u8; 32] = hex::decode(digest_hex)
                .ok()
                .and_then(|d| d.try_into().ok())
                .context("the bank's digest is not 32 bytes of hex")?;
            let secret = signer_key::open(key, &passphrase(false)?)?;
            let signature = secret.sign_digest(&digest)?;
            let action = if approve { "approve" } else { "cancel" };
            api.post(
                &format!("/v1/veu-items/{item}/{action}"),
                signature_body(signer, &secret, &key_hash, &signature),
            )
            .await?;
            println!("VEU item {item}: {action} sent to the bank");
        }
    }
    Ok(())
}
