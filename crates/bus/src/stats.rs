//! Counters and reports: what a subscriber saw, at any time and at shutdown.

use std::fmt;
use std::time::Duration;

use crate::SubscriptionId;

/// A subscriber's counters.
///
/// At every instant `matched == delivered + dropped + lost + queued + in_flight`; once the
/// bus is shut down `queued` and `in_flight` are zero, so every matched event is delivered,
/// dropped or lost: none disappears uncounted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events that passed the subscriber's filter while it was subscribed.
    pub matched: u64,
    /// Events handed to the handler whose call has finished (successfully or not), or
    /// yielded by a stream subscription.
    pub delivered: u64,
    /// Events discarded by the overflow policy, or refused by `try_publish` on a full
    /// `block` queue.
    pub dropped: u64,
    /// Events that were accepted but never delivered: still queued or in a handler call when
    /// the subscriber was stopped, dropped or timed out, or from publishers still blocked on
    /// its full queue when it closed.
    pub lost: u64,
    /// Events waiting in the queue now.
    pub queued: u64,
    /// Events the subscriber's task has taken from the queue and not finished handling: in a
    /// handler call, or waiting in the task's own buffer for the next call.
    pub in_flight: u64,
    /// Handler calls that returned an error or panicked.
    pub failures: u64,
    /// Events in those failed calls (they are also counted in `delivered`).
    pub failed_events: u64,
}

impl Counts {
    /// True when every matched event is accounted for.
    pub fn is_conserved(&self) -> bool {
        self.matched == self.delivered + self.dropped + self.lost + self.queued + self.in_flight
    }
}

/// Where a subscriber is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriberStatus {
    /// Receiving events.
    Running,
    /// Drained everything it was sent and ended with the bus.
    Completed,
    /// Left through [`Subscription::unsubscribe`](crate::Subscription::unsubscribe) or by
    /// dropping its [`EventStream`](crate::EventStream).
    Unsubscribed,
    /// Stopped by the bus after too many consecutive handler failures.
    Stopped {
        /// How many calls in a row failed.
        consecutive_failures: u32,
        /// What the last failed call said.
        last_error: String,
    },
    /// Did not finish before the shutdown (or unsubscribe) deadline.
    TimedOut,
    /// Its task died outside a handler call (for example an event's `Drop` panicked).
    Crashed {
        /// What happened.
        reason: String,
    },
}

impl fmt::Display for SubscriberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Running => f.write_str("running"),
            Self::Completed => f.write_str("completed"),
            Self::Unsubscribed => f.write_str("unsubscribed"),
            Self::Stopped {
                consecutive_failures,
                last_error,
            } => write!(
                f,
                "stopped after {consecutive_failures} consecutive failures (last: {last_error})"
            ),
            Self::TimedOut => f.write_str("timed out"),
            Self::Crashed { reason } => write!(f, "crashed: {reason}"),
        }
    }
}

/// One subscriber's identity, state and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberStats {
    /// The id the bus gave it.
    pub id: SubscriptionId,
    /// The name it was given when subscribing.
    pub name: String,
    /// Where it is in its life.
    pub status: SubscriberStatus,
    /// Its counters.
    pub counts: Counts,
    /// What its last failed handler call (or close) said, if one failed.
    pub last_failure: Option<String>,
}

/// The bus as a whole at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusStats {
    /// Events accepted by `publish` and `try_publish`.
    pub published: u64,
    /// Every subscriber the bus has had, in subscription order, including finished ones.
    pub subscribers: Vec<SubscriberStats>,
}

/// What [`Bus::shutdown`](crate::Bus::shutdown) returns: the final count for every subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Events accepted by `publish` and `try_publish` over the bus's life.
    pub published: u64,
    /// Every subscriber the bus has had, in subscription order.
    pub subscribers: Vec<SubscriberStats>,
    /// True when the deadline passed before everything was delivered.
    pub timed_out: bool,
    /// How long the shutdown took.
    pub elapsed: Duration,
}

impl ShutdownReport {
    /// The report of the subscriber with this name, if there is one.
    pub fn subscriber(&self, name: &str) -> Option<&SubscriberStats> {
        self.subscribers.iter().find(|stats| stats.name == name)
    }

    /// Events lost across all subscribers.
    pub fn total_lost(&self) -> u64 {
        self.subscribers.iter().map(|s| s.counts.lost).sum()
    }

    /// Events dropped across all subscribers.
    pub fn total_dropped(&self) -> u64 {
        self.subscribers.iter().map(|s| s.counts.dropped).sum()
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "bus shut down in {:?}{}: {} events published",
            self.elapsed,
            if self.timed_out {
                " (deadline passed)"
            } else {
                ""
            },
            self.published
        )?;
        for s in &self.subscribers {
            let c = &s.counts;
            writeln!(
                f,
                "  {:<20} matched {:>8}  delivered {:>8}  dropped {:>6}  lost {:>6}  failures {:>4}  {}",
                s.name, c.matched, c.delivered, c.dropped, c.lost, c.failures, s.status
            )?;
        }
        Ok(())
    }
}
