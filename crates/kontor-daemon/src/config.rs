//! Daemon configuration: defaults, then the TOML file, then environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::ebics::transport::{ProxySettings, TransportSettings, MIN_MAX_ANSWER_BYTES};

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
    max_order_file_bytes: Option<u64>,
    bank_transport: Option<FileBankTransport>,
    webhooks: Option<FileWebhooks>,
}

/// `[webhooks]`: where webhooks may go.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWebhooks {
    allow_private_targets: Option<bool>,
}

/// `[bank_transport]`: how the daemon reaches banks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBankTransport {
    max_answer_bytes: Option<u64>,
    connect_timeout_secs: Option<u64>,
    read_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    proxy: Option<String>,
    no_proxy: Option<Vec<String>>,
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
    /// The largest payment file `POST /v1/orders` takes (streamed to disk, never buffered).
    pub max_order_file_bytes: u64,
    /// How long a payment file no order names is left on disk before it is removed as an
    /// orphan (`KONTOR_ORPHAN_FILE_GRACE_SECS`).
    pub orphan_file_grace: Duration,
    /// The HTTP(S) client for banks: answer size limit, timeouts, proxy.
    pub bank_transport: TransportSettings,
    /// Whether webhook targets may resolve to private, loopback or link-local addresses
    /// (`[webhooks] allow_private_targets`, `KONTOR_WEBHOOKS_ALLOW_PRIVATE_TARGETS`); off by
    /// default, so a tenant cannot make the daemon call into its own network.
    pub webhooks_allow_private_targets: bool,
}

/// The default of [`Config::max_order_file_bytes`]: payroll and collection files are
/// routinely tens of MiB.
pub const DEFAULT_MAX_ORDER_FILE_BYTES: u64 = 256 << 20;

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
            max_order_file_bytes: DEFAULT_MAX_ORDER_FILE_BYTES,
            orphan_file_grace: crate::services::orders::orphans::DEFAULT_GRACE,
            bank_transport: TransportSettings::default(),
            webhooks_allow_private_targets: false,
        }
    }
}

