//! The bounded per-subscriber queue: overflow policies, wake-ups and the exact counters.
//!
//! Every counter of a subscriber lives under the same mutex as its items, so that each
//! event's fate (queued, dropped, delivered, lost) is decided and counted in one critical
//! section: that is what makes `matched = delivered + dropped + lost + queued + in_flight`
//! hold at every instant, not only eventually.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use crate::batch::{Run, Runs, Shared};
use crate::metrics::SubscriberMetrics;
use crate::stats::Counts;

/// What a subscriber does with an event that arrives while its queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Overflow {
    /// Lossless: [`Bus::publish`](crate::Bus::publish) waits for room (backpressure on the
    /// publisher); [`Bus::try_publish`](crate::Bus::try_publish) refuses and counts a drop.
    #[default]
    Block,
    /// Make room by discarding the oldest queued event (counted as dropped).
    DropOldest,
    /// Discard the arriving event (counted as dropped); the queue keeps what it has.
    DropNewest,
}

impl std::str::FromStr for Overflow {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "block" => Ok(Self::Block),
            "drop_oldest" => Ok(Self::DropOldest),
            "drop_newest" => Ok(Self::DropNewest),
            other => Err(format!(
                "unknown overflow policy `{other}` (expected block, drop_oldest or drop_newest)"
            )),
        }
    }
}

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Block => "block",
            Self::DropOldest => "drop_oldest",
            Self::DropNewest => "drop_newest",
        })
    }
}

/// How a push behaves on a full `Block` queue.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushMode {
    /// Wait for room.
    Wait,
    /// Refuse at once (and count the refusal as a drop).
    Try,
}

/// What a push did at one subscriber, summed over the events pushed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Events now in the queue (for `DropOldest`, possibly after evicting older ones).
    pub(crate) queued: usize,
    /// Events discarded by `DropNewest` (or by `DropOldest` with nothing queued to evict).
    pub(crate) dropped: usize,
    /// Events refused by a full `Block` queue in [`PushMode::Try`].
    pub(crate) refused: usize,
}

/// Why a queue stopped accepting events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The bus is shutting down: the subscriber is still on it, so events of publishes that
    /// were already under way when it closed are counted for it (matched and lost).
    Shutdown,
    /// The subscriber left (unsubscribed, stopped, crashed, stream dropped): later events are
    /// not its concern and are not counted for it.
    Left,
}

/// Result of a receive: items were appended, or the queue is closed and empty.
pub(crate) enum Received {
    Items,
    Closed,
}

struct State<E> {
    /// Queued events, as runs of the segments their publishes made.
    items: Runs<E>,
    /// No more pushes are accepted; the consumer drains what is left.
    closed: Option<CloseReason>,
    /// Events moved out of the queue by the consumer, ever. `taken - completed` are in flight.
    taken: u64,
    /// Events the consumer's task held (taken, not yet handled) when it last took the lock.
    /// Publishers count them against the capacity; it may overstate, never understate, so
    /// publishers never read the consumer's hot completion counter.
    task_holds: usize,
    /// The final delivered count, fixed when the subscriber is abandoned.
    delivered_at_abandon: Option<u64>,
    /// Events of publishers waiting for room (Block policy), counted so that `close` can
    /// account for every one of them.
    blocked_events: u64,
    consumer: Option<Waker>,
    /// How many queued events the parked consumer waits for before it wants waking: 1
    /// normally, more while it fills a batch (so a batch costs one wake-up, not one per event).
    consumer_wants: usize,
    counts: Counts,
}

/// A bounded FIFO of shared events with one consumer and any number of producers.
pub(crate) struct Queue<E> {
    state: Mutex<State<E>>,
    capacity: usize,
    /// Blocked publishers are woken once no more than this many events are queued. Waking
    /// them at the first free slot would cost a wake-up and a park per event while a fast
    /// publisher keeps the queue full; at half capacity they push a burst per wake-up.
    resume_at: usize,
    overflow: Overflow,
    /// Wakes publishers blocked on a full queue.
    space: Notify,
    /// Wakes whoever waits for the queue to be closed and fully handled.
    drained: Notify,
    /// Written by the consumer on every completion, so kept off the publishers' cache lines.
    consumer: ConsumerCounters,
    metrics: SubscriberMetrics,
    /// What the last failed handler call (or close) said.
    last_failure: Mutex<Option<String>>,
}

