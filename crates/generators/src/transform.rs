//! The built-in transform types: each turns one or more views into a new view named after
//! the action's `target`.

use std::sync::Arc;

use lhp_plugin::{
    ActionKind, Fragment, GenerateError, GenerateRequest, Generator, Value, ValueKind,
};

use crate::common::{
    copy_module, fields, metadata_lines, read_mode, reader, require_stream, source_view, text,
    view_fragment, OnFailure, View, F_IMPORT,
};
use crate::py::Py;

/// The transform types this crate provides.
pub fn generators() -> Vec<Arc<dyn Generator>> {
    vec![
        Arc::new(SqlTransform),
        Arc::new(PythonTransform),
        Arc::new(SchemaTransform),
        Arc::new(TempTable),
        Arc::new(DataQuality),
    ]
}

/// The SQL of an action: inline `sql` (stripped), else the `sql_path` file.
fn action_sql(request: &GenerateRequest<'_>) -> Result<Option<String>, GenerateError> {
    let map = fields(request.action);
    if let Some(sql) = text(map, "sql") {
        return Ok(Some(sql.trim().to_owned()));
    }
    match map.get("sql_path") {
        Some(path) => {
            let file = path.as_str().unwrap_or_default();
            Ok(Some(
                request
                    .context
                    .read_substituted(file, path.span)?
                    .trim()
                    .to_owned(),
            ))
        }
        None => Ok(None),
    }
}

/// A SQL query over the pipeline's views.
struct SqlTransform;

impl Generator for SqlTransform {
    fn kind(&self) -> ActionKind {
        ActionKind::Transform
    }
    fn type_name(&self) -> &str {
        "sql"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let sql = action_sql(request)?.ok_or_else(|| {
            GenerateError::new(
                "LHP-VAL-001",
                format!(
                    "sql transform `{}` needs `sql` or `sql_path`",
                    action.name.value
                ),
            )
            .at(action.span())
        })?;
        let description = text(fields(action), "description")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("SQL transform: {}", action.name.value));
        let (metadata, imports) = metadata_lines(request, false)?;
        let view = View {
            before: Vec::new(),
            decorators: vec![format!(
                "@dp.temporary_view(comment={})",
                py.string(&description)
            )],
            name: crate::common::target_view(action)?,
            doc: description,
            body: vec![format!("df = spark.sql({})", py.sql(&sql))],
            metadata,
        };
        view_fragment(&view, imports)
    }
}

/// A user's Python function from DataFrames to a DataFrame.
struct PythonTransform;

impl Generator for PythonTransform {
    fn kind(&self) -> ActionKind {
        ActionKind::Transform
    }
    fn type_name(&self) -> &str {
        "python"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let map = fields(action);
        let module_path = crate::common::required(action, map, "module_path")?;
        let at = map.get("module_path").map_or(action.span(), |v| v.span);
        let function = text(map, "function_name").unwrap_or("get_df");
        let (module, side_files) = copy_module(request.context, module_path, at)?;
        let stream = read_mode(action).as_deref() == Some("stream");
        let sources = action.reads();
        let mut body = Vec::new();
        if !sources.is_empty() {
            body.push("# Load source view(s)".to_owned());
            for source in &sources {
                body.push(format!(
                    "{}_df = {}.table({})",
                    crate::py::identifier(source),
                    reader(stream),
                    py.string(source)
                ));
            }
            body.push(String::new());
        }
        body.push("# Apply Python transformation".to_owned());
        body.push(format!(
            "parameters = {}",
            crate::common::parameters(&py, action)
        ));
        let call = match sources.as_slice() {
            [] => format!("df = {function}(spark, parameters)"),
            [one] => format!(
                "df = {function}({}_df, spark, parameters)",
                crate::py::identifier(one)
            ),
            many => {
                let frames: Vec<String> = many
                    .iter()
                    .map(|s| format!("{}_df", crate::py::identifier(s)))
                    .collect();
                body.push(format!("dataframes = [{}]", frames.join(", ")));
                format!("df = {function}(dataframes, spark, parameters)")
            }
        };
        body.push(call);
        let (metadata, mut imports) = metadata_lines(request, false)?;
        imports.push(format!(
            "from custom_python_functions.{module} import {function}"
        ));
        let view = View {
            before: Vec::new(),
            decorators: vec!["@dp.temporary_view()".to_owned()],
            name: crate::common::target_view(action)?,
            doc: format!("Python transform: {module}.{function}"),
            body,
            metadata,
        };
        let mut fragment = view_fragment(&view, imports)?;
        fragment.side_files = side_files;
        Ok(fragment)
    }
}

