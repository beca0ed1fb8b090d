//! Throughput of the bus against hand-written tokio baselines.
//!
//! Every measured iteration publishes `EVENTS` events of about 100 bytes from one publisher
//! to 1 or 8 consumers and waits until every consumer has handled every event. Compared:
//!
//! - `bus`: [`lhp_bus::Bus`] with `block` subscribers of capacity `CAPACITY`. Batch 1:
//!   `publish` per event, handlers called per event. Batch 64: `publish_many` of 64 events,
//!   handlers called with up to 64;
//! - `mpsc_fanout`: one `tokio::sync::mpsc` channel of the same capacity per consumer, the
//!   publisher sending an `Arc` clone to each in turn. Batch 1: `send` and `recv`. Batch 64:
//!   `reserve_many(64)` then 64 sends, and `recv_many(64)`;
//! - `broadcast`: one `tokio::sync::broadcast` channel of the same capacity. It never applies
//!   backpressure: a consumer that falls behind skips events (counted as lag), so it does less
//!   work than the lossless two and only bounds what is possible. It has no batched send or
//!   receive; at batch 64 its consumers yield every 64 events.
//!
//! Two kinds of consumer work, the same for every contender:
//!
//! - `fan_out`: a no-op per event (reads one byte). Shows the machinery's own cost.
//! - `sink`: each call appends its events as lines to a file of its own in the temporary
//!   directory with one `write(2)`, the shape of the event-log hook (`.lhp/events.jsonl`).
//!   Shows what batching is for: the per-call cost.
//!
//! Run with `cargo bench -p lhp-bus`; results are in `benches/README.md` at the workspace root.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lhp_bus::{handler_fn, Batch, Bus, Event, Overflow};
use tokio::runtime::Runtime;
use tokio::sync::{broadcast, mpsc};

/// Every contender allocates on the publisher's thread what a consumer frees (an `Arc` per
/// event for the tokio channels and for the bus at batch 1, one segment per `publish_many`
/// for the bus at batch 64); glibc's allocator serialises that hand-over on an arena lock and
/// then dominates every profile. A binary that cares about this picks an allocator built for it,
/// so the bench does too (the same one for all three contenders).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// What a consumer does with each call's events.
#[derive(Clone, Copy)]
enum Work {
    /// Read a byte of each event.
    Noop,
    /// Append the events as lines to a file of its own, in one system call.
    Sink,
}

/// A consumer's state: the file it appends to, if any.
struct Consumer {
    work: Work,
    sink: Option<Sink>,
}

/// A file in the temporary directory, removed when the consumer goes.
struct Sink {
    path: PathBuf,
    file: File,
    lines: Vec<u8>,
}

static SINK_FILES: AtomicU64 = AtomicU64::new(0);

impl Consumer {
    fn new(work: Work) -> Self {
        let sink = match work {
            Work::Noop => None,
            Work::Sink => {
                let n = SINK_FILES.fetch_add(1, Ordering::Relaxed);
                let path = std::env::temp_dir()
                    .join(format!("lhp-bus-bench-{}-{n}.jsonl", std::process::id()));
                let file = File::create(&path).expect("a temporary file opens");
                Some(Sink {
                    path,
                    file,
                    lines: Vec::with_capacity(64 * 96),
                })
            }
        };
        Self { work, sink }
    }

