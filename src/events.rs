//! The events of a run, published on `lhp-bus` for the hooks of admitted plugins: each hook
//! is a lossless, batched subscriber with its own queue, so a slow or failing hook neither
//! loses another's events nor fails the run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lhp_bus::{async_trait, Bus, Handler, HandlerError, Overflow, ShutdownReport, Subscription};
use lhp_plugin::{Event, EventError, Hook};

/// How long the end of a run waits for hooks to take what is queued.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(10);

struct HookHandler(Arc<dyn Hook>);

#[async_trait]
impl Handler<Event> for HookHandler {
    async fn handle(&self, events: &[Arc<Event>]) -> Result<(), HandlerError> {
        self.0.handle(events).await
    }
}

/// Publishes a run's events to its hooks; does nothing when there are none.
pub struct Events {
    live: Option<Live>,
    run_id: String,
    /// The next sequence number, held while publishing so that `seq` is publish order.
    next: Mutex<u64>,
}

struct Live {
    runtime: tokio::runtime::Runtime,
    bus: Bus<Event>,
    _subscriptions: Vec<Subscription<Event>>,
}

impl Events {
    /// Subscribes every hook (problems are returned as messages, and those hooks skipped).
    pub fn start(hooks: &[Arc<dyn Hook>]) -> (Self, Vec<String>) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let run_id = format!("{:x}-{:x}", now.as_millis(), std::process::id());
        let mut problems = Vec::new();
        let live = if hooks.is_empty() {
            None
        } else {
            match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_time()
                .build()
            {
                Ok(runtime) => {
                    let bus = Bus::new();
                    let mut subscriptions = Vec::new();
                    let _guard = runtime.enter();
                    for hook in hooks {
                        let subscribed = bus
                            .subscriber(hook.name())
                            .kinds(hook.events())
                            .map(|builder| {
                                builder
                                    .capacity(4096)
                                    .overflow(Overflow::Block)
                                    .batch(256, Duration::from_millis(50))
                            })
                            .and_then(|builder| builder.spawn(HookHandler(Arc::clone(hook))));
                        match subscribed {
                            Ok(subscription) => subscriptions.push(subscription),
                            Err(error) => problems
                                .push(format!("hook `{}` cannot subscribe: {error}", hook.name())),
                        }
                    }
                    Some(Live {
                        runtime,
                        bus,
                        _subscriptions: subscriptions,
                    })
                }
                Err(error) => {
                    problems.push(format!(
                        "hooks are off: cannot start their runtime: {error}"
                    ));
                    None
                }
            }
        };
        (
            Self {
                live,
                run_id,
                next: Mutex::new(1),
            },
            problems,
        )
    }

    /// Publishes an event of `kind`; `fill` sets its fields.
    pub fn emit(&self, kind: &str, fill: impl FnOnce(&mut Event)) {
        let Some(live) = &self.live else {
            return;
        };
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let mut event = Event::new(self.run_id.clone(), *next, kind);
        fill(&mut event);
        *next += 1;
        // Lossless: waits while a hook's queue is full.
        let _ = live.runtime.block_on(live.bus.publish(event));
    }

    /// Delivers what is queued (up to [`FLUSH_DEADLINE`]) and reports per hook.
    pub fn finish(self) -> Option<ShutdownReport> {
        let live = self.live?;
        let report = live.runtime.block_on(live.bus.shutdown(FLUSH_DEADLINE));
        live.runtime.shutdown_timeout(Duration::from_secs(1));
        Some(report)
    }
}

/// An `EventError` from a code, a message and a position.
pub fn event_error(code: &str, message: &str, location: Option<(String, u32, u32)>) -> EventError {
    let (file, line, column) = match location {
        Some((file, line, column)) => (Some(file), Some(line), Some(column)),
        None => (None, None, None),
    };
    EventError {
        code: code.to_owned(),
        message: message.to_owned(),
        file,
        line,
        column,
    }
}
