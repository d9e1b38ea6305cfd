//! Orphaned payment files: a crash between keeping an order's file and committing its row
//! leaves a file below `orders/` that no row names, and a crash during a receive leaves one
//! below `incoming/`. Both are removed once older than a grace period.
//!
//! Safe while several instances share one data directory and database: a file is removed only
//! when it was not written for the grace period (far longer than any creation takes from
//! keeping the file to committing its row) and, for a kept file, when no files row names it,
//! asked of the database right before the removal. Two instances removing one orphan is
//! harmless: the second finds it gone.
//!
//! The database is asked once per tenant and batch of [`LOOKUP_BATCH`] files, not once per
//! file. A first pass looks at every kept file older than the grace, which is all of history;
//! the daemon's later passes ([`OrphanCleanup`]) look only at files kept since the previous
//! pass (less a margin): files rows are never deleted, so a file once found named stays named.

use std::time::{Duration, SystemTime};

use kontor_storage::{StorageError, Store, TenantScope};

use crate::ebics::Files;
use crate::metrics;

/// How long a file is left alone by default before it may be an orphan.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

/// Files looked up in one query: far below the bound parameters SQLite and PostgreSQL take.
const LOOKUP_BATCH: usize = 500;

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrphansRemoved {
    /// Kept files below `orders/` that no files row names.
    pub kept: usize,
    /// Received files below `incoming/` left by an interrupted receive.
    pub incoming: usize,
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum OrphanError {
    #[error("order files could not be listed or removed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Removes the orphans not written for `grace` (see the module docs), looking at every kept
/// file: a first pass.
pub async fn remove_orphans(
    store: &Store,
    files: &Files,
    grace: Duration,
) -> Result<OrphansRemoved, OrphanError> {
    OrphanCleanup::new(grace).pass(store, files).await
}

/// Passes that remember how far the last complete one got, so that a later pass does not look
/// up all of history again.
#[derive(Debug, Clone)]
pub struct OrphanCleanup {
    grace: Duration,
    /// The cutoff of the last pass that completed: each kept file written before it was
    /// either removed or found named by a files row then.
    examined_before: Option<SystemTime>,
}

impl OrphanCleanup {
    /// A cleanup whose first pass looks at every kept file.
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            examined_before: None,
        }
    }

    /// Removes the orphans not written for the grace. Files whose names say they were kept
    /// before the last complete pass's cutoff, less one more grace (for the clocks of other
    /// instances that share the directory), are not looked at again. An old-named orphan
    /// written again since (which only a hand on the directory does) waits for a first pass.
    pub async fn pass(
        &mut self,
        store: &Store,
        files: &Files,
    ) -> Result<OrphansRemoved, OrphanError> {
        let cutoff = SystemTime::now()
            .checked_sub(self.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let named_since = self.examined_before.map(|before| {
            before
                .checked_sub(self.grace)
                .unwrap_or(SystemTime::UNIX_EPOCH)
        });
        let mut removed = OrphansRemoved {
            incoming: files.remove_incoming_untouched_since(cutoff).await?,
            ..Default::default()
        };
        let kept = files
            .kept_files_untouched_since(cutoff, named_since)
            .await?;
        // Listed tenant by tenant: each run of one tenant's files is looked up in its scope.
        for tenant_files in kept.chunk_by(|a, b| a.tenant == b.tenant) {
            let scope = TenantScope::system_job(tenant_files[0].tenant, "orphan-order-files");
            for batch in tenant_files.chunks(LOOKUP_BATCH) {
                let paths: Vec<&str> = batch.iter().map(|file| file.path.as_str()).collect();
                let recorded = store
                    .scope(&scope)
                    .read()
                    .await?
                    .files()
                    .recorded_paths(&paths)
                    .await?;
                for file in batch {
                    if !recorded.contains(&file.path) && files.remove_kept(file, cutoff).await? {
                        tracing::info!(tenant = %file.tenant, path = %file.path, "orphaned order file removed");
                        removed.kept += 1;
                    }
                }
            }
        }
        self.examined_before = Some(cutoff);
        Ok(removed)
    }
}

/// Removes orphans now and every `every`, for the daemon's lifetime, counting them in
/// `kontor_orphan_files_removed_total`. Failures are logged; the next pass tries again.
pub fn spawn_orphan_cleanup(
    store: Store,
    files: Files,
    instance: String,
    every: Duration,
    grace: Duration,
) -> tokio::task::JoinHandle<()> {
    let cleanup = std::sync::Arc::new(tokio::sync::Mutex::new(OrphanCleanup::new(grace)));
    crate::services::every(every, move || {
        let (store, files, instance) = (store.clone(), files.clone(), instance.clone());
        let cleanup = cleanup.clone();
        async move {
            match cleanup.lock().await.pass(&store, &files).await {
                Ok(removed) => {
                    for (place, count) in [("orders", removed.kept), ("incoming", removed.incoming)]
                    {
                        if count > 0 {
                            metrics::add(
                                metrics::ORPHAN_FILES_REMOVED,
                                &instance,
                                &[("place", place)],
                                count as f64,
                            );
                        }
                    }
                    if removed != OrphansRemoved::default() {
                        tracing::info!(
                            kept = removed.kept,
                            incoming = removed.incoming,
                            "orphaned order files removed"
                        );
                    }
                }
                Err(error) => tracing::warn!(%error, "orphaned order file cleanup failed"),
            }
        }
    })
}
