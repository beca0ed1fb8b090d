//! The built-in sink write (`write_target.type: sink`): a Delta table or path, a Kafka topic,
//! a custom Python data sink, or a function called on each micro-batch (`foreachbatch`),
//! each filled by one append flow per source view.

use std::sync::Arc;

use lhp_plugin::{
    Action, ActionKind, Fragment, GenerateError, GenerateRequest, Generator, Map, Value, ValueKind,
};

use crate::common::{copy_module, fields, metadata_lines, text, DP_IMPORT};
use crate::py::{docstring, Py};

/// The sink write this crate provides.
pub fn generators() -> Vec<Arc<dyn Generator>> {
    vec![Arc::new(Sink)]
}

/// The kinds of sink, as `sink_type` names them.
pub const SINK_TYPES: [&str; 4] = ["delta", "kafka", "custom", "foreachbatch"];

const F_IMPORT: &str = "from pyspark.sql import functions as F";

struct Sink;

/// An error at the action, for a sink setting.
fn problem(action: &Action, message: String) -> GenerateError {
    GenerateError::new("LHP-VAL-001", message).at(action.span())
}

impl Generator for Sink {
    fn kind(&self) -> ActionKind {
        ActionKind::Write
    }
    fn type_name(&self) -> &str {
        "sink"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let context = request.context;
        let py = Py::new(context);
        let name = &action.name.value;
        let target = action
            .write_target()
            .ok_or_else(|| problem(action, format!("sink `{name}` needs a `write_target`")))?;
        let sink_type = text(target, "sink_type").ok_or_else(|| {
            problem(
                action,
                format!(
                    "sink `{name}` needs `sink_type` ({})",
                    SINK_TYPES.join(", ")
                ),
            )
        })?;
        let sink_name = text(target, "sink_name")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| problem(action, format!("sink `{name}` needs `sink_name`")))?;
        if !is_identifier(sink_name) {
            return Err(problem(
                action,
                format!("sink `{name}`: `sink_name` {sink_name:?} must be a Python name (letters, digits, `_`), since it names the generated functions"),
            ));
        }
        let sources = source_views(action);
        if sources.is_empty() {
            return Err(problem(
                action,
                format!("sink `{name}` needs a `source`: the view (or views) it writes"),
            ));
        }
        let description = text(fields(action), "description").filter(|d| !d.is_empty());
        let options_value = target.get("options");
        let options = options_value.and_then(Value::as_map);
        let mut fragment = Fragment {
            imports: vec![DP_IMPORT.to_owned(), F_IMPORT.to_owned()],
            ..Fragment::default()
        };
        let mut code = String::new();
        let (default_comment, kafka) = match sink_type {
            "delta" => {
                let options = options.ok_or_else(|| {
                    problem(
                        action,
                        format!("delta sink `{name}` needs `options` with `tableName` or `path`"),
                    )
                })?;
                let table = text(options, "tableName");
                match (table, options.get("path")) {
                    (Some(_), Some(_)) => {
                        return Err(problem(
                            action,
                            format!("delta sink `{name}`: `options` has both `tableName` and `path`; give one"),
                        ))
                    }
                    (None, None) => {
                        return Err(problem(
                            action,
                            format!("delta sink `{name}`: `options` needs `tableName` or `path`"),
                        ))
                    }
                    (Some(table), None) if table.matches('.').count() != 2 => {
                        return Err(problem(
                            action,
                            format!("delta sink `{name}`: `tableName` must be a 3-part name (catalog.schema.table), got {table:?}"),
                        ))
                    }
                    _ => {}
                }
                let literal = options_value.map_or_else(|| "{}".to_owned(), |o| py.value(o));
                code.push_str(&create_sink(sink_name, "delta", &literal, &py));
                let comment = table.map_or_else(
                    || "Delta sink to external table".to_owned(),
                    |t| format!("Delta sink to {t}"),
                );
                (comment, false)
            }
            "kafka" => {
                let servers = target.get("bootstrap_servers").ok_or_else(|| {
                    problem(
                        action,
                        format!("kafka sink `{name}` needs `bootstrap_servers`"),
                    )
                })?;
                let topic = target
                    .get("topic")
                    .ok_or_else(|| problem(action, format!("kafka sink `{name}` needs `topic`")))?;
                // The two required settings first; an option of the same name replaces the
                // value in place.
                let mut entries: Vec<(String, &Value)> = vec![
                    ("kafka.bootstrap.servers".to_owned(), servers),
                    ("topic".to_owned(), topic),
                ];
                for (key, value) in options.into_iter().flat_map(Map::iter_str) {
                    match entries.iter_mut().find(|(k, _)| k == key) {
                        Some(entry) => entry.1 = value,
                        None => entries.push((key.to_owned(), value)),
                    }
                }
                let literal = format!(
                    "{{{}}}",
                    entries
                        .iter()
                        .map(|(k, v)| format!("{}: {}", py.string(k), py.value(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                code.push_str(&create_sink(sink_name, "kafka", &literal, &py));
                let topic_text = crate::common::scalar_text_of(topic);
                let oauth = options
                    .and_then(|o| text(o, "kafka.sasl.mechanism"))
                    .is_some_and(|m| m == "OAUTHBEARER");
                let comment = if oauth {
                    format!("Event Hubs sink to {topic_text}")
                } else {
                    format!("Kafka sink to {topic_text}")
                };
                (comment, true)
            }
            "custom" => {
                let module_path = text(target, "module_path").ok_or_else(|| {
                    problem(action, format!("custom sink `{name}` needs `module_path`"))
                })?;
                let class = text(target, "custom_sink_class").ok_or_else(|| {
                    problem(
                        action,
                        format!("custom sink `{name}` needs `custom_sink_class`"),
                    )
                })?;
                let at = target.get("module_path").map_or(action.span(), |v| v.span);
                let (module, side_files) = copy_module(context, module_path, at)?;
                let module_text = side_files
                    .iter()
                    .find(|f| f.path.ends_with(&format!("/{module}.py")))
                    .map(|f| f.text.as_str())
                    .unwrap_or_default();
                let format_name = crate::load::datasource_name(module_text, class)
                    .unwrap_or_else(|| class.to_owned());
                fragment.imports.extend([
                    "import custom_python_functions".to_owned(),
                    "from pyspark import cloudpickle as _lhp_cloudpickle".to_owned(),
                    format!("from custom_python_functions.{module} import {class}"),
                ]);
                fragment.preamble.push(
                    "_lhp_cloudpickle.register_pickle_by_value(custom_python_functions)".to_owned(),
                );
                fragment.side_files = side_files;
                let literal = options_value
                    .filter(|o| o.as_map().is_some())
                    .map_or_else(|| "{}".to_owned(), |o| py.value(o));
                code.push_str(&format!(
                    "spark.dataSource.register({class})\n\n\n{}",
                    create_sink(sink_name, &format_name, &literal, &py)
                ));
                (format!("Custom sink: {class}"), false)
            }
            "foreachbatch" => {
                if sources.len() != 1
                    || !matches!(
                        fields(action).get("source").map(|v| &v.kind),
                        Some(ValueKind::String(_))
                    )
                {
                    return Err(problem(
                        action,
                        format!("foreachbatch sink `{name}` reads one view: `source` must be a single view name, not a list"),
                    ));
                }
                let handler = match (target.get("module_path"), text(target, "batch_handler")) {
                    (Some(_), Some(_)) => {
                        return Err(problem(
                            action,
                            format!("foreachbatch sink `{name}`: give `module_path` or `batch_handler`, not both"),
                        ))
                    }
                    (None, None) => {
                        return Err(problem(
                            action,
                            format!("foreachbatch sink `{name}` needs `module_path` (a file with the handler's body) or `batch_handler` (the body inline)"),
                        ))
                    }
                    (Some(path), None) => {
                        context.read_substituted(path.as_str().unwrap_or_default(), path.span)?
                    }
                    (None, Some(inline)) => inline.to_owned(),
                };
                if handler.trim().is_empty() {
                    return Err(problem(
                        action,
                        format!("foreachbatch sink `{name}`: the batch handler is empty"),
                    ));
                }
                let handler = crate::module::code_secrets(&handler, context).map_err(
                    |(scope, key)| {
                        problem(
                            action,
                            format!("foreachbatch sink `{name}`: secret ${{secret:{scope}/{key}}} is inside a larger string in the batch handler"),
                        )
                        .hint("use the secret as a whole string value (\"${secret:scope/key}\"); lhp turns it into a dbutils.secrets.get call")
                    },
                )?;
                let doc =
                    description.map_or_else(|| format!("ForEachBatch sink: {name}"), str::to_owned);
                let body: String = handler
                    .trim_end()
                    .lines()
                    .map(|line| {
                        if line.trim().is_empty() {
                            "\n".to_owned()
                        } else {
                            format!("    {line}\n")
                        }
                    })
                    .collect();
                code.push_str(&format!(
                    "@dp.foreach_batch_sink(name={})\ndef {sink_name}(df, batch_id):\n    {}\n{body}\n    return\n",
                    py.string(sink_name),
                    docstring(&doc)
                ));
                (format!("ForEachBatch sink: {name}"), false)
            }
            other => {
                return Err(problem(
                    action,
                    format!(
                        "sink `{name}`: unknown sink_type {other:?} ({})",
                        SINK_TYPES.join(", ")
                    ),
                ))
            }
        };
        let comment = text(target, "comment")
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .or_else(|| description.map(str::to_owned))
            .unwrap_or(default_comment);
        let flow_comment = if sink_type == "foreachbatch" {
            description.map_or_else(|| format!("ForEachBatch sink: {name}"), str::to_owned)
        } else {
            description.map_or_else(|| comment.clone(), str::to_owned)
        };
        let (metadata, imports) = metadata_lines(request, false)?;
        fragment.imports.extend(imports);
        for (index, view) in sources.iter().enumerate() {
            let flow = format!("f_{sink_name}_{}", index + 1);
            code.push_str(&format!(
                "\n\n@dp.append_flow(target={}, name={}, comment={})\ndef {flow}():\n    df = spark.readStream.table({})\n",
                py.string(sink_name),
                py.string(&flow),
                py.string(&flow_comment),
                py.string(view)
            ));
            if !metadata.is_empty() {
                code.push_str("\n    # Add operational metadata columns\n");
                for line in &metadata {
                    code.push_str(&format!("    {line}\n"));
                }
            }
            if kafka {
                code.push_str(concat!(
                    "\n    # A Kafka sink writes the `value` column (and `key`, if there is one).\n",
                    "    if \"value\" not in df.columns:\n",
                    "        raise ValueError(\"Kafka sink requires 'value' column in strict mode. Add a transform action to create it.\")\n",
                ));
            }
            code.push_str("\n    return df\n");
        }
        let header: String = comment.lines().map(|line| format!("# {line}\n")).collect();
        fragment.code = format!("{header}\n{code}");
        Ok(fragment)
    }
}

/// `dp.create_sink(...)` for a sink of `format` with the options `literal`.
fn create_sink(sink_name: &str, format: &str, literal: &str, py: &Py<'_>) -> String {
    format!(
        "dp.create_sink(name={}, format={}, options={literal})\n",
        py.string(sink_name),
        py.string(format)
    )
}

/// The views a sink reads: a string `source`, or each string (or `{view: ...}`) of a list.
fn source_views(action: &Action) -> Vec<String> {
    match fields(action).get("source").map(|v| &v.kind) {
        Some(ValueKind::String(view)) if !view.is_empty() => vec![view.clone()],
        Some(ValueKind::Seq(items)) => items
            .iter()
            .filter_map(|item| match &item.kind {
                ValueKind::String(view) => Some(view.clone()),
                ValueKind::Map(map) => text(map, "view").map(str::to_owned),
                _ => None,
            })
            .filter(|view| !view.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `name` can name a Python function.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