/// Renames and casts from a schema file or inline lines, with optional strict selection.
struct SchemaTransform;

/// One line of a schema transform.
#[derive(Debug, PartialEq)]
struct ColumnRule {
    source: String,
    rename: Option<String>,
    cast: Option<String>,
}

/// Reads `"old -> new: TYPE"`, `"old -> new"`, `"col: TYPE"` and `"col"`.
fn parse_rule(line: &str) -> Option<ColumnRule> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let unquote = |s: &str| {
        let s = s.trim();
        s.strip_prefix('`')
            .and_then(|s| s.strip_suffix('`'))
            .map(|s| s.replace("``", "`"))
            .unwrap_or_else(|| s.to_owned())
    };
    // A backtick-quoted name may hold `:` or `->`; look for the separators after it.
    let name_end = line
        .strip_prefix('`')
        .and_then(|quoted| quoted.find('`'))
        .map_or(0, |i| i + 2);
    let (head, cast) = match line[name_end..].rfind(':') {
        Some(at) if !line[name_end..][at..].contains("->") => {
            let at = at + name_end;
            (&line[..at], Some(line[at + 1..].trim().to_owned()))
        }
        _ => (line, None),
    };
    let (source, rename) = match head[name_end.min(head.len())..].find("->") {
        Some(at) => {
            let at = at + name_end.min(head.len());
            (unquote(&head[..at]), Some(unquote(&head[at + 2..])))
        }
        None => (unquote(head), None),
    };
    Some(ColumnRule {
        source,
        rename,
        cast: cast.filter(|c| !c.is_empty()),
    })
}

/// The rules of a schema transform, from its file or `schema_inline`.
fn schema_rules(request: &GenerateRequest<'_>) -> Result<Vec<ColumnRule>, GenerateError> {
    let action = request.action;
    let map = fields(action);
    let (document, at, path) = if let Some(file) = map.get("schema_file") {
        let path = file.as_str().unwrap_or_default().replace('\\', "/");
        let text = request.context.read_file(&path, file.span)?;
        (
            crate::common::parse_document(&text, &path, file.span)?,
            file.span,
            path,
        )
    } else if let Some(inline) = map.get("schema_inline") {
        let document = match inline.as_str() {
            Some(text) => match crate::common::parse_document(text, "schema_inline", inline.span) {
                Ok(v) if v.as_map().is_some() => v,
                _ => {
                    let lines: Vec<Value> = text
                        .lines()
                        .map(|l| Value::new(inline.span, ValueKind::String(l.to_owned())))
                        .collect();
                    let mut root = lhp_plugin::Map::new();
                    root.push(
                        Value::new(inline.span, ValueKind::String("columns".into())),
                        Value::new(inline.span, ValueKind::Seq(lines)),
                    );
                    Value::new(inline.span, ValueKind::Map(root))
                }
            },
            None => inline.clone(),
        };
        (document, inline.span, "schema_inline".to_owned())
    } else {
        return Err(GenerateError::new(
            "LHP-VAL-001",
            format!(
                "schema transform `{}` needs `schema_file` or `schema_inline`",
                action.name.value
            ),
        )
        .at(action.span()));
    };
    let Some(root) = document.as_map() else {
        return Err(GenerateError::new(
            "LHP-CFG-009",
            format!("{path}: a schema transform must be a mapping with `columns`"),
        )
        .at(at));
    };
    let mut rules = Vec::new();
    if let Some(columns) = root.get("columns").and_then(Value::as_seq) {
        for column in columns {
            if let Some(rule) = column.as_str().and_then(parse_rule) {
                rules.push(rule);
            }
        }
    }
    // The older form: `column_mapping: {old: new}` and `type_casting: {col: TYPE}`.
    if let Some(mapping) = root.get("column_mapping").and_then(Value::as_map) {
        for (old, new) in mapping.iter_str() {
            rules.push(ColumnRule {
                source: old.to_owned(),
                rename: new.as_str().map(str::to_owned),
                cast: None,
            });
        }
    }
    if let Some(casts) = root.get("type_casting").and_then(Value::as_map) {
        for (column, kind) in casts.iter_str() {
            rules.push(ColumnRule {
                source: column.to_owned(),
                rename: None,
                cast: kind.as_str().map(str::to_owned),
            });
        }
    }
    Ok(rules)
}

