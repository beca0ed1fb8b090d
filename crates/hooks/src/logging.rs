//! The logging hook: each event as a log line on stderr through `tracing-subscriber`, human
//! (coloured unless `NO_COLOR`) or JSON lines (`--log-format json`).
//!
//! Each event type has a level: `*.error` error; `generation.*`, `validation.end`,
//! `pipeline.end`, `table.*` and plugin events info; `flowgroup.*`, `pipeline.start`,
//! `validation.start` debug; `action.*` trace. In human form the run's own output already
//! shows errors and a summary, so the hook is quiet until `-v` (info), `-vv` (debug),
//! `-vvv` (trace). In JSON form it starts at info; `-q` keeps errors only.

use lhp_plugin::{async_trait, Batch, Event, Hook, HookDelivery, HookError};
use tracing::Level;
use tracing_subscriber::filter::LevelFilter;

use crate::config::{common_hook_methods, Common, Entry, HookOptions, Problems};

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Writes events as log lines.
pub struct LoggingHook {
    common: Common,
    threshold: LevelFilter,
    dispatch: tracing::Dispatch,
}

/// The level of an event type.
pub fn level_of(kind: &str) -> Level {
    if kind.ends_with(".error") {
        Level::ERROR
    } else if kind.starts_with("action.") {
        Level::TRACE
    } else if kind.starts_with("flowgroup.")
        || kind == "pipeline.start"
        || kind == "validation.start"
    {
        Level::DEBUG
    } else {
        Level::INFO
    }
}

const LEVELS: [LevelFilter; 6] = [
    LevelFilter::OFF,
    LevelFilter::ERROR,
    LevelFilter::WARN,
    LevelFilter::INFO,
    LevelFilter::DEBUG,
    LevelFilter::TRACE,
];

/// The event types logged at `threshold` or above: a hook that logs only errors is not
/// handed the rest.
pub fn events_at(threshold: LevelFilter) -> Vec<String> {
    let types: &[&str] = if threshold >= LevelFilter::TRACE {
        &["*"]
    } else if threshold >= LevelFilter::DEBUG {
        &[
            "*.error",
            "generation.*",
            "validation.*",
            "pipeline.*",
            "flowgroup.*",
            "table.*",
            "plugin.*",
        ]
    } else if threshold >= LevelFilter::INFO {
        &[
            "*.error",
            "generation.*",
            "validation.end",
            "pipeline.end",
            "table.*",
            "plugin.*",
        ]
    } else {
        &["*.error"]
    };
    types.iter().map(|t| (*t).to_owned()).collect()
}

/// The threshold for a format, a configured level and the `-v`/`-q` count.
pub fn threshold(format: LogFormat, configured: Option<LevelFilter>, verbosity: i8) -> LevelFilter {
    let index = |filter: LevelFilter| LEVELS.iter().position(|l| *l == filter).unwrap_or(0);
    match (format, configured) {
        (LogFormat::Human, None) => match verbosity {
            i8::MIN..=0 => LevelFilter::OFF,
            1 => LevelFilter::INFO,
            2 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        },
        (_, configured) => {
            let base = index(configured.unwrap_or(LevelFilter::INFO)) as i16;
            // `-q` once from info leaves errors: a quiet run still shows what failed.
            let shifted = if verbosity < 0 {
                (base + 2 * i16::from(verbosity)).max(1)
            } else {
                base + i16::from(verbosity)
            };
            LEVELS[shifted.clamp(0, 5) as usize]
        }
    }
}

/// One line's text for an event: type, where, and what is worth knowing.
pub fn summary(event: &Event) -> String {
    let mut text = event.kind.to_string();
    let place: Vec<&str> = [&event.pipeline, &event.flowgroup, &event.action]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    if !place.is_empty() {
        text.push(' ');
        text.push_str(&place.join("/"));
    }
    let metadata = &event.metadata;
    let mut facts = Vec::new();
    for key in [
        "type",
        "table",
        "flowgroups",
        "generated",
        "failed",
        "written",
        "errors",
    ] {
        if let Some(value) = metadata.get(key) {
            facts.push(format!("{key} {value}"));
        }
    }
    if let Some(ms) = metadata
        .get("duration_ms")
        .and_then(lhp_plugin::Meta::as_f64)
    {
        facts.push(format!("in {ms:.1} ms"));
    }
    if !facts.is_empty() {
        text.push_str(" (");
        text.push_str(&facts.join(", "));
        text.push(')');
    }
    if let Some(error) = &event.error {
        text.push_str(&format!(": {} {}", error.code, error.message));
        if let (Some(file), Some(line)) = (&error.file, error.line) {
            text.push_str(&format!(" at {file}:{line}"));
            if let Some(column) = error.column {
                text.push_str(&format!(":{column}"));
            }
        }
    }
    text
}

impl LoggingHook {
    /// A logging hook writing to stderr, or none when its threshold lets nothing through.
    pub fn new(
        name: &str,
        events: Vec<String>,
        format: LogFormat,
        threshold: LevelFilter,
        color: bool,
    ) -> Option<Self> {
        if threshold == LevelFilter::OFF {
            return None;
        }
        let dispatch = match format {
            LogFormat::Human => tracing::Dispatch::new(
                tracing_subscriber::fmt()
                    .with_writer(std::io::stderr)
                    .with_ansi(color)
                    .with_target(false)
                    .without_time()
                    .with_max_level(threshold)
                    .finish(),
            ),
            LogFormat::Json => tracing::Dispatch::new(
                tracing_subscriber::fmt()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    .with_max_level(threshold)
                    .finish(),
            ),
        };
        Some(Self {
            common: Common::new(name, events, HookDelivery::default()),
            threshold,
            dispatch,
        })
    }

