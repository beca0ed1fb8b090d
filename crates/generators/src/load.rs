//! The built-in load types: each reads data into a temporary view named after the action's
//! `target`.

use lhp_plugin::{
    ActionKind, Fragment, GenerateError, GenerateRequest, Generator, Map, Value, ValueKind,
};

use crate::common::{
    self, copy_module, fields, metadata_lines, read_mode, reader, require_stream, required,
    source_map, table_name, text, view_fragment, View,
};
use crate::py::{identifier, Py};

/// The load types this crate provides.
pub fn generators() -> Vec<std::sync::Arc<dyn Generator>> {
    vec![
        std::sync::Arc::new(CloudFiles),
        std::sync::Arc::new(Delta),
        std::sync::Arc::new(Sql),
        std::sync::Arc::new(Jdbc),
        std::sync::Arc::new(PythonLoad),
        std::sync::Arc::new(CustomDatasource),
        std::sync::Arc::new(Kafka),
    ]
}

/// An option value as the reader gets it: booleans and numbers bare, the rest as strings.
fn option_value(py: &Py<'_>, value: &Value) -> String {
    match &value.kind {
        ValueKind::Bool(_) | ValueKind::Int(_) | ValueKind::Float(_) => py.value(value),
        ValueKind::String(s) => py.string(s),
        _ => py.string(&common::scalar_text_of(value)),
    }
}

/// `.option(k, v)` for each option, in order.
fn option_calls(py: &Py<'_>, options: &[(String, String)]) -> String {
    options
        .iter()
        .map(|(k, v)| format!(".option({}, {v})", py.string(k)))
        .collect()
}

/// A view whose body is `df = <expr>` plus metadata.
fn simple_view(
    request: &GenerateRequest<'_>,
    doc: String,
    body: Vec<String>,
    mut imports: Vec<String>,
    before: Vec<String>,
) -> Result<Fragment, GenerateError> {
    let (metadata, more) = metadata_lines(request, false)?;
    imports.extend(more);
    let view = View {
        before,
        decorators: vec!["@dp.temporary_view()".to_owned()],
        name: common::target_view(request.action)?,
        doc,
        body,
        metadata,
    };
    view_fragment(&view, imports)
}

/// Auto Loader (`cloudFiles`) over files in a volume or bucket.
struct CloudFiles;

/// Options Auto Loader takes under `cloudFiles.`; written bare in `options` they are a mistake.
const CLOUDFILES_OPTIONS: [&str; 12] = [
    "format",
    "schemaLocation",
    "schemaHints",
    "inferColumnTypes",
    "schemaEvolutionMode",
    "maxFilesPerTrigger",
    "maxBytesPerTrigger",
    "useNotifications",
    "includeExistingFiles",
    "rescuedDataColumn",
    "allowOverwrites",
    "validateOptions",
];

/// The legacy top-level keys and the option each stands for.
const LEGACY_CLOUDFILES_KEYS: [(&str, &str); 5] = [
    ("schema_location", "cloudFiles.schemaLocation"),
    ("schema_infer_column_types", "cloudFiles.inferColumnTypes"),
    ("max_files_per_trigger", "cloudFiles.maxFilesPerTrigger"),
    ("schema_evolution_mode", "cloudFiles.schemaEvolutionMode"),
    ("rescue_data_column", "cloudFiles.rescuedDataColumn"),
];

