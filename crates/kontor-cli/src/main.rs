//! `kontor`: the daemon, database migrations, tenant bootstrap, the signer CLI and the demo.

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
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(&config.log);
    match cli.command {
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
