//! The peer: painfree (PyPI, MIT), an independent EBICS 3.0 client daemon in Python, downloading
//! the statement Kontor downloads, from the same emulator, as `PEER_USER` of the same partner.
//! `tests/interop-python/bench_download.py` drives it with the interop harness's venv
//! (`tests/interop-python/setup-venv.sh`) and measures it; see that script for what counts.

use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;

use crate::download::{Emulator, PEER_USER};

/// What the script measured of painfree's worker process.
#[derive(Debug, Deserialize)]
pub struct PeerMeasured {
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
    pub bytes: i64,
}

#[derive(Debug, Deserialize)]
struct Summary {
    ok: bool,
    painfree_version: Option<String>,
    measure: Option<PeerMeasured>,
    #[serde(default)]
    failed: serde_json::Value,
}

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop-python")
}

/// The venv's interpreter, or why painfree cannot run.
pub fn python() -> Result<PathBuf, String> {
    let python = harness_dir().join(".venv/bin/python");
    let importable = Command::new(&python)
        .args(["-c", "import painfree"])
        .output()
        .is_ok_and(|out| out.status.success());
    match importable {
        true => Ok(python),
        false => Err("run tests/interop-python/setup-venv.sh".into()),
    }
}

/// Runs the script against the emulator (blocking: the emulator serves on the runtime's threads).
pub fn download(python: &PathBuf, emulator: &Emulator) -> Result<PeerMeasured, String> {
    let bank = &emulator.bank;
    // painfree's database and logs; kept when it fails.
    let out = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = Command::new(python)
        .arg(harness_dir().join("bench_download.py"))
        .env("BANK_URL", bank.ebics_url())
        .env("ADMIN_URL", bank.admin_url())
        .env("HOST_ID", bank.config().bank.host_id.to_string())
        .env("PARTNER_ID", emulator.partner())
        .env("USER_ID", PEER_USER)
        .env("OUT_DIR", out.path())
        .output()
        .map_err(|e| format!("{} does not run: {e}", python.display()))?;
    let summary: Summary = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "no JSON summary ({e}), logs in {}: {}",
            out.path().display(),
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    match summary {
        Summary {
            ok: true,
            measure: Some(measure),
            painfree_version,
            ..
        } => {
            eprintln!(
                "  painfree {}: {measure:?}",
                painfree_version.unwrap_or_default()
            );
            Ok(measure)
        }
        Summary { failed, .. } => Err(format!("{failed} (logs in {})", out.keep().display())),
    }
}
