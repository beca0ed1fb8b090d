//! The process-plugin wire types (`docs/plugin-protocol.md`): JSON lines of [`Request`] and
//! [`Response`], and the shapes of each method's params and result.

use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionKind};
use crate::generate::Fragment;
use crate::value::Value;

/// A request from lhp: `{"id", "method", "params"}` on one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Echoed in the response.
    pub id: u64,
    /// `describe`, `check`, `generate`, `events` or `shutdown`.
    pub method: String,
    /// The method's params.
    #[serde(default)]
    pub params: serde_json::Value,
}

/// A plugin's answer: `{"id", "result"}` or `{"id", "error"}` on one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The request's id.
    pub id: u64,
    /// The result, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The failure, otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ResponseError>,
}

/// A failure reported by a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseError {
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The params of `describe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescribeParams {
    /// The protocol lhp speaks.
    pub protocol: u32,
    /// lhp's version.
    pub lhp_version: String,
    /// The project's root directory.
    pub project_root: String,
    /// `plugins.config.<name>`, resolved.
    pub config: serde_json::Value,
}

/// The result of `describe`: who the plugin is and what it provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Describe {
    /// The protocol it speaks; must be [`crate::PROTOCOL_VERSION`].
    pub protocol: u32,
    /// Its name.
    pub name: String,
    /// Its version (semver).
    pub version: String,
    /// What it adds.
    #[serde(default)]
    pub description: String,
    /// Who maintains it.
    #[serde(default)]
    pub author: String,
    /// The lhp versions it accepts (semver requirement).
    #[serde(default)]
    pub requires_lhp_version: Option<String>,
    /// What it needs.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// The action types it provides.
    #[serde(default)]
    pub provides: Vec<Provided>,
    /// The event types it wants (globs).
    #[serde(default)]
    pub events: Vec<String>,
}

/// One action type a plugin provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provided {
    /// `load`, `transform` or `write`.
    pub kind: String,
    /// The type name used in YAML.
    #[serde(rename = "type")]
    pub type_name: String,
    /// A configuration that works, for `lhp plugin validate`'s sample generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<serde_json::Value>,
}

/// Where an action was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file, relative to the project root.
    pub file: String,
    /// From 1.
    pub line: u32,
    /// From 1.
    pub column: u32,
}

/// An action as a plugin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireAction {
    /// `name`.
    pub name: String,
    /// `load`, `transform`, `write` or `test`.
    pub kind: String,
    /// The type within the kind.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The view it defines, if any.
    pub target: Option<String>,
    /// The views it reads.
    pub sources: Vec<String>,
    /// What configures the type (see [`config_of`]).
    pub config: serde_json::Value,
    /// Where it was written, when known.
    pub location: Option<Location>,
}

impl WireAction {
    /// The wire form of `action`, located at `location`.
    pub fn new(action: &Action, location: Option<Location>) -> Self {
        Self {
            name: action.name.value.clone(),
            kind: action.kind.as_str().to_owned(),
            type_name: action.subtype_str().unwrap_or_default().to_owned(),
            target: action.target.as_ref().map(|t| t.value.clone()),
            sources: action.reads(),
            config: config_of(action).to_json(),
            location,
        }
    }
}

/// What configures an action's type: the `source` mapping of a load, the `write_target`
/// mapping of a write, the action's own fields without `name` and `type` otherwise.
pub fn config_of(action: &Action) -> Value {
    let nested = match action.kind {
        ActionKind::Load => action.source().filter(|s| s.as_map().is_some()),
        ActionKind::Write => action.field("write_target"),
        ActionKind::Transform | ActionKind::Test => None,
    };
    if let Some(nested) = nested {
        return nested.clone();
    }
    let mut own = action.value().clone();
    if let crate::value::ValueKind::Map(map) = &mut own.kind {
        map.retain(|key, _| !matches!(key.as_str(), Some("name" | "type")));
    }
    own
}

/// The context of `generate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireContext {
    /// The pipeline.
    pub pipeline: String,
    /// The flowgroup.
    pub flowgroup: String,
    /// The environment.
    pub env: String,
}

/// The params of `generate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateParams {
    /// The action (for a write, the table's creator).
    pub action: WireAction,
    /// For a write, every action writing the same table; empty otherwise.
    pub group: Vec<WireAction>,
    /// Where it is.
    pub context: WireContext,
}

/// The result of `generate`: code, imports, preamble lines and side files, exactly the
/// fields of a [`Fragment`] (all but `code` may be left out).
pub type GenerateResult = Fragment;

/// One problem reported by `check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// The config key it concerns, if one.
    #[serde(default)]
    pub field: Option<String>,
}

/// The result of `check`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Empty when all is well.
    #[serde(default)]
    pub problems: Vec<Problem>,
}
