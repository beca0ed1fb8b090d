//! The built-in data tests (`type: test`, generated with `--include-tests`): each is a
//! temporary table over a query, with the expectations that decide whether the pipeline
//! fails, drops or warns when the query finds a problem.

use std::sync::Arc;

use lhp_plugin::{
    Action, ActionKind, Fragment, GenerateError, GenerateRequest, Generator, Map, Value, ValueKind,
};

use crate::common::{expectation_decorators, fields, text, OnFailure, DP_IMPORT};
use crate::py::{docstring, Py};

/// The test types, in the order the docs list them.
pub const TEST_TYPES: [&str; 9] = [
    "row_count",
    "uniqueness",
    "referential_integrity",
    "completeness",
    "range",
    "schema_match",
    "all_lookups_found",
    "custom_sql",
    "custom_expectations",
];

/// The import every test's module needs besides `dp`.
const FUNCTIONS_IMPORT: &str = "from pyspark.sql.functions import *";

/// The test generators this crate provides.
pub fn generators() -> Vec<Arc<dyn Generator>> {
    TEST_TYPES
        .iter()
        .map(|kind| Arc::new(DataTest(kind)) as Arc<dyn Generator>)
        .collect()
}

/// One test type.
struct DataTest(&'static str);

/// An `on_violation`: `fail`, `drop` or `warn`; anything else fails, as the default does.
fn on_violation(text: Option<&str>) -> OnFailure {
    match text {
        Some("warn") => OnFailure::Warn,
        Some("drop") => OnFailure::Drop,
        _ => OnFailure::Fail,
    }
}

/// Line breaks inside a test's query: the first level, and one level deeper.
const LINE: &str = "\n                    ";
const INNER: &str = "\n                      ";

impl Generator for DataTest {
    fn kind(&self) -> ActionKind {
        ActionKind::Test
    }
    fn type_name(&self) -> &str {
        self.0
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        let py = Py::new(request.context);
        let map = fields(action);
        let target = action
            .target
            .as_ref()
            .map(|t| t.value.clone())
            .unwrap_or_else(|| format!("tmp_test_{}", action.name.value));
        let description = text(map, "description")
            .filter(|d| !d.is_empty())
            .map_or_else(|| format!("Test: {}", self.0), str::to_owned);
        let violation = on_violation(text(map, "on_violation"));
        let (query, expectations) = self.query(action, map, violation)?;

        let mut code = String::new();
        for (_, decorator) in expectation_decorators(&py, &expectations) {
            code.push_str(&decorator);
            code.push('\n');
        }
        code.push_str(&format!(
            "@dp.table(name={}, comment={}, temporary=True)\n",
            py.string(&target),
            py.string(&description)
        ));
        code.push_str(&format!(
            "def {target}():\n    {}\n    return spark.sql({})\n",
            docstring(&description),
            py.sql(&query)
        ));
        Ok(Fragment {
            imports: vec![DP_IMPORT.to_owned(), FUNCTIONS_IMPORT.to_owned()],
            code,
            ..Fragment::default()
        })
    }
}

/// An expectation: what a violation does, its name, its rule.
type Expectation = (OnFailure, String, String);

impl DataTest {
    /// The test's query, wrapped the way the module writes it, and its expectations.
    fn query(
        &self,
        action: &Action,
        map: &Map,
        violation: OnFailure,
    ) -> Result<(String, Vec<Expectation>), GenerateError> {
        let missing = |key: &str, what: &str| {
            GenerateError::new(
                "LHP-VAL-001",
                format!(
                    "{} test `{}` needs `{key}`{what}",
                    self.0, action.name.value
                ),
            )
            .at(action.span())
        };
        let source = || -> Result<String, GenerateError> {
            let value = map.get("source").ok_or_else(|| missing("source", ""))?;
            let first = match &value.kind {
                ValueKind::Seq(items) => items.first().and_then(Value::as_str),
                _ => value.as_str(),
            };
            first
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| missing("source", ""))
        };
        let list = |key: &str| -> Result<Vec<String>, GenerateError> {
            let items: Vec<String> = match map.get(key).map(|v| &v.kind) {
                Some(ValueKind::Seq(items)) => items
                    .iter()
                    .map(crate::common::scalar_text_of)
                    .filter(|s| !s.is_empty())
                    .collect(),
                Some(ValueKind::String(s)) if !s.is_empty() => vec![s.clone()],
                _ => Vec::new(),
            };
            if items.is_empty() {
                Err(missing(key, ": a list of column names"))
            } else {
                Ok(items)
            }
        };
        let word = |key: &str| -> Result<String, GenerateError> {
            text(map, key)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| missing(key, ""))
        };
        let one = |name: &str, rule: String| vec![(violation, name.to_owned(), rule)];
        let (body, expectations) = match self.0 {
            "row_count" => {
                let sources: Vec<String> = match map.get("source").map(|v| &v.kind) {
                    Some(ValueKind::Seq(items)) => {
                        items.iter().map(crate::common::scalar_text_of).collect()
                    }
                    _ => Vec::new(),
                };
                let [left, right] = sources.as_slice() else {
                    return Err(missing(
                        "source",
                        ": exactly two tables to compare, `[a, b]`",
                    ));
                };
                let tolerance = map
                    .get("tolerance")
                    .map_or_else(|| "0".to_owned(), crate::common::scalar_text_of);
                (
                    format!(
                        "SELECT * FROM{INNER}(SELECT COUNT(*) AS source_count FROM {left}),{INNER}(SELECT COUNT(*) AS target_count FROM {right})"
                    ),
                    one(
                        "row_count_match",
                        format!("abs(source_count - target_count) <= {tolerance}"),
                    ),
                )
            }
            "uniqueness" => {
                let columns = list("columns")?.join(", ");
                let filter = text(map, "filter")
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(|f| format!("{LINE}WHERE {f}"))
                    .unwrap_or_default();
                (
                    format!(
                        "SELECT {columns}, COUNT(*) as duplicate_count{LINE}FROM {}{filter}{LINE}GROUP BY {columns}{LINE}HAVING COUNT(*) > 1",
                        source()?
                    ),
                    one("no_duplicates", "duplicate_count == 0".to_owned()),
                )
            }
            "referential_integrity" | "all_lookups_found" => {
                let lookup = self.0 == "all_lookups_found";
                let (table_key, left_key, right_key, alias, prefix, name) = if lookup {
                    (
                        "lookup_table",
                        "lookup_columns",
                        "lookup_result_columns",
                        "l",
                        "lookup",
                        "all_lookups_found",
                    )
                } else {
                    (
                        "reference",
                        "source_columns",
                        "reference_columns",
                        "r",
                        "ref",
                        "referential_integrity",
                    )
                };
                let source = source()?;
                let table = word(table_key)?;
                let left = list(left_key)?;
                let right = list(right_key)?;
                if left.len() != right.len() {
                    return Err(GenerateError::new(
                        "LHP-VAL-001",
                        format!(
                            "{} test `{}`: `{left_key}` ({}) and `{right_key}` ({}) must have the same number of columns",
                            self.0,
                            action.name.value,
                            left.len(),
                            right.len()
                        ),
                    )
                    .at(action.span()));
                }
                let shown = &right[0];
                // A lookup joins on its lookup columns by the same name on both sides.
                let join: Vec<String> = if lookup {
                    left.iter().map(|c| format!("s.{c} = l.{c}")).collect()
                } else {
                    left.iter()
                        .zip(&right)
                        .map(|(a, b)| format!("s.{a} = r.{b}"))
                        .collect()
                };
                (
                    format!(
                        "SELECT{INNER}s.*,{INNER}{alias}.{shown} as {prefix}_{shown}{LINE}FROM {source} s{LINE}LEFT JOIN {table} {alias} ON {}",
                        join.join(" AND ")
                    ),
                    one(name, format!("{prefix}_{shown} IS NOT NULL")),
                )
            }
            "completeness" => {
                let columns = list("required_columns")?;
                let rule: Vec<String> =
                    columns.iter().map(|c| format!("{c} IS NOT NULL")).collect();
                (
                    format!("SELECT {}{LINE}FROM {}", columns.join(", "), source()?),
                    one("required_fields_complete", rule.join(" AND ")),
                )
            }
            "range" => {
                let column = word("column")?;
                let bound = |key: &str| {
                    map.get(key)
                        .filter(|v| !matches!(v.kind, ValueKind::Null))
                        .map(python_str)
                };
                let mut rule = Vec::new();
                if let Some(min) = bound("min_value") {
                    rule.push(format!("{column} >= '{min}'"));
                }
                if let Some(max) = bound("max_value") {
                    rule.push(format!("{column} <= '{max}'"));
                }
                if rule.is_empty() {
                    return Err(missing("min_value` or `max_value", ""));
                }
                (
                    format!("SELECT {column}{LINE}FROM {}", source()?),
                    one("value_in_range", rule.join(" AND ")),
                )
            }
            "schema_match" => {
                let source = source()?;
                let reference = word("reference")?;
                let parts = |name: &str, key: &str| -> Result<[String; 3], GenerateError> {
                    let pieces: Vec<&str> = name.split('.').collect();
                    match pieces.as_slice() {
                        [c, s, t] if !c.is_empty() && !s.is_empty() && !t.is_empty() => {
                            Ok([(*c).to_owned(), (*s).to_owned(), (*t).to_owned()])
                        }
                        _ => Err(GenerateError::new(
                            "LHP-VAL-001",
                            format!(
                                "schema_match test `{}`: `{key}` must be a 3-part name (catalog.schema.table), got {name:?}",
                                action.name.value
                            ),
                        )
                        .at(action.span())),
                    }
                };
                let [sc, ss, st] = parts(&source, "source")?;
                let [rc, rs, rt] = parts(&reference, "reference")?;
                let columns = |catalog: &str, schema: &str, table: &str| {
                    format!(
                        "{INNER}SELECT column_name, data_type, ordinal_position{INNER}FROM {catalog}.information_schema.columns{INNER}WHERE table_catalog = '{catalog}'{INNER}  AND table_schema = '{schema}'{INNER}  AND table_name = '{table}'{LINE}"
                    )
                };
                let diff = [
                    "SELECT",
                    "  COALESCE(s.column_name, r.column_name) as column_name,",
                    "  s.data_type as source_type,",
                    "  r.data_type as reference_type,",
                    "  CASE",
                    "    WHEN s.column_name IS NULL THEN 'missing_in_source'",
                    "    WHEN r.column_name IS NULL THEN 'extra_in_source'",
                    "    WHEN s.data_type != r.data_type THEN 'type_mismatch'",
                    "    ELSE 'match'",
                    "  END as status",
                    "FROM source_schema s",
                    "FULL OUTER JOIN reference_schema r ON s.column_name = r.column_name",
                ]
                .iter()
                .map(|line| format!("{INNER}{line}"))
                .collect::<String>();
                (
                    format!(
                        "WITH source_schema AS ({}),{LINE}reference_schema AS ({}),{LINE}schema_diff AS ({diff}{LINE}){LINE}SELECT * FROM schema_diff WHERE status != 'match'",
                        columns(&sc, &ss, &st),
                        columns(&rc, &rs, &rt)
                    ),
                    one("schemas_match", "false".to_owned()),
                )
            }
            "custom_sql" => {
                let sql = word("sql")?;
                let mut lines = sql.trim().split('\n');
                let mut body = lines.next().unwrap_or_default().trim().to_owned();
                for line in lines {
                    body.push_str("\n        ");
                    body.push_str(line);
                }
                (body, listed_expectations(map))
            }
            "custom_expectations" => {
                let source = source()?;
                let expectations = listed_expectations(map);
                if expectations.is_empty() {
                    return Err(missing("expectations", ": a list of {name, expression}"));
                }
                (format!("SELECT * FROM {source}"), expectations)
            }
            other => {
                return Err(GenerateError::new(
                    "LHP-VAL-007",
                    format!("unknown test type {other:?}"),
                ))
            }
        };
        // Every line's trailing blanks go, as they would when the module is written.
        let query: String = format!("\n        {body}")
            .split('\n')
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n");
        Ok((format!("{query}\n    "), expectations))
    }
}

/// The `expectations` list of a custom test: each `{name, expression, on_violation}`,
/// `fail` by default; an entry without a name or expression, or with another
/// `on_violation`, is left out.
fn listed_expectations(map: &Map) -> Vec<Expectation> {
    let Some(items) = map.get("expectations").and_then(Value::as_seq) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let item = item.as_map()?;
            let name = text(item, "name")?;
            let expression = text(item, "expression")?;
            let violation = match text(item, "on_violation") {
                None | Some("fail") => OnFailure::Fail,
                Some("drop") => OnFailure::Drop,
                Some("warn") => OnFailure::Warn,
                Some(_) => return None,
            };
            Some((violation, name.to_owned(), expression.to_owned()))
        })
        .collect()
}

/// A YAML scalar as Python's `str()` would write it.
fn python_str(value: &Value) -> String {
    match &value.kind {
        ValueKind::Bool(true) => "True".to_owned(),
        ValueKind::Bool(false) => "False".to_owned(),
        ValueKind::Float(x) => lhp_plugin::python_float(*x),
        _ => crate::common::scalar_text_of(value),
    }
}
