//! The project-wide sections of `lhp.yaml`: `operational_metadata`, `event_log` and
//! `plugins`, read into typed settings with their shapes checked, and `hooks`, kept as
//! written for [`crate::hooks`].

use std::collections::BTreeMap;

use lhp_plugin::{Map, Span, Value, ValueKind};

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

/// A materialized view of the monitoring pipeline (`monitoring.materialized_views`).
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringView {
    /// The view's table name (in the monitoring catalog and schema).
    pub name: String,
    /// Its query, written inline...
    pub sql: Option<String>,
    /// ...or in a file, relative to the project root.
    pub sql_path: Option<String>,
    /// Where it is declared.
    pub span: Span,
}

/// Event-log monitoring (`monitoring:`): a job that unions every pipeline's event log into
/// one table and a pipeline of materialized views over it.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringSettings {
    /// `false` turns it off (and removes what earlier runs wrote for it).
    pub enabled: bool,
    /// The monitoring pipeline's name; `<project>_event_log_monitoring` by default.
    pub pipeline_name: Option<String>,
    /// Catalog and schema of the union table and the views (the event log's by default).
    pub catalog: Option<String>,
    /// See `catalog`.
    pub schema: Option<String>,
    /// The union table's name.
    pub streaming_table: String,
    /// Where the union's streams keep their checkpoints (one folder per pipeline).
    pub checkpoint_path: String,
    /// The job's settings file, relative to the root (may hold `${tokens}`).
    pub job_config_path: String,
    /// How many event logs are copied at once (1 to 20).
    pub max_concurrent_streams: i64,
    /// The views; `None` means the default run summary, an empty list none at all.
    pub materialized_views: Option<Vec<MonitoringView>>,
    /// Where the section is.
    pub span: Span,
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
    /// `monitoring:`, if given (enabled or not).
    pub monitoring: Option<MonitoringSettings>,
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
    if let Some(section) = project.get("monitoring") {
        let event_log_on = settings.event_log.as_ref().is_some_and(|e| e.enabled);
        settings.monitoring = monitoring(section, event_log_on, problems);
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

fn monitoring(
    section: &Value,
    event_log_on: bool,
    problems: &mut Vec<Diagnostic>,
) -> Option<MonitoringSettings> {
    let empty = Map::new();
    let map = match &section.kind {
        ValueKind::Null => &empty,
        ValueKind::Map(map) => map,
        other => {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-008",
                    format!("`monitoring` must be a mapping, not {}", other.describe()),
                )
                .at(section.span),
            );
            return None;
        }
    };
    const KEYS: [&str; 10] = [
        "enabled",
        "pipeline_name",
        "catalog",
        "schema",
        "streaming_table",
        "checkpoint_path",
        "job_config_path",
        "max_concurrent_streams",
        "materialized_views",
        "enable_job_monitoring",
    ];
    // The reference ignores unknown keys; a typo here silently changes what is generated,
    // so it is a warning (an error under --strict).
    for (key, _) in map.entries() {
        let Some(name) = key.as_str() else { continue };
        if !KEYS.contains(&name) {
            let mut warning = Diagnostic::warning(
                "LHP-CFG-009",
                format!("`monitoring` has no setting `{name}`: it is ignored"),
            )
            .at(key.span);
            if let Some(guess) = crate::flowgroup::did_you_mean(name, &KEYS) {
                warning = warning.hint(format!("did you mean `{guess}`?"));
            }
            problems.push(warning);
        }
    }
    let problem = |message: String, at: Span| Diagnostic::error("LHP-CFG-008", message).at(at);
    let at = |key: &str| map.get(key).map_or(section.span, |v| v.span);
    if let Some(name) = map.get("pipeline_name").filter(|v| !v.is_null()) {
        let valid = name.as_str().is_some_and(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        });
        if !valid {
            problems.push(problem(
                format!("`monitoring.pipeline_name` names files and folders: {name} must be letters, digits, `_` and `-`"),
                name.span,
            ));
        }
    }
    let max_concurrent_streams = match map.get("max_concurrent_streams") {
        None => 10,
        Some(Value {
            kind: ValueKind::Int(n),
            ..
        }) if (1..=20).contains(n) => *n,
        Some(value) => {
            problems.push(problem(
                format!(
                    "`monitoring.max_concurrent_streams` must be a whole number from 1 to 20, not {value}"
                ),
                value.span,
            ));
            10
        }
    };
    let materialized_views = match map.get("materialized_views").filter(|v| !v.is_null()) {
        None => None,
        Some(Value {
            kind: ValueKind::Seq(items),
            ..
        }) => Some(
            items
                .iter()
                .filter_map(|item| monitoring_view(item, problems))
                .collect::<Vec<_>>(),
        ),
        Some(value) => {
            problems.push(problem(
                "`monitoring.materialized_views` must be a list of `{name, sql | sql_path}`"
                    .to_owned(),
                value.span,
            ));
            None
        }
    };
    let settings = MonitoringSettings {
        enabled: flag(map, "enabled", true, problems),
        pipeline_name: text(map, "pipeline_name").filter(|n| !n.is_empty()),
        catalog: text(map, "catalog").filter(|n| !n.is_empty()),
        schema: text(map, "schema").filter(|n| !n.is_empty()),
        streaming_table: text(map, "streaming_table")
            .unwrap_or_else(|| "all_pipelines_event_log".to_owned()),
        checkpoint_path: text(map, "checkpoint_path").unwrap_or_default(),
        job_config_path: text(map, "job_config_path").unwrap_or_default(),
        max_concurrent_streams,
        materialized_views,
        span: section.span,
    };
    if !settings.enabled {
        return Some(settings);
    }
    if !event_log_on {
        problems.push(
            problem(
                "`monitoring` reads the pipelines' event logs: it needs an enabled `event_log`"
                    .to_owned(),
                section.span,
            )
            .hint("add `event_log: {catalog: ..., schema: ...}` to lhp.yaml, or set `monitoring.enabled: false`"),
        );
    }
    if settings.checkpoint_path.is_empty() {
        problems.push(problem(
            "`monitoring.checkpoint_path` is required: where the union keeps its stream checkpoints".to_owned(),
            section.span,
        ));
    }
    if settings.job_config_path.is_empty() {
        problems.push(
            problem(
                "`monitoring.job_config_path` is required: the monitoring job's settings file"
                    .to_owned(),
                section.span,
            )
            .hint("for example `job_config_path: config/monitoring_job.yaml`"),
        );
    }
    if map
        .get("enable_job_monitoring")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        problems.push(
            problem(
                "`monitoring.enable_job_monitoring` is not supported by lhp yet".to_owned(),
                at("enable_job_monitoring"),
            )
            .hint("remove it, or set it to false"),
        );
    }
    if let Some(views) = &settings.materialized_views {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for view in views {
            if let Some(first) = seen.insert(&view.name, view.span) {
                problems.push(problem(
                    format!(
                        "monitoring view `{}` is declared twice (first at line {})",
                        view.name, first.line
                    ),
                    view.span,
                ));
            }
        }
    }
    Some(settings)
}

fn monitoring_view(item: &Value, problems: &mut Vec<Diagnostic>) -> Option<MonitoringView> {
    let Some(map) = item.as_map() else {
        problems.push(
            Diagnostic::error(
                "LHP-CFG-008",
                format!(
                    "a monitoring view must be a mapping `{{name, sql | sql_path}}`, not {}",
                    item.kind.describe()
                ),
            )
            .at(item.span),
        );
        return None;
    };
    let view = MonitoringView {
        name: text(map, "name").unwrap_or_default(),
        sql: text(map, "sql").filter(|s| !s.is_empty()),
        sql_path: text(map, "sql_path").filter(|s| !s.is_empty()),
        span: item.span,
    };
    let message = if view.name.is_empty() {
        Some("a monitoring view needs a `name`")
    } else if view.sql.is_some() && view.sql_path.is_some() {
        Some("a monitoring view takes `sql` or `sql_path`, not both")
    } else if view.sql.is_none() && view.sql_path.is_none() {
        Some("a monitoring view needs `sql` or `sql_path`")
    } else {
        None
    };
    if let Some(message) = message {
        problems.push(Diagnostic::error("LHP-CFG-008", message).at(item.span));
        return None;
    }
    Some(view)
}
