//! The `hooks:` section of `lhp.yaml`, read into hooks: each entry names a hook (its `type`
//! defaults to its name) with the settings every hook shares (`enabled`, `events`, its queue)
//! and its own.
//!
//! The embedded default turns the event log and the logging hook on; an entry of the same
//! name changes their settings, `enabled: false` turns one off.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lhp_bus::Overflow;
use lhp_plugin::{Hook, HookDelivery, Map, Span, Value, ValueKind};

use crate::logging::{LogFormat, LoggingHook};

/// The hooks every run has unless `lhp.yaml` turns them off (in this order).
pub const DEFAULT_HOOKS: [&str; 2] = ["event_log", "logging"];

/// The built-in hook types.
pub const HOOK_TYPES: [&str; 5] = ["logging", "metrics", "slack", "event_log", "command"];

/// Settings every hook takes.
const COMMON_KEYS: [&str; 10] = [
    "type",
    "enabled",
    "events",
    "required",
    "capacity",
    "overflow",
    "batch_size",
    "batch_wait_ms",
    "flush_timeout",
    "description",
];

/// A problem with a hook's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookProblem {
    /// Errors fail the run; warnings turn only that hook off.
    pub error: bool,
    /// A stable code (`LHP-HOOK-003`).
    pub code: &'static str,
    /// What is wrong; never the value of a secret setting.
    pub message: String,
    /// Where in `lhp.yaml`.
    pub span: Option<Span>,
    /// What to do about it.
    pub hint: Option<String>,
}

/// What the run tells the hooks it builds.
#[derive(Debug, Clone)]
pub struct HookOptions {
    /// The project root: relative paths in settings start there.
    pub root: PathBuf,
    /// The project's name, for messages.
    pub project: String,
    /// The environment generated.
    pub env: String,
    /// `-v` count minus `-q` count.
    pub verbosity: i8,
    /// `--log-format`.
    pub log_format: LogFormat,
    /// Whether stderr takes colours.
    pub color: bool,
    /// Hooks turned off (`--hook NAME=off`).
    pub off: Vec<String>,
    /// Hooks turned on though their settings say `enabled: false` (`--hook NAME=on`).
    pub on: Vec<String>,
}

/// What every built-in hook has: its name, the events it takes, its queue, and whether the
/// run fails with it.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) name: String,
    pub(crate) events: Vec<String>,
    pub(crate) delivery: HookDelivery,
    pub(crate) required: bool,
}

impl Common {
    /// A hook named `name` taking `events` through `delivery`, not required.
    pub(crate) fn new(name: &str, events: Vec<String>, delivery: HookDelivery) -> Self {
        Self {
            name: name.to_owned(),
            events,
            delivery,
            required: false,
        }
    }

    /// How long `close` may take: the flush deadline, less a little for the bus to take
    /// the report.
    pub(crate) fn close_budget(&self) -> Duration {
        self.delivery
            .flush_timeout
            .saturating_sub(Duration::from_millis(250))
    }

    /// Takes an entry's shared settings; its `events` only when it gives them, so that the
    /// hook's own default stays.
    pub(crate) fn apply(&mut self, entry: &Entry<'_>) {
        self.name.clone_from(&entry.name);
        if entry.events_given {
            self.events.clone_from(&entry.events);
        }
        self.delivery = entry.delivery;
        self.required = entry.required;
    }
}

/// The [`lhp_plugin::Hook`] methods every built-in hook answers from its `common` field.
macro_rules! common_hook_methods {
    () => {
        fn name(&self) -> &str {
            &self.common.name
        }

        fn events(&self) -> Vec<String> {
            self.common.events.clone()
        }

        fn delivery(&self) -> lhp_plugin::HookDelivery {
            self.common.delivery
        }

        fn required(&self) -> bool {
            self.common.required
        }
    };
}
pub(crate) use common_hook_methods;

/// One hook's entry, after the common settings were read.
pub(crate) struct Entry<'a> {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) map: Option<&'a Map>,
    pub(crate) span: Option<Span>,
    pub(crate) enabled: bool,
    /// The hook's `events`, or every event when not given.
    pub(crate) events: Vec<String>,
    pub(crate) events_given: bool,
    pub(crate) required: bool,
    pub(crate) delivery: HookDelivery,
}

