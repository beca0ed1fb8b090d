//! One test per defect found in review: each failed (hung, panicked or miscounted) before
//! its fix.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{ev, Ev, Recorder};
use lhp_bus::{
    async_trait, Batch, Bus, Event, Handler, HandlerError, Overflow, SubscribeError,
    SubscriberStatus,
};
use tokio::time::timeout;

/// Sleeps a different time per event, so calls finish out of order.
struct Jittery {
    handled: Arc<AtomicU64>,
}

#[async_trait]
impl Handler<Ev> for Jittery {
    async fn handle(&self, events: &Batch<Ev>) -> Result<(), HandlerError> {
        let millis = events.iter().map(|e| e.seq % 3).sum::<u64>();
        tokio::time::sleep(Duration::from_millis(millis)).await;
        self.handled
            .fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(())
    }
}

/// With `concurrency(n)` close to the capacity, the actor used to park with a stale count of
/// what it held after some calls had finished, and the next blocked publish was never woken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_near_capacity_does_not_deadlock_or_drop() {
    for (capacity, concurrency, batch) in [(2, 2, 1), (4, 3, 1), (64, 4, 16)] {
        for overflow in [Overflow::Block, Overflow::DropNewest] {
            let bus: Bus<Ev> = Bus::new();
            let handled = Arc::new(AtomicU64::new(0));
            bus.subscriber("parallel")
                .capacity(capacity)
                .overflow(overflow)
                .concurrency(concurrency)
                .batch_available(batch)
                .spawn(Jittery {
                    handled: Arc::clone(&handled),
                })
                .unwrap();
            let publishing = async {
                for seq in 0..200 {
                    bus.publish(ev("tick", 0, seq)).await.unwrap();
                    if overflow == Overflow::DropNewest && seq % 10 == 0 {
                        tokio::time::sleep(Duration::from_millis(3)).await;
                    }
                }
            };
            timeout(Duration::from_secs(20), publishing)
                .await
                .unwrap_or_else(|_| panic!("publish hung: {capacity}/{concurrency}/{overflow}"));
            let report = bus.shutdown(Duration::from_secs(20)).await;
            let c = report.subscriber("parallel").unwrap().counts;
            assert!(!report.timed_out, "{capacity}/{concurrency}/{overflow}");
            assert_eq!(c.lost, 0);
            assert_eq!(c.delivered, handled.load(Ordering::SeqCst));
            assert_eq!(c.delivered + c.dropped, 200);
            if overflow == Overflow::Block {
                assert_eq!(c.delivered, 200);
            } else {
                // The publisher pauses every ten events: finished calls must free room.
                assert!(c.delivered > 20, "{capacity}/{concurrency}: {c:?}");
            }
        }
    }
}

#[tokio::test]
async fn duration_max_means_no_deadline_not_a_panic() {
    let bus: Bus<Ev> = Bus::new();
    let recorder = Recorder::default();
    bus.subscriber("patient")
        .batch(4, Duration::MAX)
        .spawn(recorder.clone())
        .unwrap();
    let leaving = bus
        .subscriber("leaving")
        .spawn(Recorder::default())
        .unwrap();
    for seq in 0..2 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    tokio::task::yield_now().await;
    let left = leaving.unsubscribe(Duration::MAX).await;
    assert_eq!(left.counts.delivered, 2);
    let report = bus.shutdown(Duration::MAX).await;
    let patient = report.subscriber("patient").unwrap();
    assert_eq!(patient.status, SubscriberStatus::Completed);
    assert_eq!(recorder.events().len(), 2);
}

/// An event whose `Drop` panics when it is flagged.
#[derive(Debug)]
struct Explosive {
    armed: bool,
}

impl Event for Explosive {
    fn kind(&self) -> &str {
        "explosive"
    }
}

impl Drop for Explosive {
    fn drop(&mut self) {
        if self.armed && !std::thread::panicking() {
            panic!("an armed event was dropped");
        }
    }
}

struct Ignore;

