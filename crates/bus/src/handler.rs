//! The handler side of a subscription: the async [`Handler`] trait and the actor task that
//! feeds it, with batching, bounded concurrency and failure isolation.

use std::any::Any;
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::batch::{Batch, Runs};
use crate::bus::deadline_after;
use crate::queue::{Overflow, Queue, Received};

/// The error a handler returns; any error type converts into it with `?` or `.into()`.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Consumes the events of one subscription.
///
/// The bus calls `handle` from the subscription's own task, with a [`Batch`] of one event, or
/// of up to `max_items` events when the subscription batches. Calls are sequential and in
/// publish order unless the subscription sets `concurrency(n)` with `n > 1`.
///
/// An `Err` or a panic is contained: it is counted and logged, and the events of that call
/// count as delivered and failed. After `max_consecutive_failures` failing calls in a row the
/// subscriber is stopped; other subscribers are not affected.
///
/// ```
/// use lhp_bus::{async_trait, Batch, Handler, HandlerError};
///
/// struct Printer;
///
/// #[async_trait]
/// impl Handler<String> for Printer {
///     async fn handle(&self, events: &Batch<String>) -> Result<(), HandlerError> {
///         for event in events {
///             println!("{event}");
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Handler<E: Send + Sync + 'static>: Send + Sync + 'static {
    /// Handles a batch of events, oldest first.
    async fn handle(&self, events: &Batch<E>) -> Result<(), HandlerError>;

    /// Called once after the last event, when the subscription's queue has closed and every
    /// event in it was handled (at shutdown or unsubscribe): the place to flush, sync or send
    /// a summary. It runs within the shutdown deadline; an `Err` or a panic counts as one
    /// failure. Not called when the subscriber was stopped for failing.
    async fn close(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// A handler made from a synchronous closure, for handlers that never wait.
///
/// ```
/// use lhp_bus::{handler_fn, Handler};
/// let counting = handler_fn(|events: &lhp_bus::Batch<String>| {
///     assert!(!events.is_empty());
///     Ok(())
/// });
/// # fn is_handler<H: Handler<String>>(_: &H) {}
/// # is_handler(&counting);
/// ```
pub fn handler_fn<E, F>(f: F) -> FnHandler<F>
where
    E: Send + Sync + 'static,
    F: Fn(&Batch<E>) -> Result<(), HandlerError> + Send + Sync + 'static,
{
    FnHandler(f)
}

/// See [`handler_fn`].
pub struct FnHandler<F>(F);

#[async_trait]
impl<E, F> Handler<E> for FnHandler<F>
where
    E: Send + Sync + 'static,
    F: Fn(&Batch<E>) -> Result<(), HandlerError> + Send + Sync + 'static,
{
    async fn handle(&self, events: &Batch<E>) -> Result<(), HandlerError> {
        (self.0)(events)
    }
}

#[async_trait]
impl<E: Send + Sync + 'static, H: Handler<E> + ?Sized> Handler<E> for Arc<H> {
    async fn handle(&self, events: &Batch<E>) -> Result<(), HandlerError> {
        (**self).handle(events).await
    }

    async fn close(&self) -> Result<(), HandlerError> {
        (**self).close().await
    }
}

/// How the actor feeds its handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delivery {
    pub(crate) max_items: usize,
    pub(crate) max_wait: Option<Duration>,
    pub(crate) concurrency: usize,
    pub(crate) max_consecutive_failures: u32,
}

/// Why an actor ended.
pub(crate) enum ActorEnd {
    /// The queue was closed and everything in it handled.
    Drained,
    /// Too many failures in a row.
    Stopped {
        consecutive_failures: u32,
        last_error: String,
    },
}

/// How many events the actor takes from its queue at once when the handler wants fewer: one
/// lock per chunk instead of one per event keeps publishers and the actor from fighting over
/// the queue. Taken events still count against the capacity until they are handled.
const CHUNK: usize = 64;

/// The actor's side of the queue: events taken in chunks, handed out in batches.
struct Intake<'a, E> {
    queue: &'a Queue<E>,
    pending: Runs<E>,
    /// Events handed to handler calls that have not finished.
    outstanding: usize,
    delivery: Delivery,
    chunk: usize,
}

impl<'a, E> Intake<'a, E> {
    fn new(queue: &'a Queue<E>, delivery: Delivery) -> Self {
        // Drop-oldest evicts from the queue only; events in the task cannot be evicted, so
        // that policy takes no more than a batch, to keep the freshest events reachable.
        let chunk = match queue.overflow() {
            Overflow::DropOldest => delivery.max_items,
            Overflow::Block | Overflow::DropNewest => delivery.max_items.max(CHUNK),
        };
        Self {
            queue,
            pending: Runs::with_capacity(chunk.min(64)),
            outstanding: 0,
            delivery,
            chunk,
        }
    }