/// The counters the consumer updates without the lock. Aligned to 128 bytes (a pair of cache
/// lines, which is what adjacent-line prefetchers move) so that publishers writing the queue
/// state never share a line with them.
#[repr(align(128))]
struct ConsumerCounters {
    /// Events whose handling finished, ever; bit [`ABANDONED`] set once counting is final.
    completed: AtomicU64,
    failures: AtomicU64,
    failed_events: AtomicU64,
    /// Mirrors `State::closed` for the lock-free completion path.
    closing: AtomicBool,
}

/// Set in [`ConsumerCounters::completed`] when the subscriber is given up on: completions after that
/// are already counted as lost and must not be counted again.
const ABANDONED: u64 = 1 << 63;

impl<E> Queue<E> {
    pub(crate) fn new(capacity: usize, overflow: Overflow, metrics: SubscriberMetrics) -> Self {
        Self {
            state: Mutex::new(State {
                items: Runs::with_capacity(capacity.min(64)),
                closed: None,
                taken: 0,
                task_holds: 0,
                delivered_at_abandon: None,
                blocked_events: 0,
                consumer: None,
                consumer_wants: 1,
                counts: Counts::default(),
            }),
            capacity,
            resume_at: capacity / 2,
            overflow,
            space: Notify::new(),
            drained: Notify::new(),
            consumer: ConsumerCounters {
                completed: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                failed_events: AtomicU64::new(0),
                closing: AtomicBool::new(false),
            },
            metrics,
            last_failure: Mutex::new(None),
        }
    }

    /// Remembers what a failed call said, for the subscriber's report.
    pub(crate) fn note_failure(&self, message: &str) {
        let mut last = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        *last = Some(message.to_owned());
    }

