//! Code generation: the [`Generator`] trait a load, transform or write type implements, what
//! it is given ([`GenerateRequest`], [`GenerateContext`]) and what it returns ([`Fragment`]),
//! and the [`Registry`] that finds the generator of an action. Built-in types are registered
//! in it exactly as a plugin's are.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::action::{Action, ActionKind};
use crate::source::Span;
use crate::value::Map;

/// Why an action could not be turned into code, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct GenerateError {
    /// A stable code (`LHP-VAL-068`, `LHP-IO-001`, ...).
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where, when it is somewhere in the user's files.
    pub span: Option<Span>,
    /// What to do about it, when we can say.
    pub hint: Option<String>,
}

impl GenerateError {
    /// An error with a code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            span: None,
            hint: None,
        }
    }

    /// The same, at `span`.
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// The same, with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A file written beside the flowgroup modules of a pipeline (a copied Python module).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SideFile {
    /// Its path relative to the pipeline's output directory, with `/` separators.
    pub path: String,
    /// Its whole text.
    pub text: String,
}

/// What a generator returns for one action (or, for writes, one target table); also the
/// result of a process plugin's `generate`, field for field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Fragment {
    /// Python statements, one logical line each (the module is laid out afterwards, so long
    /// lines need not be wrapped here).
    pub code: String,
    /// Import lines the code needs (`from pyspark.sql import functions as F`).
    pub imports: Vec<String>,
    /// Statements that must run before any pipeline code, once per module.
    pub preamble: Vec<String>,
    /// Files to write beside the module.
    pub side_files: Vec<SideFile>,
}

/// Whether `path`, relative, stays inside the directory it is joined to: not empty, and
/// nothing but plain names (no `..`, no root, no prefix).
pub fn is_contained(path: &std::path::Path) -> bool {
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// An operational-metadata column selected for an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataColumn {
    /// Its name.
    pub name: String,
    /// The Spark expression, with every token resolved.
    pub expression: String,
    /// Imports the expression needs.
    pub imports: Vec<String>,
}

/// What the project gives a generator: files, tokens, secrets and settings.
pub trait GenerateContext: Sync {
    /// The pipeline being generated.
    fn pipeline(&self) -> &str;
    /// The flowgroup being generated.
    fn flowgroup(&self) -> &str;
    /// The environment being generated (`dev`).
    fn env(&self) -> &str {
        ""
    }
    /// Where `span` is, as a project-relative file, line and column, when known.
    fn location(&self, span: Span) -> Option<crate::protocol::Location> {
        let _ = span;
        None
    }
    /// The flowgroup's own fields (`operational_metadata`, `job_name`, ...).
    fn flowgroup_fields(&self) -> &Map;
    /// Reads a project file (`path` relative to the project root) as written.
    fn read_file(&self, path: &str, at: Span) -> Result<String, GenerateError>;
    /// Whether `path` (relative to the project root) is a directory.
    fn is_dir(&self, path: &str) -> bool;
    /// Whether `path` (relative to the project root) is a file.
    fn is_file(&self, path: &str) -> bool;
    /// Reads a project file with its substitution tokens and secrets resolved, as SQL files
    /// and copied Python modules are.
    fn read_substituted(&self, path: &str, at: Span) -> Result<String, GenerateError>;
    /// The operational-metadata columns selected for `action`'s view, sorted by name.
    fn metadata_columns(&self, action: &Action) -> Result<Vec<MetadataColumn>, GenerateError>;
    /// The names of every metadata column the project defines, in declaration order.
    fn metadata_column_names(&self) -> Vec<String>;
    /// The secret (`scope`, `key`) a placeholder left by substitution stands for.
    fn secret(&self, placeholder: &str) -> Option<(String, String)>;
}

/// What a generator is asked to turn into code.
pub struct GenerateRequest<'a> {
    /// The action; for a write, the one that creates the table.
    pub action: &'a Action,
    /// For a write, every action writing the same table, in order (the creator among them);
    /// otherwise just the action.
    pub group: Vec<&'a Action>,
    /// The project around it.
    pub context: &'a dyn GenerateContext,
}

impl fmt::Debug for GenerateRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateRequest")
            .field("action", &self.action.name.value)
            .field("group", &self.group.len())
            .finish()
    }
}

/// A load, transform or write type: turns an action into Python.
pub trait Generator: Send + Sync {
    /// Which kind of action it serves.
    fn kind(&self) -> ActionKind;
    /// The type name it serves within that kind (`cloudfiles`, `sql`, `streaming_table`).
    fn type_name(&self) -> &str;
    /// Who provides it (`builtin`, or a plugin's name), for messages.
    fn provider(&self) -> &str {
        "builtin"
    }
    /// Checks an action's configuration before anything is generated; every problem at
    /// once, each at its position. The default accepts everything.
    fn validate(&self, action: &Action) -> Vec<GenerateError> {
        let _ = action;
        Vec::new()
    }
    /// A configuration of this type that works (the `source` mapping of a load, the
    /// `write_target` of a write, the action's fields of a transform), for
    /// `lhp plugin validate`'s sample generate.
    fn example(&self) -> Option<serde_json::Value> {
        None
    }
    /// Turns the request into code.
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError>;
}

/// Why a generator could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} type `{type_name}` is provided by both `{existing}` and `{incoming}`")]
pub struct RegistryError {
    /// The kind of action.
    pub kind: ActionKind,
    /// The type both provide.
    pub type_name: String,
    /// Who registered it first.
    pub existing: String,
    /// Who tried to register it again.
    pub incoming: String,
}

/// Every generator of a run, by kind and type name.
#[derive(Clone, Default)]
pub struct Registry {
    generators: BTreeMap<(ActionKind, String), Arc<dyn Generator>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.generators.keys().map(|(k, t)| format!("{k}.{t}")))
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a generator; a type that is already provided is refused, naming both providers.
    pub fn register(&mut self, generator: Arc<dyn Generator>) -> Result<(), RegistryError> {
        let key = (generator.kind(), generator.type_name().to_owned());
        if let Some(existing) = self.generators.get(&key) {
            return Err(RegistryError {
                kind: key.0,
                type_name: key.1,
                existing: existing.provider().to_owned(),
                incoming: generator.provider().to_owned(),
            });
        }
        self.generators.insert(key, generator);
        Ok(())
    }

    /// Adds a generator in place of the one providing the same type, returning that one.
    pub fn replace(&mut self, generator: Arc<dyn Generator>) -> Option<Arc<dyn Generator>> {
        let key = (generator.kind(), generator.type_name().to_owned());
        self.generators.insert(key, generator)
    }

    /// The generator for `type_name` of `kind`.
    pub fn get(&self, kind: ActionKind, type_name: &str) -> Option<&Arc<dyn Generator>> {
        self.generators.get(&(kind, type_name.to_owned()))
    }

    /// Every generator, by kind and then type name.
    pub fn generators(&self) -> impl Iterator<Item = &Arc<dyn Generator>> {
        self.generators.values()
    }

    /// The type names registered for `kind`, sorted.
    pub fn type_names(&self, kind: ActionKind) -> Vec<&str> {
        self.generators
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, t)| t.as_str())
            .collect()
    }
}