impl Config {
    /// Loads defaults, overlays the file (if given) and then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, |name| std::env::var(name).ok())
    }

    /// Like [`Config::load`] with an injectable environment, so tests need not mutate the process.
    fn load_with_env(
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
        if let Some(bytes) = file.max_order_file_bytes {
            self.max_order_file_bytes =
                order_file_limit(bytes).map_err(|message| ConfigError::Parse {
                    path: path.to_owned(),
                    message: format!("max_order_file_bytes: {message}"),
                })?;
        }
        if let Some(transport) = file.bank_transport {
            self.apply_file_transport(transport)
                .map_err(|message| ConfigError::Parse {
                    path: path.to_owned(),
                    message: format!("[bank_transport] {message}"),
                })?;
        }
        if let Some(allow) = file.webhooks.and_then(|w| w.allow_private_targets) {
            self.webhooks_allow_private_targets = allow;
        }
        Ok(())
    }

    fn apply_file_transport(&mut self, file: FileBankTransport) -> Result<(), String> {
        let t = &mut self.bank_transport;
        if let Some(bytes) = file.max_answer_bytes {
            t.max_answer_bytes = answer_limit(bytes)?;
        }
        let seconds = |name: &str, value: Option<u64>, into: &mut Duration| match value {
            Some(0) => Err(format!("{name} must be a positive number of seconds")),
            Some(secs) => {
                *into = Duration::from_secs(secs);
                Ok(())
            }
            None => Ok(()),
        };
        seconds(
            "connect_timeout_secs",
            file.connect_timeout_secs,
            &mut t.connect_timeout,
        )?;
        seconds(
            "read_timeout_secs",
            file.read_timeout_secs,
            &mut t.read_timeout,
        )?;
        seconds(
            "request_timeout_secs",
            file.request_timeout_secs,
            &mut t.request_timeout,
        )?;
        match (file.proxy, file.no_proxy) {
            (Some(url), no_proxy) => {
                t.proxy = Some(
                    ProxySettings::new(&url, no_proxy.unwrap_or_default())
                        .map_err(|e| e.to_string())?,
                );
            }
            (None, Some(_)) => return Err("no_proxy is set but proxy is not".into()),
            (None, None) => {}
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
        if let Some(secs) = env_seconds(&env, "KONTOR_ORPHAN_FILE_GRACE_SECS")? {
            self.orphan_file_grace = secs;
        }
        if let Some(bytes) = env_bytes(&env, "KONTOR_MAX_ORDER_FILE_BYTES", order_file_limit)? {
            self.max_order_file_bytes = bytes;
        }
        if let Some(value) = env("KONTOR_WEBHOOKS_ALLOW_PRIVATE_TARGETS") {
            self.webhooks_allow_private_targets = match value.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: "KONTOR_WEBHOOKS_ALLOW_PRIVATE_TARGETS",
                        value,
                        message: "expected true or false".into(),
                    })
                }
            };
        }
        self.apply_env_transport(&env)
    }

    fn apply_env_transport(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let t = &mut self.bank_transport;
        if let Some(bytes) = env_bytes(env, "KONTOR_BANK_MAX_ANSWER_BYTES", answer_limit)? {
            t.max_answer_bytes = bytes;
        }
        if let Some(secs) = env_seconds(env, "KONTOR_BANK_CONNECT_TIMEOUT_SECS")? {
            t.connect_timeout = secs;
        }
        if let Some(secs) = env_seconds(env, "KONTOR_BANK_READ_TIMEOUT_SECS")? {
            t.read_timeout = secs;
        }
        if let Some(secs) = env_seconds(env, "KONTOR_BANK_REQUEST_TIMEOUT_SECS")? {
            t.request_timeout = secs;
        }
        match env("KONTOR_BANK_PROXY") {
            // Set but empty: connect directly even if the file names a proxy.
            Some(url) if url.trim().is_empty() => t.proxy = None,
            Some(url) => {
                // The file's exceptions stay in force unless KONTOR_BANK_NO_PROXY replaces them.
                let exceptions = t
                    .proxy
                    .as_ref()
                    .map(|p| p.no_proxy().to_vec())
                    .unwrap_or_default();
                t.proxy =
                    Some(
                        ProxySettings::new(&url, exceptions).map_err(|e| ConfigError::Env {
                            name: "KONTOR_BANK_PROXY",
                            value: "(not shown: it may hold credentials)".into(),
                            message: e.to_string(),
                        })?,
                    );
            }
            None => {}
        }
        // Exceptions without a proxy have nothing to except: ignored.
        if let Some(list) = env("KONTOR_BANK_NO_PROXY") {
            if let Some(proxy) = t.proxy.take() {
                let exceptions = list.split(',').map(str::to_owned).collect();
                t.proxy = Some(
                    proxy
                        .with_no_proxy(exceptions)
                        .map_err(|e| ConfigError::Env {
                            name: "KONTOR_BANK_NO_PROXY",
                            value: list,
                            message: e.to_string(),
                        })?,
                );
            }
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

/// A bank answer limit that still fits one full EBICS segment with its envelope.
fn answer_limit(bytes: u64) -> Result<u64, String> {
    if bytes < MIN_MAX_ANSWER_BYTES {
        return Err(format!(
            "max_answer_bytes must be at least {MIN_MAX_ANSWER_BYTES} (one 1 MB EBICS segment and its envelope), got {bytes}"
        ));
    }
    Ok(bytes)
}

/// A positive number of seconds from the environment (zero would spin or never hold a lease).
/// A payment file limit: at least 1 MiB (a smaller one would refuse ordinary files).
fn order_file_limit(bytes: u64) -> Result<u64, String> {
    if bytes < 1 << 20 {
        return Err(format!("{bytes} is below the minimum of 1048576 bytes"));
    }
    Ok(bytes)
}

/// A byte count from the environment, when set, within the bounds `limit` checks.
fn env_bytes(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    limit: fn(u64) -> Result<u64, String>,
) -> Result<Option<u64>, ConfigError> {
    let Some(value) = env(name) else {
        return Ok(None);
    };
    value
        .parse::<u64>()
        .map_err(|e| e.to_string())
        .and_then(limit)
        .map(Some)
        .map_err(|message| ConfigError::Env {
            name,
            value,
            message,
        })
}

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

    /// Asserts that `name=value` in the environment is refused, naming that variable.
    fn assert_env_refused(name: &str, value: &str) {
        assert!(
            matches!(
                Config::load_with_env(None, env_of(&[(name, value)])),
                Err(ConfigError::Env { name: n, .. }) if n == name
            ),
            "{name}={value}"
        );
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
        assert_env_refused("KONTOR_LISTEN", "nope");
    }

    #[test]
    fn order_file_limit_comes_from_file_then_environment_and_has_a_floor() {
        assert_eq!(
            Config::default().max_order_file_bytes,
            DEFAULT_MAX_ORDER_FILE_BYTES
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kontor.toml");
        std::fs::write(&path, "max_order_file_bytes = 67108864\n").unwrap();
        let from_file = Config::load_with_env(Some(&path), env_of(&[])).unwrap();
        assert_eq!(from_file.max_order_file_bytes, 64 << 20);
        let from_env = Config::load_with_env(
            Some(&path),
            env_of(&[("KONTOR_MAX_ORDER_FILE_BYTES", "536870912")]),
        )
        .unwrap();
        assert_eq!(from_env.max_order_file_bytes, 512 << 20);
        assert_env_refused("KONTOR_MAX_ORDER_FILE_BYTES", "1000");
    }

    #[test]
    fn recovery_timing_comes_from_the_environment() {
        let config = Config::load_with_env(
            None,
            env_of(&[
                ("KONTOR_RECOVERY_INTERVAL_SECS", "2"),
                ("KONTOR_TRANSACTION_LEASE_SECS", "5"),
                ("KONTOR_ORPHAN_FILE_GRACE_SECS", "600"),
            ]),
        )
        .unwrap();
        assert_eq!(config.recovery_interval, Duration::from_secs(2));
        assert_eq!(config.transaction_lease, Duration::from_secs(5));
        assert_eq!(config.orphan_file_grace, Duration::from_secs(600));
        assert_eq!(
            Config::default().orphan_file_grace,
            Duration::from_secs(3600)
        );
        assert_env_refused("KONTOR_RECOVERY_INTERVAL_SECS", "0");
        assert_env_refused("KONTOR_ORPHAN_FILE_GRACE_SECS", "soon");
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
    fn bank_transport_comes_from_the_file_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kontor.toml");
        std::fs::write(
            &path,
            "[bank_transport]\nmax_answer_bytes = 8388608\nread_timeout_secs = 30\n\
             proxy = \"http://proxy.internal:3128\"\nno_proxy = [\"bank.example\", \".internal\"]\n",
        )
        .unwrap();
        let from_file = Config::load_with_env(Some(&path), env_of(&[])).unwrap();
        let t = &from_file.bank_transport;
        assert_eq!(t.max_answer_bytes, 8 << 20);
        assert_eq!(t.read_timeout, Duration::from_secs(30));
        assert_eq!(
            t.connect_timeout,
            TransportSettings::default().connect_timeout
        );
        let proxy = t.proxy.as_ref().unwrap();
        assert_eq!(proxy.redacted_url(), "http://proxy.internal:3128/");
        assert_eq!(proxy.no_proxy(), ["bank.example", ".internal"]);

        let overridden = Config::load_with_env(
            Some(&path),
            env_of(&[
                ("KONTOR_BANK_PROXY", "http://other:8080"),
                ("KONTOR_BANK_MAX_ANSWER_BYTES", "3145728"),
                ("KONTOR_BANK_CONNECT_TIMEOUT_SECS", "3"),
            ]),
        )
        .unwrap();
        let t = &overridden.bank_transport;
        assert_eq!(t.max_answer_bytes, 3 << 20);
        assert_eq!(t.connect_timeout, Duration::from_secs(3));
        let proxy = t.proxy.as_ref().unwrap();
        assert_eq!(proxy.redacted_url(), "http://other:8080/");
        assert_eq!(proxy.no_proxy(), ["bank.example", ".internal"]);

        let exceptions = Config::load_with_env(
            Some(&path),
            env_of(&[("KONTOR_BANK_NO_PROXY", "a.example, 10.0.0.0/8")]),
        )
        .unwrap();
        assert_eq!(
            exceptions.bank_transport.proxy.unwrap().no_proxy(),
            ["a.example", "10.0.0.0/8"]
        );
        let direct =
            Config::load_with_env(Some(&path), env_of(&[("KONTOR_BANK_PROXY", "")])).unwrap();
        assert_eq!(direct.bank_transport.proxy, None);
    }

    #[test]
    fn bad_bank_transport_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kontor.toml");
        for body in [
            "max_answer_bytes = 1000",
            "read_timeout_secs = 0",
            "proxy = \"socks5://proxy:1080\"",
            "no_proxy = [\"bank.example\"]",
            "verify_certificates = false",
        ] {
            std::fs::write(&path, format!("[bank_transport]\n{body}\n")).unwrap();
            assert!(
                matches!(
                    Config::load_with_env(Some(&path), env_of(&[])),
                    Err(ConfigError::Parse { .. })
                ),
                "{body}"
            );
        }
        for (name, value) in [
            ("KONTOR_BANK_MAX_ANSWER_BYTES", "4k"),
            ("KONTOR_BANK_MAX_ANSWER_BYTES", "1024"),
            ("KONTOR_BANK_READ_TIMEOUT_SECS", "0"),
            ("KONTOR_BANK_PROXY", "ftp://proxy"),
        ] {
            assert_env_refused(name, value);
        }
    }

    #[test]
    fn private_webhook_targets_are_refused_unless_the_file_or_environment_allows_them() {
        assert!(!Config::default().webhooks_allow_private_targets);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kontor.toml");
        std::fs::write(&path, "[webhooks]\nallow_private_targets = true\n").unwrap();
        let config = Config::load_with_env(Some(&path), env_of(&[])).unwrap();
        assert!(config.webhooks_allow_private_targets);
        let env = env_of(&[("KONTOR_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "false")]);
        let config = Config::load_with_env(Some(&path), env).unwrap();
        assert!(!config.webhooks_allow_private_targets);
        let env = env_of(&[("KONTOR_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "yes")]);
        assert!(Config::load_with_env(None, env).is_err());
    }

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/kontor.example.toml");
        let config = Config::load_with_env(Some(&path), env_of(&[])).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.bank_transport, TransportSettings::default());
    }
}
