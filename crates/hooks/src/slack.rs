//! The Slack hook: messages to an incoming webhook, in Block Kit.
//!
//! - `digest` (the default): one summary when the run ends: the outcome, pipelines,
//!   flowgroups, files written, the duration, and the failures with their file:line.
//! - `immediate`: a message for each matching event (by default `*.error` and
//!   `generation.end`), at most one a second.
//!
//! A failed request is tried again (`retries`, backoff from 250 ms doubling to 4 s); a 429
//! waits as long as its `Retry-After` says; each request has a `timeout`. The webhook URL is a
//! credential and never appears in a log line, an event or an error. Its queue drops the
//! newest events when full rather than slow the run, and the end of the run waits for it at
//! most `flush_timeout`; its failure is a warning unless `required: true`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use lhp_plugin::{async_trait, Batch, Event, EventError, Hook, HookDelivery, HookError};
use serde_json::{json, Value as Json};
use tokio::time::Instant;

use crate::config::{common_hook_methods, Common, Entry, HookOptions, Problems};
use crate::http::{send, Outcome, SecretUrl};

/// When messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackMode {
    /// One summary per run.
    Digest,
    /// One message per matching event.
    Immediate,
}

/// The most failures a digest lists.
const MAX_LISTED: usize = 10;
/// The longest wait a `Retry-After` gets (the flush deadline still bounds the run's end).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The longest backoff between tries.
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// Sends run summaries or events to a Slack incoming webhook.
pub struct SlackHook {
    common: Common,
    url: SecretUrl,
    mode: SlackMode,
    timeout: Duration,
    retries: u32,
    min_interval: Duration,
    title: String,
    env: String,
    digest: Mutex<Digest>,
    /// When the last message went, for the one-a-second limit.
    last_sent: tokio::sync::Mutex<Option<Instant>>,
    sent: AtomicU64,
}

/// What a digest gathers from the run's events.
#[derive(Default)]
struct Digest {
    events: u64,
    run_id: String,
    pipelines: BTreeMap<String, bool>,
    flowgroups_ok: u64,
    flowgroups_failed: u64,
    failures: Vec<(String, EventError)>,
    written: Option<u64>,
    duration_ms: Option<f64>,
    success: Option<bool>,
    tables_changed: u64,
}

impl SlackHook {
    /// A hook posting to `url` in `mode`.
    pub fn new(url: SecretUrl, mode: SlackMode, title: &str, env: &str) -> Self {
        let delivery = HookDelivery {
            overflow: lhp_bus::Overflow::DropNewest,
            ..HookDelivery::default()
        };
        Self {
            common: Common::new("slack", default_events(mode), delivery),
            url,
            mode,
            timeout: Duration::from_secs(5),
            retries: 3,
            min_interval: Duration::from_secs(1),
            title: title.to_owned(),
            env: env.to_owned(),
            digest: Mutex::new(Digest::default()),
            last_sent: tokio::sync::Mutex::new(None),
            sent: AtomicU64::new(0),
        }
    }

    /// Per-request timeout, tries after the first, and the least time between messages.
    pub fn with_limits(mut self, timeout: Duration, retries: u32, min_interval: Duration) -> Self {
        self.timeout = timeout;
        self.retries = retries;
        self.min_interval = min_interval;
        self
    }

