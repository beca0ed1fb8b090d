//! What several generators share: reading fields, read modes, operational-metadata lines,
//! schema files, copied Python modules, and rendering the embedded templates.

use std::sync::OnceLock;

use lhp_plugin::{
    Action, Fragment, GenerateContext, GenerateError, GenerateRequest, Map, SideFile, Span, Value,
    ValueKind,
};
use minijinja::Environment;

use crate::py::Py;

/// The import every module has.
pub const DP_IMPORT: &str = "from pyspark import pipelines as dp";
/// The import of PySpark's functions module as `F`.
pub const F_IMPORT: &str = "from pyspark.sql import functions as F";

/// The templates, compiled once.
fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        // Block tags on their own line leave no line behind; files end with their newline.
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, text) in crate::TEMPLATES {
            // A template that does not compile is left out, and rendering it then reports
            // it missing (every test renders every template, so this never ships).
            let _ = env.add_template(name, text);
        }
        env
    })
}

/// Renders an embedded template.
pub fn render(name: &str, context: minijinja::Value) -> Result<String, GenerateError> {
    environment()
        .get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|e| GenerateError::new("LHP-GEN-900", format!("template {name}: {e}")))
}

/// A string field of a mapping.
pub fn text<'a>(map: &'a Map, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// A field of a mapping as text (numbers and booleans as Python's `str()` would print them).
pub fn scalar_text(map: &Map, key: &str) -> Option<String> {
    map.get(key).and_then(value_text)
}

/// A scalar as text, as Python's `str()` prints it; `None` for null and collections.
fn value_text(value: &Value) -> Option<String> {
    Some(match &value.kind {
        ValueKind::String(s) => s.clone(),
        ValueKind::Int(i) => i.to_string(),
        ValueKind::Float(x) => lhp_plugin::python_float(*x),
        ValueKind::Bool(true) => "True".to_owned(),
        ValueKind::Bool(false) => "False".to_owned(),
        _ => return None,
    })
}

/// Any value as text: scalars as [`scalar_text`] prints them, collections as Python would.
pub fn scalar_text_of(value: &Value) -> String {
    value_text(value).unwrap_or_else(|| value.to_string())
}

/// The action's fields.
pub fn fields(action: &Action) -> &Map {
    static EMPTY: OnceLock<Map> = OnceLock::new();
    action
        .value()
        .as_map()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// `source` as a mapping, or an error at the action.
pub fn source_map<'a>(action: &'a Action, what: &str) -> Result<&'a Map, GenerateError> {
    action.source().and_then(Value::as_map).ok_or_else(|| {
        GenerateError::new(
            "LHP-CFG-009",
            format!(
                "action `{}`: a {what} load needs `source` to be a mapping",
                action.name.value
            ),
        )
        .at(action.source().map_or(action.span(), |s| s.span))
    })
}

/// A required string field, or an error naming it.
pub fn required<'a>(action: &Action, map: &'a Map, key: &str) -> Result<&'a str, GenerateError> {
    text(map, key).ok_or_else(|| {
        GenerateError::new(
            "LHP-VAL-001",
            format!("action `{}` needs `{key}`", action.name.value),
        )
        .at(map.get(key).map_or(action.span(), |v| v.span))
    })
}

/// `readMode` of the action, else of its source mapping.
pub fn read_mode(action: &Action) -> Option<String> {
    let own = text(fields(action), "readMode");
    let nested = action
        .source()
        .and_then(Value::as_map)
        .and_then(|m| text(m, "readMode"));
    own.or(nested).map(str::to_owned)
}

/// `spark.read` or `spark.readStream`, by read mode.
pub fn reader(stream: bool) -> &'static str {
    if stream {
        "spark.readStream"
    } else {
        "spark.read"
    }
}

/// Refuses a read mode other than `stream` where only streams work.
pub fn require_stream(
    action: &Action,
    mode: Option<&str>,
    what: &str,
) -> Result<(), GenerateError> {
    match mode {
        None | Some("stream") => Ok(()),
        Some(other) => Err(GenerateError::new(
            "LHP-VAL-068",
            format!(
                "action `{}`: a {what} reads a stream, so readMode must be `stream`, not `{other}`",
                action.name.value
            ),
        )
        .at(action.span())),
    }
}

