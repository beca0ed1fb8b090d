//! `lhp dag`: the dependency graph of pipelines, flowgroups and tables, as text, Graphviz
//! DOT, Mermaid or JSON; cycles named.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use lhp_orchestrator::graph::{build, Graph};
use lhp_orchestrator::Severity;
use lhp_plugin::Plugin;
use serde_json::json;

use crate::cli::{print_plugin_diagnostics, project_root};
use crate::output::{emit, Output};

/// `lhp dag`.
#[derive(Debug, Args)]
pub(crate) struct DagArgs {
    /// The environment: selects `substitutions/<ENV>.yaml` (table names depend on it).
    #[arg(short, long, default_value = "dev")]
    env: String,
    /// How the graph is written: `text` for people, `dot` for Graphviz, `mermaid` for
    /// Markdown, `json` for scripts.
    #[arg(short, long, value_enum, default_value = "text")]
    format: Format,
    /// Write the graph to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// With the data tests (`type: test` actions) and the tables they read.
    #[arg(long)]
    include_tests: bool,
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

/// The formats `lhp dag` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Dot,
    Mermaid,
    Json,
}

/// Runs `lhp dag`.
pub(crate) fn run(natives: &[Arc<dyn Plugin>], args: &DagArgs, output: &Output) -> ExitCode {
    let Some(root) = project_root(args.project.as_ref()) else {
        return ExitCode::FAILURE;
    };
    let mut host = crate::cli::plugins(&root, natives);
    let project = crate::cli::load(&root, &args.env, args.include_tests, None, &mut host);
    host.shutdown();
    print_plugin_diagnostics(&host, output);
    let errors: Vec<_> = project
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !errors.is_empty() {
        for diagnostic in &errors {
            output.diagnostic(diagnostic, &project.sources);
        }
        // dag reads no pipeline config: in a bundle, validate shows the same without one.
        let checks = crate::around::BundleOptions {
            env: &args.env,
            pipeline_config: None,
            no_bundle: lhp_orchestrator::bundle::is_bundle(&root),
        };
        output.error(
            "LHP-GEN-000",
            &format!(
                "no graph: the project has {} error(s); `{}` shows the same",
                errors.len(),
                checks.validate_command()
            ),
        );
        return ExitCode::FAILURE;
    }
    let graph = build(&root, &project);
    let text = match args.format {
        Format::Text => text(&graph),
        Format::Dot => dot(&graph),
        Format::Mermaid => mermaid(&graph),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&to_json(&graph)).unwrap_or_default()
        ),
    };
    match &args.output {
        Some(path) => {
            if let Err(error) = lhp_plugin::fs::write_atomically(path, text.as_bytes()) {
                output.error(
                    "LHP-IO-002",
                    &format!("cannot write {}: {error}", path.display()),
                );
                return ExitCode::FAILURE;
            }
            output.info(&format!("wrote {}", path.display()));
        }
        None => emit(&text),
    }
    for cycle in &graph.pipeline_cycles {
        output.warning(
            "LHP-DEP-002",
            &format!(
                "pipelines read each other's tables in a circle: {}; no order runs them one after another",
                cycle.join(" -> ")
            ),
        );
    }
    for cycle in &graph.table_cycles {
        output.error(
            "LHP-DEP-001",
            &format!(
                "tables are computed from each other in a circle: {}",
                cycle.join(" -> ")
            ),
        );
    }
    if graph.table_cycles.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The graph for people: pipelines in run order, each flowgroup's reads and writes, the
/// tables from outside, the cycles.
fn text(graph: &Graph) -> String {
    let mut out = String::from("pipelines, each after those it reads from:\n");
    for (i, pipeline) in graph.pipeline_order.iter().enumerate() {
        let sources: Vec<String> = graph
            .pipeline_edges
            .iter()
            .filter(|e| e.to == *pipeline)
            .map(|e| format!("{} ({} table(s))", e.from, e.tables.len()))
            .collect();
        out.push_str(&format!("  {}. {pipeline}", i + 1));
        if !sources.is_empty() {
            out.push_str(&format!("  <- {}", sources.join(", ")));
        }
        out.push('\n');
    }
    for pipeline in &graph.pipeline_order {
        out.push_str(&format!("\n{pipeline}\n"));
        for node in graph.flowgroups.iter().filter(|f| f.pipeline == *pipeline) {
            out.push_str(&format!("  {}\n", node.name));
            for table in &node.reads {
                let writers: Vec<&String> = graph
                    .tables
                    .get(table)
                    .map(|t| t.written_by.iter().collect())
                    .unwrap_or_default();
                if writers.is_empty() {
                    out.push_str(&format!("    reads  {table}  (outside the project)\n"));
                } else {
                    let writers: Vec<&str> = writers.iter().map(|w| w.as_str()).collect();
                    out.push_str(&format!("    reads  {table}  <- {}\n", writers.join(", ")));
                }
            }
            for table in node.writes() {
                out.push_str(&format!("    writes {table}\n"));
            }
        }
    }
    let cycles: Vec<String> = graph
        .table_cycles
        .iter()
        .map(|c| format!("  tables: {}\n", c.join(" -> ")))
        .chain(
            graph
                .flowgroup_cycles
                .iter()
                .map(|c| format!("  flowgroups: {}\n", c.join(" -> "))),
        )
        .chain(
            graph
                .pipeline_cycles
                .iter()
                .map(|c| format!("  pipelines: {}\n", c.join(" -> "))),
        )
        .collect();
    if cycles.is_empty() {
        out.push_str("\ncycles: none\n");
    } else {
        out.push_str("\ncycles:\n");
        out.push_str(&cycles.concat());
    }
    out
}

