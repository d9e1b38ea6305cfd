//! `kontor`: the daemon, database migrations, tenant bootstrap, the signer CLI and the demo.

mod demo;
mod pages;
mod rotate;
mod sign;
mod signer_key;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kontor_daemon::Config;
use kontor_storage::{MasterKey, Store};

#[derive(Parser)]
#[command(name = "kontor", version, about = "EBICS banking client daemon")]
struct Cli {
    /// Configuration file (see config/kontor.example.toml). Environment variables override it.
    #[arg(long, short, global = true, env = "KONTOR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or upgrade the database schema.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Write a new master key file (mode 0600); refuses to overwrite an existing file.
    KeygenMaster {
        #[arg(long)]
        out: PathBuf,
    },
    /// Manage operators of the admin API.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Bootstrap platform administrators, who create and list tenants over the API.
    #[command(subcommand)]
    PlatformAdmin(PlatformAdminCommand),
    /// Run the daemon: the admin HTTP API (engine and scheduler attach here).
    Serve,
    /// Signer's tools: local signature keys, and signing orders and VEU items.
    Sign(sign::SignArgs),
    /// Run the bundled bank emulator and the daemon on SQLite in a temporary directory and
    /// walk through onboarding, statements and a two-signer payment, printing each step.
    Demo {
        /// Keep the temporary directory (database, key files, downloads) instead of deleting it.
        #[arg(long)]
        keep: bool,
        /// Use this database (e.g. an empty PostgreSQL database) instead of a temporary SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        /// The EBICS version of the demo bank host: H004 (EBICS 2.5) or H005 (EBICS 3.0, BTF).
        #[arg(long, default_value = "H005")]
        protocol: kontor_protocol::ProtocolVersion,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Create an operator in a tenant and print an API token for them (shown once).
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// OWNER, ADMIN or VIEWER.
        #[arg(long, default_value = "ADMIN")]
        role: String,
        /// Token lifetime in days (0: no expiry).
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
}

#[derive(Subcommand)]
enum PlatformAdminCommand {
    /// Make an operator (created if the address is new) a platform administrator and print
    /// a platform token (shown once). It is bound to no tenant and reaches no tenant's data.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Token lifetime in days (0: no expiry).
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create { name: String },
    /// List tenants.
    List,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    restrict_umask();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Demo {
        keep,
        database_url,
        protocol,
    } = cli.command
    {
        init_tracing("warn");
        return demo::run(demo::DemoOptions {
            keep,
            database_url,
            protocol,
        })
        .await;
    }
    if let Command::Sign(args) = cli.command {
        // A signer's machine has no daemon configuration, database or master key.
        init_tracing("warn");
        return sign::run(args).await;
    }
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(&config.log);
    match cli.command {
        Command::Demo { .. } | Command::Sign(_) => unreachable!("handled above"),
        Command::KeygenMaster { out } => {
            MasterKey::generate().write_new(&out)?;
            println!(
                "wrote a new master key to {} (mode 0600); back it up separately from the database",
                out.display()
            );
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            println!("database is up to date ({:?})", store.backend());
        }
        Command::Operator(OperatorCommand::Create {
            tenant,
            email,
            name,
            role,
            days,
        }) => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            let role: kontor_storage::Role = role.to_ascii_uppercase().parse()?;
            let tenant = find_tenant(&store, &tenant).await?;
            let display = if name.is_empty() { email.clone() } else { name };
            let operator = store
                .admin()
                .create_operator(&email, &display, tenant.id, role)
                .await?;
            let expires = (days > 0).then(|| chrono::Utc::now() + chrono::Duration::days(days));
            let issued = store
                .admin()
                .issue_token(operator.id, "cli", expires)
                .await?;
            use secrecy::ExposeSecret;
            println!(
                "operator {} ({role}) in tenant {}",
                operator.id, tenant.name
            );
            println!("token (shown once): {}", issued.secret.expose_secret());
        }
        Command::PlatformAdmin(PlatformAdminCommand::Create { email, name, days }) => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            let display = if name.is_empty() { email.clone() } else { name };
            let expires = (days > 0).then(|| chrono::Utc::now() + chrono::Duration::days(days));
            let (operator, issued) = store
                .admin()
                .create_platform_admin(&email, &display, expires)
                .await?;
            use secrecy::ExposeSecret;
            println!("platform administrator {operator}");
            println!(
                "platform token (shown once): {}",
                issued.secret.expose_secret()
            );
        }
        Command::Serve => {
            config.prepare_data_dir()?;
            let store = open_store(&config).await?;
            store.migrate().await?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            let mut options = kontor_daemon::runtime::DaemonOptions::new(&config.data_dir);
            options.recovery_interval = config.recovery_interval;
            options.transaction_lease = config.transaction_lease;
            options.bank_transport = config.bank_transport.clone();
            options.max_order_file_bytes = config.max_order_file_bytes;
            options.orphan_file_grace = config.orphan_file_grace;
            options.webhooks.allow_private_targets = config.webhooks_allow_private_targets;
            let daemon = kontor_daemon::runtime::start(store, listener, options)?;
            tracing::info!(listen = %daemon.api_addr, "admin API listening; scheduler and recovery running");
            daemon.run_until(shutdown_signal()).await;
        }
        Command::Tenant(cmd) => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            match cmd {
                TenantCommand::Create { name } => {
                    let tenant = store.admin().create_tenant(&name).await?;
                    println!("{}\t{}", tenant.id, tenant.name);
                }
                TenantCommand::List => {
                    for tenant in store.admin().list_tenants().await? {
                        println!(
                            "{}\t{}\t{}",
                            tenant.id,
                            tenant.name,
                            tenant.created_at.format("%Y-%m-%d")
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Everything Kontor writes (database, spooled transfers, key files, the demo's directory)
/// is for its own user only. The files that matter are created 0600/0700 explicitly; the
/// umask also covers what a library creates on its own behalf.
fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file mode creation mask; it cannot fail and
    // touches no memory. It runs first in main, before anything creates a file.
    unsafe {
        libc::umask(0o077);
    }
}

async fn find_tenant(
    store: &Store,
    name_or_id: &str,
) -> anyhow::Result<kontor_storage::admin::Tenant> {
    if let Ok(id) = name_or_id.parse() {
        return Ok(store.admin().tenant(id).await?);
    }
    store
        .admin()
        .find_tenant_by_name(name_or_id)
        .await?
        .with_context(|| format!("no tenant named {name_or_id:?}"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// Loads the master key (refusing bad key files) and connects to the configured database.
async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let master_key = MasterKey::load(&config.key_file)?;
    let url = config.effective_database_url();
    Store::connect(&url, Arc::new(master_key))
        .await
        .with_context(|| format!("cannot open the database ({})", redact_url(&url)))
}

/// Database URLs may carry a password; never print it.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://[redacted]@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://kontor:s3cret@db:5432/k"),
            "postgres://[redacted]@db:5432/k"
        );
        assert_eq!(
            redact_url("sqlite://./data/kontor.db"),
            "sqlite://./data/kontor.db"
        );
    }
}
