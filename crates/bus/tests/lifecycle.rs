//! Batching, failure isolation, shutdown, metrics, and conservation under stress.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ev, Ev, Recorder};
use lhp_bus::{async_trait, Batch, Bus, Handler, HandlerError, Overflow, SubscriberStatus};
use tokio::time::Instant;
use tokio_stream::StreamExt;

/// Records each batch's size and the (virtual) time it arrived.
#[derive(Clone)]
struct Timed {
    start: Instant,
    seen: Arc<Mutex<Vec<(usize, Duration)>>>,
}

impl Timed {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            seen: Arc::default(),
        }
    }

    fn seen(&self) -> Vec<(usize, Duration)> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl Handler<Ev> for Timed {
    async fn handle(&self, events: &Batch<Ev>) -> Result<(), HandlerError> {
        self.seen
            .lock()
            .unwrap()
            .push((events.len(), self.start.elapsed()));
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn batches_fill_up_to_max_items_without_waiting() {
    let bus: Bus<Ev> = Bus::new();
    let timed = Timed::new();
    bus.subscriber("sized")
        .batch(4, Duration::from_secs(3600))
        .spawn(timed.clone())
        .unwrap();
    for seq in 0..10 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    // Two full batches go at once; the last two wait for more.
    assert_eq!(timed.seen(), vec![(4, Duration::ZERO), (4, Duration::ZERO)]);
    bus.shutdown(Duration::from_secs(1)).await;
    // Shutdown closes the queue, which ends the wait: the rest goes without the hour.
    let seen = timed.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].0, 2);
    assert!(seen[2].1 < Duration::from_secs(1), "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_goes_when_max_wait_has_passed_since_its_first_event() {
    let bus: Bus<Ev> = Bus::new();
    let timed = Timed::new();
    bus.subscriber("timed")
        .batch(100, Duration::from_millis(50))
        .spawn(timed.clone())
        .unwrap();
    for seq in 0..3 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for seq in 3..5 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    bus.publish(ev("tick", 0, 5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        timed.seen(),
        vec![
            (3, Duration::from_millis(50)),
            // The second batch's first event came at 200 ms, so it goes at 250 ms,
            // having picked up the event published at 220 ms.
            (3, Duration::from_millis(250)),
        ]
    );
    bus.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn batch_available_hands_over_what_is_queued() {
    let bus: Bus<Ev> = Bus::new();
    let recorder = Recorder::default();
    bus.subscriber("available")
        .batch_available(8)
        .spawn(recorder.clone())
        .unwrap();
    // On a current-thread runtime the actor does not run while we publish without waiting.
    for seq in 0..20 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    bus.shutdown(Duration::from_secs(1)).await;
    assert_eq!(recorder.batch_sizes(), vec![8, 8, 4]);
}

/// Fails (by error or by panic) on the sequence numbers it is given.
struct Flaky {
    fail_on: Vec<u64>,
    panic: bool,
    handled: Arc<AtomicU64>,
}

#[async_trait]
impl Handler<Ev> for Flaky {
    async fn handle(&self, events: &Batch<Ev>) -> Result<(), HandlerError> {
        self.handled.fetch_add(1, Ordering::SeqCst);
        let seq = events[0].seq;
        if self.fail_on.contains(&seq) {
            if self.panic {
                panic!("flaky handler panicked on {seq}");
            }
            return Err(format!("flaky handler failed on {seq}").into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn scattered_failures_are_counted_and_the_subscriber_goes_on() {
    for panic in [false, true] {
        let bus: Bus<Ev> = Bus::new();
        let handled = Arc::new(AtomicU64::new(0));
        bus.subscriber("flaky")
            .spawn(Flaky {
                fail_on: vec![1, 2, 5, 6, 9],
                panic,
                handled: Arc::clone(&handled),
            })
            .unwrap();
        for seq in 0..12 {
            bus.publish(ev("tick", 0, seq)).await.unwrap();
        }
        let report = bus.shutdown(Duration::from_secs(5)).await;
        let flaky = report.subscriber("flaky").unwrap();
        assert_eq!(flaky.status, SubscriberStatus::Completed, "panic={panic}");
        assert_eq!(handled.load(Ordering::SeqCst), 12);
        assert_eq!(flaky.counts.delivered, 12);
        assert_eq!((flaky.counts.failures, flaky.counts.failed_events), (5, 5));
        assert_eq!(flaky.counts.lost, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_failures_stop_only_that_subscriber() {
    for panic in [false, true] {
        let bus: Bus<Ev> = Bus::new();
        let handled = Arc::new(AtomicU64::new(0));
        let healthy = Recorder::default();
        bus.subscriber("broken")
            .capacity(4)
            .max_consecutive_failures(3)
            .spawn(Flaky {
                fail_on: (0..1000).collect(),
                panic,
                handled: Arc::clone(&handled),
            })
            .unwrap();
        bus.subscriber("healthy").spawn(healthy.clone()).unwrap();
        for seq in 0..50 {
            // Lossless publishing goes on even though `broken` stops (and its queue with it).
            bus.publish(ev("tick", 0, seq)).await.unwrap();
        }
        let report = bus.shutdown(Duration::from_secs(5)).await;
        let broken = report.subscriber("broken").unwrap();
        let SubscriberStatus::Stopped {
            consecutive_failures,
            last_error,
        } = &broken.status
        else {
            panic!("expected a stop, got {}", broken.status);
        };
        assert_eq!(*consecutive_failures, 3);
        if panic {
            assert!(last_error.contains("panicked"), "{last_error}");
        }
        assert!(last_error.contains("on 2"), "{last_error}");
        assert_eq!(handled.load(Ordering::SeqCst), 3);
        assert_eq!(broken.counts.failures, 3);
        assert_eq!(broken.counts.delivered, 3);
        let c = broken.counts;
        assert_eq!(c.matched, c.delivered + c.dropped + c.lost, "{c:?}");
        assert!(
            c.matched < 50,
            "a stopped subscriber must leave the bus: {c:?}"
        );
        assert_eq!(healthy.events().len(), 50);
        assert_eq!(
            report.subscriber("healthy").unwrap().status,
            SubscriberStatus::Completed
        );
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_delivers_everything_queued_before_returning() {
    struct SlowCount(Arc<AtomicU64>);
    #[async_trait]
    impl Handler<Ev> for SlowCount {
        async fn handle(&self, events: &Batch<Ev>) -> Result<(), HandlerError> {
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.0.fetch_add(events.len() as u64, Ordering::SeqCst);
            Ok(())
        }
    }
    let bus: Bus<Ev> = Bus::new();
    let handled = Arc::new(AtomicU64::new(0));
    bus.subscriber("slow")
        .spawn(SlowCount(Arc::clone(&handled)))
        .unwrap();
    for seq in 0..40 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    assert_eq!(handled.load(Ordering::SeqCst), 0);
    let report = bus.shutdown(Duration::from_secs(10)).await;
    assert_eq!(handled.load(Ordering::SeqCst), 40);
    assert!(!report.timed_out);
    assert_eq!(report.elapsed, Duration::from_millis(200));
    let slow = report.subscriber("slow").unwrap();
    assert_eq!(slow.status, SubscriberStatus::Completed);
    assert_eq!((slow.counts.delivered, slow.counts.lost), (40, 0));
    assert!(report.to_string().contains("slow"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_up_on_a_stuck_handler_at_the_deadline_and_counts_the_loss() {
    struct Stuck;
    #[async_trait]
    impl Handler<Ev> for Stuck {
        async fn handle(&self, _: &Batch<Ev>) -> Result<(), HandlerError> {
            tokio::time::sleep(Duration::from_secs(86_400)).await;
            Ok(())
        }
    }
    let bus: Bus<Ev> = Bus::new();
    let fine = Recorder::default();
    bus.subscriber("stuck")
        .capacity(8)
        .batch_available(2)
        .spawn(Stuck)
        .unwrap();
    bus.subscriber("fine").spawn(fine.clone()).unwrap();
    for seq in 0..7 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    let started = Instant::now();
    let report = bus.shutdown(Duration::from_millis(300)).await;
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    assert!(report.timed_out);
    let stuck = report.subscriber("stuck").unwrap();
    assert_eq!(stuck.status, SubscriberStatus::TimedOut);
    // Two in the stuck call, five still queued: all seven lost, none uncounted.
    assert_eq!(
        (
            stuck.counts.matched,
            stuck.counts.delivered,
            stuck.counts.lost
        ),
        (7, 0, 7)
    );
    assert_eq!(stuck.counts.in_flight + stuck.counts.queued, 0);
    assert_eq!(fine.events().len(), 7);
    assert_eq!(report.total_lost(), 7);
}

#[tokio::test(start_paused = true)]
async fn a_publisher_blocked_at_shutdown_has_its_event_counted_lost() {
    let bus: Bus<Ev> = Bus::new();
    let _unread = bus.subscriber("unread").capacity(1).stream().unwrap();
    bus.publish(ev("tick", 0, 0)).await.unwrap();
    let blocked = {
        let bus = bus.clone();
        tokio::spawn(async move { bus.publish(ev("tick", 0, 1)).await })
    };
    tokio::time::sleep(Duration::from_millis(1)).await;
    let report = bus.shutdown(Duration::from_millis(100)).await;
    // The blocked publish returns (its event accepted and accounted), it does not hang.
    assert!(blocked.await.unwrap().is_ok());
    let unread = report.subscriber("unread").unwrap();
    assert_eq!(unread.status, SubscriberStatus::TimedOut);
    assert_eq!((unread.counts.matched, unread.counts.lost), (2, 2));
}

#[tokio::test]
async fn stats_are_available_while_running_and_conserved() {
    let bus: Bus<Ev> = Bus::new();
    let mut stream = bus.subscriber("s").capacity(4).stream().unwrap();
    for seq in 0..6 {
        bus.try_publish(ev("tick", 0, seq)).unwrap();
    }
    stream.next().await.unwrap();
    let stats = bus.stats();
    assert_eq!(stats.published, 6);
    let c = stats.subscribers[0].counts;
    assert_eq!((c.matched, c.delivered, c.dropped, c.queued), (6, 1, 2, 3));
    assert!(c.is_conserved());
}

#[test]
fn counters_are_exported_through_the_metrics_facade() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let bus: Bus<Ev> = Bus::named("test");
            bus.subscriber("lossy")
                .capacity(2)
                .overflow(Overflow::DropNewest)
                .spawn(Recorder::default())
                .unwrap();
            for seq in 0..5 {
                bus.publish(ev("tick", 0, seq)).await.unwrap();
            }
            bus.shutdown(Duration::from_secs(1)).await
        })
    });
    let lossy = report.subscriber("lossy").unwrap().counts;
    // A snapshot drains the debugging recorder's counters: take one and look values up in it.
    let snapshot = snapshotter.snapshot().into_vec();
    let value = |name: &str| -> u64 {
        snapshot
            .iter()
            .find_map(|(key, _, _, value)| match value {
                DebugValue::Counter(v) if key.key().name() == name => Some(*v),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no counter {name}"))
    };
    assert_eq!(value("lhp_bus_published_total"), 5);
    assert_eq!(value("lhp_bus_matched_total"), lossy.matched);
    assert_eq!(value("lhp_bus_delivered_total"), lossy.delivered);
    assert_eq!(value("lhp_bus_dropped_total"), lossy.dropped);
    assert_eq!((lossy.delivered, lossy.dropped), (2, 3));
}

/// Many publishers, many subscribers of every kind, some leaving midway: every subscriber's
/// books balance, and the lossless ones got everything their filter asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conservation_under_stress() {
    const PUBLISHERS: usize = 8;
    const PER_PUBLISHER: u64 = 5_000;
    let bus: Bus<Ev> = Bus::new();
    let kinds = [
        "action.start",
        "action.end",
        "flowgroup.error",
        "table.created",
    ];

    let lossless_all = Recorder::default();
    bus.subscriber("lossless_all")
        .capacity(16)
        .spawn(lossless_all.clone())
        .unwrap();
    let lossless_errors = Recorder::default();
    bus.subscriber("lossless_errors")
        .kinds(["*.error"])
        .unwrap()
        .capacity(4)
        .batch(32, Duration::from_micros(200))
        .spawn(lossless_errors.clone())
        .unwrap();
    bus.subscriber("parallel")
        .kinds(["action.*"])
        .unwrap()
        .concurrency(3)
        .batch_available(16)
        .spawn(Recorder::default())
        .unwrap();
    for (i, overflow) in [Overflow::DropOldest, Overflow::DropNewest]
        .into_iter()
        .cycle()
        .take(4)
        .enumerate()
    {
        bus.subscriber(format!("lossy{i}"))
            .capacity(1 + i * 3)
            .overflow(overflow)
            .spawn(Flaky {
                // Panics are slow to unwind (and to symbolize with RUST_BACKTRACE set), so
                // one subscriber panics, rarely; the others fail by returning errors.
                fail_on: (0..PER_PUBLISHER)
                    .filter(|s| s % if i == 0 { 97 } else { 7 } == 0)
                    .collect(),
                panic: i == 0,
                handled: Arc::default(),
            })
            .unwrap();
    }
    let leaving = bus
        .subscriber("leaving")
        .capacity(8)
        .spawn(Recorder::default())
        .unwrap();
    let mut dropped_stream = bus
        .subscriber("dropped_stream")
        .capacity(64)
        .stream()
        .unwrap();
    let reader = tokio::spawn(async move {
        for _ in 0..500 {
            dropped_stream.next().await;
        }
        // Dropping it here, mid-run, unsubscribes it.
    });

    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let bus = bus.clone();
            tokio::spawn(async move {
                for seq in 0..PER_PUBLISHER {
                    let kind = kinds[(seq as usize + p) % kinds.len()];
                    if seq % 3 == 0 {
                        bus.try_publish(ev(kind, p, seq)).unwrap();
                    } else {
                        bus.publish(ev(kind, p, seq)).await.unwrap();
                    }
                }
            })
        })
        .collect();
    // Join and leave while publishers run.
    let late = bus
        .subscriber("late")
        .capacity(32)
        .overflow(Overflow::DropNewest)
        .spawn(Recorder::default())
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let leaving_stats = leaving.unsubscribe(Duration::from_secs(10)).await;
    for publisher in publishers {
        publisher.await.unwrap();
    }
    reader.await.unwrap();
    let _ = late;
    let report = bus.shutdown(Duration::from_secs(30)).await;

    let total = PUBLISHERS as u64 * PER_PUBLISHER;
    assert_eq!(report.published, total);
    assert_eq!(report.subscribers.len(), 10);
    for s in &report.subscribers {
        let c = s.counts;
        assert_eq!(
            c.matched,
            c.delivered + c.dropped + c.lost,
            "{}: books do not balance: {c:?}",
            s.name
        );
        assert_eq!(c.queued + c.in_flight, 0, "{}: {c:?}", s.name);
        assert!(c.is_conserved());
    }
    assert_eq!(leaving_stats.status, SubscriberStatus::Unsubscribed);
    assert_eq!(
        leaving_stats.counts.matched,
        report.subscriber("leaving").unwrap().counts.matched
    );

    // Lossless subscribers: only try_publish refusals may be missing, and they are counted.
    let all = report.subscriber("lossless_all").unwrap().counts;
    assert_eq!(all.matched, total);
    assert_eq!(all.lost, 0);
    assert_eq!(lossless_all.events().len() as u64, all.delivered);
    assert_eq!(all.delivered + all.dropped, total);
    let errors = report.subscriber("lossless_errors").unwrap().counts;
    assert_eq!(errors.matched, total / kinds.len() as u64);
    assert_eq!(lossless_errors.events().len() as u64, errors.delivered);
    assert!(lossless_errors
        .events()
        .iter()
        .all(|e| e.kind == "flowgroup.error"));
    common::assert_publisher_order(&lossless_all.events(), "lossless_all");
    common::assert_publisher_order(&lossless_errors.events(), "lossless_errors");
}

/// Counts events, and notes what it had seen when it was closed.
struct Closing {
    seen: AtomicU64,
    closed_after: Arc<Mutex<Option<u64>>>,
    fail_close: bool,
}

#[async_trait]
impl Handler<Ev> for Closing {
    async fn handle(&self, events: &Batch<Ev>) -> Result<(), HandlerError> {
        self.seen.fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(())
    }

    async fn close(&self) -> Result<(), HandlerError> {
        *self.closed_after.lock().unwrap() = Some(self.seen.load(Ordering::SeqCst));
        if self.fail_close {
            return Err("flush failed".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn close_runs_once_after_the_last_event_and_its_error_counts_as_a_failure() {
    let bus: Bus<Ev> = Bus::new();
    let fine = Arc::new(Mutex::new(None));
    let failing = Arc::new(Mutex::new(None));
    for (name, closed_after, fail_close) in [("fine", &fine, false), ("failing", &failing, true)] {
        bus.subscriber(name)
            .batch(8, Duration::from_millis(5))
            .spawn(Closing {
                seen: AtomicU64::new(0),
                closed_after: Arc::clone(closed_after),
                fail_close,
            })
            .unwrap();
    }
    for seq in 0..100 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    assert_eq!(*fine.lock().unwrap(), None, "closed before shutdown");
    let report = bus.shutdown(Duration::from_secs(5)).await;
    assert_eq!(*fine.lock().unwrap(), Some(100));
    assert_eq!(*failing.lock().unwrap(), Some(100));
    let fine = report.subscriber("fine").unwrap();
    assert_eq!((fine.counts.delivered, fine.counts.failures), (100, 0));
    assert_eq!(fine.status, SubscriberStatus::Completed);
    let failing = report.subscriber("failing").unwrap();
    assert_eq!(
        (failing.counts.delivered, failing.counts.failures),
        (100, 1)
    );
    assert_eq!(failing.counts.failed_events, 0);
    assert!(failing.counts.is_conserved());
}