/// The view an action produces (its `target`), or an error saying it needs one.
pub fn target_view(action: &Action) -> Result<String, GenerateError> {
    action
        .target
        .as_ref()
        .map(|t| t.value.clone())
        .ok_or_else(|| {
            GenerateError::new(
                "LHP-VAL-001",
                format!(
                    "{} `{}` needs a `target` view",
                    action.kind, action.name.value
                ),
            )
            .at(action.span())
        })
}

/// The single view name an action reads (`source` as a string, or the first of a list).
pub fn source_view(action: &Action) -> Result<String, GenerateError> {
    action.reads().into_iter().next().ok_or_else(|| {
        GenerateError::new(
            "LHP-VAL-001",
            format!("action `{}` needs a `source` view", action.name.value),
        )
        .at(action.span())
    })
}

/// `catalog.schema.table` of a mapping (`database: "c.s"` is the legacy form).
pub fn table_name(map: &Map) -> Option<String> {
    let table = text(map, "table")?;
    let (catalog, schema) = match (text(map, "catalog"), text(map, "schema")) {
        (Some(c), Some(s)) => (c.to_owned(), s.to_owned()),
        _ => match text(map, "database").and_then(|d| d.split_once('.')) {
            Some((c, s)) => (c.to_owned(), s.to_owned()),
            None => return Some(table.to_owned()),
        },
    };
    Some(format!("{catalog}.{schema}.{table}"))
}

/// The imports an operational-metadata expression needs, found in its text.
pub fn detect_imports(expression: &str) -> Vec<String> {
    let mut imports = Vec::new();
    if expression.contains("F.") {
        imports.push(F_IMPORT.to_owned());
    }
    let bare_call = |name: &str| {
        expression
            .match_indices(&format!("{name}("))
            .any(|(at, _)| {
                at == 0 || {
                    let before = expression[..at].chars().next_back().unwrap_or(' ');
                    !(before.is_alphanumeric() || before == '_' || before == '.')
                }
            })
    };
    for name in ["udf", "pandas_udf", "broadcast"] {
        if bare_call(name) {
            imports.push(format!("from pyspark.sql.functions import {name}"));
        }
    }
    for (at, _) in expression.match_indices("Type(") {
        let start = expression[..at]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &expression[start..at + 4];
        let qualified = start > 0 && expression[..start].ends_with('.');
        if !qualified && name.len() > 4 && name.starts_with(|c: char| c.is_ascii_uppercase()) {
            imports.push(format!("from pyspark.sql.types import {name}"));
        }
    }
    imports
}

/// The operational-metadata lines for a view, and their imports: one `withColumn` per column
/// (or one `withColumns` call), sorted by name.
pub fn metadata_lines(
    request: &GenerateRequest<'_>,
    single_call: bool,
) -> Result<(Vec<String>, Vec<String>), GenerateError> {
    let columns = request.context.metadata_columns(request.action)?;
    let py = Py::new(request.context);
    let mut imports = Vec::new();
    for column in &columns {
        imports.extend(detect_imports(&column.expression));
        imports.extend(column.imports.iter().cloned());
    }
    let lines = if columns.is_empty() {
        Vec::new()
    } else if single_call {
        let entries: Vec<String> = columns
            .iter()
            .map(|c| format!("{}: {}", py.string(&c.name), c.expression))
            .collect();
        vec![format!("df = df.withColumns({{{}}})", entries.join(", "))]
    } else {
        columns
            .iter()
            .map(|c| {
                format!(
                    "df = df.withColumn({}, {})",
                    py.string(&c.name),
                    c.expression
                )
            })
            .collect()
    };
    Ok((lines, imports))
}

/// A view function, rendered from `view.py.j2`.
pub struct View {
    /// Module-level lines before the decorator (a schema, a registration).
    pub before: Vec<String>,
    /// Decorator lines, outermost first.
    pub decorators: Vec<String>,
    /// The function's name.
    pub name: String,
    /// Its docstring text.
    pub doc: String,
    /// Body lines before the metadata (relative indentation kept).
    pub body: Vec<String>,
    /// Operational-metadata lines.
    pub metadata: Vec<String>,
}

impl View {
    /// Renders the view.
    pub fn render(&self) -> Result<String, GenerateError> {
        render(
            "view.py.j2",
            minijinja::context! {
                before => &self.before,
                decorators => &self.decorators,
                name => &self.name,
                doc => crate::py::docstring(&self.doc),
                body => &self.body,
                metadata => &self.metadata,
            },
        )
    }
}

