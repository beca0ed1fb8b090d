//! The [`Bus`]: publishing, the subscriber registry, subscription builders and shutdown.

use std::iter;
use std::ops::Range;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::batch::{into_segments, segment_of_one, Run, Segment};
use crate::handler::{panic_message, run_actor, ActorEnd, CatchUnwind, Delivery, Handler};
use crate::metrics::{published_counter, SubscriberMetrics};
use crate::queue::{CloseReason, Overflow, PushMode, Queue, Tally};
use crate::stats::{BusStats, ShutdownReport, SubscriberStats, SubscriberStatus};
use crate::stream::EventStream;
use crate::{Event, Filter, SubscribeError};

/// The queue capacity of a subscription that does not choose one.
pub const DEFAULT_CAPACITY: usize = 1024;

/// How many failing handler calls in a row stop a subscriber, unless it chooses otherwise.
pub const DEFAULT_MAX_CONSECUTIVE_FAILURES: u32 = 3;

/// Identifies one subscription of one bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub(crate) u64);

impl std::fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The event a publish was refused for, handed back because the bus is shut down.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bus is shut down; the event was not published")]
pub struct Closed<E>(pub E);

/// What one publish did. For [`Bus::publish_many`] the counts are summed over its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Subscribers whose filter the event passed (and that were still subscribed).
    pub matched: usize,
    /// Subscribers that queued it.
    pub queued: usize,
    /// Subscribers that discarded it for lack of room (`drop_newest`, or `drop_oldest` with
    /// nothing queued to evict).
    pub dropped: usize,
    /// Subscribers (`block`, full) that refused it in `try_publish`; always empty for `publish`.
    pub refused: Vec<(SubscriptionId, Arc<str>)>,
}

impl Receipt {
    fn add<E>(&mut self, slot: &Slot<E>, tally: Tally) {
        self.matched += tally.queued + tally.dropped + tally.refused;
        self.queued += tally.queued;
        self.dropped += tally.dropped;
        if tally.refused > 0 {
            self.refused.push((slot.id, Arc::clone(&slot.name)));
        }
    }
}

/// Bit of [`Inner::gate`] set once shutdown starts; the bits below count publishes in flight.
const CLOSED: u64 = 1 << 63;

