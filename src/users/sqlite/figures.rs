//! The store's own figures, kept as atomics where the work happens and
//! read by the metrics at each scrape: writes queued for the writer, the
//! sizes of the batches it commits, read-cache hits and misses, reader
//! connections in use.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The upper bounds of the batch-size buckets (a batch holds at most 128).
pub(crate) const BATCH_BOUNDS: [u64; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct StoreFigures {
    /// Writes sent to the writer and not yet taken into a batch.
    queued_writes: AtomicI64,
    /// Committed batches by size bucket (of [`BATCH_BOUNDS`]), not cumulative.
    batches: [AtomicU64; BATCH_BOUNDS.len()],
    batched_writes: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    readers: AtomicU64,
    readers_in_use: AtomicI64,
}

/// A snapshot, for a scrape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    pub(crate) queued_writes: i64,
    /// (upper bound, batches in that bucket).
    pub(crate) batches: Vec<(f64, u64)>,
    pub(crate) batch_count: u64,
    pub(crate) batched_writes: u64,
    pub(crate) cache_hits: u64,
    pub(crate) cache_misses: u64,
    pub(crate) readers: u64,
    pub(crate) readers_in_use: i64,
}

impl StoreFigures {
    pub(super) fn write_queued(&self) {
        self.queued_writes.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn write_taken(&self) {
        self.queued_writes.fetch_sub(1, Ordering::Relaxed);
    }

    pub(super) fn batch_committed(&self, writes: usize) {
        let writes = u64::try_from(writes).unwrap_or(u64::MAX);
        let bucket = BATCH_BOUNDS
            .iter()
            .position(|&bound| writes <= bound)
            .unwrap_or(BATCH_BOUNDS.len() - 1);
        self.batches[bucket].fetch_add(1, Ordering::Relaxed);
        self.batched_writes.fetch_add(writes, Ordering::Relaxed);
    }

    pub(super) fn cache_lookup(&self, hit: bool) {
        let counter = if hit { &self.cache_hits } else { &self.cache_misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn set_readers(&self, readers: usize) {
        self.readers
            .store(u64::try_from(readers).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts a reader connection in use until the guard is dropped.
    pub(super) fn reader_taken(&self) -> ReaderInUse<'_> {
        self.readers_in_use.fetch_add(1, Ordering::Relaxed);
        ReaderInUse(self)
    }

    pub(crate) fn snapshot(&self) -> Figures {
        let batches: Vec<(f64, u64)> = BATCH_BOUNDS
            .iter()
            .zip(&self.batches)
            .map(|(&bound, count)| (bound as f64, count.load(Ordering::Relaxed)))
            .collect();
        Figures {
            queued_writes: self.queued_writes.load(Ordering::Relaxed).max(0),
            batch_count: batches.iter().map(|(_, count)| count).sum(),
            batches,
            batched_writes: self.batched_writes.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            readers: self.readers.load(Ordering::Relaxed),
            readers_in_use: self.readers_in_use.load(Ordering::Relaxed).max(0),
        }
    }
}

/// A reader connection in use.
pub(super) struct ReaderInUse<'a>(&'a StoreFigures);

impl Drop for ReaderInUse<'_> {
    fn drop(&mut self) {
        self.0.readers_in_use.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fall_in_the_bucket_of_their_size() {
        let cases: [(&[usize], [u64; 8]); 3] = [
            (&[1], [1, 0, 0, 0, 0, 0, 0, 0]),
            (&[2, 3, 4, 5], [0, 1, 2, 1, 0, 0, 0, 0]),
            (&[64, 65, 128], [0, 0, 0, 0, 0, 0, 1, 2]),
        ];
        for (sizes, expected) in cases {
            let figures = StoreFigures::default();
            for &size in sizes {
                figures.batch_committed(size);
            }
            let snapshot = figures.snapshot();
            let counts: Vec<u64> = snapshot.batches.iter().map(|(_, count)| *count).collect();
            assert_eq!(counts, expected, "{sizes:?}");
            assert_eq!(snapshot.batch_count, sizes.len() as u64);
            assert_eq!(snapshot.batched_writes, sizes.iter().sum::<usize>() as u64);
        }
    }

    #[test]
    fn gauges_follow_what_is_in_use() {
        let figures = StoreFigures::default();
        figures.write_queued();
        figures.write_queued();
        figures.write_taken();
        let reader = figures.reader_taken();
        assert_eq!(figures.snapshot().readers_in_use, 1);
        drop(reader);
        figures.cache_lookup(true);
        figures.cache_lookup(false);
        figures.cache_lookup(true);
        let snapshot = figures.snapshot();
        assert_eq!(
            (
                snapshot.queued_writes,
                snapshot.readers_in_use,
                snapshot.cache_hits,
                snapshot.cache_misses
            ),
            (1, 0, 2, 1)
        );
    }
}
