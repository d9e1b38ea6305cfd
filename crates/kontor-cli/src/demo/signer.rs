//! A signer at their own machine: the `kontor sign` commands of this very binary, run as a
//! separate process with the signer's key file and passphrase, exactly as a person would.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// One signer: the EBICS user they sign for and their local key file.
pub struct Signer {
    pub name: &'static str,
    pub ebics_user_id: String,
    pub key_file: PathBuf,
}

/// Runs `kontor sign ...` against the demo's API; returns stdout, or fails with stderr.
pub struct SignCli {
    pub api: String,
    pub token: String,
    /// The demo's passphrase for every signer's key file (a real signer types their own).
    pub passphrase: String,
}

impl SignCli {
    pub async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let exe = std::env::current_exe().context("locate the kontor binary")?;
        let output = tokio::process::Command::new(exe)
            .arg("sign")
            .args(args)
            .env("KONTOR_API_URL", &self.api)
            .env("KONTOR_TOKEN", &self.token)
            .env("KONTOR_SIGNER_PASSPHRASE", &self.passphrase)
            .output()
            .await
            .context("run kontor sign")?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            bail!(
                "`kontor sign {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(stdout)
    }

    pub async fn keygen(&self, signer: &Signer) -> anyhow::Result<String> {
        self.run(&[
            "keygen",
            "--out",
            path(&signer.key_file)?,
            "--name",
            signer.name,
        ])
        .await
    }

    pub async fn register(&self, signer: &Signer) -> anyhow::Result<String> {
        self.run(&[
            "register",
            path(&signer.key_file)?,
            "--signer",
            &signer.ebics_user_id,
        ])
        .await
    }

    pub async fn approve(&self, signer: &Signer, order: &str) -> anyhow::Result<String> {
        self.run(&[
            "approve",
            order,
            "--key",
            path(&signer.key_file)?,
            "--signer",
            &signer.ebics_user_id,
        ])
        .await
    }
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str().context("the key file path is not UTF-8")
}
