//! Shared test fixtures: an event type and recording handlers.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use lhp_bus::{async_trait, Batch, Event, Handler, HandlerError};

/// A test event: which publisher sent it, its sequence number for that publisher, and a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ev {
    pub kind: String,
    pub publisher: usize,
    pub seq: u64,
}

impl Event for Ev {
    fn kind(&self) -> &str {
        &self.kind
    }
}

pub fn ev(kind: &str, publisher: usize, seq: u64) -> Ev {
    Ev {
        kind: kind.to_owned(),
        publisher,
        seq,
    }
}

/// Records every batch it is handed.
#[derive(Clone, Default)]
pub struct Recorder {
    pub batches: Arc<Mutex<Vec<Vec<Ev>>>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<Ev> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }

    pub fn batch_sizes(&self) -> Vec<usize> {
        self.batches.lock().unwrap().iter().map(Vec::len).collect()
    }
}

#[async_trait]
impl Handler<Ev> for Recorder {
    async fn handle(&self, events: &Batch<Ev>) -> Result<(), HandlerError> {
        let batch = events.iter().cloned().collect();
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
}

/// Checks that, per publisher, sequence numbers strictly increase.
pub fn assert_publisher_order(events: &[Ev], who: &str) {
    let mut last: std::collections::HashMap<usize, u64> = Default::default();
    for e in events {
        if let Some(previous) = last.insert(e.publisher, e.seq) {
            assert!(
                e.seq > previous,
                "{who}: publisher {} sent {} after {}",
                e.publisher,
                e.seq,
                previous
            );
        }
    }
}
