//! Small readers the loaders share: a flowgroup's actions, and lists of strings.

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
