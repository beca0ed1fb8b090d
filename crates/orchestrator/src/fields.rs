//! The fields each load, transform, write and test type takes, requires or refuses, checked
//! as the reference checks them at validate time.
//!
//! Keys inside a load `source` or a `write_target` are checked against the type's list
//! (an unknown key is an error there, as in the reference); extra keys elsewhere on an action
//! are ignored, as the reference ignores them. These tables move to the generator registry
//! when generators exist, so that plugins declare theirs the same way.

use lhp_plugin::{ActionKind, Map, Span, Value, ValueKind};

use crate::diagnostic::Diagnostic;
use crate::flowgroup::did_you_mean;

/// Load source types: the keys each allows, and the keys it requires.
const LOAD_TYPES: &[(&str, &[&str], &[&str])] = &[
    (
        "cloudfiles",
        &[
            "type",
            "path",
            "format",
            "options",
            "reader_options",
            "format_options",
            "schema",
            "schema_file",
            "readMode",
            "schema_location",
            "schema_infer_column_types",
            "max_files_per_trigger",
            "schema_evolution_mode",
            "rescue_data_column",
        ],
        &["path", "format"],
    ),
    (
        "delta",
        &[
            "type",
            "table",
            "catalog",
            "schema",
            "database",
            "readMode",
            "options",
            "where_clause",
            "select_columns",
        ],
        &["table"],
    ),
    ("sql", &["type", "sql", "sql_path"], &[]),
    (
        "jdbc",
        &[
            "type", "url", "user", "password", "driver", "query", "table",
        ],
        &["url", "user", "password", "driver"],
    ),
    (
        "python",
        &["type", "module_path", "function_name", "parameters"],
        &["module_path"],
    ),
    (
        "kafka",
        &[
            "type",
            "bootstrap_servers",
            "subscribe",
            "subscribePattern",
            "assign",
            "options",
            "readMode",
        ],
        &["bootstrap_servers"],
    ),
    (
        "custom_datasource",
        &["type", "module_path", "custom_datasource_class", "options"],
        &[],
    ),
];

const TABLE_KEYS: &[&str] = &[
    "type",
    "catalog",
    "schema",
    "database",
    "table",
    "create_table",
    "comment",
    "description",
    "table_properties",
    "tags",
    "tags_file",
    "partition_columns",
    "cluster_columns",
    "cluster_by_auto",
    "spark_conf",
    "table_schema",
    "row_filter",
    "temporary",
    "private",
    "path",
];
const STREAMING_ONLY: &[&str] = &[
    "mode",
    "cdc_config",
    "snapshot_cdc_config",
    "replace_config",
];
const VIEW_ONLY: &[&str] = &["refresh_schedule", "refresh_policy", "sql", "sql_path"];
const SINK_KEYS: &[&str] = &[
    "type",
    "sink_type",
    "sink_name",
    "comment",
    "description",
    "bootstrap_servers",
    "topic",
    "module_path",
    "custom_sink_class",
    "batch_handler",
    "options",
];

const TRANSFORM_TYPES: &[&str] = &["sql", "python", "data_quality", "temp_table", "schema"];
const WRITE_TYPES: &[&str] = &["streaming_table", "materialized_view", "sink"];
/// The test types, as the generators provide them.
const TEST_TYPES: &[&str] = &lhp_generators::test_actions::TEST_TYPES;

/// Checks every action of a resolved flowgroup against its type's fields.
///
/// `plugin_types` are the types plugins provide: their fields are the plugin's to check.
pub fn check_actions(
    flowgroup: &Value,
    plugin_types: &[(ActionKind, String)],
    problems: &mut Vec<Diagnostic>,
) {
    let actions = crate::shape::actions_of(flowgroup);
    for action in actions {
        let Some(fields) = action.as_map() else {
            continue;
        };
        let name = fields.get("name").and_then(Value::as_str).unwrap_or("?");
        let mut check = Check {
            plugin_types,
            action: name,
            span: action.span,
            fields,
            problems,
        };
        match fields.get("type").and_then(Value::as_str) {
            Some("load") => check.load(),
            Some("transform") => check.transform(),
            Some("write") => check.write(),
            Some("test") => check.test(),
            _ => {}
        }
    }
}

