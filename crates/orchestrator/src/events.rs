//! The events of a run: numbered, stamped where they happen, and published on `lhp-bus` to
//! the run's hooks, each a subscriber with its own filter, queue, overflow policy and
//! batching, so that a slow or failing hook neither loses another's events nor fails the run.
//!
//! A [`Publisher`] buffers what happens before its hooks are known (loading and validating
//! come first, and a hook's settings need the environment's tokens), then publishes the
//! buffer in order when [`Publisher::attach`] starts them.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Waker};
use std::time::Duration;

use lhp_bus::{
    async_trait, Batch, Bus, Filter, Handler, HandlerError, SubscriberStats, Subscription,
};
use lhp_plugin::{Event, EventError, Hook, Sources, Span};

/// The shortest wait for hooks at the end of a run; a hook asking for longer
/// ([`lhp_plugin::HookDelivery::flush_timeout`]) gets its own.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(10);

struct HookHandler(Arc<dyn Hook>);

#[async_trait]
impl Handler<Event> for HookHandler {
    async fn handle(&self, events: &Batch<Event>) -> Result<(), HandlerError> {
        self.0.handle(events).await
    }

    async fn close(&self) -> Result<(), HandlerError> {
        self.0.close().await
    }
}

/// Numbers, stamps and publishes the events of one run.
pub struct Publisher {
    run_id: lhp_plugin::Text,
    /// False once it is known that nobody listens: `emit` then costs one load.
    on: AtomicBool,
    /// Held while publishing, so that `seq` is publish order.
    inner: Mutex<Inner>,
    /// The attached hooks' filters: events none of them takes are not made.
    filters: OnceLock<Vec<Filter<Event>>>,
}

struct Inner {
    next: u64,
    sink: Sink,
}

enum Sink {
    /// Before `attach`: events wait here.
    Buffer(Vec<Event>),
    Live(Box<Live>),
    Off,
}

struct Live {
    runtime: tokio::runtime::Runtime,
    bus: Bus<Event>,
    hooks: Vec<(String, bool)>,
    flush: Duration,
    _subscriptions: Vec<Subscription<Event>>,
}

/// How one hook fared in a run.
#[derive(Debug, Clone)]
pub struct HookReport {
    /// Its name.
    pub name: String,
    /// Whether its failure fails the run.
    pub required: bool,
    /// Its subscriber's counters and status.
    pub stats: SubscriberStats,
}

impl HookReport {
    /// True when it lost, dropped or failed to handle anything, or did not end in time.
    pub fn failed(&self) -> bool {
        let counts = &self.stats.counts;
        counts.failures > 0
            || counts.lost > 0
            || counts.dropped > 0
            || self.stats.status != lhp_bus::SubscriberStatus::Completed
    }
}

impl Default for Publisher {
    fn default() -> Self {
        Self::new()
    }
}

impl Publisher {
    /// A publisher for a new run, buffering until its hooks are attached.
    pub fn new() -> Self {
        Self::with_sink(Sink::Buffer(Vec::new()))
    }

    /// A publisher that publishes nothing (`--no-hooks`, or a library caller).
    pub fn off() -> Self {
        let publisher = Self::with_sink(Sink::Off);
        publisher.on.store(false, Ordering::Relaxed);
        publisher
    }

    fn with_sink(sink: Sink) -> Self {
        Self {
            run_id: new_run_id().into(),
            on: AtomicBool::new(true),
            inner: Mutex::new(Inner { next: 1, sink }),
            filters: OnceLock::new(),
        }
    }

    /// The run's id, in every event.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Whether events are being published (or buffered to be).
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Whether an event of `kind` would reach a hook (or be buffered for one): the cheap
    /// question to ask before making it.
    pub fn wants(&self, kind: &str) -> bool {
        self.is_on()
            && self
                .filters
                .get()
                .is_none_or(|filters| filters.iter().any(|f| f.may_pass_kind(kind)))
    }

    /// Publishes an event of `kind`; `fill` sets its fields. Waits while a lossless hook's
    /// queue is full.
    pub fn emit(&self, kind: &str, fill: impl FnOnce(&mut Event)) {
        if let Some(event) = self.make(kind, fill) {
            self.publish(vec![event]);
        }
    }

    /// Makes an event of `kind` to publish later with others ([`Publisher::publish`]), or
    /// `None` when no hook would receive it. It is stamped now, numbered when published.
    pub fn make(&self, kind: &str, fill: impl FnOnce(&mut Event)) -> Option<Event> {
        if !self.wants(kind) {
            return None;
        }
        let mut event = Event::new(self.run_id.clone(), 0, kind);
        fill(&mut event);
        Some(event)
    }

