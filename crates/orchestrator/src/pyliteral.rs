//! Python literals, both ways: `repr()` of values (how Jinja2 in the reference prints a list
//! or a `None` into a template), and reading such text back (what the reference does with
//! `json.loads`, falling back to `ast.literal_eval`).

use lhp_plugin::{Map, Span, Value, ValueKind};

/// Python's `repr()` of a string: single quotes unless the text holds a `'` and no `"`.
pub fn repr_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    format!("{quote}{}{quote}", lhp_generators::py::escape(text, quote))
}

/// Reads a Python or JSON literal (strings, numbers, `True`/`true`, `False`/`false`,
/// `None`/`null`, lists, tuples, dicts); every value gets `span`.
pub fn parse(text: &str, span: Span) -> Option<Value> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        at: 0,
        span,
        depth: 0,
    };
    let value = parser.value()?;
    parser.skip_space();
    (parser.at == parser.chars.len()).then_some(value)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    span: Span,
    depth: usize,
}

impl Parser {
    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.depth += 1;
        if self.depth > 128 {
            return None;
        }
        self.skip_space();
        let kind = match *self.chars.get(self.at)? {
            '[' => self.sequence(']')?,
            '(' => self.sequence(')')?,
            '{' => self.mapping()?,
            '\'' | '"' => ValueKind::String(self.string()?),
            _ => self.word()?,
        };
        self.depth -= 1;
        Some(Value::new(self.span, kind))
    }

    fn sequence(&mut self, close: char) -> Option<ValueKind> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.chars.get(self.at) == Some(&close) {
                self.at += 1;
                return Some(ValueKind::Seq(items));
            }
            items.push(self.value()?);
            self.skip_space();
            match self.chars.get(self.at)? {
                ',' => self.at += 1,
                c if *c == close => {}
                _ => return None,
            }
        }
    }

    fn mapping(&mut self) -> Option<ValueKind> {
        self.at += 1;
        let mut map = Map::new();
        loop {
            self.skip_space();
            if self.chars.get(self.at) == Some(&'}') {
                self.at += 1;
                return Some(ValueKind::Map(map));
            }
            let key = self.value()?;
            self.skip_space();
            if self.chars.get(self.at) != Some(&':') {
                return None;
            }
            self.at += 1;
            let value = self.value()?;
            map.push(key, value);
            self.skip_space();
            match self.chars.get(self.at)? {
                ',' => self.at += 1,
                '}' => {}
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let quote = self.chars[self.at];
        self.at += 1;
        let mut out = String::new();
        loop {
            let c = *self.chars.get(self.at)?;
            self.at += 1;
            match c {
                c if c == quote => return Some(out),
                '\\' => {
                    let escaped = *self.chars.get(self.at)?;
                    self.at += 1;
                    match escaped {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        '\\' | '\'' | '"' | '/' => out.push(escaped),
                        'x' | 'u' => {
                            let len = if escaped == 'x' { 2 } else { 4 };
                            let hex: String =
                                self.chars.get(self.at..self.at + len)?.iter().collect();
                            self.at += len;
                            out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        }
                        other => {
                            // Python keeps unknown escapes as written.
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn word(&mut self) -> Option<ValueKind> {
        let start = self.at;
        while self
            .chars
            .get(self.at)
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
        {
            self.at += 1;
        }
        let word: String = self.chars[start..self.at].iter().collect();
        match word.as_str() {
            "True" | "true" => Some(ValueKind::Bool(true)),
            "False" | "false" => Some(ValueKind::Bool(false)),
            "None" | "null" => Some(ValueKind::Null),
            _ => {
                let digits = word.replace('_', "");
                if let Ok(i) = digits.parse::<i64>() {
                    Some(ValueKind::Int(i))
                } else {
                    let lower = digits.to_ascii_lowercase();
                    let numeric = lower
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'));
                    if numeric && !lower.contains("inf") && !lower.contains("nan") {
                        digits.parse::<f64>().ok().map(ValueKind::Float)
                    } else {
                        None
                    }
                }
            }
        }
    }
}

/// Python's `repr()` of a value, as Jinja2 prints lists and dicts.
pub fn repr(value: &Value) -> String {
    match &value.kind {
        ValueKind::Null => "None".to_owned(),
        ValueKind::Bool(true) => "True".to_owned(),
        ValueKind::Bool(false) => "False".to_owned(),
        ValueKind::Int(i) => i.to_string(),
        ValueKind::Float(x) => crate::substitution::python_float(*x),
        ValueKind::String(s) => repr_str(s),
        ValueKind::Seq(items) => {
            let inner: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", inner.join(", "))
        }
        ValueKind::Map(map) => {
            let inner: Vec<String> = map
                .entries()
                .iter()
                .map(|(k, v)| format!("{}: {}", repr(k), repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lhp_plugin::{FileId, Sources};

    fn span() -> Span {
        let file: FileId = Sources::new().add("t", "");
        Span::new(file, 1, 1)
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(repr_str("abc"), "'abc'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(repr_str("tab\there\n"), "'tab\\there\\n'");
        let list = parse("['a', 1, 2.5, True, None, {'k': [1]}]", span()).unwrap();
        assert_eq!(repr(&list), "['a', 1, 2.5, True, None, {'k': [1]}]");
    }

    #[test]
    fn python_and_json_literals_read_back() {
        let v = parse(
            r#"{"a": [1, 2], "b": null, "c": true, "d": "x\"y"}"#,
            span(),
        )
        .unwrap();
        assert_eq!(
            repr(&v),
            r#"{'a': [1, 2], 'b': None, 'c': True, 'd': 'x"y'}"#
        );
        let v = parse("('a', 'b',)", span()).unwrap();
        assert_eq!(repr(&v), "['a', 'b']");
        for bad in ["[1, 2", "{'a' 1}", "[banana]", "'open", "[1] x", "[.inf]"] {
            assert!(parse(bad, span()).is_none(), "{bad}");
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(parse(&deep, span()).is_none(), "bounded depth");
    }
}
