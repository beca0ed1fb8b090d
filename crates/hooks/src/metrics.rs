//! The metrics hook: counters and histograms of the run through the `metrics` facade, into a
//! Prometheus recorder of its own (`prometheus.rs`); at the end of the run the text
//! exposition is written to a file (the node exporter's textfile-collector convention:
//! written aside, then renamed) and, when a Pushgateway URL is set, pushed there.
//!
//! What it records: `lhp_events_total{type}`, `lhp_actions_total{kind,type,outcome}`,
//! `lhp_action_duration_seconds{kind,type}`, `lhp_flowgroups_total{pipeline,outcome}`,
//! `lhp_flowgroup_duration_seconds{pipeline}`, `lhp_pipeline_duration_seconds{pipeline}`,
//! `lhp_errors_total{code}` (each problem once, from `validation.error`, `flowgroup.error` or
//! `generation.end`), `lhp_tables_changed_total{change}`, `lhp_files_written_total`,
//! `lhp_run_duration_seconds`, `lhp_run_success` and `lhp_run_timestamp_seconds`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use lhp_plugin::{async_trait, Batch, Event, Hook, HookDelivery, HookError};
use metrics::{Counter, Histogram};

use crate::config::{common_hook_methods, Common, Entry, HookOptions, Problems};
use crate::http::{send, Outcome, SecretUrl};
use crate::prometheus::Prometheus;

/// The default file, under the project root.
pub const DEFAULT_PATH: &str = ".lhp/metrics.prom";

/// Histogram buckets, in seconds: from half a millisecond to a minute.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 10.0, 60.0,
];

/// Counts what a run did and exposes it for Prometheus.
pub struct MetricsHook {
    common: Common,
    path: PathBuf,
    pushgateway: Option<(SecretUrl, String)>,
    timeout: Duration,
    recorder: Prometheus,
    /// Handles by label values, registered once: a run has thousands of events and a few
    /// dozen label sets.
    handles: Mutex<Handles>,
}

/// The metrics of one label set, by its labels.
#[derive(Default)]
struct Handles {
    events: HashMap<String, Counter>,
    /// By action kind and type: a few dozen at most, searched without allocating a key.
    actions: Vec<(String, String, ActionHandles)>,
    flowgroups: HashMap<String, FlowgroupHandles>,
}

struct ActionHandles {
    ok: Counter,
    error: Counter,
    seconds: Histogram,
}

struct FlowgroupHandles {
    ok: Counter,
    error: Counter,
    seconds: Histogram,
}

impl MetricsHook {
    /// A hook writing to `path`, and pushing to `pushgateway` (URL, job) when given.
    pub fn new(path: PathBuf, pushgateway: Option<(SecretUrl, String)>, timeout: Duration) -> Self {
        Self {
            common: Common::new("metrics", vec!["*".to_owned()], HookDelivery::default()),
            path,
            pushgateway,
            timeout,
            recorder: Prometheus::new(&BUCKETS),
            handles: Mutex::new(Handles::default()),
        }
    }

    pub(crate) fn from_settings(
        entry: &Entry<'_>,
        options: &HookOptions,
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        let path = problems
            .text(entry.map, "path")
            .unwrap_or_else(|| DEFAULT_PATH.to_owned());
        let job = problems
            .text(entry.map, "job")
            .unwrap_or_else(|| "lhp".to_owned());
        if job.is_empty() || job.contains(['/', '?', '#', ' ']) {
            let at = entry.map.and_then(|m| m.get("job")).map(|v| v.span);
            problems.error(at, "`job` is a name without `/`, `?`, `#` or spaces");
            return None;
        }
        let pushgateway = match problems.text(entry.map, "pushgateway") {
            None => None,
            Some(url) if url.is_empty() => None,
            Some(url) => match SecretUrl::new(&url) {
                Some(url) => Some((url, job)),
                None => {
                    let at = entry.map.and_then(|m| m.get("pushgateway")).map(|v| v.span);
                    problems.error(at, "`pushgateway` must be an http:// or https:// URL");
                    return None;
                }
            },
        };
        let timeout = problems
            .number(entry.map, "timeout", 1..=300)
            .map_or(Duration::from_secs(5), Duration::from_secs);
        let mut hook = Self::new(options.root.join(path), pushgateway, timeout);
        hook.common.apply(entry);
        Some(hook)
    }