impl Generator for CloudFiles {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }
    fn type_name(&self) -> &str {
        "cloudfiles"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let context = request.context;
        let py = Py::new(context);
        let source = source_map(action, "cloudfiles")?;
        require_stream(action, read_mode(action).as_deref(), "cloudfiles load")?;
        let path = required(action, source, "path")?;
        let format = text(source, "format").unwrap_or("json");
        let target = common::target_view(request.action)?;

        let mut options: Vec<(String, Value)> = Vec::new();
        let mut push = |key: String, value: &Value| {
            if let Some(slot) = options.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value.clone();
            } else {
                options.push((key, value.clone()));
            }
        };
        if let Some(map) = source.get("options").and_then(Value::as_map) {
            for (key, value) in map.iter_str() {
                if CLOUDFILES_OPTIONS.contains(&key) {
                    return Err(GenerateError::new(
                        "LHP-CFG-001",
                        format!("cloudfiles option `{key}` must be written `cloudFiles.{key}`"),
                    )
                    .at(value.span));
                }
                push(key.to_owned(), value);
            }
        }
        if let Some(map) = source.get("reader_options").and_then(Value::as_map) {
            for (key, value) in map.iter_str() {
                push(key.to_owned(), value);
            }
        }
        if let Some(map) = source.get("format_options").and_then(Value::as_map) {
            for (key, value) in map.iter_str() {
                let prefixed = if key.starts_with(&format!("{format}.")) {
                    key.to_owned()
                } else {
                    format!("{format}.{key}")
                };
                push(prefixed, value);
            }
        }
        for (legacy, option) in LEGACY_CLOUDFILES_KEYS {
            if let Some(value) = source.get(legacy) {
                if options.iter().any(|(k, _)| k == option) {
                    return Err(GenerateError::new(
                        "LHP-CFG-001",
                        format!("`{legacy}` and the option `{option}` say the same thing twice"),
                    )
                    .at(value.span));
                }
                let value = match value.kind {
                    ValueKind::Bool(b) => Value::new(value.span, ValueKind::String(b.to_string())),
                    _ => value.clone(),
                };
                options.push((option.to_owned(), value));
            }
        }
        if !options.iter().any(|(k, _)| k == "cloudFiles.format") {
            options.push((
                "cloudFiles.format".to_owned(),
                Value::new(action.span(), ValueKind::String(format.to_owned())),
            ));
        }
        let hints = options
            .iter()
            .position(|(k, _)| k == "cloudFiles.schemaHints")
            .map(|at| options.remove(at).1);

        let mut before = Vec::new();
        let mut imports = Vec::new();
        let mut rendered: Vec<(String, String)> = options
            .iter()
            .map(|(k, v)| (k.clone(), option_value(&py, v)))
            .collect();
        let schema_source = source
            .get("schema")
            .and_then(|s| match s.as_map() {
                Some(m) => m
                    .get("file")
                    .and_then(Value::as_str)
                    .map(|f| (f.to_owned(), s.span)),
                None => s.as_str().map(|f| (f.to_owned(), s.span)),
            })
            .or_else(|| {
                if hints.is_some() {
                    return None;
                }
                source
                    .get("schema_file")
                    .and_then(|v| Some((v.as_str()?.to_owned(), v.span)))
            });
        let mut schema_call = String::new();
        if let Some(hints) = hints {
            let hints_text = match hints.as_str() {
                Some(text) if looks_like_path(text) => hints_from_file(request, text, hints.span)?,
                Some(text) => text.to_owned(),
                None => common::scalar_text_of(&hints),
            };
            let variable = format!(
                "{}_schema_hints",
                target.replace("v_", "").replace("_raw", "")
            );
            let parts = split_top_level(&hints_text);
            let lines: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let comma = if i + 1 < parts.len() { "," } else { "" };
                    format!("    {p}{comma}")
                })
                .collect();
            before.push(format!(
                "{variable} = \"\"\"\n{}\n\"\"\".strip().replace(\"\\n\", \" \")",
                lines
                    .join("\n")
                    .replace('\\', "\\\\")
                    .replace("\"\"\"", "\\\"\\\"\\\"")
            ));
            rendered.push(("cloudFiles.schemaHints".to_owned(), variable));
        } else if let Some((file, span)) = schema_source {
            let columns = common::schema_columns(request.context, &file, span)?;
            let variable = format!("{}_schema", identifier(&target));
            let (struct_type, types) = struct_type(&py, &columns);
            before.push(format!("{variable} = {struct_type}"));
            for name in ["StructField", "StructType"]
                .iter()
                .copied()
                .chain(types.iter().map(String::as_str))
            {
                imports.push(format!("from pyspark.sql.types import {name}"));
            }
            schema_call = format!(".schema({variable})");
        }
        let read = format!(
            "spark.readStream.format(\"cloudFiles\"){schema_call}{}.load({})",
            option_calls(&py, &rendered),
            py.string(path)
        );
        simple_view(
            request,
            format!("Load data from {format} files at {path}"),
            vec![format!("df = {read}")],
            imports,
            before,
        )
    }
}

