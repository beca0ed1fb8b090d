//! Queues hold runs of shared publishes, not single events: these tests hold every overflow
//! policy, filter and batch boundary to what publishing the same events one by one would do.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ev, Ev};
use lhp_bus::{handler_fn, Batch, Bus, Overflow, Shared, SubscriberStatus};
use tokio_stream::StreamExt;

/// A small deterministic generator (xorshift), so a failure names a reproducible case.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

/// Bursts of 0 to 9 events, each `keep` or `skip` at random, numbered in publish order.
fn bursts(seed: u64, count: usize) -> Vec<Vec<Ev>> {
    let mut dice = Dice(seed);
    let mut seq = 0;
    (0..count)
        .map(|_| {
            (0..dice.roll(10))
                .map(|_| {
                    seq += 1;
                    let kind = if dice.roll(3) == 0 { "skip" } else { "keep" };
                    ev(kind, 0, seq)
                })
                .collect()
        })
        .collect()
}

/// What an unread subscriber of `capacity` keeps of `matching` under `overflow`, had each
/// event been offered alone.
fn model(overflow: Overflow, capacity: usize, matching: &[u64]) -> Vec<u64> {
    let kept = matching.len().min(capacity);
    match overflow {
        Overflow::DropOldest => matching[matching.len() - kept..].to_vec(),
        Overflow::Block | Overflow::DropNewest => matching[..kept].to_vec(),
    }
}

#[tokio::test]
async fn lossy_queues_keep_and_count_what_event_by_event_publishing_would() {
    for seed in 1..=40u64 {
        for overflow in [Overflow::DropNewest, Overflow::DropOldest] {
            for capacity in [1usize, 3, 8, 25] {
                let bus: Bus<Ev> = Bus::new();
                let mut keep = bus
                    .subscriber("keep")
                    .kinds(["keep"])
                    .unwrap()
                    .capacity(capacity)
                    .overflow(overflow)
                    .stream()
                    .unwrap();
                let mut all = bus
                    .subscriber("all")
                    .capacity(capacity)
                    .overflow(overflow)
                    .stream()
                    .unwrap();
                let (mut matching, mut every) = (Vec::new(), Vec::new());
                for burst in bursts(seed, 12) {
                    for e in &burst {
                        every.push(e.seq);
                        if e.kind == "keep" {
                            matching.push(e.seq);
                        }
                    }
                    let receipt = bus.publish_many(burst).await.unwrap();
                    assert!(receipt.refused.is_empty());
                }
                let case = format!("seed {seed}, {overflow}, capacity {capacity}");
                for (stream, offered) in [(&mut keep, &matching), (&mut all, &every)] {
                    let expected = model(overflow, capacity, offered);
                    let counts = stream.stats().counts;
                    assert_eq!(counts.matched, offered.len() as u64, "{case}");
                    assert_eq!(counts.queued, expected.len() as u64, "{case}");
                    assert_eq!(
                        counts.dropped,
                        (offered.len() - expected.len()) as u64,
                        "{case}"
                    );
                    let mut seen = Vec::new();
                    for _ in 0..expected.len() {
                        seen.push(stream.next().await.expect("a queued event").seq);
                    }
                    assert_eq!(seen, expected, "{case}");
                    assert!(stream.stats().counts.is_conserved(), "{case}");
                }
                bus.shutdown(Duration::from_secs(1)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_queue_smaller_than_a_burst_delivers_every_matching_event_in_order() {
    for capacity in [1usize, 2, 5] {
        let bus: Bus<Ev> = Bus::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        bus.subscriber("batched")
            .kinds(["keep"])
            .unwrap()
            .capacity(capacity)
            .batch(4, Duration::from_millis(1))
            .spawn({
                let (seen, sizes) = (Arc::clone(&seen), Arc::clone(&sizes));
                handler_fn(move |events: &Batch<Ev>| {
                    sizes.lock().unwrap().push(events.len());
                    seen.lock().unwrap().extend(events.iter().map(|e| e.seq));
                    Ok(())
                })
            })
            .unwrap();
        let mut expected = Vec::new();
        for burst in bursts(capacity as u64 * 7, 200) {
            expected.extend(burst.iter().filter(|e| e.kind == "keep").map(|e| e.seq));
            bus.publish_many(burst).await.unwrap();
        }
        let report = bus.shutdown(Duration::from_secs(10)).await;
        let stats = report.subscriber("batched").unwrap();
        assert_eq!(stats.status, SubscriberStatus::Completed);
        assert_eq!(*seen.lock().unwrap(), expected, "capacity {capacity}");
        // Taken events count against the capacity, so no batch outgrows it.
        let largest = sizes.lock().unwrap().iter().copied().max().unwrap_or(0);
        assert!(largest <= capacity.min(4), "capacity {capacity}: {largest}");
        let c = stats.counts;
        assert_eq!(
            (c.matched, c.delivered),
            (expected.len() as u64, expected.len() as u64)
        );
        assert_eq!(c.dropped + c.lost, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_kept_past_a_call_outlive_the_rest_of_their_publish() {
    let bus: Bus<Ev> = Bus::new();
    let kept: Arc<Mutex<Vec<Shared<Ev>>>> = Arc::default();
    bus.subscriber("keeper")
        .batch(3, Duration::from_millis(1))
        .spawn({
            let kept = Arc::clone(&kept);
            handler_fn(move |events: &Batch<Ev>| {
                // Keep the last of each call only; the rest of the publish is let go.
                kept.lock().unwrap().extend(events.shared(events.len() - 1));
                Ok(())
            })
        })
        .unwrap();
    bus.publish_many((1..=9).map(|seq| ev("tick", 0, seq)))
        .await
        .unwrap();
    bus.shutdown(Duration::from_secs(5)).await;
    let kept = kept.lock().unwrap();
    assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 6, 9]);
    let again: Batch<Ev> = kept.iter().cloned().collect();
    assert_eq!(again[1].seq, 6);
    assert_eq!(
        format!("{:?}", again.first()),
        format!("{:?}", Some(&ev("tick", 0, 3)))
    );
}

/// Says when it is dropped.
#[derive(Debug)]
struct Tracked(Arc<std::sync::atomic::AtomicBool>);

impl lhp_bus::Event for Tracked {
    fn kind(&self) -> &str {
        "tracked"
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_subscriber_holds_nothing_it_has_handled() {
    let bus: Bus<Tracked> = Bus::new();
    let handled = Arc::new(tokio::sync::Notify::new());
    bus.subscriber("quiet")
        .spawn({
            let handled = Arc::clone(&handled);
            handler_fn(move |_: &Batch<Tracked>| {
                handled.notify_one();
                Ok(())
            })
        })
        .unwrap();
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    bus.publish(Tracked(Arc::clone(&dropped))).await.unwrap();
    handled.notified().await;
    // Nothing else is published: the subscriber parks, and must not keep the event meanwhile.
    let released = async {
        while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), released)
        .await
        .expect("the handled event is dropped without waiting for another");
    bus.shutdown(Duration::from_secs(5)).await;
}
