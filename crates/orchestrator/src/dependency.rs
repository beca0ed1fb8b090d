//! How a flowgroup's actions depend on each other (an action reads what another's `target`
//! produces), and the checks on that: cycles, a load and a write present, no unused
//! transform, and, across a pipeline, views read that nothing produces.

use std::collections::{BTreeMap, BTreeSet};

use lhp_plugin::{Action, ActionKind, Flowgroup, Span, Value};

use crate::diagnostic::Diagnostic;

/// Whether a write makes its own data: a materialized view with its own SQL, or a snapshot
/// CDC write with a source function (such flowgroups need no load action).
fn self_contained(action: &Action) -> bool {
    let Some(target) = action.write_target() else {
        return false;
    };
    let kind = target.get("type").and_then(Value::as_str);
    let mode = target.get("mode").and_then(Value::as_str);
    (kind == Some("materialized_view")
        && (target.contains_key("sql") || target.contains_key("sql_path")))
        || (mode == Some("snapshot_cdc")
            && target
                .get("snapshot_cdc_config")
                .and_then(Value::as_map)
                .is_some_and(|c| c.contains_key("source_function")))
}

/// The reference's relationship checks on one flowgroup's actions, as errors.
pub fn check_flowgroup(flowgroup: &Flowgroup, problems: &mut Vec<Diagnostic>) {
    let actions = &flowgroup.actions;
    if actions.is_empty() {
        return;
    }
    let producers: BTreeMap<&str, usize> = actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((a.target.as_ref()?.value.as_str(), i)))
        .collect();
    // Edges: producer -> reader.
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
    for (i, action) in actions.iter().enumerate() {
        for source in action.reads() {
            if let Some(&producer) = producers.get(source.as_str()) {
                readers[producer].push(i);
            }
        }
    }
    if let Some(cycle) = find_cycle(&readers) {
        let names: Vec<&str> = cycle
            .iter()
            .map(|&i| actions[i].name.value.as_str())
            .collect();
        problems.push(
            Diagnostic::error(
                "LHP-VAL-007",
                format!(
                    "the actions depend on each other in a circle: {}",
                    names.join(" -> ")
                ),
            )
            .at(actions[cycle[0]].span()),
        );
    }
    let count = |kind: ActionKind| flowgroup.actions_of(kind).count();
    let test_only = count(ActionKind::Test) > 0
        && count(ActionKind::Load) == 0
        && count(ActionKind::Write) == 0;
    if !test_only {
        if count(ActionKind::Load) == 0 && !actions.iter().any(self_contained) {
            problems.push(
                Diagnostic::error("LHP-VAL-007", "the flowgroup has no load action")
                    .at(flowgroup.span)
                    .hint("every flowgroup reads its data with a `type: load` action (or a materialized view with its own sql)"),
            );
        }
        if count(ActionKind::Write) == 0 {
            problems.push(
                Diagnostic::error("LHP-VAL-007", "the flowgroup has no write action")
                    .at(flowgroup.span)
                    .hint("add a `type: write` action that writes a table"),
            );
        }
    }
    for (i, action) in actions.iter().enumerate() {
        if action.kind == ActionKind::Transform && readers[i].is_empty() {
            let (view, at) = match &action.target {
                Some(target) => (target.value.as_str(), target.span),
                None => ("(none)", action.span()),
            };
            problems.push(
                Diagnostic::error(
                    "LHP-VAL-007",
                    format!("transform `{}` produces view `{view}` but no action in this flowgroup reads it", action.name.value),
                )
                .at(at),
            );
        }
    }
}