/// Whether a schema-hints value names a file rather than holding the hints.
fn looks_like_path(text: &str) -> bool {
    [".yaml", ".yml", ".json", ".ddl", ".sql"]
        .iter()
        .any(|e| text.contains(e))
        || text.contains('/')
}

/// Schema hints from a file: columns of a YAML/JSON schema as `name TYPE[ NOT NULL]`, or the
/// text of a DDL file.
fn hints_from_file(
    request: &GenerateRequest<'_>,
    path: &str,
    at: lhp_plugin::Span,
) -> Result<String, GenerateError> {
    if path.ends_with(".ddl") || path.ends_with(".sql") {
        return Ok(request.context.read_file(path, at)?.trim().to_owned());
    }
    let columns = common::schema_columns(request.context, path, at)?;
    Ok(columns
        .iter()
        .map(|c| {
            let name = if c.name.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
                c.name.clone()
            } else {
                format!("`{}`", c.name.replace('`', "``"))
            };
            let constraint = if c.nullable { "" } else { " NOT NULL" };
            format!("{name} {}{constraint}", c.data_type)
        })
        .collect::<Vec<_>>()
        .join(", "))
}

/// Splits at commas outside parentheses and angle brackets, trimming each part.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// A `StructType([...])` for the columns, and the type classes it uses.
fn struct_type(py: &Py<'_>, columns: &[common::SchemaColumn]) -> (String, Vec<String>) {
    let mut types: Vec<String> = Vec::new();
    let fields: Vec<String> = columns
        .iter()
        .map(|column| {
            let spark_type = spark_type(&column.data_type);
            let class = spark_type.split('(').next().unwrap_or_default().to_owned();
            if !types.contains(&class) {
                types.push(class);
            }
            let metadata = match &column.comment {
                Some(comment) => format!("{{\"comment\": {}}}", py.string(comment)),
                None => "{}".to_owned(),
            };
            format!(
                "StructField({}, {spark_type}, {}, {metadata})",
                py.string(&column.name),
                if column.nullable { "True" } else { "False" }
            )
        })
        .collect();
    types.sort();
    (format!("StructType([{}])", fields.join(", ")), types)
}

/// The PySpark type for a SQL type name; complex types fall back to strings, as the
/// reference does.
fn spark_type(sql: &str) -> String {
    let upper = sql.trim().to_ascii_uppercase();
    if let Some(args) = upper
        .strip_prefix("DECIMAL(")
        .and_then(|r| r.strip_suffix(')'))
    {
        if let Some((p, s)) = args.split_once(',') {
            return format!("DecimalType({}, {})", p.trim(), s.trim());
        }
    }
    match upper.as_str() {
        "STRING" => "StringType()",
        "BIGINT" | "LONG" => "LongType()",
        "INT" | "INTEGER" => "IntegerType()",
        "DOUBLE" => "DoubleType()",
        "FLOAT" => "FloatType()",
        "BOOLEAN" => "BooleanType()",
        "DATE" => "DateType()",
        "TIMESTAMP" => "TimestampType()",
        "BINARY" => "BinaryType()",
        "BYTE" => "ByteType()",
        "SHORT" => "ShortType()",
        _ => "StringType()",
    }
    .to_owned()
}

/// A Delta table read as a batch or a stream (with change data feed options).
struct Delta;

