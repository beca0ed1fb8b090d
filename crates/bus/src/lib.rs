//! `lhp-bus`: a typed async event bus on tokio.
//!
//! A [`Bus<E>`] carries events of one type `E` from any number of publishers to any number
//! of subscribers. An event has a *kind* (a string such as `action.start`) that subscribers
//! filter on. Each subscriber has its own bounded queue, its own overflow policy and its own
//! task (an actor) that calls its [`Handler`], one event or one batch at a time. The bus knows
//! nothing of Lakehouse Plumber; `lhp` uses it to publish every step of a run to its hooks.
//!
//! ```
//! use std::time::Duration;
//! use lhp_bus::{Batch, Bus, Event, Overflow, handler_fn};
//!
//! #[derive(Debug)]
//! struct Step { kind: &'static str, name: String }
//! impl Event for Step { fn kind(&self) -> &str { self.kind } }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bus = Bus::new();
//! bus.subscriber("errors")
//!     .kinds(["*.error"])?
//!     .capacity(256)
//!     .overflow(Overflow::Block)
//!     .batch(64, Duration::from_millis(50))
//!     .spawn(handler_fn(|batch: &Batch<Step>| {
//!         for step in batch { eprintln!("failed: {}", step.name); }
//!         Ok(())
//!     }))?;
//!
//! bus.publish(Step { kind: "action.start", name: "load_orders".into() }).await?;
//! bus.publish(Step { kind: "action.error", name: "load_orders".into() }).await?;
//!
//! let report = bus.shutdown(Duration::from_secs(5)).await;
//! let errors = report.subscriber("errors").unwrap();
//! assert_eq!((errors.counts.matched, errors.counts.delivered), (1, 1));
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! **Sharing.** A publish allocates its events once and every subscriber shares that
//! allocation; events are never cloned per subscriber. [`Bus::publish`] makes one allocation
//! for its event; [`Bus::publish_many`] makes one *segment* for all of its events and takes
//! each subscriber's queue once. A queue holds one reference per *run* (consecutive events of
//! one publish that passed the subscriber's filter), not one per event, so fanning a burst
//! out costs each subscriber one reference count per run of it that it takes: one, when its
//! filter passes the whole burst.
//! Handlers get a [`Batch`] that refers to those allocations; [`Batch::shared`] and
//! [`Batch::iter_shared`] give [`Shared`] handles that keep an event past the call (and with
//! it, the rest of its publish). The events of a publish are dropped together, where the
//! last reference to them goes: usually the task of the last subscriber to handle them, but
//! it may be the publisher (its own reference goes to the last subscriber on the bus, unless
//! that one takes none of the events: its filter passes none, or it discards or refuses them
//! all, or it is closed), or a publisher whose push evicts them from a `drop_oldest` queue.
//!
//! **Memory.** `capacity` bounds the events a subscriber holds, not the memory behind them:
//! one event held (queued, in a handler call, or kept as a [`Shared`]) keeps its whole publish
//! allocated, including events other subscribers are done with, events this subscriber's
//! filter rejected and events its `drop_oldest` policy evicted. A subscriber that holds a few
//! events of each of many large `publish_many` calls holds all of them.
//!
//! **Ordering.** Each subscriber receives the events of any one publisher in the order that
//! publisher published them (the events of one [`Bus::publish_many`] call included). Events of concurrent publishers interleave, and two
//! subscribers may see different interleavings. Handler calls of one subscriber are
//! sequential, so the handler observes that order, unless the subscriber opts into
//! [`concurrency(n)`](SubscriberBuilder::concurrency) with `n > 1`.
//!
//! **Capacity and overflow.** A subscriber holds at most `capacity` events: those queued plus
//! those its task has taken and not finished handling (the task takes events in chunks of up
//! to 64, or a batch, so that it locks the queue once per chunk rather than once per event).
//! When it is full, its [`Overflow`] policy decides:
//!
//! | policy | [`Bus::publish`], [`Bus::publish_many`] | [`Bus::try_publish`] | loss |
//! |---|---|---|---|
//! | [`Overflow::Block`] | waits for room (backpressure) | refuses; counted `dropped`, named in [`Receipt::refused`] | none through `publish` |
//! | [`Overflow::DropOldest`] | evicts the oldest queued event | same | evicted events counted `dropped` |
//! | [`Overflow::DropNewest`] | discards the new event | same | discarded events counted `dropped` |
//!
//! (`drop_oldest` can only evict what is still queued: when everything the subscriber holds is
//! already with its task, the new event is discarded instead. Its task takes one batch at a
//! time so this stays rare.) Publishers blocked on a full queue resume once it is half empty,
//! so that a fast publisher pays one wake-up per burst rather than one per event.
//!
//! A slow `block` subscriber therefore slows every publisher down to its pace; a lossy
//! subscriber never does.
//!
//! **Accounting.** For every subscriber and at every instant,
//! `matched = delivered + dropped + lost + queued + in_flight` ([`Counts::is_conserved`]).
//! An event counts as `matched` for every subscriber whose filter it passes while that
//! subscriber is on the bus; events published after a subscriber left are not counted for it.
//! After [`Bus::shutdown`], `queued` and `in_flight` are zero: each matched event was
//! delivered, dropped or lost, and no event disappears uncounted. The same counters are
//! exported through the [`metrics`](https://docs.rs/metrics) facade (see the table in
//! [the metrics module](crate#metrics)).
//!
//! **Failure isolation.** A handler that returns an error or panics is contained in its own
//! subscription: the failure is counted and logged through `tracing`, its events count as
//! delivered and failed, and the next batch is handled as usual. After
//! [`max_consecutive_failures`](SubscriberBuilder::max_consecutive_failures) failing calls in a
//! row (default 3) the subscriber is stopped, its queued events are counted lost and its status
//! says why; publishers and the other subscribers go on unaffected. A panic outside a handler
//! call (in an event's `Drop`, say) ends the subscriber the same way, as
//! [`SubscriberStatus::Crashed`]; since the events of a publish are dropped together, that is
//! whichever subscriber let go of them last, which need not be one that took the panicking
//! event. Filters are user code too, but they run in the publisher:
//! a panicking filter panics the publish.
//!
//! **Shutdown.** [`Bus::shutdown`] refuses further publishes (they get [`Closed`] back with
//! their event), lets publishes already in flight finish, delivers everything queued and waits
//! for the handlers, all within one deadline (`Duration::MAX` waits as long as it takes).
//! What is not done by then is counted lost and the subscriber reported
//! [`SubscriberStatus::TimedOut`]; the events of a publish still blocked on a full queue are
//! counted lost for every subscriber they had yet to reach. The returned [`ShutdownReport`]
//! lists every subscriber the bus has had.
//!
//! **Dynamic subscription.** Subscribing and unsubscribing are safe while publishers run. A
//! publish offers its event to the subscribers on the bus when it began; one that leaves
//! while the publish is under way may not get the event, and then it is not counted for it.
//! A subscriber that joins while shutdown begins is either shut down with the others or
//! refused with [`SubscribeError::BusClosed`].
//!
//! **Dropping the bus.** When the last [`Bus`] handle is dropped without a shutdown, every
//! queue is closed: subscribers deliver what they hold and end, streams end.
//!
//! # Metrics
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `lhp_bus_published_total` | `bus` | events accepted by publish / try_publish |
//! | `lhp_bus_matched_total` | `bus`, `subscriber` | events that passed the subscriber's filter |
//! | `lhp_bus_delivered_total` | `bus`, `subscriber` | events handled (or yielded by a stream) |
//! | `lhp_bus_dropped_total` | `bus`, `subscriber` | events discarded by the overflow policy or refused |
//! | `lhp_bus_lost_total` | `bus`, `subscriber` | events accepted but never delivered |
//! | `lhp_bus_handler_failures_total` | `bus`, `subscriber` | handler calls that failed or panicked |
//!
//! # Backpressure, shown
//!
//! ```
//! use std::time::Duration;
//! use lhp_bus::{Bus, Event, Overflow};
//! # #[derive(Debug)] struct Tick(u32);
//! # impl Event for Tick { fn kind(&self) -> &str { "tick" } }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let bus = Bus::new();
//! // A stream subscriber nobody reads yet: its queue fills up.
//! let _lossless = bus.subscriber("slow").capacity(2).stream().unwrap();
//! let _lossy = bus.subscriber("lossy").capacity(2).overflow(Overflow::DropNewest).stream().unwrap();
//!
//! bus.try_publish(Tick(1)).unwrap();
//! bus.try_publish(Tick(2)).unwrap();
//! let receipt = bus.try_publish(Tick(3)).unwrap();
//! assert_eq!(receipt.refused.len(), 1);   // `slow` is full and refuses without waiting
//! assert_eq!(receipt.dropped, 1);         // `lossy` discards the newest
//!
//! // `publish` would wait for `slow` to make room:
//! let waited = tokio::time::timeout(Duration::from_millis(10), bus.publish(Tick(4))).await;
//! assert!(waited.is_err());
//! # }
//! ```