/// Puts in `stretches` the ranges of consecutive events of `segment` that pass `filter`,
/// and returns how many events they hold.
fn matching_stretches<E: Event>(
    segment: &[E],
    filter: &Filter<E>,
    stretches: &mut Vec<Range<usize>>,
) -> usize {
    stretches.clear();
    let mut matched = 0;
    let mut open: Option<usize> = None;
    for (index, event) in segment.iter().enumerate() {
        match (filter.matches(event), open) {
            (true, None) => open = Some(index),
            (false, Some(start)) => {
                stretches.push(start..index);
                matched += index - start;
                open = None;
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        stretches.push(start..segment.len());
        matched += segment.len() - start;
    }
    matched
}

/// Offers the events of `segment` to `subscribers`, in order, adding what each did to
/// `receipt`.
async fn publish_segment<E: Event>(
    subscribers: &[Arc<Slot<E>>],
    segment: Segment<E>,
    receipt: &mut Receipt,
) {
    let Some((last, others)) = subscribers.split_last() else {
        return;
    };
    let mut stretches = Vec::new();
    for slot in others {
        // Filters are user code: they run here, before a queue's lock is taken.
        let matched = matching_stretches(segment.as_slice(), &slot.filter, &mut stretches);
        let runs = stretches
            .drain(..)
            .map(|range| Run::new(Arc::clone(&segment), range));
        let tally = slot.queue.push(runs, matched, PushMode::Wait).await;
        receipt.add(slot, tally);
    }
    let matched = matching_stretches(segment.as_slice(), &last.filter, &mut stretches);
    // The last run takes the publisher's own reference rather than a clone.
    let mut segment = Some(segment);
    let count = stretches.len();
    let runs = stretches.drain(..).enumerate().filter_map(|(i, range)| {
        let own = if i + 1 == count {
            segment.take()
        } else {
            segment.as_ref().map(Arc::clone)
        };
        own.map(|segment| Run::new(segment, range))
    });
    let tally = last.queue.push(runs, matched, PushMode::Wait).await;
    receipt.add(last, tally);
}

/// How a subscription is consumed.
enum Consumer {
    /// A handler actor; the handle is taken by whoever waits for it to end.
    Actor(Mutex<Option<JoinHandle<()>>>),
    /// An [`EventStream`] held by the user.
    Stream,
}

/// One subscription as the bus keeps it.
pub(crate) struct Slot<E> {
    pub(crate) id: SubscriptionId,
    pub(crate) name: Arc<str>,
    filter: Filter<E>,
    pub(crate) queue: Arc<Queue<E>>,
    status: Mutex<SubscriberStatus>,
    consumer: Consumer,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<E> Slot<E> {
    pub(crate) fn stats(&self) -> SubscriberStats {
        SubscriberStats {
            id: self.id,
            name: self.name.to_string(),
            status: lock(&self.status).clone(),
            counts: self.queue.counts(),
            last_failure: self.queue.last_failure(),
        }
    }

    /// Sets the status unless the subscriber already ended for another reason.
    pub(crate) fn end_with(&self, status: SubscriberStatus) {
        let mut current = lock(&self.status);
        if *current == SubscriberStatus::Running {
            *current = status;
        }
    }
}

/// State shared by every clone of a bus and by its actors.
pub(crate) struct Inner<E> {
    name: Arc<str>,
    /// [`CLOSED`] plus the number of publishes in flight, in one word so that a publish
    /// learns whether it may proceed and registers itself in one atomic step.
    gate: AtomicU64,
    /// Signalled when the last in-flight publish finishes after shutdown began.
    publishes_done: Notify,
    published: AtomicU64,
    published_metric: metrics::Counter,
    next_id: AtomicU64,
    /// The subscribers a publish delivers to, replaced wholesale on every change so that a
    /// publish reads one consistent list for the price of one reference-count increment.
    active: RwLock<Arc<[Arc<Slot<E>>]>>,
    /// Every subscriber the bus has had, for stats and the shutdown report.
    all: Mutex<Vec<Arc<Slot<E>>>>,
}

impl<E> Drop for Inner<E> {
    /// The last handle to the bus is gone without a shutdown: no event can be published any
    /// more, so close every queue and let the actors drain and end instead of waiting forever.
    fn drop(&mut self) {
        let slots = self.all.get_mut().unwrap_or_else(PoisonError::into_inner);
        for slot in slots.iter() {
            slot.queue.close(CloseReason::Shutdown);
        }
    }
}

impl<E> Inner<E> {
    fn active(&self) -> Arc<[Arc<Slot<E>>]> {
        Arc::clone(&self.active.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn set_active(&self, update: impl FnOnce(&mut Vec<Arc<Slot<E>>>)) {
        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let mut list = active.to_vec();
        update(&mut list);
        *active = list.into();
    }

    /// Takes a subscriber out of the publish list; events published afterwards skip it.
    pub(crate) fn deactivate(&self, id: SubscriptionId) {
        self.set_active(|list| list.retain(|slot| slot.id != id));
    }

    fn is_closed(&self) -> bool {
        self.gate.load(Ordering::Acquire) & CLOSED != 0
    }
}

/// A typed async event bus. Cloning it is cheap and every clone publishes to the same
/// subscribers. See the [crate documentation](crate) for its guarantees.
pub struct Bus<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for Bus<E> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E: Event> Default for Bus<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> std::fmt::Debug for Bus<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("name", &self.inner.name)
            .field("closed", &self.inner.is_closed())
            .finish_non_exhaustive()
    }
}

/// Marks one publish as in flight for as long as it lives.
struct InFlight<'a, E> {
    inner: &'a Inner<E>,
}

impl<E> Drop for InFlight<'_, E> {
    fn drop(&mut self) {
        let before = self.inner.gate.fetch_sub(1, Ordering::AcqRel);
        if before == CLOSED | 1 {
            self.inner.publishes_done.notify_waiters();
        }
    }
}

impl<E: Event> Bus<E> {
    /// A bus named `bus` in its metrics.
    pub fn new() -> Self {
        Self::named("bus")
    }

    /// A bus whose metrics carry `bus="<name>"`.
    pub fn named(name: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: name.into(),
                gate: AtomicU64::new(0),
                publishes_done: Notify::new(),
                published: AtomicU64::new(0),
                published_metric: published_counter(name),
                next_id: AtomicU64::new(1),
                active: RwLock::new(Arc::from(Vec::new())),
                all: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Starts describing a subscription; finish with [`SubscriberBuilder::spawn`] or
    /// [`SubscriberBuilder::stream`].
    pub fn subscriber(&self, name: impl Into<String>) -> SubscriberBuilder<E> {
        SubscriberBuilder {
            bus: self.clone(),
            name: name.into(),
            filter: Filter::all(),
            capacity: DEFAULT_CAPACITY,
            overflow: Overflow::Block,
            max_items: 1,
            max_wait: None,
            concurrency: 1,
            max_consecutive_failures: DEFAULT_MAX_CONSECUTIVE_FAILURES,
        }
    }

    fn enter(&self) -> Option<InFlight<'_, E>> {
        let before = self.inner.gate.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight { inner: &self.inner };
        if before & CLOSED != 0 {
            drop(guard);
            return None;
        }
        Some(guard)
    }

    fn subscribers(&self, accepted: usize) -> Arc<[Arc<Slot<E>>]> {
        self.inner
            .published
            .fetch_add(accepted as u64, Ordering::Relaxed);
        self.inner.published_metric.increment(accepted as u64);
        self.inner.active()
    }

    /// Publishes `event` to every subscriber whose filter it passes, in subscription order.
    ///
    /// Waits while a `block` subscriber's queue is full (backpressure); never waits for
    /// `drop_oldest` and `drop_newest` subscribers. The event is allocated once and shared.
    /// If the future is dropped while waiting, subscribers already reached keep the event,
    /// the waiting one and those after it do not get it.
    pub async fn publish(&self, event: E) -> Result<Receipt, Closed<E>> {
        let Some(_in_flight) = self.enter() else {
            return Err(Closed(event));
        };
        let subscribers = self.subscribers(1);
        let mut receipt = Receipt::default();
        let Some((last, others)) = subscribers.split_last() else {
            return Ok(receipt);
        };
        let segment = segment_of_one(event);
        let event = &segment.as_slice()[0];
        for slot in others {
            if slot.filter.matches(event) {
                let run = Run::new(Arc::clone(&segment), 0..1);
                let tally = slot.queue.push(iter::once(run), 1, PushMode::Wait).await;
                receipt.add(slot, tally);
            }
        }
        if last.filter.matches(event) {
            let run = Run::new(segment, 0..1);
            let tally = last.queue.push(iter::once(run), 1, PushMode::Wait).await;
            receipt.add(last, tally);
        }
        Ok(receipt)
    }

    /// Publishes `events` in order, as [`Bus::publish`] would one by one, but in one shared
    /// allocation and taking each subscriber's queue once per batch rather than once per
    /// event: the way to publish a burst. The receipt sums over the events (each event ×
    /// subscriber counts once).
    pub async fn publish_many<I>(&self, events: I) -> Result<Receipt, Closed<Vec<E>>>
    where
        I: IntoIterator<Item = E>,
    {
        let Some(_in_flight) = self.enter() else {
            return Err(Closed(events.into_iter().collect()));
        };
        let events: Vec<E> = events.into_iter().collect();
        let subscribers = self.subscribers(events.len());
        let mut receipt = Receipt::default();
        for segment in into_segments(events) {
            publish_segment(&subscribers, segment, &mut receipt).await;
        }
        Ok(receipt)
    }

    /// Publishes without waiting: a full `block` subscriber refuses the event, which is then
    /// counted as dropped for it and named in [`Receipt::refused`].
    pub fn try_publish(&self, event: E) -> Result<Receipt, Closed<E>> {
        let Some(_in_flight) = self.enter() else {
            return Err(Closed(event));
        };
        let subscribers = self.subscribers(1);
        let mut receipt = Receipt::default();
        let Some((last, others)) = subscribers.split_last() else {
            return Ok(receipt);
        };
        let segment = segment_of_one(event);
        let event = &segment.as_slice()[0];
        for slot in others {
            if slot.filter.matches(event) {
                let run = Run::new(Arc::clone(&segment), 0..1);
                let tally = slot.queue.try_push(iter::once(run), 1);
                receipt.add(slot, tally);
            }
        }
        if last.filter.matches(event) {
            let tally = last.queue.try_push(iter::once(Run::new(segment, 0..1)), 1);
            receipt.add(last, tally);
        }
        Ok(receipt)
    }

    /// True once [`Bus::shutdown`] has begun.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The counters of the bus and every subscriber it has had, as they are now.
    pub fn stats(&self) -> BusStats {
        BusStats {
            published: self.inner.published.load(Ordering::Relaxed),
            subscribers: lock(&self.inner.all).iter().map(|s| s.stats()).collect(),
        }
    }

    /// Stops the bus: refuses new publishes, lets publishes in flight finish, delivers what is
    /// queued, and waits for the handlers until `deadline` has passed.
    ///
    /// Subscribers still busy at the deadline are abandoned: their remaining events count as
    /// lost and their status is [`SubscriberStatus::TimedOut`]. Calling it again returns an
    /// up-to-date report without waiting again for what already ended.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let started = Instant::now();
        let until = deadline_after(started, deadline);
        self.inner.gate.fetch_or(CLOSED, Ordering::AcqRel);

        // Publishes in flight may be blocked on a full queue; the handlers keep draining, so
        // they finish unless a handler is stuck, in which case the deadline decides.
        let mut timed_out = tokio::time::timeout_at(until, self.publishes_finished())
            .await
            .is_err();

        // No subscriber joins after this point: registration checks `CLOSED` under this lock.
        let slots: Vec<Arc<Slot<E>>> = lock(&self.inner.all).clone();
        for slot in &slots {
            slot.queue.close(CloseReason::Shutdown);
        }
        // Publishes that were blocked now run to their end without waiting (every queue is
        // closed) and count their remaining events as lost; let them, so the report is final.
        let grace = until.max(Instant::now() + PUBLISH_GRACE);
        let _ = tokio::time::timeout_at(grace, self.publishes_finished()).await;
        for slot in &slots {
            if !finish(slot, until).await {
                timed_out = true;
            }
        }
        self.inner.set_active(Vec::clear);
        ShutdownReport {
            published: self.inner.published.load(Ordering::Relaxed),
            subscribers: slots.iter().map(|s| s.stats()).collect(),
            timed_out,
            elapsed: started.elapsed(),
        }
    }

    /// Waits until no publish is in flight (called once `CLOSED` is set).
    async fn publishes_finished(&self) {
        loop {
            let mut done = pin!(self.inner.publishes_done.notified());
            done.as_mut().enable();
            if self.inner.gate.load(Ordering::Acquire) == CLOSED {
                return;
            }
            done.await;
        }
    }
}