    /// What the last failed call said, if one failed.
    pub(crate) fn last_failure(&self) -> Option<String> {
        self.last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Most events the subscriber holds at once, queued or taken.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The overflow policy.
    pub(crate) fn overflow(&self) -> Overflow {
        self.overflow
    }

    fn lock(&self) -> MutexGuard<'_, State<E>> {
        // No code panics while holding this lock, but a poisoned lock must not turn one
        // failure into a cascade: the state is still consistent, so keep using it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes `runs` (holding `events` events in all) in order, waiting for room on a full
    /// `Block` queue when `mode` is `Wait`. Takes the runs by value so that the last
    /// subscriber can be handed the publisher's own reference instead of a clone.
    pub(crate) async fn push<I>(&self, runs: I, events: usize, mode: PushMode) -> Tally
    where
        I: Iterator<Item = Run<E>>,
    {
        let mut tally = Tally::default();
        if events == 0 {
            return tally;
        }
        let mut outgoing = Outgoing {
            runs,
            carry: None,
            remaining: events,
        };
        let mut waiter = BlockedPublisher {
            queue: self,
            registered: 0,
        };
        // Fast path: no waiter registration unless the queue turns out to be full.
        if !self.attempt(&mut outgoing, mode, &mut waiter.registered, &mut tally) {
            return tally;
        }
        loop {
            let mut space = pin!(self.space.notified());
            space.as_mut().enable();
            if !self.attempt(&mut outgoing, mode, &mut waiter.registered, &mut tally) {
                return tally;
            }
            space.await;
        }
    }

    /// Pushes without ever waiting: a full `Block` queue refuses.
    pub(crate) fn try_push<I: Iterator<Item = Run<E>>>(&self, runs: I, events: usize) -> Tally {
        let mut tally = Tally::default();
        if events > 0 {
            let mut outgoing = Outgoing {
                runs,
                carry: None,
                remaining: events,
            };
            let mut registered = 0;
            self.attempt(&mut outgoing, PushMode::Try, &mut registered, &mut tally);
        }
        tally
    }

    /// Pushes what is left of `outgoing` under one lock, as far as room and policy allow.
    /// Returns true when the caller must wait for room: its remaining events are then
    /// registered as blocked (`registered` says how many) and are still in `outgoing`.
    ///
    /// Each event's fate is the one it would have pushed alone, in order: queued while there
    /// is room; then refused (`Block`, `Try`), discarded (`DropNewest`), or queued in place of
    /// the oldest queued event (`DropOldest`; discarded if nothing is queued to evict).
    fn attempt<I: Iterator<Item = Run<E>>>(
        &self,
        outgoing: &mut Outgoing<E, I>,
        mode: PushMode,
        registered: &mut u64,
        tally: &mut Tally,
    ) -> bool {
        let mut state = self.lock();
        if let Some(reason) = state.closed {
            // Registered events were already counted (matched and lost) by `close`.
            let uncounted = if std::mem::take(registered) > 0 {
                0
            } else {
                outgoing.remaining as u64
            };
            if reason == CloseReason::Shutdown && uncounted > 0 {
                state.counts.matched += uncounted;
                state.counts.lost += uncounted;
                drop(state);
                self.metrics.matched.increment(uncounted);
                self.metrics.lost.increment(uncounted);
            }
            return false;
        }
        state.blocked_events -= std::mem::take(registered);
        let (mut matched, mut dropped) = (0usize, 0usize);
        // Runs this push lets go of are released after the lock: dropping one may drop
        // events, which runs user code.
        let mut released = Vec::new();
        let mut must_wait = false;
        loop {
            let room = self.capacity.saturating_sub(self.held(&state));
            if room == 0 && self.overflow == Overflow::Block && mode == PushMode::Wait {
                if outgoing.remaining > 0 {
                    state.blocked_events += outgoing.remaining as u64;
                    *registered = outgoing.remaining as u64;
                    must_wait = true;
                }
                break;
            }
            let Some(mut run) = outgoing.next_run() else {
                break;
            };
            let count = run.len();
            outgoing.remaining -= count;
            matched += count;
            if room >= count {
                state.items.push_back(run);
                tally.queued += count;
                continue;
            }
            let overflowing = count - room;
            match self.overflow {
                Overflow::Block if mode == PushMode::Wait => {
                    // Queue what fits; the rest waits for room (next turn of the loop).
                    state.items.push_back(run.split_front(room));
                    tally.queued += room;
                    matched -= overflowing;
                    outgoing.remaining += overflowing;
                    outgoing.carry = Some(run);
                }
                Overflow::DropOldest if room > 0 || !state.items.is_empty() => {
                    state.items.push_back(run);
                    tally.queued += count;
                    dropped += overflowing;
                    state.items.evict_front(overflowing, &mut released);
                }
                Overflow::Block | Overflow::DropOldest | Overflow::DropNewest => {
                    if room > 0 {
                        state.items.push_back(run.split_front(room));
                        tally.queued += room;
                    }
                    dropped += overflowing;
                    if self.overflow == Overflow::Block {
                        tally.refused += overflowing;
                    } else {
                        tally.dropped += overflowing;
                    }
                    released.push(run);
                }
            }
        }
        state.counts.matched += matched as u64;
        state.counts.dropped += dropped as u64;
        let consumer = state.take_consumer_if_ready();
        drop(state);
        drop(released);
        self.metrics.matched.increment(matched as u64);
        self.metrics.dropped.increment(dropped as u64);
        if let Some(waker) = consumer {
            waker.wake();
        }
        must_wait
    }

    /// Events this subscriber holds: queued, plus taken by its task and not yet handled.
    fn held(&self, state: &State<E>) -> usize {
        state.items.len() + state.task_holds
    }

    fn publishers_may_resume(&self, state: &State<E>) -> bool {
        state.blocked_events > 0 && self.held(state) <= self.resume_at
    }

    /// Moves up to `room` events into `out` and counts them taken, once at least `at_least`
    /// are queued (clamped to what the queue can hold beside the `holds` events the consumer's
    /// task already holds) or the queue is closed.
    ///
    /// `Ready(Closed)` only once the queue is closed and empty.
    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        room: usize,
        at_least: usize,
        holds: usize,
        out: &mut Runs<E>,
    ) -> Poll<Received> {
        let mut state = self.lock();
        let wanted = at_least.clamp(1, self.capacity.saturating_sub(holds).max(1));
        if state.items.len() < wanted && state.closed.is_none() {
            match &state.consumer {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => state.consumer = Some(cx.waker().clone()),
            }
            state.consumer_wants = wanted;
            state.task_holds = holds;
            // Handled events may have made room since the last take: let publishers in.
            let wake_publishers = self.publishers_may_resume(&state);
            drop(state);
            if wake_publishers {
                self.space.notify_waiters();
            }
            return Poll::Pending;
        }
        if state.items.is_empty() {
            return Poll::Ready(Received::Closed);
        }
        Poll::Ready(self.drain_locked(state, room, holds, out))
    }

