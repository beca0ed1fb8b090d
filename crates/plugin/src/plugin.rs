//! What a plugin is: its [`PluginMetadata`], the [`Plugin`] trait that hands lhp its
//! generators and hooks, the [`Hook`] trait for event consumers, and the version rules
//! (`requires_lhp_version`, checked as a semver requirement against [`LHP_VERSION`]).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use lhp_bus::Batch;

use crate::event::Event;
use crate::generate::Generator;

/// The version of lhp (and of this SDK) that plugins' `requires_lhp_version` is checked against.
pub const LHP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The process-plugin protocol version this lhp speaks (`docs/plugin-protocol.md`).
pub const PROTOCOL_VERSION: u32 = 1;

/// Who a plugin is, as `lhp plugin list` and `lhp plugin info` show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginMetadata {
    /// A unique name (`s3_batch`): the key of `plugins.config.<name>`.
    pub name: String,
    /// Its own version, semver.
    pub version: String,
    /// One sentence: what it adds.
    pub description: String,
    /// Who maintains it.
    pub author: String,
    /// The lhp versions it works with, as a semver requirement (`>=0.1, <0.2`); `None` for any.
    pub requires_lhp_version: Option<String>,
    /// What it needs installed or enabled to work (free text, shown by `lhp plugin info`).
    pub dependencies: Vec<String>,
}

impl PluginMetadata {
    /// Metadata with a name and a version; the rest empty.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            ..Self::default()
        }
    }

    /// Checks `version` and `requires_lhp_version` against [`LHP_VERSION`].
    pub fn check_versions(&self) -> Result<(), VersionError> {
        check_version(&self.version)?;
        match &self.requires_lhp_version {
            Some(requirement) => check_requirement(requirement, LHP_VERSION),
            None => Ok(()),
        }
    }
}

/// Why a plugin's versions are not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// `version` is not a semantic version.
    #[error("version `{version}` is not a semantic version (MAJOR.MINOR.PATCH): {reason}")]
    BadVersion {
        /// As written.
        version: String,
        /// What the parser said.
        reason: String,
    },
    /// `requires_lhp_version` cannot be read.
    #[error("requires_lhp_version `{requirement}` is not a semver requirement: {reason}")]
    BadRequirement {
        /// As written.
        requirement: String,
        /// What the parser said.
        reason: String,
    },
    /// This lhp is not one the plugin accepts.
    #[error("it requires lhp {requirement}, and this is lhp {running}")]
    Unsupported {
        /// As written.
        requirement: String,
        /// This lhp's version.
        running: String,
    },
}

/// Checks that `version` is a semantic version.
pub fn check_version(version: &str) -> Result<(), VersionError> {
    semver::Version::parse(version)
        .map(|_| ())
        .map_err(|e| VersionError::BadVersion {
            version: version.to_owned(),
            reason: e.to_string(),
        })
}

/// Checks `running` against the semver `requirement`.
pub fn check_requirement(requirement: &str, running: &str) -> Result<(), VersionError> {
    let wanted =
        semver::VersionReq::parse(requirement).map_err(|e| VersionError::BadRequirement {
            requirement: requirement.to_owned(),
            reason: e.to_string(),
        })?;
    let version = semver::Version::parse(running).map_err(|e| VersionError::BadVersion {
        version: running.to_owned(),
        reason: e.to_string(),
    })?;
    if wanted.matches(&version) {
        Ok(())
    } else {
        Err(VersionError::Unsupported {
            requirement: requirement.to_owned(),
            running: running.to_owned(),
        })
    }
}

/// How a plugin reaches lhp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    /// Part of lhp itself.
    Builtin,
    /// Rust code compiled into a custom `lhp` binary.
    Native,
    /// A directory with `lhp-plugin.yaml` and minijinja templates.
    Template,
    /// A program speaking JSON lines over stdin/stdout.
    Process,
}

