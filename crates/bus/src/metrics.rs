//! The bus's counters exported through the `metrics` facade.
//!
//! Counter handles are registered once per subscriber, so the hot path pays one increment
//! on a handle (a no-op when no recorder is installed), never a registry lookup.
//!
//! The names and labels are listed in the crate documentation.

use metrics::{counter, Counter};

/// Handles for one subscriber's counters.
pub(crate) struct SubscriberMetrics {
    pub(crate) matched: Counter,
    pub(crate) delivered: Counter,
    pub(crate) dropped: Counter,
    pub(crate) lost: Counter,
    pub(crate) failures: Counter,
}

impl SubscriberMetrics {
    pub(crate) fn register(bus: &str, subscriber: &str) -> Self {
        let labels = [
            ("bus", bus.to_owned()),
            ("subscriber", subscriber.to_owned()),
        ];
        Self {
            matched: counter!("lhp_bus_matched_total", &labels),
            delivered: counter!("lhp_bus_delivered_total", &labels),
            dropped: counter!("lhp_bus_dropped_total", &labels),
            lost: counter!("lhp_bus_lost_total", &labels),
            failures: counter!("lhp_bus_handler_failures_total", &labels),
        }
    }
}

/// The handle for the bus-wide published counter.
pub(crate) fn published_counter(bus: &str) -> Counter {
    counter!("lhp_bus_published_total", "bus" => bus.to_owned())
}