/// A cycle in the graph, as node indices starting and ending with the same node.
fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (node, next edge to follow).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::Open;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            if let Some(&child) = edges[node].get(next) {
                top.1 += 1;
                match marks[child] {
                    Mark::New => {
                        marks[child] = Mark::Open;
                        stack.push((child, 0));
                    }
                    Mark::Open => {
                        let from = stack.iter().position(|&(n, _)| n == child).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(child);
                        return Some(cycle);
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    None
}

/// Across one pipeline's flowgroups: a view (a name without dots) read by an action that no
/// action of the pipeline produces. The reference takes such names for external tables, so
/// this is a note, not an error.
pub fn check_pipeline(flowgroups: &[&Flowgroup], problems: &mut Vec<Diagnostic>) {
    let produced: BTreeSet<&str> = flowgroups
        .iter()
        .flat_map(|f| f.actions.iter())
        .filter_map(|a| a.target.as_ref().map(|t| t.value.as_str()))
        .collect();
    for action in flowgroups.iter().flat_map(|f| f.actions.iter()) {
        if action.kind == ActionKind::Load {
            continue;
        }
        for source in action.reads() {
            if source.contains('.') || source.contains('/') || produced.contains(source.as_str()) {
                continue;
            }
            let at = action.source().map_or(action.span(), |s| s.span);
            problems.push(
                Diagnostic::note(
                    "LHP-DEP-101",
                    format!("`{}` reads `{source}`, which no action of this pipeline produces", action.name.value),
                )
                .at(at)
                .hint("a view must be the `target` of an action in the same pipeline; a table needs its full name"),
            );
        }
    }
}

/// Across one pipeline: every table written must be created by exactly one write (a
/// materialized view, a `snapshot_cdc` or `replace` write, or a write with `create_table`,
/// which is the default); further writes append with `create_table: false`.
pub fn check_tables(flowgroups: &[&Flowgroup], problems: &mut Vec<Diagnostic>) {
    struct Writer<'a> {
        action: String,
        creates: bool,
        span: Span,
        target: &'a lhp_plugin::Map,
    }
    let mut tables: BTreeMap<String, Vec<Writer>> = BTreeMap::new();
    for action in flowgroups
        .iter()
        .flat_map(|f| f.actions_of(ActionKind::Write))
    {
        let Some(target) = action.write_target() else {
            continue;
        };
        let kind = target.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("streaming_table" | "materialized_view")) {
            continue;
        }
        let Some(table) = target.get("table").and_then(Value::as_str) else {
            continue;
        };
        let part = |k: &str| target.get(k).and_then(Value::as_str).unwrap_or_default();
        let name = match (part("catalog"), part("schema")) {
            (c, s) if !c.is_empty() && !s.is_empty() => format!("{c}.{s}.{table}"),
            (_, s) if !s.is_empty() => format!("{s}.{table}"),
            _ => table.to_owned(),
        };
        let mode = target.get("mode").and_then(Value::as_str);
        let creates = kind == Some("materialized_view")
            || matches!(mode, Some("snapshot_cdc" | "replace"))
            || target
                .get("create_table")
                .and_then(Value::as_bool)
                .unwrap_or(true);
        let span = target.get("table").map_or(action.span(), |t| t.span);
        tables.entry(name).or_default().push(Writer {
            action: action.name.value.clone(),
            creates,
            span,
            target,
        });
    }
    for (table, writers) in &tables {
        let cdc = |w: &Writer| w.target.get("mode").and_then(Value::as_str) == Some("cdc");
        let (cdc_writers, others): (Vec<&Writer>, Vec<&Writer>) =
            writers.iter().partition(|w| cdc(w));
        if let Some(first) = cdc_writers.first() {
            if let Some(other) = others.first() {
                problems.push(
                    Diagnostic::error(
                        "LHP-VAL-010",
                        format!(
                            "table `{table}` is written both with CDC (`{}`) and without (`{}`)",
                            first.action, other.action
                        ),
                    )
                    .at(other.span)
                    .hint("use mode: cdc for every write of the table, or write to two tables"),
                );
            } else {
                check_cdc_fan_in(
                    table,
                    &cdc_writers
                        .iter()
                        .map(|w| (w.action.as_str(), w.span, w.target))
                        .collect::<Vec<_>>(),
                    problems,
                );
            }
        }
        let creators: Vec<&Writer> = writers.iter().filter(|w| w.creates).collect();
        match creators.as_slice() {
            [] => problems.push(
                Diagnostic::error(
                    "LHP-VAL-009",
                    format!("table `{table}` is written but no write creates it"),
                )
                .at(writers[0].span)
                .hint(
                    "one of its writes must create it: drop `create_table: false` from one of them",
                ),
            ),
            [_] => {}
            [first, rest @ ..] => {
                for other in rest {
                    problems.push(
                        Diagnostic::error(
                            "LHP-CFG-004",
                            format!("table `{table}` is created by both `{}` and `{}`", first.action, other.action),
                        )
                        .at(other.span)
                        .hint("let one write create it and give the others `create_table: false` (they then append)"),
                    );
                }
            }
        }
    }
}

/// The writes that merge CDC flows into one table must agree on what the table is: its
/// keys, sequencing, SCD type, history columns and table settings (each flow may still
/// choose its deletes, truncates, columns and `once`).
fn check_cdc_fan_in(
    table: &str,
    writers: &[(&str, Span, &lhp_plugin::Map)],
    problems: &mut Vec<Diagnostic>,
) {
    const CDC_FIELDS: [&str; 5] = [
        "keys",
        "sequence_by",
        "scd_type",
        "track_history_column_list",
        "track_history_except_column_list",
    ];
    const TABLE_FIELDS: [&str; 10] = [
        "partition_columns",
        "cluster_columns",
        "cluster_by_auto",
        "table_properties",
        "spark_conf",
        "table_schema",
        "comment",
        "path",
        "row_filter",
        "temporary",
    ];
    let value_of = |target: &lhp_plugin::Map, cdc: bool, field: &str| {
        let container = if cdc {
            target.get("cdc_config").and_then(Value::as_map)
        } else {
            Some(target)
        };
        let value = container
            .and_then(|c| c.get(field))
            .filter(|v| !v.is_null());
        match (value, field) {
            (Some(v), _) => (v.to_json(), Some(v.span)),
            (None, "scd_type") => (serde_json::json!(1), None),
            (None, "temporary") => (serde_json::json!(false), None),
            (None, _) => (serde_json::Value::Null, None),
        }
    };
    let fields = CDC_FIELDS
        .iter()
        .map(|f| (true, *f))
        .chain(TABLE_FIELDS.iter().map(|f| (false, *f)));
    for (cdc, field) in fields {
        let (first_action, _, first_target) = writers[0];
        let (expected, _) = value_of(first_target, cdc, field);
        for &(action, span, target) in &writers[1..] {
            let (found, at) = value_of(target, cdc, field);
            if found != expected {
                let scope = if cdc { "cdc_config." } else { "" };
                problems.push(
                    Diagnostic::error(
                        "LHP-CFG-010",
                        format!(
                            "the CDC writes of table `{table}` disagree on `{scope}{field}`: `{first_action}` has {expected}, `{action}` has {found}"
                        ),
                    )
                    .at(at.unwrap_or(span))
                    .hint("flows into one table share its keys, sequencing, SCD type, history columns and table settings"),
                );
                return;
            }
        }
    }
}