impl PluginKind {
    /// The name shown by `lhp plugin list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::Native => "native",
            Self::Template => "template",
            Self::Process => "process",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin compiled into lhp: metadata, an environment check, and what it provides.
///
/// ```
/// use std::sync::Arc;
/// use lhp_plugin::{Generator, Plugin, PluginMetadata};
///
/// struct Nothing;
/// impl Plugin for Nothing {
///     fn metadata(&self) -> PluginMetadata {
///         PluginMetadata::new("nothing", "0.1.0")
///     }
///     fn generators(&self) -> Vec<Arc<dyn Generator>> {
///         Vec::new()
///     }
/// }
/// assert!(Nothing.metadata().check_versions().is_ok());
/// ```
pub trait Plugin: Send + Sync {
    /// Who it is.
    fn metadata(&self) -> PluginMetadata;
    /// Whether what it needs is there (tools, credentials); each `Err` line is a problem.
    fn check_environment(&self) -> Result<(), Vec<String>> {
        Ok(())
    }
    /// The load, transform and write types it provides; each reports the plugin's name as
    /// its [`Generator::provider`].
    fn generators(&self) -> Vec<Arc<dyn Generator>>;
    /// The event hooks it provides.
    fn hooks(&self) -> Vec<Arc<dyn Hook>> {
        Vec::new()
    }
    /// Receives `plugins.config.<name>` (tokens and `${ENV_VAR}` resolved; `{}` when none)
    /// before anything is generated; an `Err` is reported as the plugin's error.
    fn configure(&self, config: &serde_json::Value) -> Result<(), String> {
        let _ = config;
        Ok(())
    }
}

/// The error a hook returns; any error type converts into it with `?`.
pub type HookError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Consumes events of a run: the event types it wants (globs such as `flowgroup.*`) and an
/// async handler called with batches, oldest first. A hook's failure is counted and logged;
/// it never fails generation or another hook.
#[async_trait]
pub trait Hook: Send + Sync + 'static {
    /// Its name, for reports.
    fn name(&self) -> &str;
    /// The event types it wants, as globs (`flowgroup.*`, `*.error`; `*` matches any run of
    /// characters, dots included).
    fn events(&self) -> Vec<String>;
    /// Handles a batch of events.
    async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError>;
    /// Called once at the end of the run, after the last event: flush, sync, send a summary.
    /// It runs within the run's flush deadline; an `Err` is reported as the hook's failure.
    async fn close(&self) -> Result<(), HookError> {
        Ok(())
    }
    /// How its queue behaves: capacity, what happens when it is full, batching.
    fn delivery(&self) -> HookDelivery {
        HookDelivery::default()
    }
    /// Whether the run fails when this hook fails (`required: true`); by default a hook's
    /// failure is a warning.
    fn required(&self) -> bool {
        false
    }
}

/// How a hook's events are queued and handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookDelivery {
    /// Events its queue holds before the overflow policy applies.
    pub capacity: usize,
    /// `Block` (lossless: the run waits), `DropNewest` or `DropOldest` (counted).
    pub overflow: lhp_bus::Overflow,
    /// Most events per `handle` call.
    pub batch_size: usize,
    /// Longest wait for a batch to fill.
    pub batch_wait: std::time::Duration,
    /// How long it may take, at the end of the run, to handle what is queued and close. The
    /// run waits once for all its hooks: the longest of their flush timeouts, at least 10 s.
    pub flush_timeout: std::time::Duration,
}

impl Default for HookDelivery {
    fn default() -> Self {
        Self {
            capacity: 4096,
            overflow: lhp_bus::Overflow::Block,
            batch_size: 256,
            batch_wait: std::time::Duration::from_millis(50),
            flush_timeout: std::time::Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_are_semver() {
        assert!(check_requirement(">=0.1, <0.2", "0.1.0").is_ok());
        assert!(matches!(
            check_requirement(">=9.0", "0.1.0"),
            Err(VersionError::Unsupported { .. })
        ));
        assert!(matches!(
            check_requirement("about one", "0.1.0"),
            Err(VersionError::BadRequirement { .. })
        ));
        assert!(check_version("1.2").is_err());
        assert!(check_version("1.2.3-beta.1").is_ok());
    }
}
