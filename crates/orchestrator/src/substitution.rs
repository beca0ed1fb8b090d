//! Substitution: `substitutions/<env>.yaml` read into a token table, and tokens replaced
//! inside a project's values the way the reference replaces them.
//!
//! In a string value, in this order: `${name}` (a word: letters, digits, `_`) becomes the
//! token's text; then the legacy bare `{name}` does too; then `${secret:scope/key}` and
//! `${secret:key}` become secret references kept for the code generator. `${...}` whose
//! content is not a single word (`${a.b}`, `${hiveconf:x}`) is pipeline or Spark syntax and
//! is left as written, as is a token nobody defined (reported afterwards by
//! [`unresolved_tokens`]). Mapping keys are never substituted. `%{var}` flowgroup
//! variables are resolved separately, first ([`resolve_local_variables`]).

use std::collections::BTreeMap;

use lhp_plugin::{Span, Value, ValueKind};

use crate::diagnostic::Diagnostic;

/// How many rounds of expansion a token's value gets (tokens may refer to tokens).
const MAX_PASSES: usize = 10;

/// The longest a token's value may grow by expansion.
const MAX_TOKEN_BYTES: usize = 1 << 20;

/// What a token stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenValue {
    /// Text, which is what a string can take in.
    Text(String),
    /// A mapping or list, shown by `lhp substitutions` but not usable inside a string.
    Structured(Value),
}

/// A secret named in the project, for the generator to read at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// The secret scope, after the `secrets.scopes` aliases.
    pub scope: String,
    /// The key within the scope.
    pub key: String,
    /// Where it was written.
    pub span: Span,
}

impl SecretRef {
    /// The text that stands for the secret in substituted values until code is generated.
    pub fn placeholder(&self) -> String {
        format!("__SECRET_{}_{}__", self.scope, self.key)
    }
}

/// The tokens of one environment, and how secrets are named in it.
#[derive(Debug, Clone, Default)]
pub struct Substitutions {
    env: String,
    tokens: BTreeMap<String, TokenValue>,
    default_scope: Option<String>,
    scope_aliases: BTreeMap<String, String>,
}