    /// Numbers `events` in order and publishes them together: one lock and one pass over
    /// the hooks' queues for a whole flowgroup rather than one per event. Waits while a
    /// lossless hook's queue is full.
    pub fn publish(&self, mut events: Vec<Event>) {
        if events.is_empty() || !self.is_on() {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(inner.sink, Sink::Off) {
            return;
        }
        for event in &mut events {
            event.seq = inner.next;
            inner.next += 1;
        }
        match &mut inner.sink {
            Sink::Buffer(buffer) => buffer.append(&mut events),
            Sink::Live(live) => {
                // Most publishes find room at once: one poll, without entering the runtime.
                // Only a closed bus refuses, and it closes only in `finish`.
                let mut publish = std::pin::pin!(live.bus.publish_many(events));
                let mut context = Context::from_waker(Waker::noop());
                if publish.as_mut().poll(&mut context).is_pending() {
                    // A lossless hook's queue is full: wait for room.
                    let _ = live.runtime.block_on(publish);
                }
            }
            Sink::Off => {}
        }
    }

    /// Starts `hooks` as subscribers and publishes what was buffered. With no hooks the
    /// buffer is dropped and later events are not made. Returns the problems (a hook that
    /// cannot subscribe is left out).
    pub fn attach(&self, hooks: &[Arc<dyn Hook>]) -> Vec<String> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let buffered = match std::mem::replace(&mut inner.sink, Sink::Off) {
            Sink::Buffer(buffered) => buffered,
            // A run without hooks (`--no-hooks`) has nothing to attach.
            Sink::Off if hooks.is_empty() => return Vec::new(),
            other => {
                inner.sink = other;
                return vec!["hooks were already attached for this run".to_owned()];
            }
        };
        let mut problems = Vec::new();
        if hooks.is_empty() {
            self.on.store(false, Ordering::Relaxed);
            return problems;
        }
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("lhp-hooks")
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                self.on.store(false, Ordering::Relaxed);
                problems.push(format!(
                    "hooks are off: cannot start their runtime: {error}"
                ));
                return problems;
            }
        };
        let bus = Bus::named("lhp-events");
        let mut subscriptions = Vec::new();
        let mut names = Vec::new();
        let mut flush = FLUSH_DEADLINE;
        let mut filters = Vec::new();
        {
            let _guard = runtime.enter();
            for hook in hooks {
                let delivery = hook.delivery();
                let subscribed = bus
                    .subscriber(hook.name())
                    .kinds(hook.events())
                    .map(|builder| {
                        builder
                            .capacity(delivery.capacity.max(1))
                            .overflow(delivery.overflow)
                            .batch(
                                delivery.batch_size.max(1),
                                delivery.batch_wait.max(Duration::from_millis(1)),
                            )
                    })
                    .and_then(|builder| builder.spawn(HookHandler(Arc::clone(hook))));
                match subscribed {
                    Ok(subscription) => {
                        if let Ok(filter) = Filter::kinds(hook.events()) {
                            filters.push(filter);
                        }
                        subscriptions.push(subscription);
                        names.push((hook.name().to_owned(), hook.required()));
                        flush = flush.max(delivery.flush_timeout);
                    }
                    Err(error) => {
                        problems.push(format!("hook `{}` cannot subscribe: {error}", hook.name()))
                    }
                }
            }
        }
        if subscriptions.is_empty() {
            self.on.store(false, Ordering::Relaxed);
            return problems;
        }
        let _ = self.filters.set(filters);
        let live = Live {
            runtime,
            bus,
            hooks: names,
            flush,
            _subscriptions: subscriptions,
        };
        if !buffered.is_empty() {
            let _ = live.runtime.block_on(live.bus.publish_many(buffered));
        }
        inner.sink = Sink::Live(Box::new(live));
        problems
    }

    /// Ends the run's publishing: hooks get what is queued and close (flush, sync, send)
    /// within their flush deadline. Returns how each hook fared (none when nobody listened).
    pub fn finish(&self) -> Vec<HookReport> {
        self.on.store(false, Ordering::Relaxed);
        let sink = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut inner.sink, Sink::Off)
        };
        let Sink::Live(live) = sink else {
            return Vec::new();
        };
        let report = live.runtime.block_on(live.bus.shutdown(live.flush));
        live.runtime.shutdown_timeout(Duration::from_secs(1));
        live.hooks
            .iter()
            .zip(report.subscribers)
            .map(|((name, required), stats)| HookReport {
                name: name.clone(),
                required: *required,
                stats,
            })
            .collect()
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        // A run that returns early still lets its hooks flush what they have.
        if matches!(
            self.inner
                .lock()
                .map(|inner| matches!(inner.sink, Sink::Live(_))),
            Ok(true)
        ) {
            let _ = self.finish();
        }
    }
}

