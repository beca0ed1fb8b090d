//! Writing YAML for the files lhp generates around the code (bundle resources, the
//! monitoring job): block style, plain scalars wherever they read back as the same value,
//! double quotes everywhere else.

use lhp_plugin::{load_documents, python_float, Limits, Sources, Value, ValueKind};

/// A YAML value to write, mappings in the order they are to be written.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (quoted when it would otherwise read back as something else).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in order.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// A string.
    pub fn str(text: impl Into<String>) -> Self {
        Self::Str(text.into())
    }

    /// What `text` means when written as a plain scalar: `true` is a boolean, `5` a
    /// number, anything else text. Used where the reference writes a value unquoted into
    /// its YAML, so that ours reads back as the same value.
    pub fn plain(text: &str) -> Self {
        let mut sources = Sources::default();
        let file = sources.add("<scalar>", String::new());
        let document = format!("v: {text}\n");
        let parsed = load_documents(file, document.as_bytes(), Limits::default()).ok();
        let scalar = parsed
            .as_ref()
            .and_then(|docs| docs.first())
            .and_then(Value::as_map)
            .filter(|map| map.len() == 1)
            .and_then(|map| map.get("v"));
        match scalar.map(|v| &v.kind) {
            Some(ValueKind::Null) if !text.is_empty() => Self::Null,
            Some(ValueKind::Bool(b)) => Self::Bool(*b),
            Some(ValueKind::Int(i)) => Self::Int(*i),
            Some(ValueKind::Float(x)) => Self::Float(*x),
            Some(ValueKind::String(s)) => Self::Str(s.clone()),
            _ => Self::Str(text.to_owned()),
        }
    }

    /// The node for a parsed value, as it is.
    pub fn from_value(value: &Value) -> Self {
        match &value.kind {
            ValueKind::Null => Self::Null,
            ValueKind::Bool(b) => Self::Bool(*b),
            ValueKind::Int(i) => Self::Int(*i),
            ValueKind::Float(x) => Self::Float(*x),
            ValueKind::String(s) => Self::Str(s.clone()),
            ValueKind::Seq(items) => Self::Seq(items.iter().map(Self::from_value).collect()),
            ValueKind::Map(map) => Self::Map(
                map.entries()
                    .iter()
                    .map(|(k, v)| (key_text(k), Self::from_value(v)))
                    .collect(),
            ),
        }
    }
}

/// A mapping key as text (`5: x` has the key "5").
pub fn key_text(key: &Value) -> String {
    python_text(key)
}

/// A scalar as Python's `str()` writes it (`True`, `None`, `1.5`); a collection as JSON.
pub fn python_text(value: &Value) -> String {
    match &value.kind {
        ValueKind::Null => "None".to_owned(),
        ValueKind::Bool(true) => "True".to_owned(),
        ValueKind::Bool(false) => "False".to_owned(),
        ValueKind::Int(i) => i.to_string(),
        ValueKind::Float(x) => python_float(*x),
        ValueKind::String(s) => s.clone(),
        ValueKind::Seq(_) | ValueKind::Map(_) => value.to_json().to_string(),
    }
}

/// `node` as a YAML document (ending with a newline).
pub fn to_yaml(node: &Node) -> String {
    let mut out = String::new();
    match node {
        Node::Map(entries) if !entries.is_empty() => write_map(entries, 0, &mut out),
        Node::Seq(items) if !items.is_empty() => write_seq(items, 0, &mut out),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(entries: &[(String, Node)], indent: usize, out: &mut String) {
    for (key, value) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&string_text(key));
        out.push(':');
        write_value(value, indent, out);
    }
}