/// Waits until `slot` has drained its closed queue, or abandons it at `until`.
/// Returns false when the deadline passed first.
async fn finish<E: Send + Sync + 'static>(slot: &Slot<E>, until: Instant) -> bool {
    let in_time = match &slot.consumer {
        Consumer::Actor(handle) => {
            let handle = lock(handle).take();
            match handle {
                // Someone else (an unsubscribe, an earlier shutdown) already waited for it.
                None => tokio::time::timeout_at(until, slot.queue.wait_drained())
                    .await
                    .is_ok(),
                Some(mut handle) => match tokio::time::timeout_at(until, &mut handle).await {
                    Ok(Ok(())) => true,
                    // The actor catches its own panics, so this is an abort from outside.
                    Ok(Err(error)) => {
                        slot.queue.abandon(CloseReason::Left);
                        slot.end_with(SubscriberStatus::Crashed {
                            reason: format!("subscriber task ended abnormally: {error}"),
                        });
                        true
                    }
                    Err(_) => {
                        handle.abort();
                        false
                    }
                },
            }
        }
        Consumer::Stream => tokio::time::timeout_at(until, slot.queue.wait_drained())
            .await
            .is_ok(),
    };
    if in_time {
        slot.end_with(SubscriberStatus::Completed);
    } else {
        slot.queue.abandon(CloseReason::Shutdown);
        slot.end_with(SubscriberStatus::TimedOut);
    }
    in_time
}

