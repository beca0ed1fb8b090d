//! Blueprints and their instances, expanded as the reference expands them.

mod common;

use common::TempDir;
use lhp_orchestrator::blueprint::{expand, load_blueprints, parse_instance};
use lhp_orchestrator::Diagnostic;
use lhp_plugin::{load_documents, Limits, Sources, Value};

const BLUEPRINT: &str = "name: site_ingest\nparameters:\n  - name: site\n    required: true\n  - name: tier\n    default: bronze\n  - name: tables\n    default: [orders, stock]\nflowgroups:\n  - pipeline: \"%{tier}_sites\"\n    flowgroup: \"site_%{site}\"\n    variables:\n      tier: raw\n      target: \"%{site}_orders\"\n    actions:\n      - {name: \"load_%{site}\", type: load, source: {table: \"%{tables}\"}}\n";

fn instance(
    sources: &mut Sources,
    text: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<lhp_orchestrator::blueprint::Instance> {
    let file = sources.add("pipelines/sites.yaml", text);
    let documents = load_documents(file, text.as_bytes(), Limits::default()).unwrap();
    parse_instance(file, documents, problems)
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.as_map().unwrap().get(key).unwrap().as_str().unwrap()
}

#[test]
fn every_instance_stamps_every_spec_with_its_parameters() {
    let dir = TempDir::new("expand", &[("blueprints/site.yaml", BLUEPRINT)]);
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    let blueprints = load_blueprints(
        &dir.0,
        &["blueprints/**/*.yaml".to_owned()],
        &mut sources,
        &mut problems,
    );
    assert!(problems.is_empty(), "{problems:?}");
    let oslo = instance(
        &mut sources,
        "use_blueprint: site_ingest\nparameters:\n  site: oslo\n",
        &mut problems,
    )
    .unwrap();
    let lima = instance(
        &mut sources,
        "use_blueprint: site_ingest\nparameters:\n  site: lima\n  tier: silver\n",
        &mut problems,
    )
    .unwrap();
    let flowgroups = expand(&blueprints, &[oslo, lima], &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let names: Vec<_> = flowgroups
        .iter()
        .map(|f| (f.pipeline().unwrap(), f.name().unwrap()))
        .collect();
    // The spec's own `tier` variable wins over the parameter, as in the reference.
    assert_eq!(
        names,
        [("raw_sites", "site_oslo"), ("raw_sites", "site_lima")]
    );
    let variables = flowgroups[0]
        .value
        .as_map()
        .unwrap()
        .get("variables")
        .unwrap();
    assert_eq!(text(variables, "site"), "oslo");
    // A list parameter becomes its Python text, as str() makes it.
    assert_eq!(text(variables, "tables"), "['orders', 'stock']");
    // The rest of %{} waits for the normal path.
    let action = &flowgroups[0]
        .value
        .as_map()
        .unwrap()
        .get("actions")
        .unwrap()
        .as_seq()
        .unwrap()[0];
    assert_eq!(text(action, "name"), "load_%{site}");
}

#[test]
fn instance_mistakes_are_reported_where_they_are() {
    let dir = TempDir::new("bad", &[("blueprints/site.yaml", BLUEPRINT)]);
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    let blueprints = load_blueprints(
        &dir.0,
        &["blueprints/**/*.yaml".to_owned()],
        &mut sources,
        &mut problems,
    );
    let unknown = instance(
        &mut sources,
        "use_blueprint: site_ingset\nparameters: {site: x}\n",
        &mut problems,
    )
    .unwrap();
    let undeclared = instance(
        &mut sources,
        "use_blueprint: site_ingest\nparameters:\n  site: x\n  tire: gold\n",
        &mut problems,
    )
    .unwrap();
    let missing = instance(
        &mut sources,
        "use_blueprint: site_ingest\nparameters: {tier: gold}\n",
        &mut problems,
    )
    .unwrap();
    let twice = instance(
        &mut sources,
        "use_blueprint: site_ingest\nparameters: {site: x}\n",
        &mut problems,
    )
    .unwrap();
    expand(
        &blueprints,
        &[unknown, undeclared, missing, twice],
        &mut problems,
    );
    let found: Vec<_> = problems
        .iter()
        .map(|p| (p.code, p.span.unwrap().line, p.hint.clone()))
        .collect();
    assert_eq!(
        found[0],
        (
            "LHP-VAL-041",
            1,
            Some("did you mean `site_ingest`?".to_owned())
        )
    );
    assert_eq!(
        found[1],
        ("LHP-VAL-043", 4, Some("did you mean `tier`?".to_owned()))
    );
    assert_eq!(found[2].0, "LHP-VAL-042");
    // The fourth makes the same flowgroup as... none before it was valid, so it stands alone.
    assert_eq!(found.len(), 3, "{problems:?}");

    problems.clear();
    assert!(instance(
        &mut sources,
        "use_blueprint: a\nblueprint: b\n",
        &mut problems
    )
    .is_none());
    assert!(instance(
        &mut sources,
        "use_blueprint: a\nparams: {}\n",
        &mut problems
    )
    .is_some());
    let legacy = instance(
        &mut sources,
        "blueprint: site_ingest\nsite: z\n",
        &mut problems,
    )
    .unwrap();
    let codes: Vec<_> = problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["LHP-VAL-061", "LHP-VAL-061", "LHP-DEPR-005"]);
    assert_eq!(
        problems[1].hint.as_deref(),
        Some("did you mean `parameters`?")
    );
    assert_eq!(legacy.parameters.get("site").unwrap().as_str(), Some("z"));
}

#[test]
fn the_same_flowgroup_from_two_instances_is_refused() {
    let dir = TempDir::new("dup", &[("blueprints/site.yaml", BLUEPRINT)]);
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    let blueprints = load_blueprints(
        &dir.0,
        &["blueprints/**/*.yaml".to_owned()],
        &mut sources,
        &mut problems,
    );
    let a = instance(
        &mut sources,
        "use_blueprint: site_ingest\nparameters: {site: x}\n",
        &mut problems,
    )
    .unwrap();
    let b = instance(
        &mut sources,
        "use_blueprint: site_ingest\nparameters: {site: x, tier: gold}\n",
        &mut problems,
    )
    .unwrap();
    let flowgroups = expand(&blueprints, &[a, b], &mut problems);
    assert_eq!(flowgroups.len(), 1);
    assert_eq!(problems[0].code, "LHP-VAL-045");
}

#[test]
fn malformed_blueprint_files_are_refused() {
    let dir = TempDir::new("files", &[
        ("blueprints/empty.yaml", ""),
        ("blueprints/two.yaml", "name: a\n---\nname: b\n"),
        ("blueprints/shape.yaml", "name: c\nactions: []\n"),
        ("blueprints/dollar.yaml", "name: d\nparameters: []\nflowgroups:\n  - pipeline: \"${env}_p\"\n    flowgroup: f\n"),
    ]);
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    load_blueprints(
        &dir.0,
        &["blueprints/**/*.yaml".to_owned()],
        &mut sources,
        &mut problems,
    );
    let mut codes: Vec<_> = problems.iter().map(|p| p.code).collect();
    codes.sort();
    assert_eq!(
        codes,
        ["LHP-CFG-047", "LHP-CFG-048", "LHP-CFG-049", "LHP-VAL-044"]
    );
}
