//! How a flowgroup's actions depend on each other (an action reads what another's `target`
//! produces), and the checks on that: cycles, a load and a write present, no unused
//! transform, and, across a pipeline, views read that nothing produces.

use std::collections::{BTreeMap, BTreeSet};

use lhp_plugin::{Span, Value};

use crate::diagnostic::Diagnostic;

/// The names an action reads, as the reference extracts them: a string `source`, the
/// strings of a list `source`, a mapping's `view`, `source`, `sources` or
/// `catalog.schema.table`, and for CDC writes their `cdc_config` / `snapshot_cdc_config`
/// `source`.
pub fn action_sources(action: &Value) -> Vec<String> {
    let Some(fields) = action.as_map() else {
        return Vec::new();
    };
    if let Some(target) = fields.get("write_target").and_then(Value::as_map) {
        let config = match target.get("mode").and_then(Value::as_str) {
            Some("cdc") => target.get("cdc_config"),
            Some("snapshot_cdc") => target.get("snapshot_cdc_config"),
            _ => None,
        };
        if let Some(source) = config
            .and_then(Value::as_map)
            .and_then(|c| c.get("source"))
            .and_then(Value::as_str)
        {
            return vec![source.to_owned()];
        }
    }
    let Some(source) = fields.get("source") else {
        return Vec::new();
    };
    let strings = |value: &Value| -> Vec<String> {
        match value.as_str() {
            Some(s) => vec![s.to_owned()],
            None => value
                .as_seq()
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        }
    };
    if source.as_str().is_some() || source.as_seq().is_some() {
        return strings(source);
    }
    let Some(map) = source.as_map() else {
        return Vec::new();
    };
    if let Some(view) = map.get("view") {
        return strings(view);
    }
    if let Some(inner) = map.get("source") {
        return strings(inner);
    }
    if let Some(many) = map.get("sources") {
        return strings(many);
    }
    if let Some(table) = map.get("table").and_then(Value::as_str) {
        let part = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or_default();
        return vec![match (part("catalog"), part("schema")) {
            (c, s) if !c.is_empty() && !s.is_empty() => format!("{c}.{s}.{table}"),
            _ => table.to_owned(),
        }];
    }
    Vec::new()
}

struct ActionInfo<'a> {
    name: &'a str,
    kind: &'a str,
    target: Option<&'a str>,
    span: Span,
    target_span: Span,
    sources: Vec<String>,
    self_contained: bool,
}

fn describe(action: &Value) -> Option<ActionInfo<'_>> {
    let fields = action.as_map()?;
    let target_value = fields.get("target");
    let write_target = fields.get("write_target").and_then(Value::as_map);
    let self_contained = write_target.is_some_and(|w| {
        let kind = w.get("type").and_then(Value::as_str);
        let mode = w.get("mode").and_then(Value::as_str);
        (kind == Some("materialized_view") && (w.contains_key("sql") || w.contains_key("sql_path")))
            || (mode == Some("snapshot_cdc")
                && w.get("snapshot_cdc_config")
                    .and_then(Value::as_map)
                    .is_some_and(|c| c.contains_key("source_function")))
    });
    Some(ActionInfo {
        name: fields.get("name")?.as_str()?,
        kind: fields.get("type")?.as_str()?,
        target: target_value.and_then(Value::as_str),
        span: action.span,
        target_span: target_value.map_or(action.span, |t| t.span),
        sources: action_sources(action),
        self_contained,
    })
}