/// A run id: the start time in milliseconds and the process id, in hex; sorts by start.
fn new_run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:011x}-{:x}", now.as_millis(), std::process::id())
}

/// An [`EventError`] for a problem at `span` (its file relative to `root`).
pub fn event_error(
    code: &str,
    message: &str,
    span: Option<Span>,
    sources: &Sources,
    root: &Path,
) -> EventError {
    let (file, line, column) = match span {
        Some(span) => {
            let path = sources.path(span.file);
            let relative = path.strip_prefix(root).unwrap_or(path);
            (
                Some(relative.display().to_string()),
                Some(span.line),
                Some(span.column),
            )
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use lhp_plugin::HookError;

    struct Collect(Arc<Mutex<Vec<(u64, String)>>>);

    #[async_trait]
    impl Hook for Collect {
        fn name(&self) -> &str {
            "collect"
        }
        fn events(&self) -> Vec<String> {
            vec!["*".into()]
        }
        async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError> {
            let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
            seen.extend(events.iter().map(|e| (e.seq, e.kind.to_string())));
            Ok(())
        }
    }

    #[test]
    fn buffered_events_go_first_and_seq_has_no_gaps() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let publisher = Publisher::new();
        publisher.emit("validation.start", |_| {});
        publisher.emit("validation.end", |_| {});
        let hook: Arc<dyn Hook> = Arc::new(Collect(Arc::clone(&seen)));
        assert!(publisher.attach(&[hook]).is_empty());
        publisher.emit("generation.end", |e| e.pipeline = Some("p".into()));
        let reports = publisher.finish();
        assert_eq!(reports.len(), 1);
        assert!(!reports[0].failed(), "{:?}", reports[0]);
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(
            seen,
            vec![
                (1, "validation.start".to_owned()),
                (2, "validation.end".to_owned()),
                (3, "generation.end".to_owned())
            ]
        );
    }

    /// A hook taking only the kinds it is given.
    struct Only(Vec<String>, Arc<Mutex<Vec<(u64, String)>>>);

    #[async_trait]
    impl Hook for Only {
        fn name(&self) -> &str {
            "only"
        }
        fn events(&self) -> Vec<String> {
            self.0.clone()
        }
        async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError> {
            let mut seen = self.1.lock().unwrap_or_else(|e| e.into_inner());
            seen.extend(events.iter().map(|e| (e.seq, e.kind.to_string())));
            Ok(())
        }
    }

    #[test]
    fn batches_are_numbered_in_order_and_unwanted_kinds_are_not_made() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let publisher = Publisher::new();
        // Before hooks attach every kind is wanted: it is buffered for whoever comes.
        assert!(publisher.wants("action.start"));
        let hook: Arc<dyn Hook> = Arc::new(Only(
            vec!["flowgroup.*".into(), "*.error".into()],
            Arc::clone(&seen),
        ));
        assert!(publisher.attach(&[hook]).is_empty());
        assert!(publisher.wants("flowgroup.start"));
        assert!(publisher.wants("action.error"));
        assert!(!publisher.wants("action.start"));
        assert!(publisher.make("action.start", |_| {}).is_none());
        let batch: Vec<Event> = ["flowgroup.start", "action.error", "flowgroup.end"]
            .into_iter()
            .filter_map(|kind| publisher.make(kind, |_| {}))
            .collect();
        publisher.publish(batch);
        publisher.emit("flowgroup.start", |_| {});
        publisher.publish(Vec::new());
        assert!(publisher.finish().iter().all(|r| !r.failed()));
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(
            seen,
            vec![
                (1, "flowgroup.start".to_owned()),
                (2, "action.error".to_owned()),
                (3, "flowgroup.end".to_owned()),
                (4, "flowgroup.start".to_owned())
            ]
        );
    }

    #[test]
    fn without_hooks_nothing_is_kept() {
        let publisher = Publisher::new();
        publisher.emit("validation.start", |_| {});
        assert!(publisher.attach(&[]).is_empty());
        assert!(!publisher.is_on());
        publisher.emit("generation.end", |_| {});
        assert!(publisher.finish().is_empty());
        assert!(!Publisher::off().is_on());
    }
}
