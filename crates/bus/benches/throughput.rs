//! Throughput of the bus against hand-written tokio baselines.
//!
//! Every measured iteration publishes `EVENTS` events of about 100 bytes from one publisher
//! to 1 or 8 consumers and waits until every consumer has handled every event. Compared:
//!
//! - `bus`: [`lhp_bus::Bus`] with `block` subscribers of capacity `CAPACITY`, batch 1 or 64;
//! - `mpsc_fanout`: one `tokio::sync::mpsc` channel of the same capacity per consumer, the
//!   publisher sending an `Arc` clone to each in turn; consumers use `recv` (batch 1) or
//!   `recv_many` (batch 64);
//! - `broadcast`: one `tokio::sync::broadcast` channel of the same capacity. It never applies
//!   backpressure: a consumer that falls behind skips events (counted as lag), so it does less
//!   work than the lossless two and only bounds what is possible.
//!
//! Run with `cargo bench -p lhp-bus`; results are in `benches/README.md` at the workspace root.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lhp_bus::{handler_fn, Bus, Event, Overflow};
use tokio::runtime::Runtime;
use tokio::sync::{broadcast, mpsc};

const EVENTS: u64 = 20_000;
const CAPACITY: usize = 1024;

/// About 100 bytes: a kind and a small payload, like a compact run event.
struct BenchEvent {
    kind: &'static str,
    payload: [u8; 84],
}

impl Event for BenchEvent {
    fn kind(&self) -> &str {
        self.kind
    }
}

fn event(i: u64) -> BenchEvent {
    let mut payload = [0u8; 84];
    payload[..8].copy_from_slice(&i.to_le_bytes());
    BenchEvent {
        kind: "action.end",
        payload,
    }
}

/// The work every consumer does per event, the same in all three contenders.
fn consume(event: &BenchEvent) {
    black_box(event.payload[0]);
}

async fn run_bus(subscribers: usize, batch: usize) {
    let bus: Bus<BenchEvent> = Bus::new();
    for i in 0..subscribers {
        bus.subscriber(format!("s{i}"))
            .capacity(CAPACITY)
            .overflow(Overflow::Block)
            .batch(batch, Duration::from_millis(5))
            .spawn(handler_fn(|events: &[Arc<BenchEvent>]| {
                events.iter().for_each(|e| consume(e));
                Ok(())
            }))
            .expect("subscribe");
    }
    for i in 0..EVENTS {
        let _ = bus.publish(event(i)).await;
    }
    let report = bus.shutdown(Duration::from_secs(60)).await;
    debug_assert!(report
        .subscribers
        .iter()
        .all(|s| s.counts.delivered == EVENTS));
}

async fn run_mpsc_fanout(subscribers: usize, batch: usize) {
    let mut senders = Vec::with_capacity(subscribers);
    let mut consumers = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let (tx, mut rx) = mpsc::channel::<Arc<BenchEvent>>(CAPACITY);
        senders.push(tx);
        consumers.push(tokio::spawn(async move {
            let mut handled = 0u64;
            if batch == 1 {
                while let Some(e) = rx.recv().await {
                    consume(&e);
                    handled += 1;
                }
            } else {
                let mut buf = Vec::with_capacity(batch);
                while rx.recv_many(&mut buf, batch).await > 0 {
                    buf.iter().for_each(|e| consume(e));
                    handled += buf.len() as u64;
                    buf.clear();
                }
            }
            handled
        }));
    }
    for i in 0..EVENTS {
        let e = Arc::new(event(i));
        for tx in &senders {
            let _ = tx.send(Arc::clone(&e)).await;
        }
    }
    drop(senders);
    for consumer in consumers {
        let handled = consumer.await.expect("consumer");
        debug_assert_eq!(handled, EVENTS);
    }
}

async fn run_broadcast(subscribers: usize, batch: usize) {
    let (tx, _) = broadcast::channel::<Arc<BenchEvent>>(CAPACITY);
    let mut consumers = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut rx = tx.subscribe();
        consumers.push(tokio::spawn(async move {
            let mut handled = 0u64;
            let mut since_yield = 0;
            loop {
                match rx.recv().await {
                    Ok(e) => {
                        consume(&e);
                        handled += 1;
                    }
                    Err(broadcast::error::RecvError::Lagged(skipped)) => handled += skipped,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
                // broadcast has no recv_many; batch 64 yields every 64 events instead.
                since_yield += 1;
                if batch > 1 && since_yield == batch {
                    since_yield = 0;
                    tokio::task::yield_now().await;
                }
            }
            handled
        }));
    }
    for i in 0..EVENTS {
        let _ = tx.send(Arc::new(event(i)));
    }
    drop(tx);
    for consumer in consumers {
        consumer.await.expect("consumer");
    }
}

fn fan_out(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("fan_out");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for subscribers in [1usize, 8] {
        for batch in [1usize, 64] {
            let setting = format!("1to{subscribers}/batch{batch}");
            bench(&mut group, &runtime, "bus", &setting, || {
                run_bus(subscribers, batch)
            });
            bench(&mut group, &runtime, "mpsc_fanout", &setting, || {
                run_mpsc_fanout(subscribers, batch)
            });
            bench(&mut group, &runtime, "broadcast", &setting, || {
                run_broadcast(subscribers, batch)
            });
        }
    }
    group.finish();
}

fn bench<F, Fut>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &Runtime,
    contender: &str,
    setting: &str,
    run: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    group.bench_function(BenchmarkId::new(contender, setting), |b| {
        b.to_async(runtime).iter(&run)
    });
}

criterion_group!(benches, fan_out);
criterion_main!(benches);
