//! `kontor-bank`: run the EBICS bank emulator, or act as its bank clerk.
//!
//! ```text
//! kontor-bank serve --config demo-bank.toml --listen 127.0.0.1:8700
//! kontor-bank activate --url http://127.0.0.1:8700 --partner PARTNER1 --user USER1
//! kontor-bank check-config --config demo-bank.toml
//! ```

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kontor_bank::{Bank, BankConfig};

#[derive(Debug, Parser)]
#[command(
    name = "kontor-bank",
    version,
    about = "EBICS bank host emulator (tests and demo)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the emulator until Ctrl-C / SIGTERM.
    Serve {
        /// Seed configuration (TOML).
        #[arg(long, env = "KONTOR_BANK_CONFIG")]
        config: PathBuf,
        /// Address to listen on; port 0 picks a free port (the URL is printed on stdout).
        #[arg(long, default_value = "127.0.0.1:8700", env = "KONTOR_BANK_LISTEN")]
        listen: SocketAddr,
        /// Bearer token for the /admin routes. Required to listen beyond loopback: the admin
        /// API activates subscribers and injects faults.
        #[arg(long, env = "KONTOR_BANK_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// The bank clerk activates a subscriber whose INI and HIA arrived.
    Activate {
        /// Base URL of a running emulator.
        #[arg(long, default_value = "http://127.0.0.1:8700", env = "KONTOR_BANK_URL")]
        url: String,
        /// The emulator's admin token, if it runs with one.
        #[arg(long, env = "KONTOR_BANK_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        #[arg(long)]
        partner: String,
        #[arg(long)]
        user: String,
        /// Hash of the signature key from the letter (hex, spaces allowed).
        #[arg(long)]
        letter_signature: Option<String>,
        /// Hash of the authentication key from the letter.
        #[arg(long)]
        letter_authentication: Option<String>,
        /// Hash of the encryption key from the letter.
        #[arg(long)]
        letter_encryption: Option<String>,
    },
    /// Parse and validate a configuration, print a summary.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
}

fn init_logging(json: bool) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "kontor_bank=info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn wait_for_stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

async fn serve(
    config: PathBuf,
    listen: SocketAddr,
    admin_token: Option<String>,
    log_json: bool,
) -> anyhow::Result<()> {
    init_logging(log_json);
    let config = BankConfig::load(&config)?;
    let bank = Bank::builder(config)
        .admin_token(admin_token)
        .start(listen)
        .await?;
    // One machine-readable line on stdout, so scripts can start with port 0 and read the URL.
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "kontor-bank listening on {} (EBICS endpoint {}, admin {})",
        bank.url(),
        bank.ebics_url(),
        bank.admin_url()
    )?;
    out.flush()?;
    drop(out);
    wait_for_stop_signal().await;
    tracing::info!("stop signal received, shutting down");
    bank.shutdown().await;
    Ok(())
}

async fn activate(
    url: String,
    admin_token: Option<String>,
    partner: String,
    user: String,
    letter: [Option<String>; 3],
) -> anyhow::Result<()> {
    let [signature, authentication, encryption] = letter;
    let body = if signature.is_none() && authentication.is_none() && encryption.is_none() {
        serde_json::json!({})
    } else {
        serde_json::json!({ "letter": { "signature": signature, "authentication": authentication, "encryption": encryption } })
    };
    let endpoint = format!(
        "{}/admin/users/{partner}/{user}/activate",
        url.trim_end_matches('/')
    );
    let mut request = reqwest::Client::new()
        .post(&endpoint)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = admin_token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {endpoint}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("activation refused (HTTP {status}): {text}");
    }
    println!("{text}");
    Ok(())
}

fn check_config(path: PathBuf) -> anyhow::Result<()> {
    let config = BankConfig::load(&path)?;
    println!(
        "{}: host {} ({}), versions {:?}, {} partners, {} users, {} accounts, {} permissions, {} fault rules",
        path.display(),
        config.bank.host_id,
        config.bank.name,
        config.bank.protocol_versions.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        config.partners.len(),
        config.users.len(),
        config.accounts.len(),
        config.permissions.len(),
        config.faults.len()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            config,
            listen,
            admin_token,
            log_json,
        } => serve(config, listen, admin_token, log_json).await,
        Command::Activate {
            url,
            admin_token,
            partner,
            user,
            letter_signature,
            letter_authentication,
            letter_encryption,
        } => {
            activate(
                url,
                admin_token,
                partner,
                user,
                [letter_signature, letter_authentication, letter_encryption],
            )
            .await
        }
        Command::CheckConfig { config } => check_config(config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kontor-bank: {e:#}");
            ExitCode::FAILURE
        }
    }
}