#![warn(missing_docs)]

mod batch;
mod bus;
mod filter;
mod handler;
mod metrics;
mod queue;
mod stats;
mod stream;

pub use crate::batch::{Batch, Iter, Shared};
pub use crate::bus::{
    Bus, Closed, Receipt, SubscriberBuilder, Subscription, SubscriptionId, DEFAULT_CAPACITY,
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
};
pub use crate::filter::Filter;
pub use crate::handler::{handler_fn, panic_message, FnHandler, Handler, HandlerError};
pub use crate::queue::Overflow;
pub use crate::stats::{BusStats, Counts, ShutdownReport, SubscriberStats, SubscriberStatus};
pub use crate::stream::EventStream;

/// Re-exported so handler implementations need not name the crate themselves.
pub use async_trait::async_trait;

/// A value that can travel on a [`Bus`]: anything thread-safe with a kind to route on.
pub trait Event: Send + Sync + 'static {
    /// The kind subscribers filter on, such as `action.start`.
    fn kind(&self) -> &str;
}

/// Why a subscription could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// A kind pattern that cannot be used.
    #[error("invalid kind pattern `{pattern}`: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting outside its range.
    #[error("subscriber `{subscriber}`: invalid {setting}: {reason}")]
    InvalidSetting {
        /// The subscriber's name.
        subscriber: String,
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The bus is shut down.
    #[error("the bus is shut down; no new subscribers are accepted")]
    BusClosed,
    /// `spawn` was called outside a tokio runtime.
    #[error("a handler subscription must be spawned from within a tokio runtime")]
    NoRuntime,
}
