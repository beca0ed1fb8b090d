//! A test kit for plugin authors: build an action from a YAML snippet, run a generator on it
//! with an in-memory project, check that the module parses, and compare it with a snapshot.
//!
//! ```
//! use lhp_plugin::testkit;
//!
//! let action = testkit::action_from_yaml(
//!     "name: load_rides\ntype: load\ntarget: v_rides\nsource:\n  type: s3_batch\n  bucket: b\n",
//! )
//! .expect("a valid action");
//! assert_eq!(action.subtype_str(), Some("s3_batch"));
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use crate::action::Action;
use crate::generate::{
    Fragment, GenerateContext, GenerateError, GenerateRequest, Generator, MetadataColumn,
};
use crate::source::{Sources, Span};
use crate::value::Map;
use crate::yaml::{load_documents, Limits};

/// Reads one action from YAML (a mapping with `name`, `type`, ...).
pub fn action_from_yaml(yaml: &str) -> Result<Action, String> {
    let mut sources = Sources::new();
    let file = sources.add("snippet.yaml", yaml);
    let documents =
        load_documents(file, yaml.as_bytes(), Limits::default()).map_err(|e| e.to_string())?;
    let [value] = documents.as_slice() else {
        return Err(format!(
            "expected one YAML document, found {}",
            documents.len()
        ));
    };
    Action::from_value(value).map_err(|e| e.to_string())
}

/// An in-memory project for generators under test: a pipeline, a flowgroup and files.
#[derive(Debug, Clone)]
pub struct TestContext {
    /// The pipeline name.
    pub pipeline: String,
    /// The flowgroup name.
    pub flowgroup: String,
    /// The environment.
    pub env: String,
    /// Project files by path relative to the project root.
    pub files: BTreeMap<String, String>,
    fields: Map,
}

impl Default for TestContext {
    fn default() -> Self {
        Self {
            pipeline: "test_pipeline".to_owned(),
            flowgroup: "test_flowgroup".to_owned(),
            env: "dev".to_owned(),
            files: BTreeMap::new(),
            fields: Map::new(),
        }
    }
}

impl TestContext {
    /// The default context: pipeline `test_pipeline`, flowgroup `test_flowgroup`, env `dev`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same, with a project file.
    pub fn with_file(mut self, path: impl Into<String>, text: impl Into<String>) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }

    fn missing(path: &str, at: Span) -> GenerateError {
        GenerateError::new("LHP-IO-001", format!("no file {path} in the test project")).at(at)
    }
}

impl GenerateContext for TestContext {
    fn pipeline(&self) -> &str {
        &self.pipeline
    }
    fn flowgroup(&self) -> &str {
        &self.flowgroup
    }
    fn env(&self) -> &str {
        &self.env
    }
    fn flowgroup_fields(&self) -> &Map {
        &self.fields
    }
    fn read_file(&self, path: &str, at: Span) -> Result<String, GenerateError> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| Self::missing(path, at))
    }
    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.files.keys().any(|f| f.starts_with(&prefix))
    }
    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
    fn read_substituted(&self, path: &str, at: Span) -> Result<String, GenerateError> {
        self.read_file(path, at)
    }
    fn metadata_columns(&self, _action: &Action) -> Result<Vec<MetadataColumn>, GenerateError> {
        Ok(Vec::new())
    }
    fn metadata_column_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn secret(&self, _placeholder: &str) -> Option<(String, String)> {
        None
    }
}

/// Runs `generator` on `action` in `context` (for a write, as the only writer of its table),
/// after its own [`Generator::validate`].
pub fn generate_in(
    generator: &dyn Generator,
    action: &Action,
    context: &dyn GenerateContext,
) -> Result<Fragment, GenerateError> {
    if let Some(problem) = generator.validate(action).into_iter().next() {
        return Err(problem);
    }
    generator.generate(&GenerateRequest {
        action,
        group: vec![action],
        context,
    })
}

/// Runs `generator` on `action` in the default [`TestContext`].
pub fn generate(generator: &dyn Generator, action: &Action) -> Result<Fragment, GenerateError> {
    generate_in(generator, action, &TestContext::new())
}

/// A minimal module around a fragment: its imports, the pipelines import, its preamble and
/// its code, as lhp would place them.
pub fn module(fragment: &Fragment) -> String {
    let mut imports: Vec<&str> = vec!["from pyspark import pipelines as dp"];
    imports.extend(fragment.imports.iter().map(String::as_str));
    imports.sort_unstable();
    imports.dedup();
    let mut text = imports.join("\n");
    text.push_str("\n\n");
    for line in &fragment.preamble {
        text.push_str(line);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(fragment.code.trim_matches('\n'));
    text.push('\n');
    text
}

/// Panics, with the line and the parser's message, unless `code` is valid Python.
pub fn assert_parses(code: &str) {
    if let Err(error) = crate::python::check_syntax(code) {
        let line = code
            .lines()
            .nth(error.line.saturating_sub(1) as usize)
            .unwrap_or_default();
        panic!("generated code does not parse: {error}\n  | {line}\n\n{code}");
    }
}

/// Compares `text` with the snapshot file at `path`; writes it when the file does not exist
/// or `LHP_UPDATE_SNAPSHOTS=1`, and panics with both texts when they differ.
pub fn assert_snapshot(path: impl AsRef<Path>, text: &str) {
    let path = path.as_ref();
    let update = std::env::var_os("LHP_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    match std::fs::read_to_string(path) {
        Ok(expected) if !update => {
            if expected != text {
                panic!(
                    "snapshot {} differs (LHP_UPDATE_SNAPSHOTS=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{text}",
                    path.display()
                );
            }
        }
        Err(_) if std::env::var_os("CI").is_some() && !update => {
            panic!(
                "snapshot {} is missing (CI does not write snapshots; run the tests locally)",
                path.display()
            );
        }
        _ => {
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            if let Err(error) = std::fs::write(path, text) {
                panic!("cannot write snapshot {}: {error}", path.display());
            }
        }
    }
}
