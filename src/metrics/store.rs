//! The store's own figures as metrics, read from its counters at each
//! scrape:
//!
//! - `gateway_store_write_queue_depth` — writes waiting for the writer;
//! - `gateway_store_commit_batch_size` — histogram of the writes per
//!   committed transaction (group commit);
//! - `gateway_store_cache_hits_total`, `gateway_store_cache_misses_total`
//!   — point reads answered by the read cache, or not (the hit ratio is
//!   `rate(hits) / (rate(hits) + rate(misses))`);
//! - `gateway_store_readers`, `gateway_store_readers_in_use` — the reader
//!   connection pool.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::users::StoreFigures;

/// Encodes a store's figures at each scrape.
#[derive(Debug)]
pub(crate) struct StoreMetrics(pub(crate) Arc<StoreFigures>);

impl Collector for StoreMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let figures = self.0.snapshot();
        let gauges = [
            (
                "gateway_store_write_queue_depth",
                "Writes sent to the store's writer and not yet in a transaction",
                figures.queued_writes,
            ),
            (
                "gateway_store_readers",
                "Reader connections of the store",
                figures.readers as i64,
            ),
            (
                "gateway_store_readers_in_use",
                "Reader connections of the store running a read",
                figures.readers_in_use,
            ),
        ];
        for (name, help, value) in gauges {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(value).encode(metric)?;
        }
        let counters = [
            (
                "gateway_store_cache_hits",
                "Point reads answered by the store's read cache",
                figures.cache_hits,
            ),
            (
                "gateway_store_cache_misses",
                "Point reads the store's read cache could not answer",
                figures.cache_misses,
            ),
        ];
        for (name, help, value) in counters {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value).encode(metric)?;
        }
        let mut metric = encoder.encode_descriptor(
            "gateway_store_commit_batch_size",
            "Writes per committed transaction of the store's writer",
            None,
            MetricType::Histogram,
        )?;
        metric.encode_histogram::<NoLabelSet>(
            figures.batched_writes as f64,
            figures.batch_count,
            &figures.batches,
            None,
        )
    }
}