    /// Events the task holds: taken and not yet handled.
    fn holds(&self) -> usize {
        self.pending.len() + self.outstanding
    }

    /// Room in the local buffer.
    fn room(&self) -> usize {
        self.chunk.saturating_sub(self.pending.len())
    }

    /// Takes more events once at least `at_least` are queued.
    async fn refill(&mut self, at_least: usize) -> Received {
        let (queue, room, holds) = (self.queue, self.room(), self.holds());
        let pending = &mut self.pending;
        poll_fn(|cx| queue.poll_recv(cx, room, at_least, holds, pending)).await
    }

    /// Records that a handler call over `count` events finished, and reports it.
    fn finished(&mut self, count: usize, outcome: &CallOutcome) {
        self.outstanding -= count;
        if let CallOutcome::Failed(message) = outcome {
            self.queue.note_failure(message);
        }
        self.queue.complete(count, outcome.failed());
    }

    /// Fills `batch` with at least one event, then up to `max_items`, waiting at most
    /// `max_wait` for the batch to fill. Returns `Closed` when the queue is closed and empty
    /// and nothing is pending.
    async fn next_batch(&mut self, batch: &mut Batch<E>) -> Received {
        // Taken events count against the capacity, so a batch can never grow past it.
        let max = self.delivery.max_items.min(self.queue.capacity());
        if self.pending.is_empty() {
            if let Received::Closed = self.refill(1).await {
                return Received::Closed;
            }
        }
        if let (Some(max_wait), true) = (self.delivery.max_wait, self.pending.len() < max) {
            let until = deadline_after(Instant::now(), max_wait);
            while self.pending.len() < max {
                // Parked until the rest of the batch is there: one wake-up per batch.
                let rest = max - self.pending.len();
                match tokio::time::timeout_at(until, self.refill(rest)).await {
                    Ok(Received::Items) => {}
                    Ok(Received::Closed) => break,
                    Err(_) => {
                        let (room, holds) = (self.room(), self.holds());
                        self.queue.drain_now(room, holds, &mut self.pending);
                        break;
                    }
                }
            }
        }
        let take = max.min(self.pending.len());
        self.pending.move_front(take, batch.runs_mut());
        self.outstanding += take;
        Received::Items
    }
}

/// Tracks consecutive failures and logs each one.
struct FailureTracker<'a> {
    subscriber: &'a str,
    consecutive: u32,
    limit: u32,
    last_error: String,
}

impl FailureTracker<'_> {
    /// Records a call's outcome; returns true when the subscriber must stop.
    fn record(&mut self, outcome: &CallOutcome) -> bool {
        match outcome {
            CallOutcome::Ok => {
                self.consecutive = 0;
                false
            }
            CallOutcome::Failed(message) => {
                self.consecutive += 1;
                self.last_error.clone_from(message);
                tracing::warn!(
                    subscriber = self.subscriber,
                    consecutive = self.consecutive,
                    "event handler failed: {message}"
                );
                self.consecutive >= self.limit
            }
        }
    }

    fn into_stop(self) -> ActorEnd {
        tracing::error!(
            subscriber = self.subscriber,
            consecutive = self.consecutive,
            "event handler stopped after {} consecutive failures; last: {}",
            self.consecutive,
            self.last_error
        );
        ActorEnd::Stopped {
            consecutive_failures: self.consecutive,
            last_error: self.last_error,
        }
    }
}

enum CallOutcome {
    Ok,
    Failed(String),
}

impl CallOutcome {
    fn from_result(result: Result<Result<(), HandlerError>, Box<dyn Any + Send>>) -> Self {
        match result {
            Ok(Ok(())) => Self::Ok,
            Ok(Err(error)) => Self::Failed(error.to_string()),
            Err(panic) => Self::Failed(format!("handler panicked: {}", panic_message(&*panic))),
        }
    }

    fn failed(&self) -> bool {
        matches!(self, Self::Failed(_))
    }
}

/// Text of a panic payload, for the log and the report.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(non-text panic payload)".to_owned()
    }
}