impl Generator for SchemaTransform {
    fn kind(&self) -> ActionKind {
        ActionKind::Transform
    }
    fn type_name(&self) -> &str {
        "schema"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let source = source_view(action)?;
        let stream = read_mode(action).as_deref() != Some("batch");
        let metadata_names = request.context.metadata_column_names();
        let rules: Vec<ColumnRule> = schema_rules(request)?
            .into_iter()
            .filter(|r| !metadata_names.contains(&r.source))
            .collect();
        let column = |name: &str| {
            if name.contains('.') || name.contains('`') {
                format!("`{}`", name.replace('`', "``"))
            } else {
                name.to_owned()
            }
        };
        let mut body = vec![format!(
            "df = {}.table({})",
            reader(stream),
            py.string(&source)
        )];
        let renames: Vec<(&str, &str)> = rules
            .iter()
            .filter_map(|r| Some((r.source.as_str(), r.rename.as_deref()?)))
            .collect();
        if !renames.is_empty() {
            body.push(String::new());
            body.push("# Apply column renaming".to_owned());
            for (old, new) in &renames {
                body.push(format!(
                    "df = df.withColumnRenamed({}, {})",
                    py.string(old),
                    py.string(new)
                ));
            }
        }
        let casts: Vec<(&str, &str)> = rules
            .iter()
            .filter_map(|r| {
                let name = r.rename.as_deref().unwrap_or(&r.source);
                Some((name, r.cast.as_deref()?))
            })
            .collect();
        if !casts.is_empty() {
            body.push(String::new());
            body.push("# Apply type casting".to_owned());
            for (name, kind) in &casts {
                body.push(format!(
                    "df = df.withColumn({}, F.col({}).cast({}))",
                    py.string(name),
                    py.string(&column(name)),
                    py.string(kind)
                ));
            }
        }
        if text(fields(action), "enforcement") == Some("strict") {
            let mut selected: Vec<&str> = Vec::new();
            for name in rules.iter().filter_map(|r| r.rename.as_deref()) {
                selected.push(name);
            }
            for rule in rules
                .iter()
                .filter(|r| r.rename.is_none() && r.cast.is_some())
            {
                selected.push(&rule.source);
            }
            for rule in rules
                .iter()
                .filter(|r| r.rename.is_none() && r.cast.is_none())
            {
                selected.push(&rule.source);
            }
            body.push(String::new());
            body.push("# Strict schema enforcement: keep only the listed columns".to_owned());
            body.push(format!("columns_to_select = {}", py.string_list(&selected)));
            if !metadata_names.is_empty() {
                body.push("available_columns = set(df.columns)".to_owned());
                body.push(format!(
                    "metadata_columns = {}",
                    py.string_list(&metadata_names)
                ));
                body.push("for meta_col in metadata_columns:".to_owned());
                body.push("    if meta_col in available_columns:".to_owned());
                body.push("        columns_to_select.append(meta_col)".to_owned());
            }
            body.push("df = df.select(*columns_to_select)".to_owned());
        }
        let view = View {
            before: Vec::new(),
            decorators: vec!["@dp.temporary_view()".to_owned()],
            name: crate::common::target_view(action)?,
            doc: format!("Schema application: {}", action.name.value),
            body,
            metadata: Vec::new(),
        };
        view_fragment(&view, vec![F_IMPORT.to_owned()])
    }
}

/// A temporary table the pipeline materializes for its own use.
struct TempTable;