    /// The Prometheus text exposition of what was recorded so far, metric families in name
    /// order and series in label order.
    pub fn render(&self) -> String {
        self.recorder.render()
    }

    fn record(&self, event: &Event, handles: &mut Handles) {
        let text = |key: &str| {
            event
                .metadata
                .get(key)
                .and_then(lhp_plugin::Meta::as_str)
                .unwrap_or("")
        };
        let seconds = event
            .metadata
            .get("duration_ms")
            .and_then(lhp_plugin::Meta::as_f64)
            .map(|ms| ms / 1000.0);
        let pipeline = event.pipeline.as_deref().unwrap_or("");
        match handles.events.get(event.kind.as_str()) {
            Some(counter) => counter.increment(1),
            None => {
                let counter =
                    metrics::counter!("lhp_events_total", "type" => event.kind.to_string());
                counter.increment(1);
                handles.events.insert(event.kind.to_string(), counter);
            }
        }
        // One problem is reported by its action, its flowgroup and its pipeline: counted once.
        if let Some(error) = event.error.as_ref().filter(|_| {
            matches!(
                event.kind.as_str(),
                "validation.error" | "flowgroup.error" | "generation.end"
            )
        }) {
            metrics::counter!("lhp_errors_total", "code" => error.code.clone()).increment(1);
        }
        match event.kind.as_str() {
            "action.end" | "action.error" => {
                let (kind, subtype) = (text("kind"), text("type"));
                let at = match handles
                    .actions
                    .iter()
                    .position(|(k, t, _)| k == kind && t == subtype)
                {
                    Some(at) => at,
                    None => {
                        let (kind, subtype) = (kind.to_owned(), subtype.to_owned());
                        let made = ActionHandles {
                            ok: metrics::counter!("lhp_actions_total", "kind" => kind.clone(), "type" => subtype.clone(), "outcome" => "ok"),
                            error: metrics::counter!("lhp_actions_total", "kind" => kind.clone(), "type" => subtype.clone(), "outcome" => "error"),
                            seconds: metrics::histogram!("lhp_action_duration_seconds", "kind" => kind.clone(), "type" => subtype.clone()),
                        };
                        handles.actions.push((kind, subtype, made));
                        handles.actions.len() - 1
                    }
                };
                let action = &handles.actions[at].2;
                if event.kind == "action.end" {
                    action.ok.increment(1);
                } else {
                    action.error.increment(1);
                }
                if let Some(seconds) = seconds {
                    action.seconds.record(seconds);
                }
            }
            "flowgroup.end" | "flowgroup.error" => {
                if !handles.flowgroups.contains_key(pipeline) {
                    let p = pipeline.to_owned();
                    handles.flowgroups.insert(
                        p.clone(),
                        FlowgroupHandles {
                            ok: metrics::counter!("lhp_flowgroups_total", "pipeline" => p.clone(), "outcome" => "ok"),
                            error: metrics::counter!("lhp_flowgroups_total", "pipeline" => p.clone(), "outcome" => "error"),
                            seconds: metrics::histogram!("lhp_flowgroup_duration_seconds", "pipeline" => p),
                        },
                    );
                }
                if let Some(flowgroup) = handles.flowgroups.get(pipeline) {
                    if event.kind == "flowgroup.end" {
                        flowgroup.ok.increment(1);
                    } else {
                        flowgroup.error.increment(1);
                    }
                    if let Some(seconds) = seconds {
                        flowgroup.seconds.record(seconds);
                    }
                }
            }
            "pipeline.end" | "pipeline.error" => {
                if let Some(seconds) = seconds {
                    metrics::histogram!("lhp_pipeline_duration_seconds", "pipeline" => pipeline.to_owned())
                        .record(seconds);
                }
            }
            "table.created" | "table.updated" => {
                let change = event.kind.trim_start_matches("table.").to_owned();
                metrics::counter!("lhp_tables_changed_total", "change" => change).increment(1);
            }
            "generation.end" => {
                let count = |key: &str| {
                    event
                        .metadata
                        .get(key)
                        .and_then(lhp_plugin::Meta::as_u64)
                        .unwrap_or(0)
                };
                metrics::counter!("lhp_files_written_total").increment(count("written"));
                if let Some(seconds) = seconds {
                    metrics::gauge!("lhp_run_duration_seconds").set(seconds);
                }
                let success = event
                    .metadata
                    .get("success")
                    .and_then(lhp_plugin::Meta::as_bool)
                    .unwrap_or(false);
                metrics::gauge!("lhp_run_success").set(if success { 1.0 } else { 0.0 });
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                metrics::gauge!("lhp_run_timestamp_seconds").set(now.as_secs_f64());
            }
            _ => {}
        }
    }
}

