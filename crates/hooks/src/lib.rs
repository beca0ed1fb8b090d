//! `lhp-hooks`: the built-in hooks of lhp, each an [`lhp_plugin::Hook`] that the run
//! subscribes to its event bus with its own filter, queue, overflow policy and batching.
//!
//! - [`logging`]: events as log lines on stderr (human or JSON) through `tracing-subscriber`;
//! - [`metrics`]: counters and histograms through the `metrics` facade, written as a
//!   Prometheus textfile and optionally pushed to a Pushgateway;
//! - [`slack`]: a digest per run, or a message per event, to an incoming webhook;
//! - [`event_log`]: every event as a JSON line in `.lhp/events.jsonl` (on by default);
//! - [`command`]: events as JSON lines to a user's program.
//!
//! [`build_hooks`] reads the `hooks:` section of `lhp.yaml` into them.

#![warn(missing_docs)]

pub mod command;
mod config;
pub mod event_log;
mod http;
pub mod logging;
pub mod metrics;
mod prometheus;
pub mod slack;

pub use crate::config::{build_hooks, HookOptions, HookProblem, DEFAULT_HOOKS, HOOK_TYPES};
pub use crate::http::SecretUrl;
pub use crate::logging::LogFormat;
