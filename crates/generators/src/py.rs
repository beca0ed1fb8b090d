//! Python source for values: string literals (with secrets turned into `dbutils` calls),
//! triple-quoted SQL, docstrings, numbers, lists and dicts, written the way a formatter
//! would leave them (double quotes unless that needs more escapes).

use lhp_plugin::{python_float, GenerateContext, Value, ValueKind};

/// Writes Python literals for one module; knows the module's secrets.
#[derive(Clone, Copy)]
pub struct Py<'a> {
    context: &'a dyn GenerateContext,
}

/// A piece of a string: literal text, or a secret to read at run time.
enum Piece<'t> {
    Text(&'t str),
    Secret(String, String),
}

impl<'a> Py<'a> {
    /// A writer that resolves secret placeholders through `context`.
    pub fn new(context: &'a dyn GenerateContext) -> Self {
        Self { context }
    }

    /// Splits `text` at the secret placeholders substitution left in it.
    fn pieces<'t>(&self, text: &'t str) -> Vec<Piece<'t>> {
        const OPEN: &str = "__SECRET_";
        let mut pieces = Vec::new();
        let mut rest = text;
        'scan: while let Some(at) = rest.find(OPEN) {
            // A key may hold `__` itself: the shortest candidate that names a secret wins.
            let mut end = at + OPEN.len();
            while let Some(close) = rest[end..].find("__") {
                let stop = end + close + 2;
                if let Some((scope, key)) = self.context.secret(&rest[at..stop]) {
                    if at > 0 {
                        pieces.push(Piece::Text(&rest[..at]));
                    }
                    pieces.push(Piece::Secret(scope, key));
                    rest = &rest[stop..];
                    continue 'scan;
                }
                end = end + close + 1;
            }
            break;
        }
        if !rest.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Text(rest));
        }
        pieces
    }

    /// A string literal; a secret placeholder becomes `dbutils.secrets.get(...)`, alone or
    /// inside an f-string.
    pub fn string(&self, text: &str) -> String {
        let pieces = self.pieces(text);
        match pieces.as_slice() {
            [Piece::Text(text)] => quote(text),
            [Piece::Secret(scope, key)] => secret_call(scope, key, '"'),
            _ => {
                let mut body = String::new();
                for piece in &pieces {
                    match piece {
                        Piece::Text(text) => {
                            body.push_str(&escape(text, '"').replace('{', "{{").replace('}', "}}"))
                        }
                        Piece::Secret(scope, key) => {
                            body.push('{');
                            body.push_str(&secret_call(scope, key, '\''));
                            body.push('}');
                        }
                    }
                }
                format!("f\"{body}\"")
            }
        }
    }

    /// A triple-quoted string for SQL, kept on its lines.
    pub fn sql(&self, text: &str) -> String {
        let pieces = self.pieces(text);
        let secret = pieces.iter().any(|p| matches!(p, Piece::Secret(..)));
        let mut body = String::new();
        for piece in &pieces {
            match piece {
                Piece::Text(text) => {
                    let escaped = escape_triple(text);
                    if secret {
                        body.push_str(&escaped.replace('{', "{{").replace('}', "}}"));
                    } else {
                        body.push_str(&escaped);
                    }
                }
                Piece::Secret(scope, key) => {
                    // Inside `"""` a `"` does not end the string, and the formatter prefers it.
                    body.push('{');
                    body.push_str(&secret_call(scope, key, '"'));
                    body.push('}');
                }
            }
        }
        if body.ends_with('"') {
            body.pop();
            body.push_str("\\\"");
        }
        let prefix = if secret { "f" } else { "" };
        format!("{prefix}\"\"\"{body}\"\"\"")
    }

    /// A value as a Python literal: strings as [`Py::string`], `True`/`False`/`None`, numbers,
    /// lists and dicts in the order written.
    pub fn value(&self, value: &Value) -> String {
        match &value.kind {
            ValueKind::Null => "None".to_owned(),
            ValueKind::Bool(true) => "True".to_owned(),
            ValueKind::Bool(false) => "False".to_owned(),
            ValueKind::Int(i) => i.to_string(),
            ValueKind::Float(x) => python_float(*x),
            ValueKind::String(s) => self.string(s),
            ValueKind::Seq(items) => {
                let inner: Vec<String> = items.iter().map(|v| self.value(v)).collect();
                format!("[{}]", inner.join(", "))
            }
            ValueKind::Map(map) => {
                let inner: Vec<String> = map
                    .iter_str()
                    .map(|(k, v)| format!("{}: {}", self.string(k), self.value(v)))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }

    /// A list of strings.
    pub fn string_list<S: AsRef<str>>(&self, items: &[S]) -> String {
        let inner: Vec<String> = items.iter().map(|s| self.string(s.as_ref())).collect();
        format!("[{}]", inner.join(", "))
    }
}

/// `dbutils.secrets.get(scope=..., key=...)` with the given quote character.
fn secret_call(scope: &str, key: &str, quote: char) -> String {
    format!(
        "dbutils.secrets.get(scope={q}{}{q}, key={q}{}{q})",
        escape(scope, quote),
        escape(key, quote),
        q = quote
    )
}

/// A plain string literal: double quotes unless the text holds more `"` than `'`.
pub fn quote(text: &str) -> String {
    let doubles = text.matches('"').count();
    let singles = text.matches('\'').count();
    let q = if doubles > singles { '\'' } else { '"' };
    format!("{q}{}{q}", escape(text, q))
}

/// Escapes `text` for a single-line literal delimited by `quote`.
pub fn escape(text: &str, quote: char) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes `text` for the inside of a `"""` literal: backslashes, and any run of quotes that
/// would close it.
fn escape_triple(text: &str) -> String {
    text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")
}

/// A one-line docstring: whitespace runs become one space, quotes and backslashes escaped.
pub fn docstring(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut body = words.join(" ").replace('\\', "\\\\").replace('"', "\\\"");
    if body.is_empty() {
        body.push_str("Generated view");
    }
    format!("\"\"\"{body}\"\"\"")
}

/// A valid Python identifier made from `name`: every other character becomes `_`.
pub fn identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_prefer_double() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(quote("it's"), "\"it's\"");
        assert_eq!(quote("say \"hi\""), "'say \"hi\"'");
        assert_eq!(quote("a\nb\\c"), "\"a\\nb\\\\c\"");
    }

    #[test]
    fn triple_quotes_survive_their_own_delimiter() {
        assert_eq!(escape_triple(r#"a """ b \d"#), r#"a \"\"\" b \\d"#);
    }

    #[test]
    fn identifiers_are_valid() {
        assert_eq!(identifier("v_orders-raw"), "v_orders_raw");
        assert_eq!(identifier("1x"), "_1x");
    }
}
