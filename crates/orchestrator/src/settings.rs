//! The project-wide sections of `lhp.yaml`: `operational_metadata`, `event_log` and
//! `plugins`, read into typed settings with their shapes checked, and `hooks`, kept as
//! written for [`crate::hooks`].

use std::collections::BTreeMap;

use lhp_plugin::{Map, Value, ValueKind};

use crate::diagnostic::Diagnostic;

/// Where an operational-metadata column may be added.
pub const METADATA_TARGETS: [&str; 3] = ["view", "streaming_table", "materialized_view"];

/// An operational-metadata column declared in `lhp.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataColumn {
    /// The column's name.
    pub name: String,
    /// The Spark expression that computes it.
    pub expression: String,
    /// The kinds of target it is added to (by default streaming tables and materialized views).
    pub applies_to: Vec<String>,
    /// Python imports its expression needs.
    pub additional_imports: Vec<String>,
}

/// How events of a run are logged in Databricks (`event_log:`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventLogSettings {
    /// Whether pipelines get an event log.
    pub enabled: bool,
    /// Catalog and schema of the event log tables.
    pub catalog: Option<String>,
    /// See `catalog`.
    pub schema: Option<String>,
    /// Added before and after the pipeline's name to name its event log table.
    pub name_prefix: String,
    /// See `name_prefix`.
    pub name_suffix: String,
}

/// The `plugins:` section (lhp's own; the reference ignores it).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSettings {
    /// `false` turns every third-party plugin off.
    pub enabled: bool,
    /// Directories searched for template plugins.
    pub directories: Vec<String>,
    /// Process plugins named explicitly.
    pub commands: Vec<String>,
    /// Whether executables named `lhp-plugin-*` on PATH are found.
    pub discover_path: bool,
    /// Types a plugin may take over from a built-in or another plugin.
    pub allow_override: Vec<String>,
    /// Settings per plugin, by plugin name.
    pub config: BTreeMap<String, Value>,
    /// Seconds a process plugin has to answer each request.
    pub timeout: u64,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            directories: vec!["./plugins".to_owned()],
            commands: Vec::new(),
            discover_path: true,
            allow_override: Vec::new(),
            config: BTreeMap::new(),
            timeout: 30,
        }
    }
}

/// All three, read from the `lhp.yaml` mapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectSettings {
    /// Declared columns, by declaration order.
    pub metadata_columns: Vec<MetadataColumn>,
    /// `event_log:`, if given.
    pub event_log: Option<EventLogSettings>,
    /// `plugins:`, defaults when absent.
    pub plugins: PluginSettings,
    /// `hooks:` as written (read by `lhp-hooks` once tokens are known), if given.
    pub hooks: Option<Value>,
}

/// Reads the sections, collecting problems.
pub fn read_settings(project: Option<&Map>, problems: &mut Vec<Diagnostic>) -> ProjectSettings {
    let mut settings = ProjectSettings::default();
    let Some(project) = project else {
        return settings;
    };
    if let Some(section) = project.get("operational_metadata").filter(|v| !v.is_null()) {
        settings.metadata_columns = metadata(section, problems);
    }
    if let Some(section) = project.get("event_log").filter(|v| !v.is_null()) {
        settings.event_log = event_log(section, problems);
    }
    if let Some(section) = project.get("plugins").filter(|v| !v.is_null()) {
        settings.plugins = plugins(section, problems);
    }
    settings.hooks = project.get("hooks").filter(|v| !v.is_null()).cloned();
    settings
}

fn flag(map: &Map, key: &str, default: bool, problems: &mut Vec<Diagnostic>) -> bool {
    match map.get(key) {
        None => default,
        Some(value) => value.as_bool().unwrap_or_else(|| {
            problems.push(
                Diagnostic::error("LHP-CFG-009", format!("`{key}` must be true or false"))
                    .at(value.span),
            );
            default
        }),
    }
}

fn text(map: &Map, key: &str) -> Option<String> {
    map.get(key).and_then(|v| match &v.kind {
        ValueKind::String(s) => Some(s.clone()),
        ValueKind::Null => None,
        _ => crate::substitution::python_str(v),
    })
}