struct Check<'a, 'p> {
    plugin_types: &'a [(ActionKind, String)],
    action: &'a str,
    span: Span,
    fields: &'a Map,
    problems: &'p mut Vec<Diagnostic>,
}

impl Check<'_, '_> {
    /// Whether a plugin provides `name` of `kind`.
    fn is_plugin_type(&self, kind: ActionKind, name: &str) -> bool {
        self.plugin_types
            .iter()
            .any(|(k, t)| *k == kind && t == name)
    }

    /// The built-in type names of `kind` and the plugins' after them.
    fn known<'k>(&'k self, kind: ActionKind, builtin: &[&'k str]) -> Vec<&'k str> {
        let mut known = builtin.to_vec();
        known.extend(
            self.plugin_types
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, t)| t.as_str()),
        );
        known
    }

    fn error(&mut self, span: Span, message: String) -> &mut Diagnostic {
        self.problems.push(
            Diagnostic::error(
                "LHP-VAL-007",
                format!("action `{}`: {message}", self.action),
            )
            .at(span),
        );
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    /// A field the action must have.
    fn require(&mut self, key: &str, why: &str) -> bool {
        if self.fields.get(key).is_some_and(|v| !v.is_null()) {
            return true;
        }
        let span = self.span;
        self.error(span, format!("needs `{key}`{why}"));
        false
    }

    /// `map[key]` must be there (reported at `at`), unless a key of `map` is a misspelling
    /// of it, which is reported already: one typo, one error.
    fn require_in(&mut self, map: &Map, key: &str, what: &str, at: Span) {
        if map.get(key).is_some_and(|v| !v.is_null()) {
            return;
        }
        let misspelt = map
            .entries()
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .any(|k| k != key && did_you_mean(k, &[key]).is_some());
        if !misspelt {
            self.error(at, format!("{what} needs `{key}`"));
        }
    }

    fn unknown_keys(&mut self, map: &Map, allowed: &[&str], what: &str) {
        for (key, _) in map.entries() {
            let Some(name) = key.as_str() else { continue };
            if allowed.contains(&name) {
                continue;
            }
            let mut problem = Diagnostic::error(
                "LHP-CFG-001",
                format!("action `{}`: unknown field `{name}` in {what}", self.action),
            )
            .at(key.span);
            problem = match did_you_mean(name, allowed) {
                Some(guess) => problem.hint(format!("did you mean `{guess}`?")),
                None => problem.hint(format!("{what} takes: {}", allowed.join(", "))),
            };
            self.problems.push(problem);
        }
    }

    /// The built-in `type` of a nested mapping, checked against `builtin` and the plugins'
    /// types of `kind`; `None` when it is missing, unknown (both reported) or a plugin's
    /// (whose fields are the plugin's to check).
    fn subtype<'m>(
        &mut self,
        map: &'m Map,
        at: Span,
        kind: ActionKind,
        builtin: &[&str],
        what: &str,
    ) -> Option<&'m str> {
        let known: Vec<String> = self
            .known(kind, builtin)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let Some(value) = map.get("type") else {
            self.error(at, format!("{what} needs a `type` ({})", known.join(", ")));
            return None;
        };
        let name = value.as_str().unwrap_or_default();
        if builtin.contains(&name) {
            return Some(name);
        }
        if self.is_plugin_type(kind, name) {
            return None;
        }
        let mut problem = Diagnostic::error(
            "LHP-VAL-007",
            format!("action `{}`: unknown {what} type {name:?}", self.action),
        )
        .at(value.span);
        problem = match did_you_mean(name, &known) {
            Some(guess) => problem.hint(format!("did you mean `{guess}`?")),
            None => problem.hint(format!("one of {}", known.join(", "))),
        };
        self.problems.push(problem);
        None
    }

    fn load(&mut self) {
        self.require("target", ": the view it loads into");
        let Some(source) = self.fields.get("source") else {
            let span = self.span;
            self.error(span, "needs a `source` mapping with a `type`".to_owned());
            return;
        };
        let Some(map) = source.as_map() else {
            self.error(
                source.span,
                format!(
                    "a load `source` must be a mapping with a `type`, not {}",
                    source.kind.describe()
                ),
            );
            return;
        };
        let builtin: Vec<&str> = LOAD_TYPES.iter().map(|(t, _, _)| *t).collect();
        let Some(kind) = self.subtype(map, source.span, ActionKind::Load, &builtin, "load source")
        else {
            return;
        };
        let Some((_, allowed, required)) = LOAD_TYPES.iter().find(|(t, _, _)| *t == kind) else {
            return;
        };
        self.unknown_keys(map, allowed, &format!("load source ({kind})"));
        for key in *required {
            self.require_in(map, key, &format!("a {kind} source"), source.span);
        }
        match kind {
            "delta" if !map.contains_key("database") => {
                for key in ["catalog", "schema"] {
                    self.require_in(map, key, "a delta source", source.span);
                }
            }
            "jdbc" if !map.contains_key("query") && !map.contains_key("table") => {
                self.error(
                    source.span,
                    "a jdbc source needs `query` or `table`".to_owned(),
                );
            }
            "kafka" => {
                let given = ["subscribe", "subscribePattern", "assign"]
                    .iter()
                    .filter(|k| map.get(k).is_some_and(|v| !v.is_null()))
                    .count();
                if given != 1 {
                    self.error(source.span, "a kafka source needs exactly one of `subscribe`, `subscribePattern`, `assign`".to_owned());
                }
            }
            _ => {}
        }
    }

    fn transform(&mut self) {
        self.require("target", ": the view it produces");
        let Some(kind_value) = self.fields.get("transform_type") else {
            self.require(
                "transform_type",
                &format!(" ({})", TRANSFORM_TYPES.join(", ")),
            );
            return;
        };
        let kind = kind_value.as_str().unwrap_or_default();
        if self.is_plugin_type(ActionKind::Transform, kind) {
            return;
        }
        if !TRANSFORM_TYPES.contains(&kind) {
            let known = self.known(ActionKind::Transform, TRANSFORM_TYPES);
            let mut problem = Diagnostic::error(
                "LHP-VAL-007",
                format!("action `{}`: unknown transform type {kind:?}", self.action),
            )
            .at(kind_value.span);
            problem = match did_you_mean(kind, &known) {
                Some(guess) => problem.hint(format!("did you mean `{guess}`?")),
                None => problem.hint(format!("one of {}", known.join(", "))),
            };
            self.problems.push(problem);
            return;
        }
        self.require("source", ": the view it reads");
        match kind {
            "sql" if !self.fields.contains_key("sql") && !self.fields.contains_key("sql_path") => {
                let span = self.span;
                self.error(span, "a sql transform needs `sql` or `sql_path`".to_owned());
            }
            "python" => {
                self.require("module_path", ": the Python file with the function");
                if let Some(parameters) = self
                    .fields
                    .get("parameters")
                    .filter(|p| !p.is_null() && p.as_map().is_none())
                {
                    self.error(parameters.span, "`parameters` must be a mapping".to_owned());
                }
            }
            "data_quality" => {
                let mode = self.fields.get("mode");
                match mode.and_then(Value::as_str) {
                    None if mode.is_none_or(Value::is_null) => {}
                    Some("dqe" | "quarantine") => {}
                    _ => {
                        let at = mode.map_or(self.span, |m| m.span);
                        self.error(
                            at,
                            "a data_quality `mode` is `dqe` or `quarantine`".to_owned(),
                        );
                    }
                }
                let quarantine = mode.and_then(Value::as_str) == Some("quarantine");
                match (quarantine, self.fields.get("quarantine")) {
                    (true, None) => {
                        let span = self.span;
                        self.error(
                            span,
                            "quarantine mode needs a `quarantine` block (dlq_table, source_table)"
                                .to_owned(),
                        );
                    }
                    (false, Some(block)) => {
                        self.error(
                            block.span,
                            "a `quarantine` block needs `mode: quarantine`".to_owned(),
                        );
                    }
                    _ => {}
                }
            }
            "schema" => {
                if let Some(source) = self.fields.get("source").filter(|s| s.as_str().is_none()) {
                    self.error(
                        source.span,
                        "a schema transform's `source` is the name of one view".to_owned(),
                    );
                }
                let given = ["schema_inline", "schema_file"]
                    .iter()
                    .filter(|k| self.fields.contains_key(k))
                    .count();
                if given != 1 {
                    let span = self.span;
                    self.error(
                        span,
                        "a schema transform needs exactly one of `schema_inline` and `schema_file`"
                            .to_owned(),
                    );
                }
                if let Some(enforcement) = self.fields.get("enforcement") {
                    if !matches!(enforcement.as_str(), Some("strict" | "permissive")) {
                        self.error(
                            enforcement.span,
                            "`enforcement` is `strict` or `permissive`".to_owned(),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn write(&mut self) {
        let Some(target) = self.fields.get("write_target") else {
            let span = self.span;
            self.error(
                span,
                "needs a `write_target` mapping with a `type`".to_owned(),
            );
            return;
        };
        let Some(map) = target.as_map() else {
            self.error(
                target.span,
                format!(
                    "`write_target` must be a mapping, not {}",
                    target.kind.describe()
                ),
            );
            return;
        };
        let Some(kind) = self.subtype(
            map,
            target.span,
            ActionKind::Write,
            WRITE_TYPES,
            "write target",
        ) else {
            return;
        };
        let mode = map.get("mode").and_then(Value::as_str);
        match kind {
            "streaming_table" | "materialized_view" => {
                let extra = if kind == "streaming_table" {
                    STREAMING_ONLY
                } else {
                    VIEW_ONLY
                };
                let allowed: Vec<&str> = TABLE_KEYS.iter().chain(extra).copied().collect();
                self.unknown_keys(map, &allowed, &format!("write target ({kind})"));
                if !map.contains_key("database") {
                    for key in ["catalog", "schema"] {
                        self.require_in(map, key, &format!("a {kind}"), target.span);
                    }
                }
                self.require_in(map, "table", &format!("a {kind}"), target.span);
            }
            _ => {
                self.unknown_keys(map, SINK_KEYS, "write target (sink)");
                for key in ["sink_type", "sink_name"] {
                    self.require_in(map, key, "a sink", target.span);
                }
            }
        }
        match (kind, mode) {
            ("streaming_table", Some("snapshot_cdc")) => {
                self.require_in(map, "snapshot_cdc_config", "snapshot_cdc mode", target.span);
                if let Some(config) = map.get("snapshot_cdc_config") {
                    self.snapshot_cdc_config(config);
                }
            }
            ("streaming_table", Some("cdc")) => {
                self.require_in(map, "cdc_config", "cdc mode", target.span);
                if let Some(config) = map.get("cdc_config") {
                    self.cdc_config(config, map.get("table_schema"));
                }
                if self.require("source", ": the view it writes") {
                    if let Some(sources) = self.fields.get("source").and_then(Value::as_seq) {
                        if sources.len() > 1 {
                            let at = self.fields.get("source").map_or(self.span, |s| s.span);
                            self.error(at, "a CDC write reads one view: to merge several into one table, give each its own CDC write (fan-in)".to_owned());
                        }
                    }
                }
            }
            ("streaming_table", Some("replace")) => {
                self.require_in(map, "replace_config", "replace mode", target.span);
                self.require("source", ": the view it writes");
            }
            ("streaming_table", Some("standard") | None) | ("sink", _) => {
                self.require("source", ": the view it writes");
            }
            ("streaming_table", Some(other)) => {
                let at = map.get("mode").map_or(target.span, |m| m.span);
                let other = other.to_owned();
                self.error(at, format!("unknown streaming table mode {other:?} (standard, cdc, snapshot_cdc, replace)"));
            }
            ("materialized_view", _) => {
                let given = self.fields.contains_key("source")
                    || map.contains_key("sql")
                    || map.contains_key("sql_path");
                if !given {
                    let span = self.span;
                    self.error(span, "a materialized view needs a `source`, or `sql` / `sql_path` in its write_target".to_owned());
                }
            }
            _ => {}
        }
    }

    /// A list of column names, if `value` is one (reported otherwise).
    fn names<'v>(&mut self, value: &'v Value, what: &str) -> Option<Vec<&'v str>> {
        let names: Option<Vec<&str>> = value
            .as_seq()
            .and_then(|items| items.iter().map(Value::as_str).collect());
        if names.is_none() {
            self.error(value.span, format!("{what} must be a list of column names"));
        }
        names
    }

    /// Keys: a non-empty list of column names.
    fn keys(&mut self, config: &Map, what: &str, at: Span) {
        match config.get("keys").filter(|v| !v.is_null()) {
            None => {
                self.require_in(config, "keys", what, at);
            }
            Some(keys) => {
                if self.names(keys, "`keys`").is_some_and(|k| k.is_empty()) {
                    self.error(keys.span, "`keys` lists no column".to_owned());
                }
            }
        }
    }

    /// The options of `mode: cdc`, as the reference accepts them.
    fn cdc_config(&mut self, config: &Value, table_schema: Option<&Value>) {
        let Some(map) = config.as_map() else {
            self.error(
                config.span,
                format!(
                    "`cdc_config` must be a mapping, not {}",
                    config.kind.describe()
                ),
            );
            return;
        };
        self.keys(map, "`cdc_config`", config.span);
        if let Some(sequence) = map.get("sequence_by").filter(|v| !v.is_null()) {
            match &sequence.kind {
                ValueKind::String(s) if !s.trim().is_empty() => {}
                ValueKind::Seq(items) if !items.is_empty() => {
                    self.names(sequence, "`sequence_by`");
                }
                _ => {
                    self.error(
                        sequence.span,
                        "`sequence_by` is a column, or a non-empty list of columns".to_owned(),
                    );
                }
            }
        }
        let scd = map.get("scd_type");
        if let Some(scd) = scd {
            if !matches!(scd.kind, ValueKind::Int(1 | 2)) {
                self.error(scd.span, format!("`scd_type` is 1 or 2, not {scd}"));
            }
        }
        let scd2 = scd.is_some_and(|v| matches!(v.kind, ValueKind::Int(2)));
        if let Some(flag) = map.get("ignore_null_updates") {
            if flag.as_bool().is_none() {
                self.error(
                    flag.span,
                    "`ignore_null_updates` is true or false".to_owned(),
                );
            }
        }
        for key in ["apply_as_deletes", "apply_as_truncates"] {
            if let Some(value) = map.get(key).filter(|v| v.as_str().is_none()) {
                self.error(value.span, format!("`{key}` is a SQL condition (a string)"));
            }
        }
        if let (true, Some(truncates)) = (scd2, map.get("apply_as_truncates")) {
            self.error(
                truncates.span,
                "`apply_as_truncates` works with SCD type 1 only".to_owned(),
            );
        }
        for key in [
            "column_list",
            "except_column_list",
            "track_history_column_list",
            "track_history_except_column_list",
        ] {
            if let Some(value) = map.get(key).filter(|v| !v.is_null()) {
                self.names(value, &format!("`{key}`"));
            }
        }
        for (one, other) in [
            ("column_list", "except_column_list"),
            (
                "track_history_column_list",
                "track_history_except_column_list",
            ),
        ] {
            if let (Some(_), Some(second)) = (map.get(one), map.get(other)) {
                self.error(
                    second.span,
                    format!("`{one}` and `{other}` exclude each other: give one"),
                );
            }
        }
        // SCD 2 keeps each version's validity in these columns: a declared schema needs them.
        if let (true, Some(schema)) = (scd2, table_schema.and_then(Value::as_str)) {
            // A schema in a file is not read here (only the generator reads side files).
            let inline = !lhp_generators::write::is_schema_file(schema);
            for column in ["__START_AT", "__END_AT"] {
                if inline && !schema.contains(column) {
                    let at = table_schema.map_or(self.span, |s| s.span);
                    self.error(at, format!("an SCD type 2 table's schema needs the `{column}` column, of the type of `sequence_by`"));
                }
            }
        }
    }

    /// The options of `mode: snapshot_cdc`, as the reference accepts them.
    fn snapshot_cdc_config(&mut self, config: &Value) {
        let Some(map) = config.as_map() else {
            self.error(
                config.span,
                format!(
                    "`snapshot_cdc_config` must be a mapping, not {}",
                    config.kind.describe()
                ),
            );
            return;
        };
        self.keys(map, "`snapshot_cdc_config`", config.span);
        if let (Some(_), Some(function)) = (map.get("source"), map.get("source_function")) {
            self.error(
                function.span,
                "`source` and `source_function` exclude each other: give one".to_owned(),
            );
        }
        if let Some(scd) = map.get("stored_as_scd_type") {
            if !matches!(scd.kind, ValueKind::Int(1 | 2)) {
                self.error(
                    scd.span,
                    format!("`stored_as_scd_type` is 1 or 2, not {scd}"),
                );
            }
        }
        if let Some(parameters) = map
            .get("source_function")
            .and_then(Value::as_map)
            .and_then(|f| f.get("parameters"))
            .filter(|p| !p.is_null() && p.as_map().is_none())
        {
            self.error(
                parameters.span,
                "`parameters` maps the function's keyword arguments to values".to_owned(),
            );
        }
        if let (Some(_), Some(second)) = (
            map.get("track_history_column_list"),
            map.get("track_history_except_column_list"),
        ) {
            self.error(second.span, "`track_history_column_list` and `track_history_except_column_list` exclude each other: give one".to_owned());
        }
    }

    fn test(&mut self) {
        let Some(kind_value) = self.fields.get("test_type") else {
            self.require("test_type", &format!(" ({})", TEST_TYPES.join(", ")));
            return;
        };
        let kind = kind_value.as_str().unwrap_or_default();
        if !TEST_TYPES.contains(&kind) {
            let mut problem = Diagnostic::error(
                "LHP-VAL-007",
                format!("action `{}`: unknown test type {kind:?}", self.action),
            )
            .at(kind_value.span);
            if let Some(guess) = did_you_mean(kind, TEST_TYPES) {
                problem = problem.hint(format!("did you mean `{guess}`?"));
            }
            self.problems.push(problem);
            return;
        }
        if let Some(on_violation) = self.fields.get("on_violation") {
            if !matches!(on_violation.as_str(), Some("fail" | "warn" | "drop")) {
                self.error(
                    on_violation.span,
                    "`on_violation` is `fail`, `warn` or `drop`".to_owned(),
                );
            }
        }
        let required: &[&str] = match kind {
            "row_count" => &["source"],
            "uniqueness" => &["source", "columns"],
            "referential_integrity" => {
                &["source", "reference", "source_columns", "reference_columns"]
            }
            "completeness" => &["source", "required_columns"],
            "range" => &["source", "column"],
            "schema_match" => &["source", "reference"],
            "all_lookups_found" => &[
                "source",
                "lookup_table",
                "lookup_columns",
                "lookup_result_columns",
            ],
            "custom_sql" => &["sql"],
            _ => &["source", "expectations"],
        };
        for key in required {
            self.require(key, &format!(" (a {kind} test)"));
        }
        if kind == "row_count" {
            if let Some(source) = self
                .fields
                .get("source")
                .filter(|s| s.as_seq().is_none_or(|l| l.len() != 2))
            {
                self.error(
                    source.span,
                    "a row_count test compares exactly two sources: `source: [a, b]`".to_owned(),
                );
            }
        }
        if kind == "range"
            && !self.fields.contains_key("min_value")
            && !self.fields.contains_key("max_value")
        {
            let span = self.span;
            self.error(
                span,
                "a range test needs `min_value`, `max_value` or both".to_owned(),
            );
        }
    }
}
