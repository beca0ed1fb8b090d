//! Reading YAML: positions, documents, aliases, and hostile input.

use lhp_plugin::{load_documents, FileId, Limits, Sources, Value, ValueKind};
use proptest::prelude::*;

fn file() -> FileId {
    Sources::new().add("test.yaml", "")
}

fn load(text: &str) -> Result<Vec<Value>, lhp_plugin::YamlError> {
    load_documents(file(), text.as_bytes(), Limits::default())
}

fn one(text: &str) -> Value {
    let mut docs = load(text).unwrap();
    assert_eq!(docs.len(), 1, "{text}");
    docs.remove(0)
}

#[test]
fn every_value_knows_its_line_and_column() {
    let doc = one("pipeline: bronze\nactions:\n  - name: load_orders\n    type: load\n    source: {type: delta, table: \"raw.orders\"}\n");
    let map = doc.as_map().unwrap();
    let (key, value) = map.get_entry("pipeline").unwrap();
    assert_eq!((key.span.line, key.span.column), (1, 1));
    assert_eq!((value.span.line, value.span.column), (1, 11));
    let action = &map.get("actions").unwrap().as_seq().unwrap()[0];
    assert_eq!((action.span.line, action.span.column), (3, 5));
    let action = action.as_map().unwrap();
    let source = action.get("source").unwrap().as_map().unwrap();
    let table = source.get("table").unwrap();
    assert_eq!(table.as_str(), Some("raw.orders"));
    // A quoted scalar starts at its opening quote.
    assert_eq!((table.span.line, table.span.column), (5, 34));
}

#[test]
fn several_documents_and_empty_ones() {
    let docs = load("a: 1\n---\nb: 2\n---\n").unwrap();
    assert_eq!(docs.len(), 3);
    assert!(docs[2].is_null());
    assert_eq!(
        docs[1].as_map().unwrap().get("b").unwrap().kind,
        ValueKind::Int(2)
    );
    assert_eq!(docs[1].span.line, 3);
    assert!(load("").unwrap().is_empty());
    assert!(load("# only a comment\n\n").unwrap().is_empty());
}

#[test]
fn quoting_keeps_strings_and_tags_force_types() {
    let doc = one(
        "a: 'yes'\nb: \"12\"\nc: !!str 12\nd: !!int '12'\ne: !!float 1\nf: |\n  true\ng: 012\n",
    );
    let m = doc.as_map().unwrap();
    assert_eq!(m.get("a").unwrap().kind, ValueKind::String("yes".into()));
    assert_eq!(m.get("b").unwrap().kind, ValueKind::String("12".into()));
    assert_eq!(m.get("c").unwrap().kind, ValueKind::String("12".into()));
    assert_eq!(m.get("d").unwrap().kind, ValueKind::Int(12));
    assert_eq!(m.get("e").unwrap().kind, ValueKind::Float(1.0));
    assert_eq!(m.get("f").unwrap().kind, ValueKind::String("true\n".into()));
    assert_eq!(m.get("g").unwrap().kind, ValueKind::Int(10));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let doc = one("base: &base {format: json, options: {a: 1}}\n\
         copy: *base\n\
         merged:\n  <<: *base\n  format: csv\n\
         multi:\n  <<: [{x: first}, {x: second, y: 2}]\n");
    let m = doc.as_map().unwrap();
    assert_eq!(m.get("copy").unwrap(), m.get("base").unwrap());
    let merged = m.get("merged").unwrap().as_map().unwrap();
    assert_eq!(merged.get("format").unwrap().as_str(), Some("csv"));
    assert!(merged.get("options").is_some());
    assert!(!merged.contains_key("<<"));
    let multi = m.get("multi").unwrap().as_map().unwrap();
    assert_eq!(multi.get("x").unwrap().as_str(), Some("first"));
    assert_eq!(multi.get("y").unwrap().kind, ValueKind::Int(2));
}