    /// Moves whatever is queued, up to `room` events, into `out` without waiting.
    pub(crate) fn drain_now(&self, room: usize, holds: usize, out: &mut Runs<E>) {
        let state = self.lock();
        if !state.items.is_empty() {
            self.drain_locked(state, room, holds, out);
        }
    }

    fn drain_locked(
        &self,
        mut state: MutexGuard<'_, State<E>>,
        room: usize,
        holds: usize,
        out: &mut Runs<E>,
    ) -> Received {
        let take = room.min(state.items.len());
        state.items.move_front(take, out);
        state.taken += take as u64;
        state.task_holds = holds + take;
        let wake_publishers = self.publishers_may_resume(&state);
        drop(state);
        if wake_publishers {
            self.space.notify_waiters();
        }
        Received::Items
    }

    /// Takes one event and counts it delivered at once (for stream subscribers, where
    /// yielding the item is the delivery).
    pub(crate) fn poll_next_delivered(&self, cx: &mut Context<'_>) -> Poll<Option<Shared<E>>> {
        let mut state = self.lock();
        match state.items.pop_front_event() {
            Some(event) => {
                state.taken += 1;
                self.consumer.completed.fetch_add(1, Ordering::AcqRel);
                let wake_publishers = self.publishers_may_resume(&state);
                let drained = state.closed.is_some() && state.items.is_empty();
                drop(state);
                self.metrics.delivered.increment(1);
                if wake_publishers {
                    self.space.notify_waiters();
                }
                if drained {
                    self.drained.notify_waiters();
                }
                Poll::Ready(Some(event))
            }
            None if state.closed.is_some() => Poll::Ready(None),
            None => {
                match &state.consumer {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => state.consumer = Some(cx.waker().clone()),
                }
                state.consumer_wants = 1;
                Poll::Pending
            }
        }
    }

    /// Records that a handler call over `count` taken events finished. Lock-free unless the
    /// queue is closing, when it may complete the drain.
    pub(crate) fn complete(&self, count: usize, failed: bool) {
        let count = count as u64;
        let before = self.consumer.completed.fetch_add(count, Ordering::AcqRel);
        if before & ABANDONED != 0 {
            // Already counted as lost when the subscriber was given up on.
            return;
        }
        self.metrics.delivered.increment(count);
        if failed {
            self.consumer.failures.fetch_add(1, Ordering::Relaxed);
            self.consumer
                .failed_events
                .fetch_add(count, Ordering::Relaxed);
            self.metrics.failures.increment(1);
        }
        if self.consumer.closing.load(Ordering::SeqCst) && self.is_drained() {
            self.drained.notify_waiters();
        }
    }

    /// Stops accepting events; what is queued stays to be delivered.
    ///
    /// Publishers blocked on this queue give up: their events are counted matched and lost.
    pub(crate) fn close(&self, reason: CloseReason) {
        let mut state = self.lock();
        let newly_lost = if state.closed.is_some() {
            0
        } else {
            state.closed = Some(reason);
            self.consumer.closing.store(true, Ordering::SeqCst);
            std::mem::take(&mut state.blocked_events)
        };
        state.counts.matched += newly_lost;
        state.counts.lost += newly_lost;
        let consumer = state.consumer.take();
        drop(state);
        self.metrics.matched.increment(newly_lost);
        self.metrics.lost.increment(newly_lost);
        self.space.notify_waiters();
        if let Some(waker) = consumer {
            waker.wake();
        }
        if self.is_drained() {
            self.drained.notify_waiters();
        }
    }