    /// Handles one call's worth of events, the same way in every contender.
    fn consume<'a>(&mut self, events: impl Iterator<Item = &'a BenchEvent>) {
        match (self.work, &mut self.sink) {
            (Work::Sink, Some(sink)) => {
                sink.lines.clear();
                for event in events {
                    sink.lines.extend_from_slice(event.kind.as_bytes());
                    sink.lines.push(b' ');
                    sink.lines.extend_from_slice(&event.payload);
                    sink.lines.push(b'\n');
                }
                sink.file
                    .write_all(&sink.lines)
                    .expect("append to the sink file");
            }
            _ => events.for_each(|event| {
                black_box(event.payload[0]);
            }),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn run_bus(subscribers: usize, batch: usize, work: Work) {
    let bus: Bus<BenchEvent> = Bus::new();
    for i in 0..subscribers {
        bus.subscriber(format!("s{i}"))
            .capacity(CAPACITY)
            .overflow(Overflow::Block)
            .batch(batch, Duration::from_millis(5))
            .spawn({
                let consumer = Mutex::new(Consumer::new(work));
                handler_fn(move |events: &Batch<BenchEvent>| {
                    let mut consumer = consumer.lock().map_err(|_| "poisoned")?;
                    consumer.consume(events.iter());
                    Ok(())
                })
            })
            .expect("subscribe");
    }
    if batch == 1 {
        for i in 0..EVENTS {
            let _ = bus.publish(event(i)).await;
        }
    } else {
        for start in (0..EVENTS).step_by(batch) {
            let end = (start + batch as u64).min(EVENTS);
            let _ = bus.publish_many((start..end).map(event)).await;
        }
    }
    let report = bus.shutdown(Duration::from_secs(60)).await;
    debug_assert!(report
        .subscribers
        .iter()
        .all(|s| s.counts.delivered == EVENTS));
}

async fn run_mpsc_fanout(subscribers: usize, batch: usize, work: Work) {
    let mut senders = Vec::with_capacity(subscribers);
    let mut consumers = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let (tx, mut rx) = mpsc::channel::<Arc<BenchEvent>>(CAPACITY);
        senders.push(tx);
        consumers.push(tokio::spawn(async move {
            let mut consumer = Consumer::new(work);
            let mut handled = 0u64;
            if batch == 1 {
                while let Some(e) = rx.recv().await {
                    consumer.consume(std::iter::once(&*e));
                    handled += 1;
                }
            } else {
                let mut buf = Vec::with_capacity(batch);
                while rx.recv_many(&mut buf, batch).await > 0 {
                    consumer.consume(buf.iter().map(|e| &**e));
                    handled += buf.len() as u64;
                    buf.clear();
                }
            }
            handled
        }));
    }
    if batch == 1 {
        for i in 0..EVENTS {
            let e = Arc::new(event(i));
            for tx in &senders {
                let _ = tx.send(Arc::clone(&e)).await;
            }
        }
    } else {
        for start in (0..EVENTS).step_by(batch) {
            let end = (start + batch as u64).min(EVENTS);
            let events: Vec<Arc<BenchEvent>> = (start..end).map(|i| Arc::new(event(i))).collect();
            for tx in &senders {
                if let Ok(permits) = tx.reserve_many(events.len()).await {
                    for (permit, e) in permits.zip(&events) {
                        permit.send(Arc::clone(e));
                    }
                }
            }
        }
    }
    drop(senders);
    for consumer in consumers {
        let handled = consumer.await.expect("consumer");
        debug_assert_eq!(handled, EVENTS);
    }
}

async fn run_broadcast(subscribers: usize, batch: usize, work: Work) {
    let (tx, _) = broadcast::channel::<Arc<BenchEvent>>(CAPACITY);
    let mut consumers = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut rx = tx.subscribe();
        consumers.push(tokio::spawn(async move {
            let mut consumer = Consumer::new(work);
            let mut handled = 0u64;
            let mut since_yield = 0;
            loop {
                match rx.recv().await {
                    Ok(e) => {
                        consumer.consume(std::iter::once(&*e));
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
    contest(c, "fan_out", Work::Noop);
}

fn sink(c: &mut Criterion) {
    contest(c, "sink", Work::Sink);
}

fn contest(c: &mut Criterion, group_name: &str, work: Work) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for subscribers in [1usize, 8] {
        for batch in [1usize, 64] {
            let setting = format!("1to{subscribers}/batch{batch}");
            bench(&mut group, &runtime, "bus", &setting, || {
                run_bus(subscribers, batch, work)
            });
            bench(&mut group, &runtime, "mpsc_fanout", &setting, || {
                run_mpsc_fanout(subscribers, batch, work)
            });
            bench(&mut group, &runtime, "broadcast", &setting, || {
                run_broadcast(subscribers, batch, work)
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

criterion_group!(benches, fan_out, sink);
criterion_main!(benches);