impl Generator for Delta {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }
    fn type_name(&self) -> &str {
        "delta"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let source = source_map(action, "delta")?;
        let table = delta_table(action, source)?;
        let stream = read_mode(action).as_deref() == Some("stream");
        check_delta_options(action, source, stream)?;
        let options: Vec<(String, String)> = source
            .get("options")
            .and_then(Value::as_map)
            .map(|m| {
                m.iter_str()
                    .map(|(k, v)| (k.to_owned(), option_value(&py, v)))
                    .collect()
            })
            .unwrap_or_default();
        let mut body = vec![format!(
            "df = {}{}.table({})",
            reader(stream),
            option_calls(&py, &options),
            py.string(&table)
        )];
        let clauses: Vec<&str> = match source.get("where_clause") {
            Some(v) => match v.as_seq() {
                Some(items) => items.iter().filter_map(Value::as_str).collect(),
                None => v.as_str().into_iter().collect(),
            },
            None => Vec::new(),
        };
        for clause in clauses {
            body.push(format!("df = df.where({})", py.string(clause)));
        }
        if let Some(columns) = source.get("select_columns").filter(|v| !v.is_null()) {
            body.push(format!("df = df.select({})", py.value(columns)));
        }
        simple_view(
            request,
            format!("Delta source: {table}"),
            body,
            Vec::new(),
            Vec::new(),
        )
    }
}

/// `catalog.schema.table` of a delta source; catalog and schema are required.
fn delta_table(action: &lhp_plugin::Action, source: &Map) -> Result<String, GenerateError> {
    let table = required(action, source, "table")?;
    let has_parts = text(source, "catalog").is_some() && text(source, "schema").is_some();
    let legacy = text(source, "database").is_some_and(|d| d.contains('.'));
    if !(has_parts || legacy) {
        return Err(GenerateError::new(
            "LHP-VAL-001",
            format!(
                "delta load `{}` needs `catalog` and `schema`",
                action.name.value
            ),
        )
        .at(action.span()));
    }
    Ok(table_name(source).unwrap_or_else(|| table.to_owned()))
}

/// The option combinations Delta refuses at run time, refused here with a position.
fn check_delta_options(
    action: &lhp_plugin::Action,
    source: &Map,
    stream: bool,
) -> Result<(), GenerateError> {
    let Some(options) = source.get("options").and_then(Value::as_map) else {
        return Ok(());
    };
    let has = |k: &str| options.contains_key(k);
    let conflict = |message: &str| {
        Err(GenerateError::new(
            "LHP-CFG-001",
            format!("delta load `{}`: {message}", action.name.value),
        )
        .at(source.get("options").map_or(action.span(), |v| v.span)))
    };
    let cdf = options
        .get("readChangeFeed")
        .and_then(|v| {
            common::scalar_text(options, "readChangeFeed").or(v.as_bool().map(|b| b.to_string()))
        })
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if cdf && has("skipChangeCommits") {
        return conflict("readChangeFeed and skipChangeCommits cannot be used together");
    }
    if cdf && (has("versionAsOf") || has("timestampAsOf")) {
        return conflict("readChangeFeed cannot be combined with versionAsOf or timestampAsOf");
    }
    if has("startingVersion") && has("startingTimestamp") {
        return conflict("give startingVersion or startingTimestamp, not both");
    }
    if stream && (has("endingVersion") || has("endingTimestamp")) {
        return conflict("endingVersion and endingTimestamp only apply to batch reads");
    }
    if cdf && !stream && !(has("startingVersion") || has("startingTimestamp")) {
        return conflict("a batch change-feed read needs startingVersion or startingTimestamp");
    }
    Ok(())
}

/// A SQL query as the source.
struct Sql;

impl Generator for Sql {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }
    fn type_name(&self) -> &str {
        "sql"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let source = action.source();
        let sql = match source.map(|s| &s.kind) {
            Some(ValueKind::String(sql)) => sql.clone(),
            Some(ValueKind::Map(map)) => {
                if let Some(sql) = text(map, "sql") {
                    sql.to_owned()
                } else if let Some(path) = map.get("sql_path") {
                    let file = path.as_str().unwrap_or_default();
                    request
                        .context
                        .read_substituted(file, path.span)?
                        .trim()
                        .to_owned()
                } else {
                    return Err(GenerateError::new(
                        "LHP-VAL-001",
                        format!("sql load `{}` needs `sql` or `sql_path`", action.name.value),
                    )
                    .at(action.span()));
                }
            }
            _ => {
                return Err(GenerateError::new(
                    "LHP-VAL-001",
                    format!(
                        "sql load `{}` needs a `source` with the query",
                        action.name.value
                    ),
                )
                .at(action.span()))
            }
        };
        simple_view(
            request,
            format!("SQL source: {}", action.name.value),
            vec![format!("df = spark.sql({})", py.sql(&sql))],
            Vec::new(),
            Vec::new(),
        )
    }
}