impl Generator for TempTable {
    fn kind(&self) -> ActionKind {
        ActionKind::Transform
    }
    fn type_name(&self) -> &str {
        "temp_table"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let read = match action_sql(request)? {
            Some(sql) => format!("spark.sql({})", py.sql(&sql)),
            None => {
                let source = source_view(action)?;
                let stream = read_mode(action).as_deref() == Some("stream");
                format!("{}.table({})", reader(stream), py.string(&source))
            }
        };
        let name = crate::common::target_view(action)?;
        let (metadata, imports) = metadata_lines(request, false)?;
        let view = View {
            before: Vec::new(),
            decorators: vec!["@dp.table(temporary=True)".to_owned()],
            name: name.clone(),
            doc: format!("Temporary table: {name}"),
            body: vec![format!("df = {read}")],
            metadata,
        };
        view_fragment(&view, imports)
    }
}

/// Expectations (fail, drop, warn) on a view.
struct DataQuality;

/// The action's `expectations_file`: its path, where it is named, and its document (a list,
/// or a mapping).
fn expectations_document(
    request: &GenerateRequest<'_>,
) -> Result<(String, lhp_plugin::Span, Value), GenerateError> {
    let action = request.action;
    let Some(file) = fields(action).get("expectations_file") else {
        return Err(GenerateError::new(
            "LHP-VAL-001",
            format!(
                "data_quality transform `{}` needs `expectations_file`",
                action.name.value
            ),
        )
        .at(action.span()));
    };
    let path = file.as_str().unwrap_or_default().replace('\\', "/");
    let content = request.context.read_file(&path, file.span)?;
    let document = crate::common::parse_document(&content, &path, file.span)?;
    if !matches!(document.kind, ValueKind::Seq(_) | ValueKind::Map(_)) {
        return Err(GenerateError::new(
            "LHP-CFG-009",
            format!("{path} must hold a list or a mapping of expectations"),
        )
        .at(file.span));
    }
    Ok((path, file.span, document))
}

/// The expectations of a document written as a list (bare, or under `expectations:`);
/// `None` for the mapping form `rule: {action, name}`.
fn expectation_list(document: &Value) -> Option<&[Value]> {
    match &document.kind {
        ValueKind::Seq(items) => Some(items.as_slice()),
        ValueKind::Map(map) => map.get("expectations").and_then(Value::as_seq),
        _ => None,
    }
}

/// Reads an expectations file: a mapping `constraint: {action, name}`, a list of
/// `{constraint|expression, type|failureAction, name|message}`, or `{expectations: [...]}`.
fn expectations(
    request: &GenerateRequest<'_>,
) -> Result<Vec<(OnFailure, String, String)>, GenerateError> {
    let (path, at, document) = expectations_document(request)?;
    let bad = |message: String| GenerateError::new("LHP-CFG-009", message).at(at);
    let on_failure = |word: &str| match word {
        "fail" | "expect_or_fail" => Some(OnFailure::Fail),
        "drop" | "expect_or_drop" => Some(OnFailure::Drop),
        "warn" | "expect" => Some(OnFailure::Warn),
        _ => None,
    };
    let mut found = Vec::new();
    let list = expectation_list(&document);
    if let Some(items) = list {
        for item in items {
            let map = item
                .as_map()
                .ok_or_else(|| bad(format!("{path}: each expectation must be a mapping")))?;
            let constraint = text(map, "constraint")
                .or_else(|| text(map, "expression"))
                .ok_or_else(|| bad(format!("{path}: an expectation has no `constraint`")))?;
            let kind = text(map, "failureAction")
                .and_then(on_failure)
                .or_else(|| text(map, "type").and_then(on_failure))
                .unwrap_or(OnFailure::Warn);
            let name = text(map, "name")
                .or_else(|| text(map, "message"))
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("Constraint failed: {constraint}"));
            found.push((kind, name, constraint.to_owned()));
        }
    } else if let Some(map) = document.as_map() {
        for (constraint, settings) in map.iter_str() {
            let settings = settings.as_map();
            let kind = settings
                .and_then(|s| text(s, "action"))
                .and_then(on_failure)
                .unwrap_or(OnFailure::Warn);
            let name = settings
                .and_then(|s| text(s, "name"))
                .unwrap_or(constraint)
                .to_owned();
            found.push((kind, name, constraint.to_owned()));
        }
    }
    Ok(found)
}