#[async_trait]
impl Handler<Explosive> for Ignore {
    async fn handle(&self, _: &Batch<Explosive>) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// A panic in the actor outside a handler call used to end the task silently: the subscriber
/// was reported completed with events still queued, and `block` publishers hung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_that_dies_outside_its_handler_is_reported_and_releases_publishers() {
    let bus: Bus<Explosive> = Bus::new();
    let survived = Arc::new(AtomicBool::new(false));
    bus.subscriber("fragile").capacity(2).spawn(Ignore).unwrap();
    // The only subscriber gets the last reference, so the actor drops the event.
    bus.publish(Explosive { armed: true }).await.unwrap();
    let publishing = async {
        for _ in 0..50 {
            bus.publish(Explosive { armed: false }).await.unwrap();
        }
        survived.store(true, Ordering::SeqCst);
    };
    timeout(Duration::from_secs(10), publishing)
        .await
        .expect("publishers must not hang on a dead subscriber");
    let report = bus.shutdown(Duration::from_secs(5)).await;
    let fragile = report.subscriber("fragile").unwrap();
    let SubscriberStatus::Crashed { reason } = &fragile.status else {
        panic!("expected a crash, got {}", fragile.status);
    };
    assert!(reason.contains("armed event"), "{reason}");
    let c = fragile.counts;
    assert_eq!(c.matched, c.delivered + c.dropped + c.lost, "{c:?}");
    assert_eq!(c.queued + c.in_flight, 0);
    assert!(survived.load(Ordering::SeqCst));
}

/// A `publish_many` blocked on a full queue at shutdown used to have only one of its
/// remaining events counted.
#[tokio::test(start_paused = true)]
async fn every_event_of_a_blocked_publish_many_is_counted_at_shutdown() {
    let bus: Bus<Ev> = Bus::new();
    let _unread = bus.subscriber("unread").capacity(2).stream().unwrap();
    let _after = bus.subscriber("after").capacity(100).stream().unwrap();
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move {
            bus.publish_many((0..5).map(|seq| ev("tick", 0, seq)))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(1)).await;
    let report = bus.shutdown(Duration::from_millis(50)).await;
    publisher.await.unwrap();
    for name in ["unread", "after"] {
        let c = report.subscriber(name).unwrap().counts;
        // Two queued then lost at the deadline, three blocked; "after" never saw any of them
        // before its queue closed, but they were published for it.
        assert_eq!((c.matched, c.lost), (5, 5), "{name}: {c:?}");
    }
}

/// Records events, and says when it is dropped (which happens when its actor task ends).
struct Watched {
    recorder: Recorder,
    dropped: Arc<AtomicBool>,
}

#[async_trait]
impl Handler<Ev> for Watched {
    async fn handle(&self, events: &Batch<Ev>) -> Result<(), HandlerError> {
        self.recorder.handle(events).await
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// Dropping every handle of a bus without shutting it down used to leave its actors parked
/// forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_bus_lets_its_subscribers_finish() {
    let recorder = Recorder::default();
    let dropped = Arc::new(AtomicBool::new(false));
    let subscription = {
        let bus: Bus<Ev> = Bus::new();
        let subscription = bus
            .subscriber("orphan")
            .spawn(Watched {
                recorder: recorder.clone(),
                dropped: Arc::clone(&dropped),
            })
            .unwrap();
        for seq in 0..10 {
            bus.publish(ev("tick", 0, seq)).await.unwrap();
        }
        subscription
    };
    let ended = async {
        while !dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    timeout(Duration::from_secs(10), ended)
        .await
        .expect("the actor ends once the bus is gone");
    assert_eq!(recorder.events().len(), 10);
    let stats = subscription.stats();
    assert_eq!(stats.status, SubscriberStatus::Completed);
    assert_eq!(stats.counts.delivered, 10);
}

/// Subscribing while shutdown runs: refused, or shut down with the rest; never left running
/// outside the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_racing_shutdown_is_refused_or_reported() {
    for _ in 0..200 {
        let bus: Bus<Ev> = Bus::new();
        let racer = {
            let bus = bus.clone();
            tokio::spawn(async move { bus.subscriber("racer").spawn(Recorder::default()) })
        };
        let report = bus.shutdown(Duration::from_secs(5)).await;
        match racer.await.unwrap() {
            Ok(subscription) => {
                let racer = report
                    .subscriber("racer")
                    .expect("an accepted subscriber is in the report");
                assert_eq!(racer.status, SubscriberStatus::Completed);
                assert_eq!(subscription.stats().status, SubscriberStatus::Completed);
            }
            Err(error) => assert_eq!(error, SubscribeError::BusClosed),
        }
    }
}