/// A database table or query over JDBC (always a batch read).
struct Jdbc;

impl Generator for Jdbc {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }
    fn type_name(&self) -> &str {
        "jdbc"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let source = source_map(action, "jdbc")?;
        let value = |key: &str| {
            common::scalar_text(source, key)
                .map(|v| py.string(&v))
                .unwrap_or_else(|| "\"None\"".to_owned())
        };
        let mut read = format!(
            "spark.read.format(\"jdbc\").option(\"url\", {}).option(\"user\", {}).option(\"password\", {}).option(\"driver\", {})",
            value("url"),
            value("user"),
            value("password"),
            value("driver")
        );
        if let Some(query) = text(source, "query") {
            read.push_str(&format!(".option(\"query\", {})", py.sql(query)));
        } else {
            read.push_str(&format!(".option(\"dbtable\", {})", value("table")));
        }
        read.push_str(".load()");
        simple_view(
            request,
            format!("JDBC source: {}", action.name.value),
            vec![format!("df = {read}")],
            Vec::new(),
            Vec::new(),
        )
    }
}

/// A user's Python function that returns a DataFrame.
struct PythonLoad;

impl Generator for PythonLoad {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }
    fn type_name(&self) -> &str {
        "python"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let source = source_map(action, "python")?;
        let module_path = required(action, source, "module_path")?;
        let at = source.get("module_path").map_or(action.span(), |v| v.span);
        let function = text(source, "function_name").unwrap_or("get_df");
        let (module, side_files) = copy_module(request.context, module_path, at)?;
        let parameters = match source.get("parameters") {
            Some(value) if !value.is_null() => py.value(value),
            _ => "{}".to_owned(),
        };
        let mut fragment = simple_view(
            request,
            format!("Python source: {module}.{function}"),
            vec![
                format!("parameters = {parameters}"),
                format!("df = {function}(spark, parameters)"),
            ],
            vec![format!(
                "from custom_python_functions.{module} import {function}"
            )],
            Vec::new(),
        )?;
        fragment.side_files = side_files;
        Ok(fragment)
    }
}

/// A PySpark data source class of the user's, registered and read.
struct CustomDatasource;

impl Generator for CustomDatasource {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }
    fn type_name(&self) -> &str {
        "custom_datasource"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let source = source_map(action, "custom_datasource")?;
        let module_path = required(action, source, "module_path")?;
        let class = required(action, source, "custom_datasource_class")?;
        let at = source.get("module_path").map_or(action.span(), |v| v.span);
        let (module, side_files) = copy_module(request.context, module_path, at)?;
        let module_text = side_files
            .iter()
            .find(|f| f.path.ends_with(&format!("/{module}.py")))
            .map(|f| f.text.as_str())
            .unwrap_or_default();
        let format_name = datasource_name(module_text, class).unwrap_or_else(|| class.to_owned());
        let stream = fields(action).get("readMode").and_then(Value::as_str) != Some("batch");
        let options: Vec<(String, String)> = source
            .get("options")
            .and_then(Value::as_map)
            .map(|m| {
                m.iter_str()
                    .map(|(k, v)| (k.to_owned(), option_value(&py, v)))
                    .collect()
            })
            .unwrap_or_default();
        let read = format!(
            "{}.format({}){}.load()",
            reader(stream),
            py.string(&format_name),
            option_calls(&py, &options)
        );
        let mut fragment = simple_view(
            request,
            format!("Custom data source: {class}"),
            vec![format!("df = {read}")],
            vec![
                "import custom_python_functions".to_owned(),
                "from pyspark import cloudpickle as _lhp_cloudpickle".to_owned(),
                format!("from custom_python_functions.{module} import {class}"),
            ],
            vec![format!("spark.dataSource.register({class})")],
        )?;
        fragment
            .preamble
            .push("_lhp_cloudpickle.register_pickle_by_value(custom_python_functions)".to_owned());
        fragment.side_files = side_files;
        Ok(fragment)
    }
}

