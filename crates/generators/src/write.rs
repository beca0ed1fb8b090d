//! The built-in write types: streaming tables (append flows, CDC and snapshot CDC) and
//! materialized views. A write generator is called once per target table, with every
//! action writing that table.

use std::sync::Arc;

use lhp_plugin::{
    Action, ActionKind, Fragment, GenerateContext, GenerateError, GenerateRequest, Generator, Map,
    Value, ValueKind,
};

use crate::common::{copy_module, fields, render, text, DP_IMPORT};
use crate::py::Py;

/// The write types this crate provides.
pub fn generators() -> Vec<Arc<dyn Generator>> {
    vec![Arc::new(StreamingTable), Arc::new(MaterializedView)]
}

/// `write_target` of an action, or an error.
fn write_target(action: &Action) -> Result<&Map, GenerateError> {
    action.write_target().ok_or_else(|| {
        GenerateError::new(
            "LHP-VAL-001",
            format!(
                "write `{}` needs a `write_target` mapping",
                action.name.value
            ),
        )
        .at(action.span())
    })
}

/// The table's full name: `catalog.schema.table`, else `table`, else the action's name.
pub fn full_table_name(action: &Action) -> String {
    action
        .write_target()
        .and_then(crate::common::table_name)
        .unwrap_or_else(|| action.name.value.clone())
}