/// A fragment holding one rendered view.
pub fn view_fragment(view: &View, mut imports: Vec<String>) -> Result<Fragment, GenerateError> {
    imports.insert(0, DP_IMPORT.to_owned());
    Ok(Fragment {
        code: view.render()?,
        imports,
        ..Fragment::default()
    })
}

/// Column definitions read from a schema file (`columns: [{name, type, nullable, comment}]`),
/// YAML or JSON.
pub struct SchemaColumn {
    /// The column's name.
    pub name: String,
    /// Its SQL type as written.
    pub data_type: String,
    /// Whether it may be null (default true).
    pub nullable: bool,
    /// Its comment, if any.
    pub comment: Option<String>,
}

/// Reads a schema file's columns.
pub fn schema_columns(
    context: &dyn GenerateContext,
    path: &str,
    at: Span,
) -> Result<Vec<SchemaColumn>, GenerateError> {
    let text = context.read_file(path, at)?;
    let document = parse_document(&text, path, at)?;
    let bad = |message: String| GenerateError::new("LHP-VAL-016", message).at(at);
    let columns = document
        .as_map()
        .and_then(|m| m.get("columns"))
        .and_then(Value::as_seq)
        .ok_or_else(|| bad(format!("schema file {path} has no `columns` list")))?;
    columns
        .iter()
        .map(|column| {
            let map = column
                .as_map()
                .ok_or_else(|| bad(format!("schema file {path}: a column must be a mapping")))?;
            let name = scalar_text(map, "name")
                .ok_or_else(|| bad(format!("schema file {path}: a column has no `name`")))?;
            let data_type = scalar_text(map, "type")
                .ok_or_else(|| bad(format!("schema file {path}: column `{name}` has no `type`")))?;
            Ok(SchemaColumn {
                name,
                data_type,
                nullable: map.get("nullable").and_then(Value::as_bool).unwrap_or(true),
                comment: scalar_text(map, "comment"),
            })
        })
        .collect()
}

/// Parses a side file (YAML, of which JSON is a subset) into a value tree.
pub fn parse_document(text: &str, path: &str, at: Span) -> Result<Value, GenerateError> {
    let documents =
        lhp_plugin::load_documents(at.file, text.as_bytes(), lhp_plugin::Limits::default())
            .map_err(|e| {
                GenerateError::new("LHP-CFG-009", format!("{path}: {}", e.message)).at(at)
            })?;
    documents
        .into_iter()
        .next()
        .ok_or_else(|| GenerateError::new("LHP-CFG-009", format!("{path} is empty")).at(at))
}

/// The header of a copied module, naming the file it came from.
fn copy_header(source: &str) -> String {
    format!(
        "# LHP-SOURCE: {source}\n# Generated by lhp - DO NOT EDIT\n# Changes will be overwritten on next generation\n\n"
    )
}

/// Copies a user's Python module into `custom_python_functions/`, substituted, with a
/// header saying where it came from, together with the local modules it imports (found
/// beside it, copied keeping their layout, their imports rewritten to the package);
/// returns the module's import name.
pub fn copy_module(
    context: &dyn GenerateContext,
    module_path: &str,
    at: Span,
) -> Result<(String, Vec<SideFile>), GenerateError> {
    let normalized = module_path.replace('\\', "/");
    let stem = std::path::Path::new(&normalized)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| normalized.ends_with(".py"))
        .ok_or_else(|| {
            GenerateError::new(
                "LHP-VAL-001",
                format!("`module_path` must name a .py file, not {module_path:?}"),
            )
            .at(at)
        })?
        .to_owned();
    let directory = match normalized.rfind('/') {
        Some(slash) => normalized[..slash + 1].to_owned(),
        None => String::new(),
    };
    let mut files = vec![SideFile {
        path: "custom_python_functions/__init__.py".to_owned(),
        text: "# Generated package for custom Python functions\n".to_owned(),
    }];
    // Modules to copy: (path relative to the entry's directory, whether it must exist).
    let mut pending: Vec<(String, String)> = vec![(normalized.clone(), format!("{stem}.py"))];
    let mut copied: Vec<String> = Vec::new();
    while let Some((source, destination)) = pending.pop() {
        if copied.contains(&destination) {
            continue;
        }
        copied.push(destination.clone());
        let text = match context.read_substituted(&source, at) {
            Ok(text) => text,
            // A package directory without its own `__init__.py` still needs one.
            Err(_) if destination.ends_with("/__init__.py") => {
                files.push(SideFile {
                    path: format!("custom_python_functions/{destination}"),
                    text: copy_header(&source).trim_end().to_owned() + "\n",
                });
                continue;
            }
            Err(error) => return Err(error),
        };
        let (rewritten, imports) = rewrite_local_imports(context, &directory, &text);
        for module in imports {
            let parts: Vec<&str> = module.split('.').collect();
            for depth in 1..parts.len() {
                let package = parts[..depth].join("/");
                pending.push((
                    format!("{directory}{package}/__init__.py"),
                    format!("{package}/__init__.py"),
                ));
            }
            let file = parts.join("/");
            if context.is_file(&format!("{directory}{file}.py")) {
                pending.push((format!("{directory}{file}.py"), format!("{file}.py")));
            } else {
                pending.push((
                    format!("{directory}{file}/__init__.py"),
                    format!("{file}/__init__.py"),
                ));
            }
        }
        let whole = copy_header(&source) + rewritten.trim_end_matches('\n') + "\n";
        files.push(SideFile {
            path: format!("custom_python_functions/{destination}"),
            text: crate::pyfmt::format_module(&whole),
        });
    }
    Ok((stem, files))
}