/// Collects an entry's problems, each with its position.
pub(crate) struct Problems<'a> {
    pub(crate) name: &'a str,
    pub(crate) list: &'a mut Vec<HookProblem>,
}

impl Problems<'_> {
    /// An error at `span`.
    pub(crate) fn error(&mut self, span: Option<Span>, message: impl Into<String>) {
        self.list.push(HookProblem {
            error: true,
            code: "LHP-HOOK-003",
            message: format!("hooks.{}: {}", self.name, message.into()),
            span,
            hint: None,
        });
    }

    /// Reads an optional string.
    pub(crate) fn text(&mut self, map: Option<&Map>, key: &str) -> Option<String> {
        let value = map?.get(key).filter(|v| !v.is_null())?;
        match &value.kind {
            ValueKind::String(s) => Some(s.clone()),
            ValueKind::Int(i) => Some(i.to_string()),
            _ => {
                self.error(Some(value.span), format!("`{key}` must be text"));
                None
            }
        }
    }

    /// Reads an optional whole number within `range`.
    pub(crate) fn number(
        &mut self,
        map: Option<&Map>,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Option<u64> {
        let value = map?.get(key).filter(|v| !v.is_null())?;
        let number = match &value.kind {
            ValueKind::Int(i) => u64::try_from(*i).ok(),
            ValueKind::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match number.filter(|n| range.contains(n)) {
            Some(n) => Some(n),
            None => {
                self.error(
                    Some(value.span),
                    format!(
                        "`{key}` must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// Reads an optional `true`/`false`.
    pub(crate) fn flag(&mut self, map: Option<&Map>, key: &str) -> Option<bool> {
        let value = map?.get(key).filter(|v| !v.is_null())?;
        match &value.kind {
            ValueKind::Bool(b) => Some(*b),
            ValueKind::String(s) if s == "true" || s == "false" => Some(s == "true"),
            _ => {
                self.error(Some(value.span), format!("`{key}` must be true or false"));
                None
            }
        }
    }

    /// Reads an optional list of strings (a single string is a list of one).
    pub(crate) fn list(&mut self, map: Option<&Map>, key: &str) -> Option<Vec<String>> {
        let value = map?.get(key).filter(|v| !v.is_null())?;
        match &value.kind {
            ValueKind::String(s) => Some(vec![s.clone()]),
            ValueKind::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(s) => out.push(s.to_owned()),
                        None => self.error(Some(item.span), format!("`{key}` lists text")),
                    }
                }
                Some(out)
            }
            _ => {
                self.error(Some(value.span), format!("`{key}` must be a list of text"));
                None
            }
        }
    }

    /// Refuses keys other than the common ones and `own`.
    pub(crate) fn known_keys(&mut self, map: Option<&Map>, own: &[&str]) {
        let Some(map) = map else { return };
        for (key, _) in map.entries() {
            let Some(name) = key.as_str() else { continue };
            if COMMON_KEYS.contains(&name) || own.contains(&name) {
                continue;
            }
            let known: Vec<&str> = COMMON_KEYS.iter().chain(own).copied().collect();
            let mut problem = HookProblem {
                error: true,
                code: "LHP-HOOK-003",
                message: format!("hooks.{}: no setting `{name}`", self.name),
                span: Some(key.span),
                hint: None,
            };
            if let Some(guess) = closest(name, &known) {
                problem.hint = Some(format!("did you mean `{guess}`?"));
            } else {
                problem.hint = Some(format!("the settings are: {}", known.join(", ")));
            }
            self.list.push(problem);
        }
    }
}

/// The known word nearest to `word`, if it is a likely typo.
fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(1))
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Builds the hooks `section` (the `hooks:` value of `lhp.yaml`, tokens and `${ENV}`
/// resolved) describes, on top of the embedded default. Entries with errors are left out.
pub fn build_hooks(
    section: Option<&Value>,
    options: &HookOptions,
) -> (Vec<Arc<dyn Hook>>, Vec<HookProblem>) {
    let mut problems = Vec::new();
    let mut entries: Vec<(String, Option<&Value>, Option<Span>)> = DEFAULT_HOOKS
        .iter()
        .map(|name| ((*name).to_owned(), None, None))
        .collect();
    if let Some(section) = section.filter(|s| !s.is_null()) {
        match section.as_map() {
            Some(map) => {
                for (key, value) in map.entries() {
                    let Some(name) = key.as_str() else {
                        problems.push(HookProblem {
                            error: true,
                            code: "LHP-HOOK-003",
                            message: "hook names are text".to_owned(),
                            span: Some(key.span),
                            hint: None,
                        });
                        continue;
                    };
                    match entries.iter_mut().find(|(n, _, _)| n == name) {
                        Some(entry) => {
                            entry.1 = Some(value);
                            entry.2 = Some(key.span);
                        }
                        None => entries.push((name.to_owned(), Some(value), Some(key.span))),
                    }
                }
            }
            None => problems.push(HookProblem {
                error: true,
                code: "LHP-HOOK-003",
                message: "`hooks` maps hook names to their settings".to_owned(),
                span: Some(section.span),
                hint: Some(
                    "for example `hooks: {slack: {webhook_url: ${SLACK_WEBHOOK_URL}}}`".to_owned(),
                ),
            }),
        }
    }
    // `--hook metrics=on` with no entry: the hook with its defaults.
    for name in &options.on {
        if HOOK_TYPES.contains(&name.as_str()) && !entries.iter().any(|(n, _, _)| n == name) {
            entries.push((name.clone(), None, None));
        }
    }
    let mut hooks: Vec<Arc<dyn Hook>> = Vec::new();
    for (name, value, span) in entries {
        let before = problems.len();
        let Some(entry) = read_entry(&name, value, span, &mut problems) else {
            continue;
        };
        let turned_on = options.on.contains(&name);
        if options.off.contains(&name) || (!entry.enabled && !turned_on) {
            continue;
        }
        let built = build_one(&entry, options, &mut problems);
        if problems[before..].iter().any(|p| p.error) {
            continue;
        }
        if let Some(hook) = built {
            hooks.push(hook);
        }
    }
    (hooks, problems)
}

/// Reads the settings every hook shares.
fn read_entry<'a>(
    name: &str,
    value: Option<&'a Value>,
    span: Option<Span>,
    problems: &mut Vec<HookProblem>,
) -> Option<Entry<'a>> {
    let map = match value {
        None => None,
        Some(v) if v.is_null() => None,
        Some(v) => match &v.kind {
            ValueKind::Map(map) => Some(map),
            // `slack: false` / `slack: true`.
            ValueKind::Bool(_) => None,
            _ => {
                problems.push(HookProblem {
                    error: true,
                    code: "LHP-HOOK-003",
                    message: format!("hooks.{name} must be a mapping of settings"),
                    span: Some(v.span),
                    hint: None,
                });
                return None;
            }
        },
    };
    let mut p = Problems {
        name,
        list: problems,
    };
    let kind = p.text(map, "type").unwrap_or_else(|| name.to_owned());
    if !HOOK_TYPES.contains(&kind.as_str()) {
        let at = map.and_then(|m| m.get("type")).map(|v| v.span).or(span);
        let message = if map.is_some_and(|m| m.contains_key("type")) {
            format!("no hook type `{kind}`")
        } else {
            format!("`{name}` is not a hook type; give the hook a `type`")
        };
        p.list.push(HookProblem {
            error: true,
            code: "LHP-HOOK-003",
            message: format!("hooks.{name}: {message}"),
            span: at,
            hint: Some(format!("the hook types are: {}", HOOK_TYPES.join(", "))),
        });
        return None;
    }
    let defaults = default_delivery(&kind);
    let mut delivery = defaults;
    if let Some(capacity) = p.number(map, "capacity", 1..=1_000_000) {
        delivery.capacity = capacity as usize;
    }
    if let Some(size) = p.number(map, "batch_size", 1..=100_000) {
        delivery.batch_size = size as usize;
    }
    if let Some(wait) = p.number(map, "batch_wait_ms", 1..=60_000) {
        delivery.batch_wait = Duration::from_millis(wait);
    }
    if let Some(seconds) = p.number(map, "flush_timeout", 1..=3_600) {
        delivery.flush_timeout = Duration::from_secs(seconds);
    }
    if let Some(overflow) = p.text(map, "overflow") {
        delivery.overflow = match overflow.as_str() {
            "block" => Overflow::Block,
            "drop_newest" => Overflow::DropNewest,
            "drop_oldest" => Overflow::DropOldest,
            _ => {
                let at = map.and_then(|m| m.get("overflow")).map(|v| v.span);
                p.error(
                    at,
                    format!("`overflow` is block, drop_newest or drop_oldest, not `{overflow}`"),
                );
                delivery.overflow
            }
        };
    }
    let given = p.list(map, "events");
    let events_at = map.and_then(|m| m.get("events")).map(|v| v.span);
    if let Some(events) = &given {
        if events.is_empty() {
            p.error(
                events_at,
                "`events` lists at least one event type (`*` for all; `enabled: false` turns the hook off)",
            );
        } else if let Err(error) = lhp_bus::Filter::<lhp_plugin::Event>::kinds(events) {
            p.error(events_at, format!("`events`: {error}"));
        }
    }
    let events_given = given.as_ref().is_some_and(|e| !e.is_empty());
    let events = given
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| vec!["*".to_owned()]);
    let required = p.flag(map, "required").unwrap_or(false);
    let enabled = match value.map(|v| &v.kind) {
        Some(ValueKind::Bool(on)) => *on,
        _ => p.flag(map, "enabled").unwrap_or(true),
    };
    Some(Entry {
        enabled,
        events_given,
        name: name.to_owned(),
        kind,
        map,
        span,
        events,
        required,
        delivery,
    })
}