/// How long shutdown waits, after closing the queues, for publishes still running to count
/// their last events, when its own deadline has already passed. They no longer wait for room,
/// so only a slow filter predicate can take this long.
const PUBLISH_GRACE: Duration = Duration::from_millis(100);

/// `start + wait`, or a time so far ahead it never comes when that overflows
/// (`Duration::MAX` means "no deadline").
pub(crate) fn deadline_after(start: Instant, wait: Duration) -> Instant {
    start
        .checked_add(wait)
        .unwrap_or_else(|| start + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}

/// Describes a subscription before it starts. Made by [`Bus::subscriber`].
#[must_use = "a subscriber does nothing until `spawn` or `stream` is called"]
pub struct SubscriberBuilder<E> {
    bus: Bus<E>,
    name: String,
    filter: Filter<E>,
    capacity: usize,
    overflow: Overflow,
    max_items: usize,
    max_wait: Option<Duration>,
    concurrency: usize,
    max_consecutive_failures: u32,
}

impl<E: Event> SubscriberBuilder<E> {
    /// Receive only events whose kind matches one of `patterns` (see [`Filter`]).
    pub fn kinds<I, S>(mut self, patterns: I) -> Result<Self, SubscribeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.filter = self.filter.with_kinds(patterns)?;
        Ok(self)
    }

    /// Receive only events for which `predicate` also holds.
    pub fn filter(mut self, predicate: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.filter = self.filter.and(predicate);
        self
    }

    /// Use a complete [`Filter`], replacing kinds and predicates given so far.
    pub fn with_filter(mut self, filter: Filter<E>) -> Self {
        self.filter = filter;
        self
    }

    /// The queue's capacity in events (default [`DEFAULT_CAPACITY`]; at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// What happens when the queue is full (default [`Overflow::Block`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Hand the handler up to `max_items` events per call, waiting at most `max_wait` after
    /// the first one for the batch to fill. Without batching each call gets one event.
    pub fn batch(mut self, max_items: usize, max_wait: Duration) -> Self {
        self.max_items = max_items;
        self.max_wait = Some(max_wait);
        self
    }

    /// Hand the handler whatever is queued, up to `max_items`, without waiting for more.
    pub fn batch_available(mut self, max_items: usize) -> Self {
        self.max_items = max_items;
        self.max_wait = None;
        self
    }

    /// Allow up to `calls` handler calls at once. Order between calls is then not kept;
    /// use it only for handlers that accept out-of-order work. Default 1.
    pub fn concurrency(mut self, calls: usize) -> Self {
        self.concurrency = calls;
        self
    }

    /// Stop the subscriber after this many failing calls in a row (default
    /// [`DEFAULT_MAX_CONSECUTIVE_FAILURES`]; at least 1).
    pub fn max_consecutive_failures(mut self, failures: u32) -> Self {
        self.max_consecutive_failures = failures;
        self
    }

    fn check(&self) -> Result<(), SubscribeError> {
        let invalid = |setting: &'static str, reason: &str| {
            Err(SubscribeError::InvalidSetting {
                subscriber: self.name.clone(),
                setting,
                reason: reason.to_owned(),
            })
        };
        if self.name.trim().is_empty() {
            return invalid("name", "a subscriber needs a non-empty name");
        }
        if self.capacity == 0 {
            return invalid("capacity", "must be at least 1");
        }
        if self.max_items == 0 {
            return invalid("batch max_items", "must be at least 1");
        }
        if self.concurrency == 0 {
            return invalid("concurrency", "must be at least 1");
        }
        if self.max_consecutive_failures == 0 {
            return invalid("max_consecutive_failures", "must be at least 1");
        }
        if self.bus.is_closed() {
            return Err(SubscribeError::BusClosed);
        }
        Ok(())
    }

    fn register(self, consumer: Consumer) -> Result<Arc<Slot<E>>, SubscribeError> {
        let inner = &self.bus.inner;
        let id = SubscriptionId(inner.next_id.fetch_add(1, Ordering::Relaxed));
        let metrics = SubscriberMetrics::register(&inner.name, &self.name);
        let slot = Arc::new(Slot {
            id,
            name: self.name.into(),
            filter: self.filter,
            queue: Arc::new(Queue::new(self.capacity, self.overflow, metrics)),
            status: Mutex::new(SubscriberStatus::Running),
            consumer,
        });
        let mut all = lock(&inner.all);
        // Checked again under the lock shutdown takes to list subscribers, so a subscriber
        // either makes that list (and is closed with the rest) or is refused.
        if inner.is_closed() {
            return Err(SubscribeError::BusClosed);
        }
        all.push(Arc::clone(&slot));
        inner.set_active(|list| list.push(Arc::clone(&slot)));
        Ok(slot)
    }

    /// Starts the subscription with `handler` running in its own task on the current tokio
    /// runtime.
    pub fn spawn<H: Handler<E>>(self, handler: H) -> Result<Subscription<E>, SubscribeError> {
        self.check()?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| SubscribeError::NoRuntime)?;
        let delivery = Delivery {
            max_items: self.max_items,
            max_wait: self.max_wait,
            concurrency: self.concurrency,
            max_consecutive_failures: self.max_consecutive_failures,
        };
        let bus = Arc::downgrade(&self.bus.inner);
        let actor_bus = Weak::clone(&bus);
        let slot = self.register(Consumer::Actor(Mutex::new(None)))?;
        let actor_slot = Arc::clone(&slot);
        let handler = Arc::new(handler);
        let task = runtime.spawn(async move {
            let queue = Arc::clone(&actor_slot.queue);
            let name = Arc::clone(&actor_slot.name);
            // Handler panics are caught per call; this catches the rest (an event's `Drop`,
            // say), so that a dead actor is reported at once instead of leaving its queue to
            // fill and its publishers to block.
            let actor = CatchUnwind(Box::pin(run_actor(queue, handler, name, delivery)));
            let status = match actor.await {
                Ok(ActorEnd::Drained) => {
                    actor_slot.end_with(SubscriberStatus::Completed);
                    return;
                }
                Ok(ActorEnd::Stopped {
                    consecutive_failures,
                    last_error,
                }) => SubscriberStatus::Stopped {
                    consecutive_failures,
                    last_error,
                },
                Err(panic) => {
                    let reason = format!("subscriber task panicked: {}", panic_message(&*panic));
                    tracing::error!(subscriber = &*actor_slot.name, "{reason}");
                    SubscriberStatus::Crashed { reason }
                }
            };
            if let Some(bus) = actor_bus.upgrade() {
                bus.deactivate(actor_slot.id);
            }
            actor_slot.queue.abandon(CloseReason::Left);
            actor_slot.end_with(status);
        });
        if let Consumer::Actor(handle) = &slot.consumer {
            *lock(handle) = Some(task);
        }
        Ok(Subscription { slot, bus })
    }

    /// Starts the subscription as a [`Stream`](tokio_stream::Stream) of events for the caller
    /// to poll. Yielding an event counts it delivered; dropping the stream unsubscribes and
    /// counts what is still queued as lost.
    pub fn stream(self) -> Result<EventStream<E>, SubscribeError> {
        self.check()?;
        let bus = Arc::downgrade(&self.bus.inner);
        let slot = self.register(Consumer::Stream)?;
        Ok(EventStream::new(slot, bus))
    }
}