/// Polls a future, turning a panic inside it into an `Err`.
pub(crate) struct CatchUnwind<F>(pub(crate) F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The subscription's task: receives batches and calls the handler until the queue closes.
pub(crate) async fn run_actor<E, H>(
    queue: Arc<Queue<E>>,
    handler: Arc<H>,
    subscriber: Arc<str>,
    delivery: Delivery,
) -> ActorEnd
where
    E: Send + Sync + 'static,
    H: Handler<E>,
{
    let mut failures = FailureTracker {
        subscriber: &subscriber,
        consecutive: 0,
        limit: delivery.max_consecutive_failures,
        last_error: String::new(),
    };
    let mut intake = Intake::new(&queue, delivery);
    if delivery.concurrency <= 1 {
        let mut batch = Batch::with_run_capacity(delivery.max_items.min(64));
        loop {
            batch.runs_mut().clear();
            if let Received::Closed = intake.next_batch(&mut batch).await {
                close(&*handler, &intake, &subscriber).await;
                return ActorEnd::Drained;
            }
            let result = CatchUnwind(handler.handle(&batch)).await;
            let outcome = CallOutcome::from_result(result);
            intake.finished(batch.len(), &outcome);
            if failures.record(&outcome) {
                return failures.into_stop();
            }
        }
    }

    // Out-of-order mode: up to `concurrency` calls at once, each in its own task so that a
    // slow call does not hold back the others.
    let permits = Arc::new(Semaphore::new(delivery.concurrency));
    let mut calls: JoinSet<CallOutcome> = JoinSet::new();
    // Batch sizes by call task, so that even a call task that dies outside the handler
    // settles the exact number of events it held.
    let mut sizes: HashMap<tokio::task::Id, usize> = HashMap::new();
    let settle = |joined: Result<(tokio::task::Id, CallOutcome), tokio::task::JoinError>,
                  sizes: &mut HashMap<tokio::task::Id, usize>,
                  intake: &mut Intake<'_, E>,
                  failures: &mut FailureTracker<'_>|
     -> bool {
        let (id, outcome) = match joined {
            Ok(done) => done,
            Err(error) => (
                error.id(),
                CallOutcome::Failed(format!("handler task failed: {error}")),
            ),
        };
        let count = sizes.remove(&id).unwrap_or(0);
        intake.finished(count, &outcome);
        failures.record(&outcome)
    };
    loop {
        // A finished call frees room in the subscriber's capacity as well as a permit, so
        // calls are settled while waiting for either a permit or the next batch: the next
        // wait on the queue then reports the smaller holding and lets blocked publishers in.
        let permit = loop {
            if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                break permit;
            }
            match calls.join_next_with_id().await {
                Some(joined) => {
                    if settle(joined, &mut sizes, &mut intake, &mut failures) {
                        return failures.into_stop();
                    }
                }
                // No call holds a permit, yet none is free: only if the semaphore was
                // closed, which this function never does. Wait for a permit as usual.
                None => match Arc::clone(&permits).acquire_owned().await {
                    Ok(permit) => break permit,
                    Err(_) => return ActorEnd::Drained,
                },
            }
        };
        let mut batch = Batch::with_run_capacity(delivery.max_items.min(64));
        let received = loop {
            if calls.is_empty() {
                break intake.next_batch(&mut batch).await;
            }
            tokio::select! {
                // Taking a batch is cancel-safe: events move out of the queue only in the
                // poll that completes it.
                received = intake.next_batch(&mut batch) => break received,
                Some(joined) = calls.join_next_with_id() => {
                    if settle(joined, &mut sizes, &mut intake, &mut failures) {
                        return failures.into_stop();
                    }
                }
            }
        };
        if let Received::Closed = received {
            break;
        }
        let count = batch.len();
        let call_handler = Arc::clone(&handler);
        let call = calls.spawn(async move {
            let _permit = permit;
            let result = CatchUnwind(call_handler.handle(&batch)).await;
            CallOutcome::from_result(result)
        });
        sizes.insert(call.id(), count);
    }
    while let Some(joined) = calls.join_next_with_id().await {
        if settle(joined, &mut sizes, &mut intake, &mut failures) {
            return failures.into_stop();
        }
    }
    close(&*handler, &intake, &subscriber).await;
    ActorEnd::Drained
}

/// Calls the handler's `close`, counting an error or a panic as a failed call.
async fn close<E, H>(handler: &H, intake: &Intake<'_, E>, subscriber: &str)
where
    E: Send + Sync + 'static,
    H: Handler<E>,
{
    let outcome = CallOutcome::from_result(CatchUnwind(handler.close()).await);
    if let CallOutcome::Failed(message) = outcome {
        tracing::warn!(subscriber, "event handler failed to close: {message}");
        intake.queue.note_failure(&message);
        intake.queue.complete(0, true);
    }
}