/// The name a data source class reports from `def name(cls): return "x"`.
pub(crate) fn datasource_name(module: &str, class: &str) -> Option<String> {
    let start = module.find(&format!("class {class}"))?;
    let rest = &module[start..];
    let def = rest.find("def name(")?;
    let after = &rest[def..];
    let ret = after.find("return")?;
    let value = after[ret + "return".len()..].trim_start();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = &value[1..];
    let end = inner.find(quote)?;
    Some(inner[..end].to_owned())
}

/// Kafka topics read as a stream.
struct Kafka;

/// Kafka client options, which Spark only passes on with a `kafka.` prefix.
const KAFKA_CLIENT_OPTIONS: [&str; 8] = [
    "bootstrap.servers",
    "security.protocol",
    "sasl.mechanism",
    "sasl.jaas.config",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keystore.location",
    "ssl.keystore.password",
];

impl Generator for Kafka {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }
    fn type_name(&self) -> &str {
        "kafka"
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let source = source_map(action, "kafka")?;
        require_stream(action, read_mode(action).as_deref(), "kafka load")?;
        let servers = required(action, source, "bootstrap_servers")?;
        let methods: Vec<&str> = ["subscribe", "subscribePattern", "assign"]
            .into_iter()
            .filter(|m| source.contains_key(m))
            .collect();
        let [method] = methods.as_slice() else {
            return Err(GenerateError::new(
                "LHP-VAL-001",
                format!(
                    "kafka load `{}` needs exactly one of subscribe, subscribePattern or assign",
                    action.name.value
                ),
            )
            .at(action.span()));
        };
        let subscription = common::scalar_text(source, method).unwrap_or_default();
        let mut options = vec![
            ("kafka.bootstrap.servers".to_owned(), py.string(servers)),
            ((*method).to_owned(), py.string(&subscription)),
        ];
        if let Some(map) = source.get("options").and_then(Value::as_map) {
            for (key, value) in map.iter_str() {
                if KAFKA_CLIENT_OPTIONS.contains(&key) {
                    return Err(GenerateError::new(
                        "LHP-CFG-001",
                        format!("kafka option `{key}` must be written `kafka.{key}`"),
                    )
                    .at(value.span));
                }
                options.push((key.to_owned(), option_value(&py, value)));
            }
        }
        let read = format!(
            "spark.readStream.format(\"kafka\"){}.load()",
            option_calls(&py, &options)
        );
        simple_view(
            request,
            format!("Kafka source: {subscription}"),
            vec![format!("df = {read}")],
            Vec::new(),
            Vec::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_split_outside_brackets() {
        assert_eq!(
            split_top_level("a BIGINT, b DECIMAL(15,2), c MAP<STRING, INT>"),
            ["a BIGINT", "b DECIMAL(15,2)", "c MAP<STRING, INT>"]
        );
    }

    #[test]
    fn spark_types_follow_the_reference() {
        assert_eq!(spark_type("decimal(15, 2)"), "DecimalType(15, 2)");
        assert_eq!(spark_type("ARRAY<STRING>"), "StringType()");
        assert_eq!(spark_type("bigint"), "LongType()");
    }

    #[test]
    fn datasource_names_come_from_the_class() {
        let module = "class Feed(DataSource):\n    @classmethod\n    def name(cls):\n        return \"feed\"\n";
        assert_eq!(datasource_name(module, "Feed").as_deref(), Some("feed"));
        assert_eq!(datasource_name(module, "Other"), None);
    }
}