impl Generator for DataQuality {
    fn kind(&self) -> ActionKind {
        ActionKind::Transform
    }
    fn type_name(&self) -> &str {
        "data_quality"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let quarantine = text(fields(action), "mode") == Some("quarantine");
        require_stream(
            action,
            read_mode(action).as_deref(),
            "data_quality transform",
        )?;
        let source = source_view(action)?;
        if quarantine {
            return quarantined(request, &source);
        }
        let rules = expectations(request)?;
        let mut decorators = vec!["@dp.temporary_view()".to_owned()];
        for (kind, decorator) in crate::common::expectation_decorators(&py, &rules) {
            decorators.push(
                match kind {
                    OnFailure::Fail => "# These expectations will fail the pipeline if violated",
                    OnFailure::Drop => "# These expectations will drop rows that violate them",
                    OnFailure::Warn => "# These expectations will log warnings but not drop rows",
                }
                .to_owned(),
            );
            decorators.push(decorator);
        }
        let (metadata, imports) = metadata_lines(request, true)?;
        let view = View {
            before: Vec::new(),
            decorators,
            name: crate::common::target_view(action)?,
            doc: format!("Data quality checks for {source}"),
            body: vec![format!(
                "df = spark.readStream.table({})",
                py.string(&source)
            )],
            metadata,
        };
        view_fragment(&view, imports)
    }
}

/// The rules of a quarantine: every expectation of the file, whatever its action, by name
/// (a later rule of the same name replaces an earlier one in its place).
fn quarantine_rules(request: &GenerateRequest<'_>) -> Result<Vec<(String, String)>, GenerateError> {
    let action = request.action;
    let (path, at, document) = expectations_document(request)?;
    let mut rules: Vec<(String, String)> = Vec::new();
    let mut keep = |name: String, rule: String| match rules.iter_mut().find(|(n, _)| *n == name) {
        Some(existing) => existing.1 = rule,
        None => rules.push((name, rule)),
    };
    let list = expectation_list(&document);
    if let Some(items) = list {
        let mut seen = 0;
        for item in items.iter().filter_map(Value::as_map) {
            let Some(rule) = text(item, "constraint").or_else(|| text(item, "expression")) else {
                continue;
            };
            let name = text(item, "name")
                .or_else(|| text(item, "message"))
                .filter(|n| !n.is_empty())
                .map_or_else(|| format!("rule_{seen}"), str::to_owned);
            keep(name, rule.to_owned());
            seen += 1;
        }
    } else if let Some(map) = document.as_map() {
        for (rule, settings) in map.iter_str() {
            let name = settings
                .as_map()
                .and_then(|s| text(s, "name"))
                .unwrap_or(rule)
                .to_owned();
            keep(name, rule.to_owned());
        }
    }
    if rules.is_empty() {
        return Err(GenerateError::new(
            "LHP-VAL-001",
            format!(
                "data_quality transform `{}` in quarantine mode needs at least one expectation, and {path} has none",
                action.name.value
            ),
        )
        .at(at));
    }
    Ok(rules)
}