/// A DOT string literal.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz: a cluster per pipeline holding its flowgroups (boxes); tables as cylinders,
/// dashed when they come from outside the project; edges writer -> table -> reader.
fn dot(graph: &Graph) -> String {
    let mut out = String::from("digraph lhp {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    for (i, pipeline) in graph.pipeline_order.iter().enumerate() {
        out.push_str(&format!(
            "  subgraph cluster_{i} {{\n    label={};\n",
            quoted(pipeline)
        ));
        for node in graph.flowgroups.iter().filter(|f| f.pipeline == *pipeline) {
            out.push_str(&format!(
                "    {} [label={}, shape=box];\n",
                quoted(&format!("flowgroup:{}", node.id())),
                quoted(&node.name)
            ));
        }
        out.push_str("  }\n");
    }
    for (name, table) in &graph.tables {
        let style = if table.external() {
            ", style=dashed"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {} [label={}, shape=cylinder{style}];\n",
            quoted(&format!("table:{name}")),
            quoted(name)
        ));
    }
    for node in &graph.flowgroups {
        let id = quoted(&format!("flowgroup:{}", node.id()));
        for table in node.writes() {
            out.push_str(&format!(
                "  {id} -> {};\n",
                quoted(&format!("table:{table}"))
            ));
        }
        for table in &node.reads {
            out.push_str(&format!(
                "  {} -> {id};\n",
                quoted(&format!("table:{table}"))
            ));
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid label.
fn label(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "#quot;"))
}

/// Mermaid: a subgraph per pipeline holding its flowgroups; tables as cylinders.
fn mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    let flowgroup_id = |id: &str| {
        graph
            .flowgroups
            .iter()
            .position(|f| f.id() == id)
            .map_or_else(String::new, |i| format!("f{i}"))
    };
    let table_id = |name: &str| {
        graph
            .tables
            .keys()
            .position(|t| t == name)
            .map_or_else(String::new, |i| format!("t{i}"))
    };
    for (i, pipeline) in graph.pipeline_order.iter().enumerate() {
        out.push_str(&format!("  subgraph p{i}[{}]\n", label(pipeline)));
        for node in graph.flowgroups.iter().filter(|f| f.pipeline == *pipeline) {
            out.push_str(&format!(
                "    {}[{}]\n",
                flowgroup_id(&node.id()),
                label(&node.name)
            ));
        }
        out.push_str("  end\n");
    }
    for name in graph.tables.keys() {
        out.push_str(&format!("  {}[({})]\n", table_id(name), label(name)));
    }
    for node in &graph.flowgroups {
        let id = flowgroup_id(&node.id());
        for table in node.writes() {
            out.push_str(&format!("  {id} --> {}\n", table_id(table)));
        }
        for table in &node.reads {
            out.push_str(&format!("  {} --> {id}\n", table_id(table)));
        }
    }
    let external: Vec<String> = graph
        .tables
        .iter()
        .filter(|(_, t)| t.external())
        .map(|(name, _)| table_id(name))
        .collect();
    if !external.is_empty() {
        out.push_str("  classDef external stroke-dasharray: 5 5\n");
        out.push_str(&format!("  class {} external\n", external.join(",")));
    }
    out
}

/// The whole graph as one JSON document.
fn to_json(graph: &Graph) -> serde_json::Value {
    let edges = |edges: &[lhp_orchestrator::graph::Edge]| -> Vec<serde_json::Value> {
        edges
            .iter()
            .map(|e| json!({"from": e.from, "to": e.to, "tables": e.tables}))
            .collect()
    };
    json!({
        "pipelines": graph.pipeline_order.iter().map(|p| json!({
            "name": p,
            "flowgroups": graph.pipelines.get(p).cloned().unwrap_or_default(),
            "depends_on": graph.pipeline_edges.iter().filter(|e| e.to == *p).map(|e| e.from.clone()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "flowgroups": graph.flowgroups.iter().map(|f| json!({
            "id": f.id(),
            "pipeline": f.pipeline,
            "name": f.name,
            "reads": f.reads,
            "writes": f.writes().collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "tables": graph.tables.iter().map(|(name, t)| json!({
            "name": name,
            "written_by": t.written_by,
            "read_by": t.read_by,
            "external": t.external(),
        })).collect::<Vec<_>>(),
        "edges": {
            "flowgroups": edges(&graph.flowgroup_edges),
            "pipelines": edges(&graph.pipeline_edges),
        },
        "cycles": {
            "tables": graph.table_cycles,
            "flowgroups": graph.flowgroup_cycles,
            "pipelines": graph.pipeline_cycles,
        },
    })
}