impl Substitutions {
    /// Builds the table for `env` from the parsed substitutions document (`None` when the
    /// file does not exist, which the reference accepts). `env_var` reads the process
    /// environment (`WORKSPACE_ENV` and `LOGICAL_ENV` override the reserved tokens).
    pub fn new(
        env: &str,
        document: Option<&Value>,
        env_var: impl Fn(&str) -> Option<String>,
        problems: &mut Vec<Diagnostic>,
    ) -> Self {
        let mut tokens = BTreeMap::new();
        for (token, variable) in [
            ("workspace_env", "WORKSPACE_ENV"),
            ("logical_env", "LOGICAL_ENV"),
        ] {
            let value = env_var(variable).unwrap_or_else(|| env.to_owned());
            tokens.insert(token.to_owned(), TokenValue::Text(value));
        }
        let root = document.and_then(Value::as_map);
        // The environment's own block wins over everything, reserved tokens included;
        // `global` only fills what is still missing.
        if let Some(block) = root.and_then(|m| m.get(env)).and_then(Value::as_map) {
            for (name, value) in block.iter_str() {
                tokens.insert(name.to_owned(), token_value(value));
            }
        }
        if let Some(block) = root.and_then(|m| m.get("global")).and_then(Value::as_map) {
            for (name, value) in block.iter_str() {
                tokens
                    .entry(name.to_owned())
                    .or_insert_with(|| token_value(value));
            }
        }
        let secrets = root.and_then(|m| m.get("secrets")).and_then(Value::as_map);
        // A null or blank default scope is no default scope.
        let default_scope = secrets
            .and_then(|s| s.get("default_scope"))
            .filter(|v| !v.is_null())
            .and_then(python_str)
            .filter(|scope| !scope.trim().is_empty());
        let scope_aliases = secrets
            .and_then(|s| s.get("scopes"))
            .and_then(Value::as_map)
            .map(|scopes| {
                scopes
                    .iter_str()
                    .filter_map(|(alias, real)| Some((alias.to_owned(), python_str(real)?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut table = Self {
            env: env.to_owned(),
            tokens,
            default_scope,
            scope_aliases,
        };
        table.expand(problems);
        table
    }

    /// The environment's name.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// A token's value.
    pub fn token(&self, name: &str) -> Option<&TokenValue> {
        self.tokens.get(name)
    }

    /// Every token, by name.
    pub fn tokens(&self) -> impl Iterator<Item = (&str, &TokenValue)> {
        self.tokens.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The secret scope of `${secret:key}` references that name none.
    pub fn default_scope(&self) -> Option<&str> {
        self.default_scope.as_deref()
    }

    /// `secrets.scopes`: the scope aliases, alias to real scope.
    pub fn scope_aliases(&self) -> &BTreeMap<String, String> {
        &self.scope_aliases
    }

    /// Lets token values refer to other tokens, up to 10 rounds.
    fn expand(&mut self, problems: &mut Vec<Diagnostic>) {
        let names: Vec<String> = self.tokens.keys().cloned().collect();
        for name in names {
            let Some(TokenValue::Text(text)) = self.tokens.get(&name) else {
                continue;
            };
            let mut current = text.clone();
            let mut settled = false;
            for _ in 0..MAX_PASSES {
                let next = self.replace_words(&current, &mut |_| {});
                if next == current {
                    settled = true;
                    break;
                }
                if next.len() > MAX_TOKEN_BYTES {
                    problems.push(Diagnostic::error(
                        "LHP-CFG-010",
                        format!("token `{name}` expands to more than {MAX_TOKEN_BYTES} bytes (does it refer to itself?)"),
                    ));
                    break;
                }
                current = next;
            }
            if !settled {
                problems.push(Diagnostic::note(
                    "LHP-CFG-010",
                    format!(
                        "token `{name}` still refers to other tokens after {MAX_PASSES} rounds of expansion (a cycle?)"
                    ),
                ));
            }
            self.tokens.insert(name, TokenValue::Text(current));
        }
    }

    /// Replaces `${word}` and then bare `{word}` by text tokens; calls `structured` with the
    /// name of each mapping or list token used inside the text (left as written).
    fn replace_words(&self, text: &str, structured: &mut dyn FnMut(&str)) -> String {
        let pass = replace_braced(text, "${", |name| self.lookup(name, structured));
        replace_braced(&pass, "{", |name| self.lookup(name, structured))
    }

    fn lookup(&self, name: &str, structured: &mut dyn FnMut(&str)) -> Option<String> {
        match self.tokens.get(name)? {
            TokenValue::Text(text) => Some(text.clone()),
            TokenValue::Structured(_) => {
                structured(name);
                None
            }
        }
    }

    /// Substitutes every string inside `value` (keys excepted), collecting secret references.
    pub fn substitute(
        &self,
        value: &mut Value,
        secrets: &mut Vec<SecretRef>,
        problems: &mut Vec<Diagnostic>,
    ) {
        let span = value.span;
        match &mut value.kind {
            ValueKind::String(text) => {
                let mut misused: Vec<String> = Vec::new();
                let replaced = self.replace_words(text, &mut |name| {
                    // Seen by both the `${name}` and the bare `{name}` pass: report once.
                    if !misused.iter().any(|m| m == name) {
                        misused.push(name.to_owned());
                    }
                });
                for name in misused {
                    problems.push(
                        Diagnostic::error(
                            "LHP-VAL-901",
                            format!("token `{name}` is a mapping or a list, so it cannot be used inside a string"),
                        )
                        .at(span),
                    );
                }
                *text = self.replace_secrets(&replaced, span, secrets, problems);
            }
            ValueKind::Seq(items) => {
                for item in items {
                    self.substitute(item, secrets, problems);
                }
            }
            ValueKind::Map(map) => {
                for (_, item) in map.entries_mut() {
                    self.substitute(item, secrets, problems);
                }
            }
            ValueKind::Null | ValueKind::Bool(_) | ValueKind::Int(_) | ValueKind::Float(_) => {}
        }
    }

    fn replace_secrets(
        &self,
        text: &str,
        span: Span,
        secrets: &mut Vec<SecretRef>,
        problems: &mut Vec<Diagnostic>,
    ) -> String {
        const OPEN: &str = "${secret:";
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(OPEN) {
            let after = &rest[at + OPEN.len()..];
            let Some(end) = after.find('}') else {
                break;
            };
            out.push_str(&rest[..at]);
            let reference = &after[..end];
            match self.secret(reference, span) {
                Ok(secret) => {
                    out.push_str(&secret.placeholder());
                    if let Some(problem) = check_secret(&secret) {
                        problems.push(problem);
                    }
                    secrets.push(secret);
                }
                Err(problem) => {
                    problems.push(problem);
                    out.push_str(&rest[at..at + OPEN.len() + end + 1]);
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn secret(&self, reference: &str, span: Span) -> Result<SecretRef, Diagnostic> {
        let (scope, key) = match reference.split_once('/') {
            Some((scope, key)) => (scope.to_owned(), key.to_owned()),
            None => match &self.default_scope {
                Some(scope) => (scope.clone(), reference.to_owned()),
                None => {
                    return Err(Diagnostic::error(
                        "LHP-CFG-008",
                        format!("`${{secret:{reference}}}` names no scope and no default scope is set"),
                    )
                    .at(span)
                    .hint(format!(
                        "write `${{secret:SCOPE/{reference}}}`, or set `secrets: {{default_scope: ...}}` in substitutions/{}.yaml",
                        self.env
                    )))
                }
            },
        };
        if scope.is_empty() || key.is_empty() {
            return Err(Diagnostic::error(
                "LHP-CFG-059",
                format!("`${{secret:{reference}}}` has an empty scope or key"),
            )
            .at(span));
        }
        let scope = self.scope_aliases.get(&scope).cloned().unwrap_or(scope);
        Ok(SecretRef { scope, key, span })
    }
}

/// Checks the characters Databricks allows in secret scopes and keys.
fn check_secret(secret: &SecretRef) -> Option<Diagnostic> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let problem = if !secret.scope.chars().all(allowed) {
        Some(format!(
            "secret scope `{}` may only contain letters, digits, `_` and `-`",
            secret.scope
        ))
    } else if secret.scope.chars().count() > 128 {
        Some(format!(
            "secret scope `{}` is longer than 128 characters",
            secret.scope
        ))
    } else if !secret.key.chars().all(allowed) {
        Some(format!(
            "secret key `{}` may only contain letters, digits, `_` and `-`",
            secret.key
        ))
    } else {
        None
    };
    problem.map(|message| Diagnostic::error("LHP-VAL-008", message).at(secret.span))
}

/// A token name as the reference's `\w+` reads it.
fn is_word(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Replaces `<open>word}` (`open` is `{`, `${` or `%{`) for which `lookup` has text;
/// everything else is copied as written.
fn replace_braced(
    text: &str,
    open: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(open) {
        let inner_start = at + open.len();
        let after = &rest[inner_start..];
        match after.find('}') {
            Some(end) if is_word(&after[..end]) => match lookup(&after[..end]) {
                Some(replacement) => {
                    out.push_str(&rest[..at]);
                    out.push_str(&replacement);
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[..inner_start]);
                    rest = after;
                }
            },
            _ => {
                out.push_str(&rest[..inner_start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The words in `{word}` form still present in `text` (any `{word}`, so `${missing}` and a
/// stray `{x}` alike), except `{dbutils.…}`, as the reference's check finds them.
pub fn unresolved_in(text: &str) -> Vec<String> {
    words_in(text, "{")
}

/// The words written as `<open>word}` in `text`, in order.
fn words_in(text: &str, open: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(open) {
        let after = &rest[at + open.len()..];
        match after.find('}') {
            Some(end) if is_word(&after[..end]) => {
                found.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    found
}

/// Every string in `value` that still holds a `{word}` after substitution, with the path
/// to it (`actions[0].source.table`).
pub fn unresolved_tokens(value: &Value) -> Vec<(Span, String, Vec<String>)> {
    let mut found = Vec::new();
    walk_strings(value, &mut String::new(), &mut |span, path, text| {
        let words = unresolved_in(text);
        if !words.is_empty() {
            found.push((span, path.to_owned(), words));
        }
    });
    found
}

/// Calls `visit` with the span, the path (`actions[0].source.table`) and the text of every
/// string in `value`.
pub(crate) fn walk_strings(
    value: &Value,
    path: &mut String,
    visit: &mut dyn FnMut(Span, &str, &str),
) {
    match &value.kind {
        ValueKind::String(text) => visit(value.span, path, text),
        ValueKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_strings(item, path, visit);
                path.truncate(len);
            }
        }
        ValueKind::Map(map) => {
            for (key, item) in map.entries() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key_text(key));
                walk_strings(item, path, visit);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn key_text(key: &Value) -> String {
    match &key.kind {
        ValueKind::String(s) => s.clone(),
        _ => python_str(key).unwrap_or_default(),
    }
}

/// Resolves `%{var}` from the flowgroup's `variables:` in every string of `flowgroup` but
/// the variables themselves, as the reference does before templates are expanded. Without
/// variables nothing is replaced (a `%{x}` then shows up as an unresolved `{x}`).
pub fn resolve_local_variables(flowgroup: &mut Value, problems: &mut Vec<Diagnostic>) {
    let Some(map) = flowgroup.as_map() else {
        return;
    };
    let Some(variables) = map.get("variables") else {
        return;
    };
    let Some(entries) = variables.as_map() else {
        if !variables.is_null() {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-011",
                    format!(
                        "`variables` must be a mapping of names to strings, not {}",
                        variables.kind.describe()
                    ),
                )
                .at(variables.span),
            );
        }
        return;
    };
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in entries.iter_str() {
        match &value.kind {
            ValueKind::String(text) => {
                values.insert(name.to_owned(), text.clone());
            }
            other => problems.push(
                Diagnostic::error(
                    "LHP-CFG-011",
                    format!(
                        "variable `{name}` must be a string, not {}",
                        other.describe()
                    ),
                )
                .at(value.span)
                .hint("quote it, e.g. \"5\""),
            ),
        }
    }
    if values.is_empty() {
        return;
    }
    expand_among(&mut values);
    let ValueKind::Map(map) = &mut flowgroup.kind else {
        return;
    };
    let mut leftovers = Vec::new();
    for (key, value) in map.entries_mut() {
        if key.as_str() == Some("variables") {
            continue;
        }
        apply_percent(value, &values, &mut leftovers);
    }
    for (span, name) in leftovers {
        problems.push(
            Diagnostic::error(
                "LHP-CFG-011",
                format!("undefined flowgroup variable `%{{{name}}}`"),
            )
            .at(span)
            .hint("define it under `variables:` in this flowgroup"),
        );
    }
}

/// Lets variables refer to each other: up to 10 rounds, each value growing to at most 1 MiB.
pub fn expand_among(values: &mut BTreeMap<String, String>) {
    for _ in 0..MAX_PASSES {
        let snapshot = values.clone();
        let mut changed = false;
        for text in values.values_mut() {
            let next = replace_braced(text, "%{", |name| snapshot.get(name).cloned());
            if next != *text && next.len() <= MAX_TOKEN_BYTES {
                *text = next;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Variables whose value uses another variable (`a: "%{b}_x"`), with where they are.
pub fn variables_using_variables(flowgroup: &Value) -> Vec<(Span, String, String)> {
    let Some(variables) = flowgroup
        .as_map()
        .and_then(|m| m.get("variables"))
        .and_then(Value::as_map)
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, value) in variables.iter_str() {
        let Some(text) = value.as_str() else { continue };
        for used in words_in(text, "%{") {
            found.push((value.span, name.to_owned(), used));
        }
    }
    found
}

fn apply_percent(
    value: &mut Value,
    values: &BTreeMap<String, String>,
    leftovers: &mut Vec<(Span, String)>,
) {
    let span = value.span;
    match &mut value.kind {
        ValueKind::String(text) => {
            *text = replace_braced(text, "%{", |name| values.get(name).cloned());
            leftovers.extend(words_in(text, "%{").into_iter().map(|word| (span, word)));
        }
        ValueKind::Seq(items) => items
            .iter_mut()
            .for_each(|i| apply_percent(i, values, leftovers)),
        ValueKind::Map(map) => map
            .entries_mut()
            .iter_mut()
            .for_each(|(_, v)| apply_percent(v, values, leftovers)),
        _ => {}
    }
}

/// A substitution value as the reference turns it into a token: text for scalars (Python's
/// `str()`, but booleans in lower case), the value itself for mappings and lists.
fn token_value(value: &Value) -> TokenValue {
    match python_str(value) {
        Some(text) => TokenValue::Text(text),
        None => TokenValue::Structured(value.clone()),
    }
}

/// The `${word}` tokens left in `text` (a word: letters, digits, `_`).
pub fn dollar_tokens(text: &str) -> Vec<String> {
    words_in(text, "${")
}

/// Python's `str()` of a scalar, booleans lower-cased; `None` for mappings and lists.
pub fn python_str(value: &Value) -> Option<String> {
    Some(match &value.kind {
        ValueKind::Null => "None".to_owned(),
        ValueKind::Bool(b) => b.to_string(),
        ValueKind::Int(i) => i.to_string(),
        ValueKind::Float(x) => python_float(*x),
        ValueKind::String(s) => s.clone(),
        ValueKind::Seq(_) | ValueKind::Map(_) => return None,
    })
}

pub use lhp_plugin::python_float;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_prints_them() {
        for (x, text) in [
            (1.5, "1.5"),
            (1.0, "1.0"),
            (-0.25, "-0.25"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (123456.789, "123456.789"),
            (0.0, "0.0"),
        ] {
            assert_eq!(python_float(x), text, "{x}");
        }
    }

    #[test]
    fn braced_words_only() {
        let lookup = |n: &str| (n == "a").then(|| "X".to_owned());
        assert_eq!(
            replace_braced("${a}-${b}-${a.b}-${}", "${", lookup),
            "X-${b}-${a.b}-${}"
        );
        assert_eq!(replace_braced("{a}{b}{ a }", "{", lookup), "X{b}{ a }");
        assert_eq!(
            unresolved_in("${x} {y} {dbutils.z} {a b} \\d{8}"),
            ["x", "y", "8"]
        );
    }
}