fn write_seq(items: &[Node], indent: usize, out: &mut String) {
    for item in items {
        let start = out.len();
        match item {
            Node::Map(entries) if !entries.is_empty() => write_map(entries, indent + 2, out),
            Node::Seq(inner) if !inner.is_empty() => write_seq(inner, indent + 2, out),
            scalar => {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
        // The item's first line starts where its dash goes.
        out.replace_range(
            start..start + indent + 2,
            &format!("{}- ", " ".repeat(indent)),
        );
    }
}

/// After `key:`: a scalar on the same line, a collection below it.
fn write_value(value: &Node, indent: usize, out: &mut String) {
    match value {
        Node::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            write_map(entries, indent + 2, out);
        }
        Node::Seq(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(items, indent + 2, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_text(node: &Node) -> String {
    match node {
        Node::Null => "null".to_owned(),
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(x) if x.is_nan() => ".nan".to_owned(),
        Node::Float(x) if x.is_infinite() => if *x > 0.0 { ".inf" } else { "-.inf" }.to_owned(),
        Node::Float(x) => python_float(*x),
        Node::Str(s) => string_text(s),
        Node::Seq(_) => "[]".to_owned(),
        Node::Map(_) => "{}".to_owned(),
    }
}

/// A string plain when it reads back as the same string, double-quoted otherwise.
fn string_text(text: &str) -> String {
    let first_ok = text
        .chars()
        .next()
        .is_some_and(|c| !"-?:,[]{}#&*!|>'\"%@`".contains(c) && !c.is_whitespace());
    let safe = first_ok
        && !text.ends_with(char::is_whitespace)
        && !text.ends_with(':')
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.chars().any(char::is_control)
        && Node::plain(text) == Node::Str(text.to_owned());
    if safe {
        text.to_owned()
    } else {
        // A JSON string is a valid YAML double-quoted scalar once the characters YAML does
        // not allow as they are (DEL, the C1 controls) are escaped too.
        let json = serde_json::Value::String(text.to_owned()).to_string();
        json.chars()
            .map(|c| match c {
                '\u{7f}'..='\u{9f}' => format!("\\u{:04x}", u32::from(c)),
                c => c.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(yaml: &str) -> Value {
        let mut sources = Sources::default();
        let file = sources.add("<test>", yaml.to_owned());
        load_documents(file, yaml.as_bytes(), Limits::default())
            .expect("our YAML parses")
            .remove(0)
    }

    #[test]
    fn scalars_read_back_as_written() {
        let strings = [
            "true",
            "no",
            "5",
            "1.5",
            "null",
            "~",
            "",
            " padded",
            "a: b",
            "x #y",
            "-dash",
            "${workspace.file_path}/generated/${bundle.target}/x/**",
            "multi\nline",
            "quote\"d",
            "0x1F",
            "1:30",
            "plain text",
            "*star",
            "ünïcode",
        ];
        let node = Node::Map(
            strings
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("k{i}"), Node::str(*s)))
                .chain([
                    ("b".to_owned(), Node::Bool(true)),
                    ("i".to_owned(), Node::Int(-3)),
                    ("f".to_owned(), Node::Float(2.5)),
                    ("n".to_owned(), Node::Null),
                ])
                .collect(),
        );
        let back = read_back(&to_yaml(&node));
        assert_eq!(Node::from_value(&back), node, "{}", to_yaml(&node));
    }

    #[test]
    fn nested_collections_read_back() {
        let node = Node::Map(vec![(
            "resources".into(),
            Node::Map(vec![
                (
                    "list".into(),
                    Node::Seq(vec![
                        Node::Map(vec![
                            ("level".into(), Node::str("CAN_VIEW")),
                            ("user_name".into(), Node::str("a@b.c")),
                        ]),
                        Node::Seq(vec![Node::Int(1), Node::Int(2)]),
                        Node::str("scalar"),
                        Node::Map(vec![]),
                    ]),
                ),
                ("empty_list".into(), Node::Seq(vec![])),
                ("key with: colon".into(), Node::str("v")),
            ]),
        )]);
        let text = to_yaml(&node);
        assert_eq!(Node::from_value(&read_back(&text)), node, "{text}");
        assert!(
            text.contains("    - level: CAN_VIEW\n      user_name: a@b.c\n"),
            "{text}"
        );
    }

    #[test]
    fn plain_types_text_as_yaml_would() {
        assert_eq!(Node::plain("true"), Node::Bool(true));
        assert_eq!(Node::plain("True"), Node::Bool(true));
        assert_eq!(Node::plain("5"), Node::Int(5));
        assert_eq!(Node::plain("main"), Node::str("main"));
        assert_eq!(Node::plain("a: b"), Node::str("a: b"));
        assert_eq!(Node::plain(""), Node::str(""));
    }
}
