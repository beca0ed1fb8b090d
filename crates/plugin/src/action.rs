//! The action model: a flowgroup and its actions as typed views over their spanned values.
//!
//! The common fields every action has (name, kind, subtype, target) are typed and carry their
//! position; everything else stays a [`Value`] with its position, because each action type
//! (and each plugin's) has fields of its own. What an action reads is derived here, once, the
//! way the reference derives it.

use std::fmt;

use crate::source::Span;
use crate::value::{Map, Value};

/// A value of type `T` and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it starts.
    pub span: Span,
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    /// Reads data into a view.
    Load,
    /// Turns one view into another.
    Transform,
    /// Writes a view to a table or a sink.
    Write,
    /// Checks data (only with `--include-tests`).
    Test,
}

impl ActionKind {
    /// Every kind, in the order a flowgroup usually lists them.
    pub const ALL: [ActionKind; 4] = [Self::Load, Self::Transform, Self::Write, Self::Test];

    /// The kind written as `type:` in YAML.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The name used in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Load => "load",
            Self::Transform => "transform",
            Self::Write => "write",
            Self::Test => "test",
        }
    }

    /// The field that says which type of this kind an action is: `source.type` for loads,
    /// `transform_type`, `write_target.type`, `test_type`.
    pub fn subtype_field(self) -> &'static str {
        match self {
            Self::Load => "source.type",
            Self::Transform => "transform_type",
            Self::Write => "write_target.type",
            Self::Test => "test_type",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value is not an action or a flowgroup, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ShapeError {
    /// Where.
    pub span: Span,
    /// What is wrong.
    pub message: String,
}

fn shape(span: Span, message: impl Into<String>) -> ShapeError {
    ShapeError {
        span,
        message: message.into(),
    }
}

fn spanned_str(map: &Map, key: &str) -> Option<Spanned<String>> {
    let value = map.get(key)?;
    Some(Spanned {
        value: value.as_str()?.to_owned(),
        span: value.span,
    })
}

/// One action of a flowgroup.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// `name`.
    pub name: Spanned<String>,
    /// `type`.
    pub kind: ActionKind,
    /// The type within its kind (see [`ActionKind::subtype_field`]), when given as a string.
    pub subtype: Option<Spanned<String>>,
    /// `target`: the view it produces, when it has one.
    pub target: Option<Spanned<String>>,
    value: Value,
}

impl Action {
    /// Reads an action from its mapping.
    pub fn from_value(value: &Value) -> Result<Self, ShapeError> {
        let map = value.as_map().ok_or_else(|| {
            shape(
                value.span,
                format!("an action must be a mapping, not {}", value.kind.describe()),
            )
        })?;
        let name = spanned_str(map, "name")
            .ok_or_else(|| shape(value.span, "the action has no `name`"))?;
        let kind_value = map
            .get("type")
            .ok_or_else(|| shape(value.span, "the action has no `type`"))?;
        let kind = kind_value
            .as_str()
            .and_then(ActionKind::parse)
            .ok_or_else(|| shape(kind_value.span, format!("unknown action type {kind_value}")))?;
        let subtype = match kind {
            ActionKind::Load => map
                .get("source")
                .and_then(Value::as_map)
                .and_then(|s| spanned_str(s, "type")),
            ActionKind::Transform => spanned_str(map, "transform_type"),
            ActionKind::Write => map
                .get("write_target")
                .and_then(Value::as_map)
                .and_then(|w| spanned_str(w, "type")),
            ActionKind::Test => spanned_str(map, "test_type"),
        };
        Ok(Self {
            name,
            kind,
            subtype,
            target: spanned_str(map, "target"),
            value: value.clone(),
        })
    }

    /// Where the action starts.
    pub fn span(&self) -> Span {
        self.value.span
    }

    /// The action's whole mapping.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// A field of the action.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.value.as_map()?.get(key)
    }

    /// `source`, as written (a view name, a list, or a mapping).
    pub fn source(&self) -> Option<&Value> {
        self.field("source")
    }

    /// `write_target`, when it is a mapping.
    pub fn write_target(&self) -> Option<&Map> {
        self.field("write_target")?.as_map()
    }

    /// The subtype as text, if any.
    pub fn subtype_str(&self) -> Option<&str> {
        self.subtype.as_ref().map(|s| s.value.as_str())
    }

    /// The names this action reads, as the reference derives them: a string `source`, the
    /// strings of a list `source`, a mapping's `view`, `source`, `sources`, or
    /// `catalog.schema.table` (or `table`); for CDC and snapshot-CDC writes, their config's
    /// `source`.
    pub fn reads(&self) -> Vec<String> {
        if let Some(target) = self.write_target() {
            let config = match target.get("mode").and_then(Value::as_str) {
                Some("cdc") => target.get("cdc_config"),
                Some("snapshot_cdc") => target.get("snapshot_cdc_config"),
                _ => None,
            };
            if let Some(source) = config
                .and_then(Value::as_map)
                .and_then(|c| c.get("source"))
                .and_then(Value::as_str)
            {
                return vec![source.to_owned()];
            }
        }
        let Some(source) = self.source() else {
            return Vec::new();
        };
        let strings = |value: &Value| -> Vec<String> {
            match value.as_str() {
                Some(s) => vec![s.to_owned()],
                None => value
                    .as_seq()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            }
        };
        let Some(map) = source.as_map() else {
            return strings(source);
        };
        for key in ["view", "source", "sources"] {
            if let Some(inner) = map.get(key) {
                return strings(inner);
            }
        }
        match map.get("table").and_then(Value::as_str) {
            Some(table) => {
                let part = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or_default();
                vec![match (part("catalog"), part("schema")) {
                    (c, s) if !c.is_empty() && !s.is_empty() => format!("{c}.{s}.{table}"),
                    _ => table.to_owned(),
                }]
            }
            None => Vec::new(),
        }
    }
}

/// A flowgroup: which pipeline, its name, its actions.
#[derive(Debug, Clone, PartialEq)]
pub struct Flowgroup {
    /// `pipeline`.
    pub pipeline: Spanned<String>,
    /// `flowgroup`.
    pub name: Spanned<String>,
    /// `actions`, in order.
    pub actions: Vec<Action>,
    /// Where the flowgroup starts.
    pub span: Span,
    /// Its other fields (`job_name`, `operational_metadata`, ...), everything but `actions`.
    pub fields: Map,
}

impl Flowgroup {
    /// Reads a flowgroup from its mapping; every action must be well formed.
    pub fn from_value(value: &Value) -> Result<Self, ShapeError> {
        let map = value.as_map().ok_or_else(|| {
            shape(
                value.span,
                format!(
                    "a flowgroup must be a mapping, not {}",
                    value.kind.describe()
                ),
            )
        })?;
        let pipeline = spanned_str(map, "pipeline")
            .ok_or_else(|| shape(value.span, "the flowgroup has no `pipeline`"))?;
        let name = spanned_str(map, "flowgroup")
            .ok_or_else(|| shape(value.span, "the flowgroup has no `flowgroup` name"))?;
        let actions = map
            .get("actions")
            .and_then(Value::as_seq)
            .unwrap_or_default()
            .iter()
            .map(Action::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        let mut fields = map.clone();
        fields.retain(|key, _| key.as_str() != Some("actions"));
        Ok(Self {
            pipeline,
            name,
            actions,
            span: value.span,
            fields,
        })
    }

    /// The actions of one kind.
    pub fn actions_of(&self, kind: ActionKind) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(move |a| a.kind == kind)
    }
}