/// The reference's relationship checks on one flowgroup's actions, as errors.
pub fn check_flowgroup(flowgroup: &Value, problems: &mut Vec<Diagnostic>) {
    let actions = crate::shape::actions_of(flowgroup);
    let infos: Vec<ActionInfo<'_>> = actions.iter().filter_map(describe).collect();
    if infos.is_empty() {
        return;
    }
    let producers: BTreeMap<&str, usize> = infos
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((a.target?, i)))
        .collect();
    // Edges: producer -> reader.
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); infos.len()];
    for (i, action) in infos.iter().enumerate() {
        for source in &action.sources {
            if let Some(&producer) = producers.get(source.as_str()) {
                readers[producer].push(i);
            }
        }
    }
    if let Some(cycle) = find_cycle(&readers) {
        let names: Vec<&str> = cycle.iter().map(|&i| infos[i].name).collect();
        problems.push(
            Diagnostic::error(
                "LHP-VAL-007",
                format!(
                    "the actions depend on each other in a circle: {}",
                    names.join(" -> ")
                ),
            )
            .at(infos[cycle[0]].span),
        );
    }
    let count = |kind: &str| infos.iter().filter(|a| a.kind == kind).count();
    let test_only = count("test") > 0 && count("load") == 0 && count("write") == 0;
    if !test_only {
        if count("load") == 0 && !infos.iter().any(|a| a.self_contained) {
            problems.push(
                Diagnostic::error("LHP-VAL-007", "the flowgroup has no load action")
                    .at(flowgroup.span)
                    .hint("every flowgroup reads its data with a `type: load` action (or a materialized view with its own sql)"),
            );
        }
        if count("write") == 0 {
            problems.push(
                Diagnostic::error("LHP-VAL-007", "the flowgroup has no write action")
                    .at(flowgroup.span)
                    .hint("add a `type: write` action that writes a table"),
            );
        }
    }
    for (i, action) in infos.iter().enumerate() {
        if action.kind == "transform" && readers[i].is_empty() {
            problems.push(
                Diagnostic::error(
                    "LHP-VAL-007",
                    format!(
                        "transform `{}` produces view `{}` but no action in this flowgroup reads it",
                        action.name,
                        action.target.unwrap_or("(none)")
                    ),
                )
                .at(action.target_span),
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
/// this is a warning, not an error.
pub fn check_pipeline(flowgroups: &[&Value], problems: &mut Vec<Diagnostic>) {
    let mut produced: BTreeSet<&str> = BTreeSet::new();
    for flowgroup in flowgroups {
        let actions = crate::shape::actions_of(flowgroup);
        produced.extend(actions.iter().filter_map(describe).filter_map(|a| a.target));
    }
    for flowgroup in flowgroups {
        let actions = crate::shape::actions_of(flowgroup);
        for action in actions {
            let Some(info) = describe(action) else {
                continue;
            };
            let reads_view = info.kind != "load";
            for source in info
                .sources
                .iter()
                .filter(|s| reads_view && !s.contains('.') && !s.contains('/'))
            {
                if !produced.contains(source.as_str()) {
                    let span = action
                        .as_map()
                        .and_then(|m| m.get("source"))
                        .map_or(info.span, |s| s.span);
                    problems.push(
                        Diagnostic::note(
                            "LHP-DEP-101",
                            format!("`{}` reads `{source}`, which no action of this pipeline produces", info.name),
                        )
                        .at(span)
                        .hint("a view must be the `target` of an action in the same pipeline; a table needs its full name"),
                    );
                }
            }
        }
    }
}

/// Across one pipeline: every table written must be created by exactly one write (a
/// materialized view, a `snapshot_cdc` or `replace` write, or a write with `create_table`,
/// which is the default); further writes append with `create_table: false`.
pub fn check_tables(flowgroups: &[&Value], problems: &mut Vec<Diagnostic>) {
    struct Writer {
        action: String,
        creates: bool,
        span: Span,
    }
    let mut tables: BTreeMap<String, Vec<Writer>> = BTreeMap::new();
    for flowgroup in flowgroups {
        let actions = crate::shape::actions_of(flowgroup);
        for action in actions {
            let Some(fields) = action.as_map() else {
                continue;
            };
            if fields.get("type").and_then(Value::as_str) != Some("write") {
                continue;
            }
            let Some(target) = fields.get("write_target").and_then(Value::as_map) else {
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
            let span = target.get("table").map_or(action.span, |t| t.span);
            let action_name = fields
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            tables.entry(name).or_default().push(Writer {
                action: action_name,
                creates,
                span,
            });
        }
    }
    for (table, writers) in &tables {
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
