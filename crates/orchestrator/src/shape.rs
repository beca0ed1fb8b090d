//! Small readers the loaders share: a flowgroup's actions, lists of strings, and declared
//! parameters.

use lhp_plugin::Value;

use crate::diagnostic::Diagnostic;

/// The `actions` of a flowgroup mapping (none when absent or not a list).
pub(crate) fn actions_of(flowgroup: &Value) -> &[Value] {
    flowgroup
        .as_map()
        .and_then(|m| m.get("actions"))
        .and_then(Value::as_seq)
        .unwrap_or_default()
}

/// A list of strings at `value` (empty when absent or null). `codes` are the codes for "not a
/// list" and for "an entry is not a string", which differ from one setting to another.
pub(crate) fn string_list(
    value: Option<&Value>,
    what: &str,
    codes: (&'static str, &'static str),
    problems: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(items) = value.as_seq() else {
        problems.push(
            Diagnostic::error(codes.0, format!("`{what}` must be a list of strings"))
                .at(value.span),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                problems.push(
                    Diagnostic::error(codes.1, format!("`{what}` entries must be strings"))
                        .at(item.span),
                );
                None
            }
        })
        .collect()
}

/// Declared parameters (`[{name, required, default}]`, as templates and blueprints declare
/// them): name, whether required, and the default as written (`null` included).
pub(crate) fn parameter_list(
    value: Option<&Value>,
    what: &str,
    code: &'static str,
    problems: &mut Vec<Diagnostic>,
) -> Vec<(String, bool, Option<Value>)> {
    let mut parameters = Vec::new();
    for item in value.and_then(Value::as_seq).unwrap_or_default() {
        let Some(fields) = item.as_map() else {
            problems.push(
                Diagnostic::error(
                    code,
                    format!("a {what} parameter must be a mapping with a `name`"),
                )
                .at(item.span),
            );
            continue;
        };
        let Some(name) = fields.get("name").and_then(Value::as_str) else {
            problems.push(
                Diagnostic::error(code, format!("the {what} parameter has no `name`"))
                    .at(item.span),
            );
            continue;
        };
        let required = fields
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        parameters.push((name.to_owned(), required, fields.get("default").cloned()));
    }
    parameters
}