#[async_trait]
impl Hook for MetricsHook {
    common_hook_methods!();

    async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError> {
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        metrics::with_local_recorder(&self.recorder, || {
            for event in events {
                self.record(event, &mut handles);
            }
        });
        Ok(())
    }

    async fn close(&self) -> Result<(), HookError> {
        let text = self.render();
        let path = self.path.clone();
        let file_text = text.clone();
        let written = tokio::task::spawn_blocking(move || {
            lhp_plugin::fs::write_atomically(&path, file_text.as_bytes())
        })
        .await
        .map_err(|e| format!("cannot write the metrics file: {e}"))?;
        written.map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        if let Some((url, job)) = &self.pushgateway {
            let target = url.join(&format!("metrics/job/{job}"));
            match send(
                &target,
                "PUT",
                "text/plain; version=0.0.4",
                text,
                self.timeout,
            )
            .await
            {
                Outcome::Done => {}
                Outcome::TooMany(_) => {
                    return Err(
                        format!("the Pushgateway at {url} refused: too many requests").into(),
                    )
                }
                Outcome::Transient(why) | Outcome::Permanent(why) => {
                    return Err(format!("cannot push to the Pushgateway at {url}: {why}").into())
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_become_counters_histograms_and_a_textfile() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("out/metrics.prom");
        let hook = MetricsHook::new(path.clone(), None, Duration::from_secs(1));
        let mut action = Event::new("r", 1, "action.end");
        action.metadata.insert("kind".into(), "load".into());
        action.metadata.insert("type".into(), "cloudfiles".into());
        action.metadata.insert("duration_ms".into(), 2.0.into());
        let mut failed = Event::new("r", 2, "flowgroup.error");
        failed.pipeline = Some("bronze".into());
        failed.error = Some(lhp_plugin::EventError {
            code: "LHP-GEN-002".into(),
            message: "m".into(),
            file: None,
            line: None,
            column: None,
        });
        let mut end = Event::new("r", 3, "generation.end");
        end.metadata.insert("written".into(), 7.into());
        end.metadata.insert("success".into(), false.into());
        let events: Batch<Event> = [action, failed, end].into_iter().collect();
        hook.handle(&events).await.unwrap_or_else(|e| panic!("{e}"));
        hook.close().await.unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for expected in [
            r#"lhp_actions_total{kind="load",type="cloudfiles",outcome="ok"} 1"#,
            r#"lhp_flowgroups_total{pipeline="bronze",outcome="error"} 1"#,
            r#"lhp_errors_total{code="LHP-GEN-002"} 1"#,
            "lhp_files_written_total 7",
            "lhp_run_success 0",
            r#"lhp_action_duration_seconds_bucket{kind="load",type="cloudfiles",le="0.0025"} 1"#,
            r#"lhp_action_duration_seconds_bucket{kind="load",type="cloudfiles",le="0.001"} 0"#,
        ] {
            assert!(text.contains(expected), "{expected} not in:\n{text}");
        }
    }
}