/// Each type's queue: lossless where losing an event loses data (log, metrics, command),
/// bounded loss where a slow peer must not slow the run (Slack).
fn default_delivery(kind: &str) -> HookDelivery {
    let mut delivery = HookDelivery::default();
    if kind == "slack" {
        delivery.overflow = Overflow::DropNewest;
    }
    delivery
}

fn build_one(
    entry: &Entry<'_>,
    options: &HookOptions,
    problems: &mut Vec<HookProblem>,
) -> Option<Arc<dyn Hook>> {
    let mut p = Problems {
        name: &entry.name,
        list: problems,
    };
    match entry.kind.as_str() {
        "logging" => {
            p.known_keys(entry.map, &["level", "format"]);
            LoggingHook::from_settings(entry, options, &mut p).map(|h| Arc::new(h) as Arc<dyn Hook>)
        }
        "event_log" => {
            p.known_keys(entry.map, &["path", "max_bytes", "keep"]);
            crate::event_log::EventLogHook::from_settings(entry, options, &mut p)
                .map(|h| Arc::new(h) as Arc<dyn Hook>)
        }
        "metrics" => {
            p.known_keys(entry.map, &["path", "pushgateway", "job", "timeout"]);
            crate::metrics::MetricsHook::from_settings(entry, options, &mut p)
                .map(|h| Arc::new(h) as Arc<dyn Hook>)
        }
        "slack" => {
            p.known_keys(
                entry.map,
                &[
                    "webhook_url",
                    "mode",
                    "timeout",
                    "retries",
                    "min_interval_ms",
                    "title",
                ],
            );
            crate::slack::SlackHook::from_settings(entry, options, &mut p)
                .map(|h| Arc::new(h) as Arc<dyn Hook>)
        }
        "command" => {
            p.known_keys(entry.map, &["command"]);
            crate::command::CommandHook::from_settings(entry, options, &mut p)
                .map(|h| Arc::new(h) as Arc<dyn Hook>)
        }
        _ => None,
    }
}

/// A size in bytes: a number, or text with a unit (`10MiB`, `500KB`, `1G`).
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("10MiB"), Some(10 << 20));
        assert_eq!(parse_size("5 MB"), Some(5_000_000));
        assert_eq!(parse_size("5 parsecs"), None);
        assert_eq!(parse_size("99999999999999999999"), None);
    }

    #[test]
    fn typos_get_a_guess() {
        assert_eq!(
            closest("webhok_url", &["webhook_url", "mode"]),
            Some("webhook_url")
        );
        assert_eq!(closest("zzz", &["webhook_url", "mode"]), None);
    }
}
