//! The plain [`Stream`] subscription, for embedders and tailers that want to pull events.

use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use tokio_stream::Stream;

use crate::batch::Shared;
use crate::bus::{Inner, Slot};
use crate::queue::CloseReason;
use crate::stats::{SubscriberStats, SubscriberStatus};
use crate::SubscriptionId;

/// A subscription consumed by polling, made by
/// [`SubscriberBuilder::stream`](crate::SubscriberBuilder::stream).
///
/// The stream ends (yields `None`) once the bus has shut down and everything queued for it
/// has been yielded. Dropping it unsubscribes; events still queued then count as lost.
pub struct EventStream<E> {
    slot: Arc<Slot<E>>,
    bus: Weak<Inner<E>>,
}

impl<E> EventStream<E> {
    pub(crate) fn new(slot: Arc<Slot<E>>, bus: Weak<Inner<E>>) -> Self {
        Self { slot, bus }
    }

    /// The id the bus gave this subscription.
    pub fn id(&self) -> SubscriptionId {
        self.slot.id
    }

    /// This subscriber's counters as they are now.
    pub fn stats(&self) -> SubscriberStats {
        self.slot.stats()
    }
}

impl<E> Stream for EventStream<E> {
    type Item = Shared<E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.slot.queue.poll_next_delivered(cx)
    }
}

impl<E> std::fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("id", &self.slot.id)
            .field("name", &self.slot.name)
            .finish_non_exhaustive()
    }
}

impl<E> Drop for EventStream<E> {
    fn drop(&mut self) {
        if let Some(bus) = self.bus.upgrade() {
            bus.deactivate(self.slot.id);
        }
        let was_drained = self.slot.queue.is_drained();
        self.slot.queue.abandon(CloseReason::Left);
        self.slot.end_with(if was_drained {
            SubscriberStatus::Completed
        } else {
            SubscriberStatus::Unsubscribed
        });
    }
}
