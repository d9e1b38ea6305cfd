//! Daemon configuration: defaults, then the TOML file, then environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name} has an invalid value {value:?}: {message}")]
    Env {
        name: &'static str,
        value: String,
        message: String,
    },
    /// The data directory is open to group or others (or cannot be created).
    #[error("data directory: {0}")]
    DataDir(#[from] kontor_storage::private_files::PrivateFileError),
}

/// The settings as they appear in `kontor.toml`; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<String>,
    key_file: Option<PathBuf>,
    log: Option<String>,
}

/// The effective daemon configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Directory for the SQLite database, downloaded files and order contents.
    pub data_dir: PathBuf,
    /// Explicit database URL; `None` means the embedded SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Address of the admin HTTP API.
    pub listen: SocketAddr,
    /// Master key file (see `keys.example`).
    pub key_file: PathBuf,
    /// tracing `EnvFilter` directive.
    pub log: String,
    /// Pause between recovery sweeps for unfinished transactions.
    pub recovery_interval: Duration,
    /// How long a transaction lease lasts: after a crash, how soon another instance (or the
    /// restarted one) may resume the transaction.
    pub transaction_lease: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            key_file: PathBuf::from("./keys/master.key"),
            log: "info".to_owned(),
            recovery_interval: Duration::from_secs(30),
            transaction_lease: Duration::from_secs(300),
        }
    }
}

impl Config {
    /// Loads defaults, overlays the file (if given) and then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, |name| std::env::var(name).ok())
    }

    /// Like [`Config::load`] with an injectable environment, so tests need not mutate the process.
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            let parsed: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.message().to_owned(),
            })?;
            config.apply_file(parsed, path)?;
        }
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_file(&mut self, file: FileConfig, path: &Path) -> Result<(), ConfigError> {
        // Relative paths in the file are relative to the directory of the file,
        // so a config works the same from any working directory.
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let resolve = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
        if let Some(dir) = file.data_dir {
            self.data_dir = resolve(dir);
        }
        if let Some(url) = file.database_url {
            self.database_url = Some(url);
        }
        if let Some(listen) = file.listen {
            self.listen = listen.parse().map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: format!("listen = {listen:?}: {e}"),
            })?;
        }
        if let Some(key) = file.key_file {
            self.key_file = resolve(key);
        }
        if let Some(log) = file.log {
            self.log = log;
        }
        Ok(())
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(dir) = env("KONTOR_DATA_DIR") {
            self.data_dir = PathBuf::from(dir);
        }
        if let Some(url) = env("KONTOR_DATABASE_URL").or_else(|| env("DATABASE_URL")) {
            self.database_url = Some(url);
        }
        if let Some(listen) = env("KONTOR_LISTEN") {
            self.listen =
                listen
                    .parse()
                    .map_err(|e: std::net::AddrParseError| ConfigError::Env {
                        name: "KONTOR_LISTEN",
                        value: listen.clone(),
                        message: e.to_string(),
                    })?;
        }
        if let Some(key) = env("KONTOR_KEY_FILE") {
            self.key_file = PathBuf::from(key);
        }
        if let Some(log) = env("KONTOR_LOG").or_else(|| env("RUST_LOG")) {
            self.log = log;
        }
        if let Some(secs) = env_seconds(&env, "KONTOR_RECOVERY_INTERVAL_SECS")? {
            self.recovery_interval = secs;
        }
        if let Some(secs) = env_seconds(&env, "KONTOR_TRANSACTION_LEASE_SECS")? {
            self.transaction_lease = secs;
        }
        Ok(())
    }

    /// Creates the data directory owner-only (0700), or refuses to run on an existing one that
    /// group or others can enter: it holds the SQLite database and the spooled bank
    /// transfers (statements in the clear). The database file itself is checked when the
    /// store opens it.
    pub fn prepare_data_dir(&self) -> Result<(), ConfigError> {
        kontor_storage::private_files::ensure_private_dir(&self.data_dir)?;
        Ok(())
    }

    /// The database URL to connect to: the configured one or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("kontor.db").display()
            ),
        }
    }
}

/// A positive number of seconds from the environment (zero would spin or never hold a lease).
fn env_seconds(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<Duration>, ConfigError> {
    let Some(value) = env(name) else {
        return Ok(None);
    };
    match value.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Some(Duration::from_secs(secs))),
        _ => Err(ConfigError::Env {
            name,
            value,
            message: "expected a positive number of seconds".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_use_embedded_sqlite_in_data_dir() {
        let config = Config::load_with_env(None, env_of(&[])).unwrap();
        assert_eq!(config.database_url, None);
        assert_eq!(
            config.effective_database_url(),
            "sqlite://./data/kontor.db?mode=rwc"
        );
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kontor.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\ndata_dir = \"d\"\n").unwrap();
        let config =
            Config::load_with_env(Some(&path), env_of(&[("KONTOR_LISTEN", "0.0.0.0:7000")]))
                .unwrap();
        assert_eq!(config.listen, "0.0.0.0:7000".parse().unwrap());
        assert_eq!(config.data_dir, dir.path().join("d"));
    }

    #[test]
    fn database_url_env_wins_and_falls_back_to_standard_name() {
        let config =
            Config::load_with_env(None, env_of(&[("DATABASE_URL", "postgres://x/y")])).unwrap();
        assert_eq!(config.effective_database_url(), "postgres://x/y");
        let config = Config::load_with_env(
            None,
            env_of(&[
                ("DATABASE_URL", "postgres://x/y"),
                ("KONTOR_DATABASE_URL", "postgres://a/b"),
            ]),
        )
        .unwrap();
        assert_eq!(config.effective_database_url(), "postgres://a/b");
    }

    #[test]
    fn unknown_keys_and_bad_addresses_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kontor.toml");
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        assert!(matches!(
            Config::load_with_env(Some(&path), env_of(&[])),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            Config::load_with_env(None, env_of(&[("KONTOR_LISTEN", "nope")])),
            Err(ConfigError::Env {
                name: "KONTOR_LISTEN",
                ..
            })
        ));
    }

    #[test]
    fn recovery_timing_comes_from_the_environment() {
        let config = Config::load_with_env(
            None,
            env_of(&[
                ("KONTOR_RECOVERY_INTERVAL_SECS", "2"),
                ("KONTOR_TRANSACTION_LEASE_SECS", "5"),
            ]),
        )
        .unwrap();
        assert_eq!(config.recovery_interval, Duration::from_secs(2));
        assert_eq!(config.transaction_lease, Duration::from_secs(5));
        assert!(matches!(
            Config::load_with_env(None, env_of(&[("KONTOR_RECOVERY_INTERVAL_SECS", "0")])),
            Err(ConfigError::Env {
                name: "KONTOR_RECOVERY_INTERVAL_SECS",
                ..
            })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn the_data_dir_is_created_owner_only_and_an_open_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        let config =
            Config::load_with_env(None, env_of(&[("KONTOR_DATA_DIR", dir.to_str().unwrap())]))
                .unwrap();
        config.prepare_data_dir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = config.prepare_data_dir().unwrap_err();
        assert!(matches!(err, ConfigError::DataDir(_)), "{err}");
        assert!(err.to_string().contains("chmod 700"), "{err}");
    }

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/kontor.example.toml");
        let config = Config::load_with_env(Some(&path), env_of(&[])).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
    }
}