/// A data_quality transform in quarantine mode: the clean rows pass on, the others go to a
/// dead-letter table (`quarantine.dlq_table`) with the rules they broke, and rows fixed there
/// come back through its outbox and join the clean ones.
fn quarantined(request: &GenerateRequest<'_>, source: &str) -> Result<Fragment, GenerateError> {
    let action = request.action;
    let py = Py::new(request.context);
    let config = fields(action)
        .get("quarantine")
        .and_then(Value::as_map)
        .ok_or_else(|| {
            GenerateError::new(
                "LHP-VAL-001",
                format!(
                    "data_quality transform `{}` in quarantine mode needs a `quarantine` block with `dlq_table` and `source_table`",
                    action.name.value
                ),
            )
            .at(action.span())
        })?;
    let table = |key: &str| -> Result<String, GenerateError> {
        let value = text(config, key).filter(|v| !v.is_empty()).ok_or_else(|| {
            GenerateError::new(
                "LHP-VAL-001",
                format!("quarantine of `{}` needs `{key}`", action.name.value),
            )
            .at(action.span())
        })?;
        if value.matches('.').count() != 2 {
            return Err(GenerateError::new(
                "LHP-VAL-001",
                format!(
                    "quarantine.{key} must be a 3-part name (catalog.schema.table), got {value:?}"
                ),
            )
            .at(config.get(key).map_or(action.span(), |v| v.span)));
        }
        Ok(value.to_owned())
    };
    let dlq = table("dlq_table")?;
    let source_table = table("source_table")?;
    let rules = quarantine_rules(request)?;
    let safe: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let literal = |rules: &[&(String, String)]| {
        let entries: Vec<String> = rules
            .iter()
            .map(|(name, rule)| format!("{}: {}", py.string(name), py.string(rule)))
            .collect();
        format!("{{{}}}", entries.join(", "))
    };
    let all: Vec<&(String, String)> = rules.iter().collect();
    // A rule about rescued data cannot hold for a recycled row, whose data was mended.
    let recycled: Vec<&(String, String)> = rules
        .iter()
        .filter(|(_, rule)| !rule.contains("_rescued_data"))
        .collect();
    let inverse = format!(
        "NOT ({})",
        rules
            .iter()
            .map(|(_, rule)| format!("({rule})"))
            .collect::<Vec<_>>()
            .join(" AND ")
    );
    let mut hash_exclude: Vec<String> = [
        "_flowgroup_name",
        "_ingestion_timestamp",
        "_pipeline_name",
        "_pipeline_run_id",
        "_source_file",
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .chain(request.context.metadata_column_names())
    .collect();
    hash_exclude.sort();
    hash_exclude.dedup();
    let description = text(fields(action), "description").map_or_else(
        || format!("Data quality checks for {source}"),
        str::to_owned,
    );
    let (metadata, mut imports) = metadata_lines(request, true)?;
    let code = crate::common::render(
        "quarantine.py.j2",
        minijinja::context! {
            s => &safe,
            source => py.string(source),
            target => crate::common::target_view(action)?,
            expectations => literal(&all),
            recycled => literal(&recycled),
            inverse => py.string(&inverse),
            rules => rules.iter().map(|(name, rule)| minijinja::context! {
                name => py.string(name),
                expr => py.string(rule),
            }).collect::<Vec<_>>(),
            dlq => py.string(&dlq),
            outbox => py.string(&format!("{dlq}_outbox")),
            source_table => py.string(&source_table),
            hash_exclude => hash_exclude.iter().map(|c| py.string(c)).collect::<Vec<_>>(),
            clean_doc => crate::py::docstring(&format!("{description} \u{2014} clean records")),
            output_doc => crate::py::docstring(&format!("{description} \u{2014} clean + recycled records")),
            metadata => metadata,
        },
    )?;
    imports.extend(
        [
            crate::common::DP_IMPORT,
            "from pyspark.sql import functions as F",
            "from pyspark.sql.types import MapType, StringType",
            "from pyspark.sql.window import Window",
            "from delta.tables import DeltaTable",
        ]
        .map(str::to_owned),
    );
    Ok(Fragment {
        code,
        imports,
        ..Fragment::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(source: &str, rename: Option<&str>, cast: Option<&str>) -> ColumnRule {
        ColumnRule {
            source: source.into(),
            rename: rename.map(Into::into),
            cast: cast.map(Into::into),
        }
    }

    #[test]
    fn schema_lines_parse() {
        assert_eq!(
            parse_rule("a -> b: BIGINT"),
            Some(rule("a", Some("b"), Some("BIGINT")))
        );
        assert_eq!(parse_rule("a -> b"), Some(rule("a", Some("b"), None)));
        assert_eq!(
            parse_rule("a: DECIMAL(15,2)"),
            Some(rule("a", None, Some("DECIMAL(15,2)")))
        );
        assert_eq!(parse_rule("a"), Some(rule("a", None, None)));
        assert_eq!(
            parse_rule("`x:y` -> z: INT"),
            Some(rule("x:y", Some("z"), Some("INT")))
        );
        assert_eq!(parse_rule("  "), None);
    }
}