#[test]
fn duplicate_keys_keep_the_last_and_are_reported() {
    let doc = one("a: 1\nb: 2\na: 3\n");
    let m = doc.as_map().unwrap();
    assert_eq!(m.get("a").unwrap().kind, ValueKind::Int(3));
    let duplicates = m.duplicate_keys();
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0].span.line, 1);
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let error = load("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
    assert!(
        error.message.starts_with("invalid YAML"),
        "{}",
        error.message
    );
    assert!(error.span.line >= 2, "{error:?}");
    let error = load("a: *nowhere\n").unwrap_err();
    assert_eq!(error.span.line, 1);
    assert!(error.message.contains("anchor"), "{}", error.message);
    let error = load("a: !custom x\n").unwrap_err();
    assert!(error.message.contains("!custom"), "{}", error.message);
    let error = load("a: =\n").unwrap_err();
    assert_eq!((error.span.line, error.span.column), (1, 4));
    let error = load("a: {<<: 5}\n").unwrap_err();
    assert!(error.message.contains("merge"), "{}", error.message);
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..=10 {
        let prev = level - 1;
        text.push_str(&format!(
            "a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let started = std::time::Instant::now();
    let error = load(&text).unwrap_err();
    assert!(error.message.contains("values"), "{}", error.message);
    // Refused by counting, long before ten billion values are built.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for text in [
        "[".repeat(100_000),
        "- ".repeat(100_000) + "x",
        "{a: ".repeat(100_000),
    ] {
        let error = load(&text).unwrap_err();
        assert!(
            error.message.contains("nesting") || error.message.starts_with("invalid YAML"),
            "{}",
            error.message
        );
    }
    // Within the limit, deep is fine.
    let doc = one(&("[".repeat(200) + &"]".repeat(200)));
    assert!(doc.as_seq().is_some());
}

#[test]
fn invalid_utf8_is_reported_with_its_position() {
    let error = load_documents(file(), b"a: 1\nb: caf\xe9\n", Limits::default()).unwrap_err();
    assert!(error.message.contains("UTF-8"), "{}", error.message);
    assert_eq!((error.span.line, error.span.column), (2, 7));
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let docs = load_documents(file(), "\u{feff}a: 1\n".as_bytes(), Limits::default()).unwrap();
    assert_eq!(
        docs[0].as_map().unwrap().get("a").unwrap().kind,
        ValueKind::Int(1)
    );
}

#[test]
fn files_over_the_size_limit_are_refused_before_parsing() {
    let limits = Limits {
        max_bytes: 1024,
        ..Limits::default()
    };
    let big = "k: v\n".repeat(1000);
    let error = load_documents(file(), big.as_bytes(), limits).unwrap_err();
    assert!(
        error.message.contains("larger than 1024"),
        "{}",
        error.message
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any bytes at all: a value or an error, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = load_documents(file(), &bytes, Limits::default());
    }

    /// YAML-looking text made of YAML's own punctuation: a value or an error, never a panic.
    #[test]
    fn yaml_punctuation_never_panics(text in "[-:{}\\[\\],&*!|>'\"#%@` \n\ta-z0-9<.?]{0,300}") {
        let _ = load_documents(file(), text.as_bytes(), Limits::default());
    }
}

#[test]
fn anchored_copies_count_towards_the_value_limit() {
    // Each nested anchor keeps a copy of everything inside it: with 40 levels around 100
    // values, that is 40 copies, which must be counted, not kept for free.
    let limits = Limits {
        max_values: 1_000,
        ..Limits::default()
    };
    let inner = vec!["0"; 100].join(", ");
    let mut text = format!("[{inner}]");
    for level in 0..40 {
        text = format!("&a{level} [{text}]");
    }
    let text = format!("x: {text}\n");
    let error = load_documents(file(), text.as_bytes(), limits).unwrap_err();
    assert!(
        error.message.contains("more than 1000 values"),
        "{}",
        error.message
    );
    // Without the anchors the same document is well inside the limit.
    let plain = text
        .split('&')
        .map(|part| part.trim_start_matches(|c: char| c.is_alphanumeric()))
        .collect::<String>();
    assert!(
        load_documents(file(), plain.as_bytes(), limits).is_ok(),
        "{plain}"
    );
}