    /// Messages delivered so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub(crate) fn from_settings(
        entry: &Entry<'_>,
        options: &HookOptions,
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        let at = |key: &str| entry.map.and_then(|m| m.get(key)).map(|v| v.span);
        let Some(url) = problems.text(entry.map, "webhook_url") else {
            problems.error(
                entry.span,
                "`webhook_url` is required (for example `webhook_url: ${SLACK_WEBHOOK_URL}`)",
            );
            return None;
        };
        let Some(url) = SecretUrl::new(&url) else {
            // The value is a credential: it is not repeated here.
            problems.error(
                at("webhook_url"),
                "`webhook_url` must be an https:// (or http://) URL",
            );
            return None;
        };
        let mode = match problems.text(entry.map, "mode").as_deref() {
            None | Some("digest") => SlackMode::Digest,
            Some("immediate") => SlackMode::Immediate,
            Some(other) => {
                problems.error(
                    at("mode"),
                    format!("`mode` is digest or immediate, not `{other}`"),
                );
                return None;
            }
        };
        let timeout = problems
            .number(entry.map, "timeout", 1..=120)
            .map_or(Duration::from_secs(5), Duration::from_secs);
        let retries = problems
            .number(entry.map, "retries", 0..=10)
            .map_or(3, |r| r as u32);
        let min_interval = problems
            .number(entry.map, "min_interval_ms", 0..=60_000)
            .map_or(Duration::from_secs(1), Duration::from_millis);
        let title = problems
            .text(entry.map, "title")
            .unwrap_or_else(|| options.project.clone());
        let mut hook =
            Self::new(url, mode, &title, &options.env).with_limits(timeout, retries, min_interval);
        hook.common.apply(entry);
        Some(hook)
    }

    /// Posts one message, trying again as the answer allows; the error never holds the URL.
    async fn post(&self, payload: &Json) -> Result<(), String> {
        let body = payload.to_string();
        let mut last = String::new();
        for attempt in 0..=self.retries {
            {
                let mut last_sent = self.last_sent.lock().await;
                if let Some(at) = *last_sent {
                    tokio::time::sleep_until(at + self.min_interval).await;
                }
                *last_sent = Some(Instant::now());
            }
            let wait = match send(
                &self.url,
                "POST",
                "application/json",
                body.clone(),
                self.timeout,
            )
            .await
            {
                Outcome::Done => {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Outcome::Permanent(why) => {
                    return Err(format!(
                        "Slack webhook {} refused the message: {why}",
                        self.url
                    ))
                }
                Outcome::TooMany(after) => {
                    last = "HTTP 429 (rate limited)".to_owned();
                    after
                        .unwrap_or_else(|| backoff(attempt))
                        .min(MAX_RETRY_AFTER)
                }
                Outcome::Transient(why) => {
                    last = why;
                    backoff(attempt)
                }
            };
            if attempt < self.retries {
                tokio::time::sleep(wait).await;
            }
        }
        Err(format!(
            "Slack webhook {}: no delivery after {} tries; last: {last}",
            self.url,
            self.retries + 1
        ))
    }

    fn gather(&self, event: &Event) {
        let mut digest = self.digest.lock().unwrap_or_else(|e| e.into_inner());
        digest.events += 1;
        if digest.run_id.is_empty() {
            digest.run_id = event.run_id.to_string();
        }
        let number = |key: &str| event.metadata.get(key).and_then(lhp_plugin::Meta::as_u64);
        match event.kind.as_str() {
            "pipeline.end" | "pipeline.error" => {
                if let Some(pipeline) = &event.pipeline {
                    digest
                        .pipelines
                        .insert(pipeline.to_string(), event.kind == "pipeline.end");
                }
            }
            "flowgroup.end" => digest.flowgroups_ok += 1,
            "flowgroup.error" => digest.flowgroups_failed += 1,
            "table.created" | "table.updated" => digest.tables_changed += 1,
            "generation.end" => {
                digest.written = number("written");
                digest.duration_ms = event
                    .metadata
                    .get("duration_ms")
                    .and_then(lhp_plugin::Meta::as_f64);
                digest.success = event
                    .metadata
                    .get("success")
                    .and_then(lhp_plugin::Meta::as_bool);
            }
            _ => {}
        }
        if let Some(error) = &event.error {
            // The same problem comes as action.error, flowgroup.error and pipeline.error.
            let seen = digest.failures.iter().any(|(_, e)| e == error);
            if !seen {
                digest.failures.push((place(event), error.clone()));
            }
        }
    }

    fn digest_message(&self) -> Option<Json> {
        let digest = self.digest.lock().unwrap_or_else(|e| e.into_inner());
        if digest.events == 0 {
            return None;
        }
        let success = digest.success.unwrap_or(digest.failures.is_empty());
        let outcome = if success { "succeeded" } else { "failed" };
        let emoji = if success { ":white_check_mark:" } else { ":x:" };
        let header = format!("lhp: {} ({}) {outcome}", self.title, self.env);
        let failed_pipelines = digest.pipelines.values().filter(|ok| !**ok).count();
        let mut fields = vec![
            field(
                "Pipelines",
                &format!("{} ({failed_pipelines} failed)", digest.pipelines.len()),
            ),
            field(
                "Flowgroups",
                &format!(
                    "{} generated, {} failed",
                    digest.flowgroups_ok, digest.flowgroups_failed
                ),
            ),
        ];
        if let Some(written) = digest.written {
            fields.push(field("Files written", &written.to_string()));
        }
        if let Some(ms) = digest.duration_ms {
            fields.push(field("Duration", &format!("{:.2} s", ms / 1000.0)));
        }
        if digest.tables_changed > 0 {
            fields.push(field(
                "Tables new or changed",
                &digest.tables_changed.to_string(),
            ));
        }
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": header}}),
            json!({"type": "section", "fields": fields}),
        ];
        if !digest.failures.is_empty() {
            let mut lines: Vec<String> = digest
                .failures
                .iter()
                .take(MAX_LISTED)
                .map(|(place, error)| format!("• {}", failure_line(place, error)))
                .collect();
            if digest.failures.len() > MAX_LISTED {
                lines.push(format!("… and {} more", digest.failures.len() - MAX_LISTED));
            }
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
                "text": format!("*Failures*\n{}", lines.join("\n"))}}));
        }
        blocks.push(json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": format!("run `{}`", digest.run_id)}
        ]}));
        Some(json!({
            "text": format!("{emoji} {header}"),
            "blocks": blocks,
        }))
    }

    fn event_message(&self, event: &Event) -> Json {
        let emoji = if event.kind.ends_with(".error") {
            ":x:"
        } else if event.kind.ends_with(".end") {
            ":white_check_mark:"
        } else {
            ":information_source:"
        };
        let place = place(event);
        let mut text = format!("{emoji} *{}*", event.kind);
        if !place.is_empty() {
            text.push_str(&format!(" `{place}`"));
        }
        if let Some(error) = &event.error {
            text.push('\n');
            text.push_str(&failure_line("", error));
        }
        json!({
            "text": format!("{} {} {}", event.kind, place, event.error.as_ref().map(|e| e.code.as_str()).unwrap_or("")).trim().to_owned(),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "context", "elements": [{"type": "mrkdwn",
                    "text": format!("{} ({}) · run `{}` · {}", self.title, self.env, event.run_id, event.ts)}]}
            ]
        })
    }
}