fn metadata(section: &Value, problems: &mut Vec<Diagnostic>) -> Vec<MetadataColumn> {
    let Some(map) = section.as_map() else {
        problems.push(
            Diagnostic::error(
                "LHP-CFG-003",
                "`operational_metadata` must be a mapping with `columns`",
            )
            .at(section.span),
        );
        return Vec::new();
    };
    let Some(columns) = map.get("columns").filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(columns) = columns.as_map() else {
        problems.push(
            Diagnostic::error(
                "LHP-CFG-003",
                "`operational_metadata.columns` must map column names to definitions",
            )
            .at(columns.span),
        );
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, definition) in columns.iter_str() {
        let column = match &definition.kind {
            // The shorthand: `name: "expression"`.
            ValueKind::String(expression) => MetadataColumn {
                name: name.to_owned(),
                expression: expression.clone(),
                applies_to: vec!["streaming_table".into(), "materialized_view".into()],
                additional_imports: Vec::new(),
            },
            ValueKind::Map(fields) => {
                let applies_to = match fields.get("applies_to") {
                    None => vec!["streaming_table".into(), "materialized_view".into()],
                    Some(_) => crate::shape::string_list(
                        fields.get("applies_to"),
                        "applies_to",
                        ("LHP-CFG-003", "LHP-CFG-004"),
                        problems,
                    ),
                };
                for target in &applies_to {
                    if !METADATA_TARGETS.contains(&target.as_str()) {
                        let at = fields.get("applies_to").map_or(definition.span, |v| v.span);
                        problems.push(
                            Diagnostic::error(
                                "LHP-CFG-003",
                                format!(
                                    "column `{name}`: `applies_to` has {target:?}; it takes {}",
                                    METADATA_TARGETS.join(", ")
                                ),
                            )
                            .at(at),
                        );
                    }
                }
                MetadataColumn {
                    name: name.to_owned(),
                    expression: text(fields, "expression").unwrap_or_default(),
                    applies_to,
                    additional_imports: crate::shape::string_list(
                        fields.get("additional_imports"),
                        "additional_imports",
                        ("LHP-CFG-003", "LHP-CFG-004"),
                        problems,
                    ),
                }
            }
            other => {
                problems.push(
                    Diagnostic::error(
                        "LHP-CFG-003",
                        format!(
                            "column `{name}` must be an expression or a mapping, not {}",
                            other.describe()
                        ),
                    )
                    .at(definition.span),
                );
                continue;
            }
        };
        found.push(column);
    }
    found
}

fn event_log(section: &Value, problems: &mut Vec<Diagnostic>) -> Option<EventLogSettings> {
    let Some(map) = section.as_map() else {
        problems.push(
            Diagnostic::error("LHP-CFG-006", "`event_log` must be a mapping").at(section.span),
        );
        return None;
    };
    let settings = EventLogSettings {
        enabled: flag(map, "enabled", true, problems),
        catalog: text(map, "catalog"),
        schema: text(map, "schema"),
        name_prefix: text(map, "name_prefix").unwrap_or_default(),
        name_suffix: text(map, "name_suffix").unwrap_or_default(),
    };
    if settings.enabled && (settings.catalog.is_none() || settings.schema.is_none()) {
        problems.push(
            Diagnostic::error(
                "LHP-CFG-007",
                "an enabled `event_log` needs `catalog` and `schema`",
            )
            .at(section.span)
            .hint("or set `enabled: false`"),
        );
    }
    Some(settings)
}

fn plugins(section: &Value, problems: &mut Vec<Diagnostic>) -> PluginSettings {
    let mut settings = PluginSettings::default();
    let Some(map) = section.as_map() else {
        problems
            .push(Diagnostic::error("LHP-CFG-009", "`plugins` must be a mapping").at(section.span));
        return settings;
    };
    const KEYS: [&str; 7] = [
        "enabled",
        "directories",
        "commands",
        "discover_path",
        "allow_override",
        "config",
        "timeout",
    ];
    for (key, _) in map.entries() {
        let Some(name) = key.as_str() else { continue };
        if !KEYS.contains(&name) {
            let mut problem =
                Diagnostic::error("LHP-CFG-009", format!("`plugins` has no setting `{name}`"))
                    .at(key.span);
            if let Some(guess) = crate::flowgroup::did_you_mean(name, &KEYS) {
                problem = problem.hint(format!("did you mean `{guess}`?"));
            }
            problems.push(problem);
        }
    }
    settings.enabled = flag(map, "enabled", true, problems);
    settings.discover_path = flag(map, "discover_path", true, problems);
    if map.contains_key("directories") {
        settings.directories = crate::shape::string_list(
            map.get("directories"),
            "plugins.directories",
            ("LHP-CFG-003", "LHP-CFG-004"),
            problems,
        );
    }
    settings.commands = crate::shape::string_list(
        map.get("commands"),
        "plugins.commands",
        ("LHP-CFG-003", "LHP-CFG-004"),
        problems,
    );
    settings.allow_override = crate::shape::string_list(
        map.get("allow_override"),
        "plugins.allow_override",
        ("LHP-CFG-003", "LHP-CFG-004"),
        problems,
    );
    if let Some(timeout) = map.get("timeout").filter(|v| !v.is_null()) {
        match timeout.kind {
            ValueKind::Int(seconds) if (1..=86_400).contains(&seconds) => {
                settings.timeout = seconds as u64
            }
            _ => problems.push(
                Diagnostic::error(
                    "LHP-CFG-009",
                    format!(
                        "`plugins.timeout` is a whole number of seconds from 1 to 86400, not {timeout}"
                    ),
                )
                .at(timeout.span),
            ),
        }
    }
    if let Some(config) = map.get("config").filter(|v| !v.is_null()) {
        match config.as_map() {
            Some(per_plugin) => {
                settings.config = per_plugin
                    .iter_str()
                    .map(|(name, value)| (name.to_owned(), value.clone()))
                    .collect();
            }
            None => problems.push(
                Diagnostic::error(
                    "LHP-CFG-009",
                    "`plugins.config` maps plugin names to their settings",
                )
                .at(config.span),
            ),
        }
    }
    settings
}