    /// Gives up on the subscriber: closes the queue and counts everything still queued or in
    /// flight as lost. Counting is final after this call (but for events of publishes under
    /// way when a shutdown closed the queue, which are added as lost).
    pub(crate) fn abandon(&self, reason: CloseReason) {
        self.close(reason);
        let mut state = self.lock();
        let completed = self
            .consumer
            .completed
            .fetch_or(ABANDONED, Ordering::AcqRel);
        if completed & ABANDONED != 0 {
            return;
        }
        let lost = state.items.len() as u64 + state.taken.saturating_sub(completed);
        state.counts.lost += lost;
        // Nothing is in flight any more: what was is now counted lost, and completions that
        // still arrive are not counted.
        state.taken = completed;
        state.task_holds = 0;
        state.delivered_at_abandon = Some(completed);
        let items = state.items.take();
        let consumer = state.consumer.take();
        drop(state);
        drop(items);
        self.metrics.lost.increment(lost);
        if let Some(waker) = consumer {
            waker.wake();
        }
        self.drained.notify_waiters();
    }

    /// True once the queue is closed and every event in it has been handled or lost.
    pub(crate) fn is_drained(&self) -> bool {
        let state = self.lock();
        state.closed.is_some() && state.items.is_empty() && self.delivered(&state) >= state.taken
    }

    /// Events whose handling finished and counts.
    fn delivered(&self, state: &State<E>) -> u64 {
        state
            .delivered_at_abandon
            .unwrap_or_else(|| self.consumer.completed.load(Ordering::Acquire) & !ABANDONED)
    }

    /// Waits until [`Queue::is_drained`] holds.
    pub(crate) async fn wait_drained(&self) {
        loop {
            let mut drained = pin!(self.drained.notified());
            drained.as_mut().enable();
            if self.is_drained() {
                return;
            }
            drained.await;
        }
    }

    /// The counters as they are now.
    pub(crate) fn counts(&self) -> Counts {
        let state = self.lock();
        let completed = self.delivered(&state);
        let mut counts = state.counts;
        counts.delivered = completed;
        counts.in_flight = state.taken.saturating_sub(completed);
        counts.queued = state.items.len() as u64;
        counts.failures = self.consumer.failures.load(Ordering::Relaxed);
        counts.failed_events = self.consumer.failed_events.load(Ordering::Relaxed);
        counts
    }
}

impl<E> State<E> {
    /// The parked consumer's waker, if the queue now holds what it waits for.
    fn take_consumer_if_ready(&mut self) -> Option<Waker> {
        if self.consumer.is_some() && self.items.len() >= self.consumer_wants {
            self.consumer_wants = 1;
            self.consumer.take()
        } else {
            None
        }
    }
}

/// The runs one push still has to place: an earlier attempt may have queued the front of a
/// run and left the rest in `carry`.
struct Outgoing<E, I> {
    runs: I,
    carry: Option<Run<E>>,
    /// Events in `carry` and `runs`.
    remaining: usize,
}

impl<E, I: Iterator<Item = Run<E>>> Outgoing<E, I> {
    fn next_run(&mut self) -> Option<Run<E>> {
        self.carry.take().or_else(|| self.runs.next())
    }
}

/// Keeps the count of blocked events right when a waiting `publish` future is dropped.
struct BlockedPublisher<'a, E> {
    queue: &'a Queue<E>,
    /// Events of this publish counted in `State::blocked_events`.
    registered: u64,
}

impl<E> Drop for BlockedPublisher<'_, E> {
    fn drop(&mut self) {
        if self.registered > 0 {
            let mut state = self.queue.lock();
            // Once closed, `close` has taken (and counted) them already.
            if state.closed.is_none() {
                state.blocked_events -= self.registered;
            }
        }
    }
}
