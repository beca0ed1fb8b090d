//! The action model: typed common fields with positions, and what each action reads.

use lhp_plugin::{load_documents, Action, ActionKind, Flowgroup, Limits, Sources, Value};

fn parse(text: &str) -> Value {
    let file = Sources::new().add("fg.yaml", text);
    load_documents(file, text.as_bytes(), Limits::default())
        .unwrap()
        .remove(0)
}

fn action(text: &str) -> Action {
    Action::from_value(&parse(text)).unwrap()
}

#[test]
fn common_fields_are_typed_with_their_positions() {
    let a = action(
        "name: load_orders\ntype: load\nsource: {type: delta, table: t}\ntarget: v_orders\n",
    );
    assert_eq!(a.kind, ActionKind::Load);
    assert_eq!(a.name.value, "load_orders");
    assert_eq!((a.name.span.line, a.name.span.column), (1, 7));
    assert_eq!(a.subtype_str(), Some("delta"));
    assert_eq!(
        a.target.as_ref().map(|t| t.value.as_str()),
        Some("v_orders")
    );
    assert_eq!(a.target.as_ref().unwrap().span.line, 4);
    let subtypes = [
        (
            "name: t\ntype: transform\ntransform_type: sql\n",
            ActionKind::Transform,
            "sql",
        ),
        (
            "name: w\ntype: write\nwrite_target: {type: streaming_table}\n",
            ActionKind::Write,
            "streaming_table",
        ),
        (
            "name: c\ntype: test\ntest_type: uniqueness\n",
            ActionKind::Test,
            "uniqueness",
        ),
    ];
    for (text, kind, subtype) in subtypes {
        let a = action(text);
        assert_eq!((a.kind, a.subtype_str()), (kind, Some(subtype)), "{text}");
    }
    assert_eq!(ActionKind::parse("write"), Some(ActionKind::Write));
    assert_eq!(ActionKind::parse("lod"), None);
    assert_eq!(ActionKind::Load.subtype_field(), "source.type");
}

#[test]
fn what_an_action_reads_follows_the_reference() {
    let reads = |text: &str| action(text).reads();
    assert_eq!(reads("name: a\ntype: transform\nsource: v_in\n"), ["v_in"]);
    assert_eq!(
        reads("name: a\ntype: write\nsource: [v1, v2, {x: 1}]\n"),
        ["v1", "v2"]
    );
    assert_eq!(reads("name: a\ntype: load\nsource: {view: v}\n"), ["v"]);
    assert_eq!(
        reads("name: a\ntype: load\nsource: {sources: [a, b]}\n"),
        ["a", "b"]
    );
    assert_eq!(
        reads("name: a\ntype: load\nsource: {type: delta, catalog: c, schema: s, table: t}\n"),
        ["c.s.t"]
    );
    assert_eq!(
        reads("name: a\ntype: load\nsource: {type: delta, table: t}\n"),
        ["t"]
    );
    assert_eq!(
        reads("name: a\ntype: write\nsource: ignored\nwrite_target: {type: streaming_table, mode: cdc, cdc_config: {source: v_changes}}\n"),
        ["v_changes"]
    );
    assert!(reads("name: a\ntype: load\nsource: {type: cloudfiles, path: /x}\n").is_empty());
    assert!(reads("name: a\ntype: load\n").is_empty());
}

#[test]
fn malformed_actions_and_flowgroups_are_refused_where_they_are() {
    let error = Action::from_value(&parse("type: load\n")).unwrap_err();
    assert!(error.message.contains("`name`"), "{}", error.message);
    let error = Action::from_value(&parse("name: a\ntype: lod\n")).unwrap_err();
    assert_eq!((error.span.line, error.span.column), (2, 7));
    let error = Flowgroup::from_value(&parse("flowgroup: f\nactions: []\n")).unwrap_err();
    assert!(error.message.contains("`pipeline`"), "{}", error.message);
    let error = Flowgroup::from_value(&parse(
        "pipeline: p\nflowgroup: f\nactions:\n  - name: a\n    type: load\n  - 7\n",
    ))
    .unwrap_err();
    assert_eq!(error.span.line, 6);
}

#[test]
fn a_flowgroup_lists_its_actions_by_kind() {
    let flowgroup = Flowgroup::from_value(&parse(
        "pipeline: bronze\nflowgroup: orders\nactions:\n  - {name: l, type: load, source: {type: delta, table: t}, target: v}\n  - {name: t, type: transform, transform_type: sql, source: v, target: v2, sql: x}\n  - {name: w, type: write, source: v2, write_target: {type: streaming_table, table: o}}\n",
    ))
    .unwrap();
    assert_eq!(flowgroup.pipeline.value, "bronze");
    assert_eq!(flowgroup.name.value, "orders");
    assert_eq!(flowgroup.actions.len(), 3);
    assert_eq!(flowgroup.actions_of(ActionKind::Write).count(), 1);
    assert_eq!(
        flowgroup.actions[2]
            .write_target()
            .unwrap()
            .get("table")
            .unwrap()
            .as_str(),
        Some("o")
    );
}