/// A running handler subscription. Dropping it leaves the subscription running until the
/// bus shuts down; [`Subscription::unsubscribe`] ends it early.
pub struct Subscription<E> {
    slot: Arc<Slot<E>>,
    bus: Weak<Inner<E>>,
}

impl<E> std::fmt::Debug for Subscription<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.slot.id)
            .field("name", &self.slot.name)
            .finish_non_exhaustive()
    }
}

impl<E: Send + Sync + 'static> Subscription<E> {
    /// The id the bus gave this subscription.
    pub fn id(&self) -> SubscriptionId {
        self.slot.id
    }

    /// The name given when subscribing.
    pub fn name(&self) -> &str {
        &self.slot.name
    }

    /// This subscriber's counters as they are now.
    pub fn stats(&self) -> SubscriberStats {
        self.slot.stats()
    }

    /// Leaves the bus: no new events reach this subscriber, the queued ones are delivered,
    /// and the handler is waited for until `deadline` (then abandoned, the rest counted lost).
    pub async fn unsubscribe(self, deadline: Duration) -> SubscriberStats {
        if let Some(bus) = self.bus.upgrade() {
            bus.deactivate(self.slot.id);
        }
        self.slot.queue.close(CloseReason::Left);
        let until = deadline_after(Instant::now(), deadline);
        let in_time = finish(&self.slot, until).await;
        if in_time {
            // `finish` marked it completed unless it had already ended otherwise.
            let mut status = lock(&self.slot.status);
            if *status == SubscriberStatus::Completed {
                *status = SubscriberStatus::Unsubscribed;
            }
        }
        self.slot.stats()
    }
}