/// Rewrites `import a.b` and `from a.b import c` where `a` is a module or package beside the
/// entry module to import from `custom_python_functions`; returns the local modules named
/// (`from a import b` names `a.b` when `b` is a module file).
fn rewrite_local_imports(
    context: &dyn GenerateContext,
    directory: &str,
    text: &str,
) -> (String, Vec<String>) {
    let is_local = |first: &str| {
        !first.is_empty()
            && (context.is_file(&format!("{directory}{first}.py"))
                || context.is_dir(&format!("{directory}{first}")))
    };
    let mut found = Vec::new();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let indent = &line[..line.len() - line.trim_start().len()];
        let body = line.trim_start();
        let (keyword, rest) = if let Some(rest) = body.strip_prefix("from ") {
            ("from ", rest)
        } else if let Some(rest) = body.strip_prefix("import ") {
            ("import ", rest)
        } else {
            out.push_str(line);
            continue;
        };
        let module: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let first = module.split('.').next().unwrap_or_default();
        if module.starts_with('.') || !is_local(first) {
            out.push_str(line);
            continue;
        }
        found.push(module.clone());
        if keyword == "from " {
            // `from pkg import mod`: the imported names may be modules of the package.
            if let Some(names) = rest[module.len()..].trim_start().strip_prefix("import ") {
                for name in names.split(',') {
                    let name = name
                        .trim()
                        .trim_matches(|c| c == '(' || c == ')')
                        .split_whitespace()
                        .next()
                        .unwrap_or_default();
                    let candidate = format!("{}/{name}", module.replace('.', "/"));
                    if !name.is_empty() && context.is_file(&format!("{directory}{candidate}.py")) {
                        found.push(format!("{module}.{name}"));
                    }
                }
            }
        }
        out.push_str(indent);
        out.push_str(keyword);
        out.push_str("custom_python_functions.");
        out.push_str(rest);
    }
    (out, found)
}

/// `parameters` of an action as a Python dict literal (`{}` when absent).
pub fn parameters(py: &Py<'_>, action: &Action) -> String {
    match fields(action).get("parameters") {
        Some(value) if !value.is_null() => py.value(value),
        _ => "{}".to_owned(),
    }
}

/// What happens to a row that breaks an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// The update fails.
    Fail,
    /// The row is dropped.
    Drop,
    /// The row is kept and the violation counted.
    Warn,
}

/// The `@dp.expect_all*` decorator of each kind that has rules, in the order fail, drop,
/// warn, from `(kind, name, rule)` expectations kept in their order.
pub fn expectation_decorators(
    py: &Py<'_>,
    rules: &[(OnFailure, String, String)],
) -> Vec<(OnFailure, String)> {
    [
        (OnFailure::Fail, "expect_all_or_fail"),
        (OnFailure::Drop, "expect_all_or_drop"),
        (OnFailure::Warn, "expect_all"),
    ]
    .into_iter()
    .filter_map(|(kind, decorator)| {
        let entries: Vec<String> = rules
            .iter()
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, name, rule)| format!("{}: {}", py.string(name), py.string(rule)))
            .collect();
        (!entries.is_empty())
            .then(|| (kind, format!("@dp.{decorator}({{{}}})", entries.join(", "))))
    })
    .collect()
}