    pub(crate) fn from_settings(
        entry: &Entry<'_>,
        options: &HookOptions,
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        let format = match problems.text(entry.map, "format").as_deref() {
            None => options.log_format,
            Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(other) => {
                let at = entry.map.and_then(|m| m.get("format")).map(|v| v.span);
                problems.error(at, format!("`format` is human or json, not `{other}`"));
                return None;
            }
        };
        let configured = match problems.text(entry.map, "level") {
            None => None,
            Some(level) => match level.parse::<LevelFilter>() {
                Ok(filter) => Some(filter),
                Err(_) => {
                    let at = entry.map.and_then(|m| m.get("level")).map(|v| v.span);
                    problems.error(
                        at,
                        format!("`level` is off, error, warn, info, debug or trace, not `{level}`"),
                    );
                    return None;
                }
            },
        };
        let threshold = threshold(format, configured, options.verbosity);
        let events = if entry.events_given {
            entry.events.clone()
        } else {
            events_at(threshold)
        };
        let mut hook = Self::new(&entry.name, events, format, threshold, options.color)?;
        hook.common.apply(entry);
        Some(hook)
    }

    fn log(&self, event: &Event) {
        let level = level_of(&event.kind);
        if level > self.threshold {
            return;
        }
        let message = summary(event);
        let kind = event.kind.as_str();
        let pipeline = event.pipeline.as_deref();
        let flowgroup = event.flowgroup.as_deref();
        let action = event.action.as_deref();
        let code = event.error.as_ref().map(|e| e.code.as_str());
        let file = event.error.as_ref().and_then(|e| e.file.as_deref());
        let line = event.error.as_ref().and_then(|e| e.line);
        let (run, seq) = (event.run_id.as_str(), event.seq);
        macro_rules! at {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    r#type = kind,
                    run_id = run,
                    seq,
                    pipeline,
                    flowgroup,
                    action,
                    code,
                    file,
                    line,
                    "{message}"
                )
            };
        }
        tracing::dispatcher::with_default(&self.dispatch, || match level {
            Level::ERROR => at!(Level::ERROR),
            Level::WARN => at!(Level::WARN),
            Level::INFO => at!(Level::INFO),
            Level::DEBUG => at!(Level::DEBUG),
            _ => at!(Level::TRACE),
        });
    }
}

#[async_trait]
impl Hook for LoggingHook {
    common_hook_methods!();

    async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError> {
        for event in events {
            self.log(event);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_event_type() {
        assert_eq!(level_of("flowgroup.error"), Level::ERROR);
        assert_eq!(level_of("action.end"), Level::TRACE);
        assert_eq!(level_of("flowgroup.end"), Level::DEBUG);
        assert_eq!(level_of("table.created"), Level::INFO);
        assert_eq!(level_of("plugin.audit.flushed"), Level::INFO);
    }

    #[test]
    fn a_hook_is_handed_exactly_the_types_it_logs() {
        let types = [
            "generation.start",
            "generation.end",
            "validation.start",
            "validation.error",
            "validation.end",
            "pipeline.start",
            "pipeline.end",
            "pipeline.error",
            "flowgroup.start",
            "flowgroup.end",
            "flowgroup.error",
            "action.start",
            "action.end",
            "action.error",
            "table.created",
            "table.updated",
            "plugin.audit.done",
        ];
        for threshold in [
            LevelFilter::ERROR,
            LevelFilter::WARN,
            LevelFilter::INFO,
            LevelFilter::DEBUG,
            LevelFilter::TRACE,
        ] {
            let filter = lhp_bus::Filter::<Event>::kinds(events_at(threshold))
                .unwrap_or_else(|e| panic!("{e}"));
            for kind in types {
                let handed = filter.matches(&Event::new("r", 1, kind));
                assert_eq!(handed, level_of(kind) <= threshold, "{kind} at {threshold}");
            }
        }
    }

    #[test]
    fn verbosity_moves_the_threshold() {
        use LogFormat::{Human, Json};
        assert_eq!(threshold(Human, None, 0), LevelFilter::OFF);
        assert_eq!(threshold(Human, None, -1), LevelFilter::OFF);
        assert_eq!(threshold(Human, None, 1), LevelFilter::INFO);
        assert_eq!(threshold(Human, None, 3), LevelFilter::TRACE);
        assert_eq!(threshold(Json, None, 0), LevelFilter::INFO);
        assert_eq!(threshold(Json, None, -1), LevelFilter::ERROR);
        assert_eq!(threshold(Json, None, 2), LevelFilter::TRACE);
        assert_eq!(
            threshold(Human, Some(LevelFilter::DEBUG), 0),
            LevelFilter::DEBUG
        );
    }

    #[test]
    fn a_summary_says_where_and_what() {
        let mut event = Event::new("r", 1, "flowgroup.error");
        event.pipeline = Some("bronze".into());
        event.flowgroup = Some("orders".into());
        event.metadata.insert("duration_ms".into(), 1.34.into());
        event.error = Some(lhp_plugin::EventError {
            code: "LHP-GEN-002".into(),
            message: "no good".into(),
            file: Some("pipelines/orders.yaml".into()),
            line: Some(3),
            column: Some(5),
        });
        assert_eq!(
            summary(&event),
            "flowgroup.error bronze/orders (in 1.3 ms): LHP-GEN-002 no good at pipelines/orders.yaml:3:5"
        );
    }
}
