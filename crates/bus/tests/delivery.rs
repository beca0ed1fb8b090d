//! Ordering, backpressure, overflow policies, filters and streams.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{assert_publisher_order, ev, Ev, Recorder};
use lhp_bus::{
    async_trait, handler_fn, Batch, Bus, Closed, Filter, Handler, HandlerError, Overflow,
    SubscribeError, SubscriberStatus,
};
use tokio::time::Instant;
use tokio_stream::StreamExt;

const PUBLISHERS: usize = 4;
const PER_PUBLISHER: u64 = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_subscriber_sees_each_publishers_events_in_order() {
    let bus: Bus<Ev> = Bus::new();
    let plain = Recorder::default();
    let batched = Recorder::default();
    let tiny = Recorder::default();
    bus.subscriber("plain").spawn(plain.clone()).unwrap();
    bus.subscriber("batched")
        .batch(50, Duration::from_millis(1))
        .spawn(batched.clone())
        .unwrap();
    // A capacity of 1 forces publishers to interleave on the queue as hard as possible.
    bus.subscriber("tiny")
        .capacity(1)
        .spawn(tiny.clone())
        .unwrap();
    let mut stream = bus.subscriber("stream").capacity(8).stream().unwrap();
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(e) = stream.next().await {
            seen.push((*e).clone());
        }
        seen
    });

    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let bus = bus.clone();
            tokio::spawn(async move {
                for seq in 0..PER_PUBLISHER {
                    bus.publish(ev("action.end", p, seq)).await.unwrap();
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let report = bus.shutdown(Duration::from_secs(30)).await;
    let streamed = reader.await.unwrap();

    let total = PUBLISHERS * PER_PUBLISHER as usize;
    for (name, events) in [
        ("plain", plain.events()),
        ("batched", batched.events()),
        ("tiny", tiny.events()),
        ("stream", streamed),
    ] {
        assert_eq!(events.len(), total, "{name} lost events");
        assert_publisher_order(&events, name);
        let stats = report.subscriber(name).unwrap();
        assert_eq!(stats.counts.delivered, total as u64, "{name}");
        assert_eq!(stats.counts.dropped + stats.counts.lost, 0, "{name}");
    }
    assert!(!report.timed_out);
    assert_eq!(report.published, total as u64);
}

/// Handles one event per `delay`.
struct Slow {
    delay: Duration,
    handled: Arc<AtomicU64>,
}

#[async_trait]
impl Handler<Ev> for Slow {
    async fn handle(&self, events: &Batch<Ev>) -> Result<(), HandlerError> {
        tokio::time::sleep(self.delay * events.len() as u32).await;
        self.handled
            .fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_block_subscriber_slows_the_publisher_and_loses_nothing() {
    let bus: Bus<Ev> = Bus::new();
    let handled = Arc::new(AtomicU64::new(0));
    bus.subscriber("slow")
        .capacity(2)
        .overflow(Overflow::Block)
        .spawn(Slow {
            delay: Duration::from_millis(10),
            handled: Arc::clone(&handled),
        })
        .unwrap();

    let started = Instant::now();
    for seq in 0..20 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    let publishing = started.elapsed();
    // 20 events, 2 queued and 1 in the handler when the last publish returns: the publisher
    // had to wait for at least 17 of them to be handled, 10 ms each.
    assert!(
        publishing >= Duration::from_millis(170),
        "publisher was not slowed down: {publishing:?}"
    );
    let report = bus.shutdown(Duration::from_secs(10)).await;
    let slow = report.subscriber("slow").unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 20);
    assert_eq!(
        (
            slow.counts.matched,
            slow.counts.delivered,
            slow.counts.dropped,
            slow.counts.lost
        ),
        (20, 20, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_lossy_subscriber_never_slows_the_publisher() {
    for overflow in [Overflow::DropNewest, Overflow::DropOldest] {
        let bus: Bus<Ev> = Bus::new();
        let handled = Arc::new(AtomicU64::new(0));
        bus.subscriber("slow")
            .capacity(2)
            .overflow(overflow)
            .spawn(Slow {
                delay: Duration::from_millis(10),
                handled: Arc::clone(&handled),
            })
            .unwrap();
        let started = Instant::now();
        for seq in 0..20 {
            bus.publish(ev("tick", 0, seq)).await.unwrap();
        }
        assert_eq!(started.elapsed(), Duration::ZERO, "{overflow}");
        let report = bus.shutdown(Duration::from_secs(10)).await;
        let c = report.subscriber("slow").unwrap().counts;
        assert_eq!(c.matched, 20);
        assert_eq!(c.delivered, handled.load(Ordering::SeqCst));
        assert_eq!(c.delivered + c.dropped, 20, "{overflow}: {c:?}");
        assert_eq!(c.lost, 0);
    }
}

/// Publishes `0..count` to a fresh bus with one unread stream subscriber and returns what
/// the stream then yields and its counters.
async fn fill_unread(
    overflow: Overflow,
    capacity: usize,
    count: u64,
) -> (Vec<u64>, lhp_bus::Counts) {
    let bus: Bus<Ev> = Bus::new();
    let mut stream = bus
        .subscriber("unread")
        .capacity(capacity)
        .overflow(overflow)
        .stream()
        .unwrap();
    for seq in 0..count {
        bus.try_publish(ev("tick", 0, seq)).unwrap();
    }
    let counts = stream.stats().counts;
    // The stream is read while the bus shuts down: it yields what was queued, then ends.
    let read = async {
        let mut seen = Vec::new();
        while let Some(e) = stream.next().await {
            seen.push(e.seq);
        }
        seen
    };
    let (report, seen) = tokio::join!(bus.shutdown(Duration::from_secs(1)), read);
    let final_counts = report.subscriber("unread").unwrap();
    assert_eq!(final_counts.status, SubscriberStatus::Completed);
    assert_eq!(final_counts.counts.lost, 0);
    (seen, counts)
}

#[tokio::test]
async fn drop_newest_keeps_the_first_events_and_counts_every_drop() {
    let (seen, counts) = fill_unread(Overflow::DropNewest, 5, 12).await;
    assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    assert_eq!((counts.matched, counts.queued, counts.dropped), (12, 5, 7));
    assert!(counts.is_conserved());
}

#[tokio::test]
async fn drop_oldest_keeps_the_last_events_and_counts_every_drop() {
    let (seen, counts) = fill_unread(Overflow::DropOldest, 5, 12).await;
    assert_eq!(seen, vec![7, 8, 9, 10, 11]);
    assert_eq!((counts.matched, counts.queued, counts.dropped), (12, 5, 7));
    assert!(counts.is_conserved());
}

#[tokio::test]
async fn try_publish_never_waits_and_names_the_full_block_subscribers() {
    let bus: Bus<Ev> = Bus::new();
    let full = bus.subscriber("full").capacity(3).stream().unwrap();
    let _roomy = bus.subscriber("roomy").capacity(100).stream().unwrap();
    for seq in 0..3 {
        let receipt = bus.try_publish(ev("tick", 0, seq)).unwrap();
        assert_eq!((receipt.matched, receipt.queued), (2, 2));
        assert!(receipt.refused.is_empty());
    }
    let receipt = bus.try_publish(ev("tick", 0, 3)).unwrap();
    assert_eq!((receipt.matched, receipt.queued), (2, 1));
    assert_eq!(receipt.refused.len(), 1);
    assert_eq!(receipt.refused[0].0, full.id());
    assert_eq!(&*receipt.refused[0].1, "full");
    let counts = full.stats().counts;
    assert_eq!((counts.matched, counts.queued, counts.dropped), (4, 3, 1));
}

#[tokio::test]
async fn filters_route_by_kind_glob_and_predicate() {
    let bus: Bus<Ev> = Bus::new();
    let actions = Recorder::default();
    let errors = Recorder::default();
    let exact = Recorder::default();
    let odd_tables = Recorder::default();
    let everything = Recorder::default();
    bus.subscriber("actions")
        .kinds(["action.*"])
        .unwrap()
        .spawn(actions.clone())
        .unwrap();
    bus.subscriber("errors")
        .kinds(["*.error"])
        .unwrap()
        .spawn(errors.clone())
        .unwrap();
    bus.subscriber("exact")
        .kinds(["pipeline.start", "pipeline.end"])
        .unwrap()
        .spawn(exact.clone())
        .unwrap();
    bus.subscriber("odd_tables")
        .filter(|e: &Ev| e.seq % 2 == 1)
        .kinds(["table.*"])
        .unwrap()
        .spawn(odd_tables.clone())
        .unwrap();
    bus.subscriber("everything")
        .spawn(everything.clone())
        .unwrap();

    let kinds = [
        "pipeline.start",
        "action.start",
        "action.error",
        "table.created",
        "table.updated",
        "flowgroup.error",
        "actions.start",
        "pipeline.end",
    ];
    for (seq, kind) in kinds.iter().enumerate() {
        bus.publish(ev(kind, 0, seq as u64)).await.unwrap();
    }
    bus.shutdown(Duration::from_secs(5)).await;

    let kinds_of = |r: &Recorder| r.events().into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(kinds_of(&actions), ["action.start", "action.error"]);
    assert_eq!(kinds_of(&errors), ["action.error", "flowgroup.error"]);
    assert_eq!(kinds_of(&exact), ["pipeline.start", "pipeline.end"]);
    // table.created is seq 3 (odd), table.updated seq 4 (even).
    assert_eq!(kinds_of(&odd_tables), ["table.created"]);
    assert_eq!(kinds_of(&everything).len(), kinds.len());
}

#[tokio::test]
async fn invalid_settings_are_refused_with_a_reason() {
    let bus: Bus<Ev> = Bus::new();
    let recorder = Recorder::default();
    let bad_pattern = bus.subscriber("x").kinds(["action.*", ""]);
    assert!(matches!(
        bad_pattern,
        Err(SubscribeError::InvalidPattern { .. })
    ));
    let zero = bus.subscriber("x").capacity(0).spawn(recorder.clone());
    assert!(matches!(
        zero,
        Err(SubscribeError::InvalidSetting {
            setting: "capacity",
            ..
        })
    ));
    let zero_batch = bus.subscriber("x").batch_available(0).stream();
    assert!(zero_batch.is_err());
    let unnamed = bus.subscriber("  ").stream();
    assert!(matches!(
        unnamed,
        Err(SubscribeError::InvalidSetting {
            setting: "name",
            ..
        })
    ));
    assert!(Filter::<Ev>::kinds(["a b"]).is_err());
}

#[test]
fn spawning_outside_a_runtime_is_an_error_not_a_panic() {
    let bus: Bus<Ev> = Bus::new();
    let result = bus.subscriber("x").spawn(Recorder::default());
    assert!(matches!(result, Err(SubscribeError::NoRuntime)));
}

#[tokio::test]
async fn after_shutdown_publish_hands_the_event_back_and_subscribe_is_refused() {
    let bus: Bus<Ev> = Bus::new();
    bus.shutdown(Duration::from_secs(1)).await;
    assert!(bus.is_closed());
    let Err(Closed(event)) = bus.publish(ev("tick", 0, 7)).await else {
        panic!("publish after shutdown must fail");
    };
    assert_eq!(event.seq, 7);
    assert!(bus.try_publish(ev("tick", 0, 8)).is_err());
    assert!(matches!(
        bus.subscriber("late").stream(),
        Err(SubscribeError::BusClosed)
    ));
    assert_eq!(bus.stats().published, 0);
}

#[tokio::test]
async fn a_dropped_stream_counts_its_queue_as_lost_and_leaves_the_bus() {
    let bus: Bus<Ev> = Bus::new();
    let mut stream = bus.subscriber("tail").stream().unwrap();
    for seq in 0..10 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    for _ in 0..4 {
        stream.next().await.unwrap();
    }
    drop(stream);
    // Not counted: the subscriber has left.
    let receipt = bus.publish(ev("tick", 0, 10)).await.unwrap();
    assert_eq!(receipt.matched, 0);
    let report = bus.shutdown(Duration::from_secs(1)).await;
    let tail = report.subscriber("tail").unwrap();
    assert_eq!(tail.status, SubscriberStatus::Unsubscribed);
    assert_eq!(
        (tail.counts.matched, tail.counts.delivered, tail.counts.lost),
        (10, 4, 6)
    );
}

#[tokio::test]
async fn unsubscribe_delivers_what_is_queued_then_stops_matching() {
    let bus: Bus<Ev> = Bus::new();
    let leaving = Recorder::default();
    let staying = Recorder::default();
    let subscription = bus.subscriber("leaving").spawn(leaving.clone()).unwrap();
    bus.subscriber("staying").spawn(staying.clone()).unwrap();
    for seq in 0..5 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    let stats = subscription.unsubscribe(Duration::from_secs(5)).await;
    assert_eq!(stats.status, SubscriberStatus::Unsubscribed);
    assert_eq!((stats.counts.matched, stats.counts.delivered), (5, 5));
    for seq in 5..8 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    let report = bus.shutdown(Duration::from_secs(5)).await;
    assert_eq!(leaving.events().len(), 5);
    assert_eq!(staying.events().len(), 8);
    assert_eq!(report.subscriber("leaving").unwrap().counts.matched, 5);
    assert_eq!(
        report.subscriber("leaving").unwrap().status,
        SubscriberStatus::Unsubscribed
    );
}

#[tokio::test(start_paused = true)]
async fn concurrency_runs_calls_side_by_side_up_to_the_limit() {
    struct Parallel {
        running: AtomicU64,
        peak: AtomicU64,
    }
    #[async_trait]
    impl Handler<Ev> for Parallel {
        async fn handle(&self, _: &Batch<Ev>) -> Result<(), HandlerError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        }
    }
    let bus: Bus<Ev> = Bus::new();
    let handler = Arc::new(Parallel {
        running: AtomicU64::new(0),
        peak: AtomicU64::new(0),
    });
    bus.subscriber("parallel")
        .concurrency(4)
        .spawn(Arc::clone(&handler))
        .unwrap();
    let started = Instant::now();
    for seq in 0..16 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    let report = bus.shutdown(Duration::from_secs(60)).await;
    assert_eq!(handler.peak.load(Ordering::SeqCst), 4);
    // 16 calls of 100 ms, 4 at a time.
    assert_eq!(started.elapsed(), Duration::from_millis(400));
    assert_eq!(report.subscriber("parallel").unwrap().counts.delivered, 16);
}

#[tokio::test]
async fn handler_fn_and_arc_handlers_work() {
    let bus: Bus<Ev> = Bus::new();
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    bus.subscriber("fn")
        .spawn(handler_fn(move |events: &Batch<Ev>| {
            counter.fetch_add(events.len() as u64, Ordering::SeqCst);
            Ok(())
        }))
        .unwrap();
    for seq in 0..3 {
        bus.publish(ev("tick", 0, seq)).await.unwrap();
    }
    bus.shutdown(Duration::from_secs(1)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn publish_many_keeps_order_and_sums_its_receipt() {
    let bus: Bus<Ev> = Bus::new();
    let all = Recorder::default();
    let errors = Recorder::default();
    bus.subscriber("all")
        .capacity(7)
        .batch(5, Duration::from_millis(1))
        .spawn(all.clone())
        .unwrap();
    bus.subscriber("errors")
        .kinds(["*.error"])
        .unwrap()
        .spawn(errors.clone())
        .unwrap();
    let lossy = bus
        .subscriber("lossy")
        .capacity(3)
        .overflow(Overflow::DropNewest)
        .stream()
        .unwrap();

    let batch_of = |start: u64| {
        (start..start + 50).map(|seq| {
            let kind = if seq % 10 == 0 {
                "action.error"
            } else {
                "action.end"
            };
            ev(kind, 0, seq)
        })
    };
    let first = bus.publish_many(batch_of(0)).await.unwrap();
    // 50 events to `all`, 5 errors to `errors`, and `lossy` (never read) keeps 3, drops 47.
    assert_eq!(first.matched, 50 + 5 + 50);
    assert_eq!(first.dropped, 47);
    assert_eq!(first.queued, 50 + 5 + 3);

    // Then batches larger than the capacity, mixed with single publishes from another task.
    let single = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for seq in 0..500 {
                bus.publish(ev("action.start", 1, seq)).await.unwrap();
            }
        })
    };
    for start in (50..1000).step_by(50) {
        bus.publish_many(batch_of(start)).await.unwrap();
    }
    single.await.unwrap();
    drop(lossy);
    let report = bus.shutdown(Duration::from_secs(10)).await;
    assert_eq!(report.published, 1500);
    let events = all.events();
    assert_eq!(events.len(), 1500);
    assert_publisher_order(&events, "all");
    assert!(all.batch_sizes().iter().all(|&n| n <= 5));
    assert_eq!(errors.events().len(), 100);
    assert_publisher_order(&errors.events(), "errors");
    let lossy_counts = report.subscriber("lossy").unwrap().counts;
    assert_eq!(lossy_counts.matched, 1500);
    assert_eq!((lossy_counts.dropped, lossy_counts.lost), (1497, 3));
}

#[tokio::test(start_paused = true)]
async fn publish_many_waits_for_room_part_way_through_a_batch() {
    let bus: Bus<Ev> = Bus::new();
    let handled = Arc::new(AtomicU64::new(0));
    bus.subscriber("slow")
        .capacity(4)
        .spawn(Slow {
            delay: Duration::from_millis(10),
            handled: Arc::clone(&handled),
        })
        .unwrap();
    let started = Instant::now();
    let receipt = bus
        .publish_many((0..20).map(|seq| ev("tick", 0, seq)))
        .await
        .unwrap();
    assert_eq!((receipt.matched, receipt.queued), (20, 20));
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    let report = bus.shutdown(Duration::from_secs(10)).await;
    assert_eq!(handled.load(Ordering::SeqCst), 20);
    assert_eq!(report.subscriber("slow").unwrap().counts.lost, 0);
}

#[tokio::test]
async fn publish_many_after_shutdown_hands_every_event_back() {
    let bus: Bus<Ev> = Bus::new();
    bus.shutdown(Duration::from_secs(1)).await;
    let Err(Closed(events)) = bus.publish_many((0..3).map(|seq| ev("tick", 0, seq))).await else {
        panic!("publish_many after shutdown must fail");
    };
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1, 2]);
}