/// What each mode listens to by default.
fn default_events(mode: SlackMode) -> Vec<String> {
    match mode {
        // What a summary needs: not the actions' starts and ends (half of a run's events).
        SlackMode::Digest => [
            "*.error",
            "pipeline.end",
            "flowgroup.end",
            "table.*",
            "generation.*",
        ]
        .map(str::to_owned)
        .to_vec(),
        SlackMode::Immediate => vec!["*.error".to_owned(), "generation.end".to_owned()],
    }
}

/// Backoff before try `attempt + 1`: 250 ms, doubling, at most [`MAX_BACKOFF`].
fn backoff(attempt: u32) -> Duration {
    (Duration::from_millis(250) * 2u32.saturating_pow(attempt.min(8))).min(MAX_BACKOFF)
}

fn field(name: &str, value: &str) -> Json {
    json!({"type": "mrkdwn", "text": format!("*{name}*\n{value}")})
}

/// `pipeline/flowgroup/action`, as far as the event says.
fn place(event: &Event) -> String {
    [&event.pipeline, &event.flowgroup, &event.action]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect::<Vec<_>>()
        .join("/")
}

/// `` `place` CODE message (file:line) ``.
fn failure_line(place: &str, error: &EventError) -> String {
    let mut line = String::new();
    if !place.is_empty() {
        line.push_str(&format!("`{place}` "));
    }
    line.push_str(&format!("{}: {}", error.code, error.message));
    if let (Some(file), Some(at)) = (&error.file, error.line) {
        line.push_str(&format!(" (`{file}:{at}`)"));
    }
    line
}

#[async_trait]
impl Hook for SlackHook {
    common_hook_methods!();

    async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError> {
        match self.mode {
            SlackMode::Digest => {
                for event in events {
                    self.gather(event);
                }
                Ok(())
            }
            SlackMode::Immediate => {
                let mut failed = Vec::new();
                for event in events {
                    if let Err(why) = self.post(&self.event_message(event)).await {
                        failed.push(why);
                    }
                }
                match failed.pop() {
                    None => Ok(()),
                    Some(last) => Err(last.into()),
                }
            }
        }
    }

    async fn close(&self) -> Result<(), HookError> {
        let Some(message) = (match self.mode {
            SlackMode::Digest => self.digest_message(),
            SlackMode::Immediate => None,
        }) else {
            return Ok(());
        };
        let budget = self.common.close_budget();
        match tokio::time::timeout(budget, self.post(&message)).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => Err(format!(
                "Slack webhook {}: the digest was not delivered within {budget:?}",
                self.url
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(10), MAX_BACKOFF);
    }

    #[test]
    fn a_digest_lists_each_failure_once() {
        let url = SecretUrl::new("https://hooks.example.com/services/x")
            .unwrap_or_else(|| panic!("valid"));
        let hook = SlackHook::new(url, SlackMode::Digest, "demo", "dev");
        assert!(hook.digest_message().is_none());
        let error = EventError {
            code: "LHP-GEN-002".into(),
            message: "bad".into(),
            file: Some("pipelines/a.yaml".into()),
            line: Some(4),
            column: Some(3),
        };
        for kind in ["action.error", "flowgroup.error", "pipeline.error"] {
            let mut event = Event::new("run1", 1, kind);
            event.pipeline = Some("bronze".into());
            event.flowgroup = Some("orders".into());
            event.error = Some(error.clone());
            hook.gather(&event);
        }
        let message = hook.digest_message().unwrap_or_default();
        let text = message.to_string();
        assert_eq!(text.matches("LHP-GEN-002").count(), 1, "{text}");
        assert!(text.contains("pipelines/a.yaml:4"), "{text}");
        assert!(text.contains("lhp: demo (dev) failed"), "{text}");
        assert!(!text.contains("hooks.example.com"), "{text}");
    }
}
