//! Embedding `lhp-bus` in your own program: your own event type, a filtered batched
//! subscriber, a lossy one, and a stream tailer.
//!
//! Run with `cargo run --example embed_bus`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lhp_bus::{async_trait, Batch, Bus, Event, Handler, HandlerError, Overflow};
use tokio_stream::StreamExt;

/// The embedding application's own events: a small warehouse.
#[derive(Debug)]
enum Warehouse {
    OrderPlaced { order: u32, items: u32 },
    OrderShipped { order: u32 },
    SensorReading { shelf: u32, celsius: f32 },
    PickFailed { order: u32, reason: &'static str },
}

impl Event for Warehouse {
    fn kind(&self) -> &str {
        match self {
            Self::OrderPlaced { .. } => "order.placed",
            Self::OrderShipped { .. } => "order.shipped",
            Self::SensorReading { .. } => "sensor.reading",
            Self::PickFailed { .. } => "pick.error",
        }
    }
}

/// Writes order events in batches, as a database sink would: one write per batch.
struct OrderLedger {
    writes: AtomicU64,
    rows: AtomicU64,
    items_ordered: AtomicU64,
    last_shipped: AtomicU64,
}

#[async_trait]
impl Handler<Warehouse> for OrderLedger {
    async fn handle(&self, events: &Batch<Warehouse>) -> Result<(), HandlerError> {
        // Stands in for one round trip to a database.
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.rows.fetch_add(events.len() as u64, Ordering::Relaxed);
        for event in events {
            match *event {
                Warehouse::OrderPlaced { order, items } => {
                    if items == 0 {
                        return Err(format!("order {order} has no items").into());
                    }
                    self.items_ordered
                        .fetch_add(u64::from(items), Ordering::Relaxed);
                }
                Warehouse::OrderShipped { order } => {
                    self.last_shipped
                        .fetch_max(u64::from(order), Ordering::Relaxed);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A live dashboard that only cares about the freshest readings and is allowed to miss some.
struct Dashboard {
    last_shown: std::sync::Mutex<Option<(u32, f32)>>,
}

#[async_trait]
impl Handler<Warehouse> for Dashboard {
    async fn handle(&self, events: &Batch<Warehouse>) -> Result<(), HandlerError> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        if let Some(Warehouse::SensorReading { shelf, celsius }) = events.last() {
            *self
                .last_shown
                .lock()
                .map_err(|_| "dashboard state poisoned")? = Some((*shelf, *celsius));
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bus: Bus<Warehouse> = Bus::named("warehouse");

    // Lossless and batched: every order event, up to 50 per write, at most 20 ms apart.
    let ledger = Arc::new(OrderLedger {
        writes: AtomicU64::new(0),
        rows: AtomicU64::new(0),
        items_ordered: AtomicU64::new(0),
        last_shipped: AtomicU64::new(0),
    });
    bus.subscriber("order-ledger")
        .kinds(["order.*"])?
        .capacity(256)
        .overflow(Overflow::Block)
        .batch(50, Duration::from_millis(20))
        .spawn(Arc::clone(&ledger))?;

    // Lossy: readings from hot shelves only; when it falls behind, the oldest readings go.
    let dashboard = Arc::new(Dashboard {
        last_shown: std::sync::Mutex::new(None),
    });
    bus.subscriber("dashboard")
        .kinds(["sensor.*"])?
        .filter(
            |e: &Warehouse| matches!(e, Warehouse::SensorReading { celsius, .. } if *celsius > 8.0),
        )
        .capacity(16)
        .overflow(Overflow::DropOldest)
        .spawn(Arc::clone(&dashboard))?;

    // A tailer pulling errors as a stream.
    let mut errors = bus.subscriber("error-tail").kinds(["*.error"])?.stream()?;
    let tail = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(event) = errors.next().await {
            if let Warehouse::PickFailed { order, reason } = &*event {
                lines.push(format!("order {order}: {reason}"));
            }
        }
        lines
    });

    for order in 0..1_000u32 {
        bus.publish(Warehouse::OrderPlaced {
            order,
            items: 1 + order % 5,
        })
        .await?;
        bus.publish(Warehouse::SensorReading {
            shelf: order % 40,
            celsius: 4.0 + (order % 9) as f32,
        })
        .await?;
        if order % 250 == 7 {
            bus.publish(Warehouse::PickFailed {
                order,
                reason: "shelf empty",
            })
            .await?;
        }
        bus.publish(Warehouse::OrderShipped { order }).await?;
    }

    let report = bus.shutdown(Duration::from_secs(10)).await;
    let failures = tail.await?;

    print!("{report}");
    println!(
        "ledger: {} rows in {} writes ({} items ordered, last order shipped: {}); \
         dashboard last showed (shelf, °C) {:?}; {} pick failures: {}",
        ledger.rows.load(Ordering::Relaxed),
        ledger.writes.load(Ordering::Relaxed),
        ledger.items_ordered.load(Ordering::Relaxed),
        ledger.last_shipped.load(Ordering::Relaxed),
        dashboard.last_shown.lock().map(|v| *v).unwrap_or(None),
        failures.len(),
        failures.join("; ")
    );
    let orders = report
        .subscriber("order-ledger")
        .ok_or("order-ledger missing from the report")?;
    if orders.counts.delivered != 2_000 || orders.counts.lost != 0 {
        return Err(format!("the lossless ledger lost events: {:?}", orders.counts).into());
    }
    Ok(())
}
