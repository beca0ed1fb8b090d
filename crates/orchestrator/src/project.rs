//! The project: its root (the directory holding `lhp.yaml`) and `lhp.yaml` itself.

use std::path::{Path, PathBuf};

use lhp_plugin::{load_documents, FileId, Limits, Sources, Span, Value, ValueKind};

use crate::diagnostic::Diagnostic;
use crate::pattern::invalid_pattern;
use crate::substitution::python_str;
use crate::version::{satisfies, FORMAT_VERSION};

/// The name of a project's configuration file.
pub const PROJECT_FILE: &str = "lhp.yaml";

/// `lhp.yaml`, with the keys lhp needs now read out and the rest kept as written.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    /// `name`, or `unnamed_project` as the reference defaults it.
    pub name: String,
    /// `version` (the project's own, not lhp's), `1.0` by default.
    pub version: String,
    /// `description`, if any.
    pub description: Option<String>,
    /// `include`: patterns selecting flowgroup files under `pipelines/` (all when empty).
    pub include: Vec<String>,
    /// `blueprint_include`: blueprint files, relative to the root.
    pub blueprint_include: Vec<String>,
    /// `instance_include`: blueprint instance files, relative to the root.
    pub instance_include: Vec<String>,
    /// `operational_metadata`, `event_log` and `plugins`, read and checked.
    pub settings: crate::settings::ProjectSettings,
    /// The whole file, for the sections read by later stages (`operational_metadata`,
    /// `event_log`, `plugins`, ...). `None` when the file is empty of settings.
    pub document: Option<Value>,
    /// The file's id in the run's [`Sources`].
    pub file: FileId,
}

/// The nearest directory at or above `start` that holds `lhp.yaml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(PROJECT_FILE).is_file())
        .map(Path::to_path_buf)
}