/// Whether a `table_schema` names a file (by its extension, as the reference decides)
/// rather than holding the schema itself.
pub fn is_schema_file(table_schema: &str) -> bool {
    let lower = table_schema.to_ascii_lowercase();
    [".yaml", ".yml", ".json", ".ddl", ".sql"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// Whether a value counts as set (Python truthiness).
fn truthy(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| v.is_truthy())
}

/// The name of an action's flow: `f_` + its name without a leading `write_`.
fn flow_name(action: &Action) -> String {
    let base = action.name.value.replace(['-', ' '], "_");
    let base = base.strip_prefix("write_").unwrap_or(&base).to_owned();
    if base.starts_with("f_") {
        base
    } else {
        format!("f_{base}")
    }
}

/// A table schema: inline DDL as written; a YAML/JSON file as `name TYPE, ...`; a DDL/SQL
/// file's text.
fn table_schema(
    context: &dyn GenerateContext,
    value: &Value,
) -> Result<Option<String>, GenerateError> {
    let Some(text) = value.as_str().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let lower = text.to_ascii_lowercase();
    if !is_schema_file(text) {
        return Ok(Some(text.to_owned()));
    }
    if lower.ends_with(".ddl") || lower.ends_with(".sql") {
        return Ok(Some(context.read_file(text, value.span)?.trim().to_owned()));
    }
    let columns = crate::common::schema_columns(context, text, value.span)?;
    Ok(Some(
        columns
            .iter()
            .map(|c| {
                format!(
                    "{} {}{}",
                    c.name,
                    c.data_type,
                    if c.nullable { "" } else { " NOT NULL" }
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

/// The keyword arguments shared by `create_streaming_table` and `@dp.materialized_view`
/// after `name` and `comment`.
fn table_keywords(
    py: &Py<'_>,
    context: &dyn GenerateContext,
    target: &Map,
    always_properties: bool,
) -> Result<Vec<String>, GenerateError> {
    let mut args = Vec::new();
    match truthy(target.get("table_properties")) {
        Some(props) => args.push(format!("table_properties={}", py.value(props))),
        None if always_properties => args.push("table_properties={}".to_owned()),
        None => {}
    }
    if let Some(conf) = truthy(target.get("spark_conf")) {
        args.push(format!("spark_conf={}", py.value(conf)));
    }
    if let Some(columns) = truthy(target.get("partition_columns")) {
        args.push(format!("partition_cols={}", py.value(columns)));
    }
    if let Some(columns) = truthy(target.get("cluster_columns")) {
        args.push(format!("cluster_by={}", py.value(columns)));
    }
    if truthy(target.get("cluster_by_auto")).is_some() {
        args.push("cluster_by_auto=True".to_owned());
    }
    if let Some(path) = truthy(target.get("path")) {
        args.push(format!("path={}", py.value(path)));
    }
    if let Some(schema) = target.get("table_schema") {
        if let Some(ddl) = table_schema(context, schema)? {
            args.push(format!("schema={}", py.sql(&ddl)));
        }
    }
    if let Some(filter) = truthy(target.get("row_filter")) {
        args.push(format!("row_filter={}", py.value(filter)));
    }
    if truthy(target.get("temporary")).is_some() {
        args.push("temporary=True".to_owned());
    }
    Ok(args)
}

/// A streaming table and the flows that fill it.
struct StreamingTable;

impl Generator for StreamingTable {
    fn kind(&self) -> ActionKind {
        ActionKind::Write
    }
    fn type_name(&self) -> &str {
        "streaming_table"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let creator = request.action;
        let context = request.context;
        let py = Py::new(context);
        let target = write_target(creator)?;
        let full = full_table_name(creator);
        let table = text(target, "table").unwrap_or(&full).to_owned();
        let mode = text(target, "mode").unwrap_or("standard");
        if truthy(target.get("partition_columns")).is_some()
            && (truthy(target.get("cluster_columns")).is_some()
                || truthy(target.get("cluster_by_auto")).is_some())
        {
            return Err(GenerateError::new(
                "LHP-CFG-001",
                format!(
                    "streaming table {full}: partition_columns cannot be combined with clustering"
                ),
            )
            .at(creator.span()));
        }
        let create = match target.get("create_table").and_then(Value::as_bool) {
            Some(false) => mode == "snapshot_cdc",
            _ => true,
        };
        let mut args = vec![
            format!("name={}", py.string(&full)),
            format!(
                "comment={}",
                text(target, "comment")
                    .map(|c| py.string(c))
                    .unwrap_or_else(|| py.string(&format!("Streaming table: {table}")))
            ),
        ];
        args.extend(table_keywords(&py, context, target, false)?);
        if truthy(target.get("private")).is_some() {
            args.push("private=True".to_owned());
        }
        let mut fragment = Fragment {
            imports: vec![DP_IMPORT.to_owned()],
            ..Fragment::default()
        };
        let mut code = String::new();
        if create {
            code.push_str(&render(
                "streaming_table.py.j2",
                minijinja::context! { args => args, mode => mode },
            )?);
        }
        match mode {
            "standard" => {
                let mut flows = Vec::new();
                for action in &request.group {
                    let views = action.reads();
                    let base = flow_name(action);
                    let description = text(fields(action), "description");
                    let once = fields(action).get("once").and_then(Value::as_bool) == Some(true);
                    let stream = match crate::common::read_mode(action) {
                        Some(mode) => mode != "batch",
                        None => crate::common::read_mode(creator).as_deref() != Some("batch"),
                    };
                    let many = views.len() > 1;
                    for (index, view) in views.iter().enumerate() {
                        let name = if many {
                            format!("{base}_{}", index + 1)
                        } else {
                            base.clone()
                        };
                        let comment = description.map(str::to_owned).unwrap_or_else(|| {
                            if many {
                                format!("Append flow to {full} from {view}")
                            } else {
                                format!("Append flow to {full}")
                            }
                        });
                        let mut flow_args = vec![
                            format!("target={}", py.string(&full)),
                            format!("name={}", py.string(&name)),
                        ];
                        if once {
                            flow_args.push("once=True".to_owned());
                        }
                        flow_args.push(format!("comment={}", py.string(&comment)));
                        flows.push(minijinja::context! {
                            args => flow_args,
                            name => crate::py::identifier(&name),
                            doc => crate::py::docstring(&comment),
                            stream => stream,
                            read => format!(
                                "{}.table({})",
                                crate::common::reader(stream),
                                py.string(view)
                            ),
                        });
                    }
                }
                code.push_str(&render(
                    "append_flows.py.j2",
                    minijinja::context! { flows => flows },
                )?);
            }
            "cdc" => {
                let config = target
                    .get("cdc_config")
                    .and_then(Value::as_map)
                    .ok_or_else(|| {
                        GenerateError::new(
                            "LHP-VAL-001",
                            format!("streaming table {full} in mode cdc needs `cdc_config`"),
                        )
                        .at(creator.span())
                    })?;
                let mut calls = Vec::new();
                for action in &request.group {
                    let own = action
                        .write_target()
                        .and_then(|t| t.get("cdc_config"))
                        .and_then(Value::as_map)
                        .unwrap_or(config);
                    let view = action.reads().into_iter().next().unwrap_or_default();
                    let mut call = vec![
                        format!("target={}", py.string(&full)),
                        format!("source={}", py.string(&view)),
                        format!("name={}", py.string(&flow_name(action))),
                        format!(
                            "keys={}",
                            config.get("keys").map_or("[]".to_owned(), |k| py.value(k))
                        ),
                    ];
                    match config.get("sequence_by") {
                        Some(Value {
                            kind: ValueKind::Seq(items),
                            ..
                        }) => {
                            let columns: Vec<String> = items.iter().map(|i| py.value(i)).collect();
                            call.push(format!("sequence_by=struct({})", columns.join(", ")));
                            fragment
                                .imports
                                .push("from pyspark.sql.functions import struct".to_owned());
                        }
                        Some(value) if truthy(Some(value)).is_some() => {
                            call.push(format!("sequence_by={}", py.value(value)));
                        }
                        _ => {}
                    }
                    let scd = config
                        .get("scd_type")
                        .map_or("1".to_owned(), |v| py.value(v));
                    call.push(format!("stored_as_scd_type={scd}"));
                    if scd == "2" {
                        if let Some(list) = truthy(config.get("track_history_column_list")) {
                            call.push(format!("track_history_column_list={}", py.value(list)));
                        } else if let Some(list) =
                            truthy(config.get("track_history_except_column_list"))
                        {
                            call.push(format!(
                                "track_history_except_column_list={}",
                                py.value(list)
                            ));
                        }
                    }
                    if fields(action).get("once").and_then(Value::as_bool) == Some(true) {
                        call.push("once=True".to_owned());
                    }
                    for key in ["column_list", "except_column_list"] {
                        if let Some(list) = truthy(own.get(key)) {
                            call.push(format!("{key}={}", py.value(list)));
                        }
                    }
                    if let Some(flag) = own.get("ignore_null_updates").filter(|v| !v.is_null()) {
                        let on = truthy(Some(flag)).is_some();
                        call.push(format!(
                            "ignore_null_updates={}",
                            if on { "True" } else { "False" }
                        ));
                    }
                    for key in ["apply_as_deletes", "apply_as_truncates"] {
                        if let Some(expr) = truthy(own.get(key)) {
                            call.push(format!("{key}={}", py.value(expr)));
                        }
                    }
                    calls.push(minijinja::context! {
                        name => flow_name(action),
                        args => call,
                    });
                }
                code.push_str(&render(
                    "cdc_flows.py.j2",
                    minijinja::context! { calls => calls },
                )?);
            }
            "snapshot_cdc" => {
                let config = target
                    .get("snapshot_cdc_config")
                    .and_then(Value::as_map)
                    .ok_or_else(|| {
                        GenerateError::new(
                            "LHP-VAL-001",
                            format!(
                                "streaming table {full} in mode snapshot_cdc needs `snapshot_cdc_config`"
                            ),
                        )
                        .at(creator.span())
                    })?;
                let source = if let Some(function) =
                    config.get("source_function").and_then(Value::as_map)
                {
                    let file = function.get("file").ok_or_else(|| {
                        GenerateError::new(
                            "LHP-VAL-001",
                            format!("snapshot_cdc `source_function` of {full} needs `file`"),
                        )
                        .at(creator.span())
                    })?;
                    let name = text(function, "function").ok_or_else(|| {
                        GenerateError::new(
                            "LHP-VAL-001",
                            format!("snapshot_cdc `source_function` of {full} needs `function`"),
                        )
                        .at(creator.span())
                    })?;
                    let (module, side_files) =
                        copy_module(context, file.as_str().unwrap_or_default(), file.span)?;
                    let alias = format!("_snap_{module}");
                    fragment.imports.push(format!(
                        "import custom_python_functions.{module} as {alias}"
                    ));
                    fragment.preamble.push(format!("{alias}.dbutils = dbutils"));
                    fragment.preamble.push(format!("{alias}.spark = spark"));
                    fragment.side_files.extend(side_files);
                    match function.get("parameters").and_then(Value::as_map) {
                        Some(parameters) if !parameters.is_empty() => {
                            fragment
                                .imports
                                .push("from functools import partial".to_owned());
                            let kwargs: Vec<String> = parameters
                                .iter_str()
                                .map(|(k, v)| format!("{k}={}", py.value(v)))
                                .collect();
                            format!("partial({alias}.{name}, {})", kwargs.join(", "))
                        }
                        _ => format!("{alias}.{name}"),
                    }
                } else if let Some(view) = text(config, "source") {
                    py.string(view)
                } else {
                    return Err(GenerateError::new(
                        "LHP-VAL-001",
                        format!("snapshot_cdc of {full} needs `source` or `source_function`"),
                    )
                    .at(creator.span()));
                };
                let mut call = vec![
                    format!("target={}", py.string(&full)),
                    format!("source={source}"),
                    format!(
                        "keys={}",
                        config.get("keys").map_or("[]".to_owned(), |k| py.value(k))
                    ),
                ];
                let scd = config
                    .get("stored_as_scd_type")
                    .map_or("1".to_owned(), |v| py.value(v));
                call.push(format!("stored_as_scd_type={scd}"));
                if let Some(list) = truthy(config.get("track_history_column_list")) {
                    call.push(format!("track_history_column_list={}", py.value(list)));
                } else if let Some(list) = truthy(config.get("track_history_except_column_list")) {
                    call.push(format!(
                        "track_history_except_column_list={}",
                        py.value(list)
                    ));
                }
                code.push_str(&render(
                    "snapshot_flow.py.j2",
                    minijinja::context! { args => call },
                )?);
            }
            other => {
                return Err(GenerateError::new(
                    "LHP-GEN-002",
                    format!("streaming table {full}: mode `{other}` is not generated by this version of lhp"),
                )
                .at(target.get("mode").map_or(creator.span(), |v| v.span))
                .hint("the modes generated are standard, cdc and snapshot_cdc"));
            }
        }
        fragment.code = code;
        Ok(fragment)
    }
}

/// A materialized view from SQL or from a view.
struct MaterializedView;

impl Generator for MaterializedView {
    fn kind(&self) -> ActionKind {
        ActionKind::Write
    }
    fn type_name(&self) -> &str {
        "materialized_view"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let context = request.context;
        let py = Py::new(context);
        let target = write_target(action)?;
        let full = full_table_name(action);
        let table = text(target, "table").unwrap_or(&full).to_owned();
        let comment = text(target, "comment")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Materialized view: {table}"));
        let mut args = vec![
            format!("name={}", py.string(&full)),
            format!("comment={}", py.string(&comment)),
        ];
        args.extend(table_keywords(&py, context, target, true)?);
        for key in ["refresh_schedule", "refresh_policy"] {
            if let Some(value) = truthy(target.get(key)) {
                args.push(format!("{key}={}", py.value(value)));
            }
        }
        if truthy(target.get("private")).is_some() {
            args.push("private=True".to_owned());
        }
        let read = if let Some(sql) = text(target, "sql") {
            format!("spark.sql({})", py.sql(sql.trim()))
        } else if let Some(path) = target.get("sql_path") {
            let sql = context.read_substituted(path.as_str().unwrap_or_default(), path.span)?;
            format!("spark.sql({})", py.sql(sql.trim()))
        } else {
            let view = action.reads().into_iter().next().ok_or_else(|| {
                GenerateError::new(
                    "LHP-VAL-001",
                    format!("materialized view {full} needs `source`, `sql` or `sql_path`"),
                )
                .at(action.span())
            })?;
            format!("spark.read.table({})", py.string(&view))
        };
        let code = render(
            "materialized_view.py.j2",
            minijinja::context! {
                args => args,
                name => crate::py::identifier(&table.replace('.', "_")),
                doc => crate::py::docstring(&format!("Write to {full}")),
                read => read,
            },
        )?;
        Ok(Fragment {
            code,
            imports: vec![
                DP_IMPORT.to_owned(),
                "from pyspark.sql import DataFrame".to_owned(),
            ],
            ..Fragment::default()
        })
    }
}
