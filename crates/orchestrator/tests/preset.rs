//! Presets: inheritance, order, merging, and application to actions.

mod common;

use common::{yaml, TempDir};
use lhp_orchestrator::preset::{apply_presets, deep_merge, load_presets};
use lhp_plugin::{Sources, Span, Value, ValueKind};

fn at(value: &Value, path: &[&str]) -> Value {
    let mut current = value.clone();
    for key in path {
        current = match key.parse::<usize>() {
            Ok(i) => current.as_seq().unwrap()[i].clone(),
            Err(_) => current
                .as_map()
                .unwrap()
                .get(key)
                .unwrap_or_else(|| panic!("no {key}"))
                .clone(),
        };
    }
    current
}

const BASE: &str = "name: base\ndefaults:\n  write_actions:\n    streaming_table:\n      table_properties: {quality: base, cdf: \"true\"}\n      partition_columns: [p1]\n  operational_metadata: [_ingested_at]\n";
const SILVER: &str = "name: silver\nextends: base\ndefaults:\n  write_actions:\n    streaming_table:\n      table_properties: {quality: silver}\n  operational_metadata: [_source_file]\n";
const LATE: &str = "name: late\ndefaults:\n  write_actions:\n    streaming_table:\n      partition_columns: [p2]\n  load_actions:\n    cloudfiles: {options: {cloudFiles.format: json, header: \"true\"}}\n  transform_actions:\n    sql: {description: from preset}\n";

#[test]
fn inheritance_and_order_merge_deeply_with_later_winning() {
    let dir = TempDir::new(
        "chain",
        &[
            ("presets/base.yaml", BASE),
            ("presets/silver.yaml", SILVER),
            ("presets/late.yaml", LATE),
            ("presets/ignored.yml", "name: yml\n"),
        ],
    );
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    let presets = load_presets(&dir.0, &mut sources, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(
        presets.get("yml").is_none(),
        ".yml presets are not read, as in the reference"
    );
    let span = yaml(&mut sources, "a: 1\n").span;
    let names = vec![("silver".to_owned(), span), ("late".to_owned(), span)];
    let merged = presets.resolve(&names, &mut problems).unwrap();
    let st = at(&merged, &["write_actions", "streaming_table"]);
    assert_eq!(
        at(&st, &["table_properties", "quality"]).as_str(),
        Some("silver")
    );
    assert_eq!(at(&st, &["table_properties", "cdf"]).as_str(), Some("true"));
    // Lists are replaced...
    let partitions: Vec<_> = at(&st, &["partition_columns"])
        .as_seq()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(partitions, ["p2"]);
    // ...except operational_metadata, which is joined.
    let metadata: Vec<_> = at(&merged, &["operational_metadata"])
        .as_seq()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(metadata, ["_ingested_at", "_source_file"]);
}

#[test]
fn unknown_and_circular_presets_are_errors_where_they_are_named() {
    let dir = TempDir::new(
        "bad",
        &[
            ("presets/a.yaml", "name: a\nextends: b\n"),
            ("presets/b.yaml", "name: b\nextends: a\n"),
            ("presets/base.yaml", BASE),
        ],
    );
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    let presets = load_presets(&dir.0, &mut sources, &mut problems);
    let span = yaml(&mut sources, "a: 1\n").span;
    assert!(presets
        .resolve(&[("a".to_owned(), span)], &mut problems)
        .is_none());
    assert_eq!(problems[0].code, "LHP-DEP-022");
    assert!(
        problems[0].message.contains("a -> b -> a"),
        "{}",
        problems[0].message
    );
    problems.clear();
    assert!(presets
        .resolve(&[("bsae".to_owned(), span)], &mut problems)
        .is_none());
    assert_eq!(problems[0].code, "LHP-ACT-001");
    assert_eq!(problems[0].hint.as_deref(), Some("did you mean `base`?"));
}

#[test]
fn explicit_values_win_and_where_the_reference_differs_we_say_so() {
    let dir = TempDir::new("apply", &[("presets/late.yaml", LATE)]);
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    let presets = load_presets(&dir.0, &mut sources, &mut problems);
    let span = Span::new(yaml(&mut sources, "a: 1\n").span.file, 1, 1);
    let defaults = presets
        .resolve(&[("late".to_owned(), span)], &mut problems)
        .unwrap();
    let mut flowgroup = yaml(
        &mut sources,
        "pipeline: p\nflowgroup: f\nactions:\n  - name: raw\n    type: load\n    source:\n      type: cloudfiles\n      options: {header: \"false\"}\n  - name: clean\n    type: transform\n    transform_type: sql\n  - name: out\n    type: write\n    write_target: {type: streaming_table}\n",
    );
    apply_presets(&mut flowgroup, &defaults, &mut problems);
    let options = at(&flowgroup, &["actions", "0", "source", "options"]);
    assert_eq!(
        at(&options, &["header"]).as_str(),
        Some("false"),
        "explicit wins"
    );
    assert_eq!(
        at(&options, &["cloudFiles.format"]).as_str(),
        Some("json"),
        "preset fills the rest"
    );
    assert_eq!(
        at(&flowgroup, &["actions", "1", "description"]).as_str(),
        Some("from preset")
    );
    let partitions = at(
        &flowgroup,
        &["actions", "2", "write_target", "partition_columns"],
    );
    assert_eq!(partitions.as_seq().unwrap().len(), 1);
    let codes: Vec<_> = problems
        .iter()
        .map(|p| (p.code, p.span.unwrap().line))
        .collect();
    assert_eq!(
        codes,
        [("LHP-PRESET-001", 8), ("LHP-PRESET-002", 9)],
        "{problems:?}"
    );
    // Both point into the user's flowgroup, not into the preset.
    assert!(problems
        .iter()
        .all(|p| p.span.unwrap().file == flowgroup.span.file));
}

#[test]
fn deep_merge_keeps_base_keys_and_replaces_scalars() {
    let mut sources = Sources::new();
    let base = yaml(&mut sources, "a: 1\nb: {c: 2, d: [1]}\n");
    let over = yaml(&mut sources, "b: {c: 3, d: [2]}\ne: x\n");
    let merged = deep_merge(&base, &over);
    assert_eq!(at(&merged, &["a"]).kind, ValueKind::Int(1));
    assert_eq!(at(&merged, &["b", "c"]).kind, ValueKind::Int(3));
    assert_eq!(at(&merged, &["b", "d"]).as_seq().unwrap().len(), 1);
    assert_eq!(at(&merged, &["e"]).as_str(), Some("x"));
}