/// Reads and checks `root/lhp.yaml`. `env_var` reads the process environment
/// (`LHP_IGNORE_VERSION`). Warnings come back with the config; errors instead of it.
pub fn load_project_config(
    root: &Path,
    sources: &mut Sources,
    env_var: impl Fn(&str) -> Option<String>,
) -> Result<(ProjectConfig, Vec<Diagnostic>), Vec<Diagnostic>> {
    let path = root.join(PROJECT_FILE);
    let bytes = std::fs::read(&path).map_err(|error| {
        vec![Diagnostic::error(
            "LHP-IO-001",
            format!("cannot read {}: {error}", path.display()),
        )]
    })?;
    let file = sources.add(PROJECT_FILE, String::from_utf8_lossy(&bytes).into_owned());
    let whole = Span::new(file, 1, 1);
    let mut documents = load_documents(file, &bytes, Limits::default()).map_err(|error| {
        vec![
            Diagnostic::error("LHP-CFG-009", format!("{PROJECT_FILE}: {}", error.message))
                .at(error.span),
        ]
    })?;
    if documents.len() != 1 {
        return Err(vec![Diagnostic::error(
            "LHP-IO-003",
            format!(
                "{PROJECT_FILE} must hold exactly one YAML document; it holds {}",
                documents.len()
            ),
        )
        .at(whole)
        .hint("a minimal project file is `name: my_project`")]);
    }
    let document = documents.remove(0);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let map = match &document.kind {
        ValueKind::Null => None,
        ValueKind::Map(map) => Some(map),
        other => {
            return Err(vec![Diagnostic::error(
                "LHP-CFG-002",
                format!(
                    "{PROJECT_FILE} must be a mapping of settings, not {}",
                    other.describe()
                ),
            )
            .at(document.span)]);
        }
    };
    let text = |key: &str, default: Option<&str>| -> Option<String> {
        map.and_then(|m| m.get(key))
            .filter(|v| !v.is_null())
            .and_then(python_str)
            .or_else(|| default.map(str::to_owned))
    };
    let include = patterns(
        map.and_then(|m| m.get("include")),
        "include",
        &[],
        &mut errors,
    );
    let blueprint_include = patterns(
        map.and_then(|m| m.get("blueprint_include")),
        "blueprint_include",
        &["blueprints/**/*.yaml", "blueprints/**/*.yml"],
        &mut errors,
    );
    let instance_include = patterns(
        map.and_then(|m| m.get("instance_include")),
        "instance_include",
        &["pipelines/**/*.yaml", "pipelines/**/*.yml"],
        &mut errors,
    );
    if let Some(required) = map.and_then(|m| m.get("required_lhp_version")) {
        check_required_version(required, &env_var, &mut errors, &mut warnings);
    }
    let settings = crate::settings::read_settings(map, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let config = ProjectConfig {
        name: text("name", Some("unnamed_project")).unwrap_or_default(),
        version: text("version", Some("1.0")).unwrap_or_default(),
        description: text("description", None),
        include,
        blueprint_include,
        instance_include,
        settings,
        document: map.is_some().then_some(document.clone()),
        file,
    };
    Ok((config, warnings))
}

/// A list of file patterns; `defaults` when absent or empty, as in the reference.
fn patterns(
    value: Option<&Value>,
    key: &str,
    defaults: &[&str],
    errors: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut found = Vec::new();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return defaults.iter().map(|d| (*d).to_owned()).collect();
    };
    let Some(items) = value.as_seq() else {
        errors.push(
            Diagnostic::error(
                "LHP-CFG-003",
                format!(
                    "`{key}` must be a list of patterns, not {}",
                    value.kind.describe()
                ),
            )
            .at(value.span)
            .hint(format!("for example `{key}: [\"bronze/**/*.yaml\"]`")),
        );
        return found;
    };
    for item in items {
        match item.as_str() {
            None => errors.push(
                Diagnostic::error(
                    "LHP-CFG-004",
                    format!(
                        "a `{key}` pattern must be a string, not {}",
                        item.kind.describe()
                    ),
                )
                .at(item.span),
            ),
            Some(pattern) => match invalid_pattern(pattern) {
                Some(reason) => errors.push(
                    Diagnostic::error(
                        "LHP-CFG-005",
                        format!("invalid {key} pattern {pattern:?}: {reason}"),
                    )
                    .at(item.span),
                ),
                None => found.push(pattern.to_owned()),
            },
        }
    }
    if found.is_empty() && errors.is_empty() {
        return defaults.iter().map(|d| (*d).to_owned()).collect();
    }
    found
}

/// `required_lhp_version` against [`FORMAT_VERSION`], unless `LHP_IGNORE_VERSION` is set
/// to `1`, `true` or `yes` (as in the reference).
fn check_required_version(
    required: &Value,
    env_var: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) {
    let spec = match &required.kind {
        ValueKind::Null => return,
        ValueKind::String(spec) if spec.trim().is_empty() => return,
        ValueKind::String(spec) => spec.clone(),
        other => {
            errors.push(
                Diagnostic::error(
                    "LHP-CFG-008",
                    format!(
                        "`required_lhp_version` must be a string of version specifiers, not {}",
                        other.describe()
                    ),
                )
                .at(required.span)
                .hint("quote it, for example `required_lhp_version: \">=0.9,<1.0\"`"),
            );
            return;
        }
    };
    let ignored = env_var("LHP_IGNORE_VERSION")
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    if ignored {
        warnings.push(
            Diagnostic::note(
                "LHP-CFG-007",
                format!("version requirement `{spec}` not checked: LHP_IGNORE_VERSION is set"),
            )
            .at(required.span),
        );
        return;
    }
    match satisfies(&spec, FORMAT_VERSION) {
        Ok(true) => {}
        Ok(false) => errors.push(
            Diagnostic::error(
                "LHP-CFG-007",
                format!(
                    "the project requires lakehouse-plumber `{spec}`; this lhp reads the {FORMAT_VERSION} format"
                ),
            )
            .at(required.span)
            .hint("widen `required_lhp_version`, or set LHP_IGNORE_VERSION=1 to skip the check"),
        ),
        Err(reason) => errors.push(
            Diagnostic::error("LHP-CFG-008", format!("invalid `required_lhp_version`: {reason}"))
                .at(required.span),
        ),
    }
}
