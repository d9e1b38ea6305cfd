//! The threads this process's uploads deflate on, shared: one upload alone deflates on every
//! core (`compression::deflate_reader`), but each thread holds a chunk in and out, so many
//! uploads at once must not each start as many (memory would grow with the uploads, and the
//! cores are busy anyway).

use std::num::NonZeroUsize;
use std::sync::{LazyLock, Mutex, PoisonError};

/// The process's budget: as many threads as cores.
pub(super) static DEFLATE_THREADS: LazyLock<DeflateThreads> = LazyLock::new(|| {
    DeflateThreads::new(std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
});

/// A number of deflate threads shared by every upload of the process.
#[derive(Debug)]
pub(super) struct DeflateThreads {
    limit: NonZeroUsize,
    in_use: Mutex<usize>,
}

impl DeflateThreads {
    pub(super) fn new(limit: NonZeroUsize) -> Self {
        Self {
            limit,
            in_use: Mutex::new(0),
        }
    }

    /// The threads free now, and at least one: an upload never waits for another's deflate,
    /// it runs on one thread (two chunks in flight) while the others hold the rest.
    pub(super) fn take(&self) -> DeflateGrant<'_> {
        let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        let free = self.limit.get().saturating_sub(*in_use);
        let threads = NonZeroUsize::new(free).unwrap_or(NonZeroUsize::MIN);
        *in_use += threads.get();
        DeflateGrant {
            budget: self,
            threads,
        }
    }
}

/// Threads taken from a [`DeflateThreads`]; given back when dropped.
#[derive(Debug)]
pub(super) struct DeflateGrant<'a> {
    budget: &'a DeflateThreads,
    pub(super) threads: NonZeroUsize,
}

impl Drop for DeflateGrant<'_> {
    fn drop(&mut self) {
        let mut in_use = self
            .budget
            .in_use
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *in_use -= self.threads.get();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_at_once_share_the_threads_and_each_gets_one() {
        let budget = DeflateThreads::new(NonZeroUsize::new(4).unwrap());
        let first = budget.take();
        assert_eq!(first.threads.get(), 4);
        let second = budget.take();
        assert_eq!(second.threads.get(), 1, "over the budget, one thread");
        drop(first);
        let third = budget.take();
        assert_eq!(third.threads.get(), 3, "what the second does not hold");
        drop((second, third));
        assert_eq!(budget.take().threads.get(), 4, "all given back");
    }
}
