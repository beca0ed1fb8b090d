//! Reading lhp.yaml and flowgroup files: what is accepted, and what is refused and where.

mod common;

use common::TempDir;
use lhp_orchestrator::flowgroup::{parse_flowgroup_file, FileContent};
use lhp_orchestrator::project::{find_root, load_project_config};
use lhp_orchestrator::Diagnostic;
use lhp_plugin::{load_documents, Limits, Sources};

/// A project directory holding `lhp.yaml` and an empty pipeline folder.
fn project(name: &str, lhp_yaml: &str) -> TempDir {
    TempDir::new(
        name,
        &[("lhp.yaml", lhp_yaml), ("pipelines/bronze/.keep", "")],
    )
}

/// A project directory of its own under the temporary directory, removed on drop.
fn config(
    name: &str,
    yaml: &str,
    ignore: bool,
) -> Result<(lhp_orchestrator::project::ProjectConfig, Vec<Diagnostic>), Vec<Diagnostic>> {
    let project = project(name, yaml);
    let mut sources = Sources::new();
    load_project_config(&project.0, &mut sources, |v| {
        (ignore && v == "LHP_IGNORE_VERSION").then(|| "true".to_owned())
    })
}

fn only_error(
    result: Result<(lhp_orchestrator::project::ProjectConfig, Vec<Diagnostic>), Vec<Diagnostic>>,
) -> Diagnostic {
    let mut errors = result.expect_err("expected an error");
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

#[test]
fn the_root_is_found_from_any_subdirectory() {
    let project = project("root", "name: demo\n");
    let deep = project.0.join("pipelines/bronze");
    assert_eq!(find_root(&deep).as_deref(), Some(project.0.as_path()));
}

#[test]
fn a_plain_project_file_reads_with_defaults() {
    let (config, warnings) = config("plain", "name: demo\ninclude:\n  - \"bronze/**/*.yaml\"\nrequired_lhp_version: \">=0.9,<1.0\"\nplugins:\n  enabled: false\n", false).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(config.name, "demo");
    assert_eq!(config.version, "1.0");
    assert_eq!(config.include, ["bronze/**/*.yaml"]);
    let plugins = config
        .document
        .as_ref()
        .unwrap()
        .as_map()
        .unwrap()
        .get("plugins");
    assert!(
        plugins.is_some(),
        "unknown sections are kept for later stages"
    );
    let (config, _) = config_for_empty();
    assert_eq!(config.name, "unnamed_project");
}

fn config_for_empty() -> (lhp_orchestrator::project::ProjectConfig, Vec<Diagnostic>) {
    config("nullish", "---\n", false).unwrap()
}

#[test]
fn version_requirements_are_checked_against_0_9_3() {
    let error = only_error(config(
        "v1",
        "name: x\nrequired_lhp_version: \">=1.0\"\n",
        false,
    ));
    assert_eq!(error.code, "LHP-CFG-007");
    assert_eq!(error.span.unwrap().line, 2);
    assert!(error.message.contains("0.9.3"), "{}", error.message);
    assert!(error.hint.unwrap().contains("LHP_IGNORE_VERSION"));
    let error = only_error(config(
        "v2",
        "name: x\nrequired_lhp_version: \"> = banana\"\n",
        false,
    ));
    assert_eq!(error.code, "LHP-CFG-008");
    let error = only_error(config("v3", "name: x\nrequired_lhp_version: 0.9\n", false));
    assert_eq!(error.code, "LHP-CFG-008");
    assert!(error.hint.unwrap().contains("quote"));
    let (_, warnings) = config("v4", "name: x\nrequired_lhp_version: \">=1.0\"\n", true).unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("LHP_IGNORE_VERSION"));
}

#[test]
fn malformed_project_files_are_refused_with_a_position() {
    let error = only_error(config("m1", "name: [x\n", false));
    assert_eq!(error.code, "LHP-CFG-009");
    let error = only_error(config("m2", "", false));
    assert_eq!(error.code, "LHP-IO-003");
    let error = only_error(config("m3", "a: 1\n---\nb: 2\n", false));
    assert_eq!(error.code, "LHP-IO-003");
    let error = only_error(config("m4", "- name\n", false));
    assert_eq!(error.code, "LHP-CFG-002");
    let errors = config(
        "m5",
        "name: x\ninclude:\n  - 5\n  - \"\"\n  - ok/*.yaml\n",
        false,
    )
    .unwrap_err();
    let codes: Vec<_> = errors
        .iter()
        .map(|e| (e.code, e.span.unwrap().line))
        .collect();
    assert_eq!(codes, [("LHP-CFG-004", 3), ("LHP-CFG-005", 4)]);
    let error = only_error(config("m6", "include: bronze/*.yaml\n", false));
    assert_eq!(error.code, "LHP-CFG-003");
}

fn parse(text: &str) -> (FileContent, Vec<Diagnostic>) {
    let mut sources = Sources::new();
    let file = sources.add("pipelines/f.yaml", text);
    let documents = load_documents(file, text.as_bytes(), Limits::default()).unwrap();
    let mut problems = Vec::new();
    let content = parse_flowgroup_file(file, documents, &mut problems);
    (content, problems)
}

fn flowgroups(text: &str) -> Vec<lhp_orchestrator::flowgroup::RawFlowgroup> {
    match parse(text) {
        (FileContent::Flowgroups(list), problems) => {
            assert!(problems.is_empty(), "{problems:?}");
            list
        }
        (other, _) => panic!("{other:?}"),
    }
}

const ACTIONS: &str = "  actions:\n    - {name: a, type: load}\n";

#[test]
fn one_flowgroup_per_document_and_the_list_form() {
    let list = flowgroups("pipeline: p\nflowgroup: one\nactions: [{name: a, type: load}]\n---\npipeline: p\nflowgroup: two\nactions: [{name: a, type: write}]\n");
    let names: Vec<_> = list.iter().map(|f| f.name().unwrap()).collect();
    assert_eq!(names, ["one", "two"]);

    let list = flowgroups(&format!(
        "pipeline: shared\npresets: [bronze]\nvariables: {{x: y}}\nflowgroups:\n- flowgroup: one\n{ACTIONS}- flowgroup: two\n  pipeline: own\n{ACTIONS}"
    ));
    assert_eq!(list[0].pipeline(), Some("shared"));
    assert_eq!(list[1].pipeline(), Some("own"));
    let first = list[0].value.as_map().unwrap();
    assert!(first.contains_key("presets"));
    // Only five keys pass down, as in the reference: not `variables`.
    assert!(!first.contains_key("variables"));
    assert_eq!(list[0].value.span.line, 5);
}

#[test]
fn structural_problems_are_each_reported_where_they_are() {
    let (_, problems) = parse("pipeline: p\nflowgroup: f\nactions:\n  - name: a\n    type: lod\n  - type: load\n  - name: c\n  - 7\n");
    let found: Vec<_> = problems
        .iter()
        .map(|p| (p.code, p.span.unwrap().line))
        .collect();
    assert_eq!(
        found,
        [
            ("LHP-ACT-001", 5),
            ("LHP-CFG-009", 6),
            ("LHP-CFG-009", 7),
            ("LHP-CFG-009", 8)
        ]
    );
    assert_eq!(problems[0].hint.as_deref(), Some("did you mean `load`?"));

    let (_, problems) = parse("flowgroup: f\nactions: []\n");
    assert!(problems[0].message.contains("`pipeline`"));
    let (_, problems) = parse("");
    assert_eq!(problems[0].code, "LHP-CFG-005");
    let (_, problems) = parse(&format!(
        "pipeline: p\nflowgroup: f\n{}---\npipeline: p\nflowgroup: f\n",
        ACTIONS.trim_start()
    ));
    assert_eq!(problems[0].code, "LHP-VAL-013");
    assert!(problems[0].hint.as_deref().unwrap().contains("line 2"));
    let (_, problems) = parse("pipeline: p\nflowgroup: a\n---\nflowgroups: []\n");
    assert_eq!(problems[0].code, "LHP-VAL-014");
    let (_, problems) = parse("name: bp\nparameters: []\nflowgroups: []\n");
    assert_eq!(problems[0].code, "LHP-CFG-040");
}

#[test]
fn a_blueprint_instance_is_recognised_and_left_to_the_blueprints() {
    assert!(matches!(
        parse("use_blueprint: ingest\ninstances: []\n").0,
        FileContent::BlueprintInstance
    ));
    assert!(matches!(
        parse("blueprint: ingest\n").0,
        FileContent::BlueprintInstance
    ));
}

#[test]
fn project_settings_are_read_into_types() {
    let yaml = "name: demo\noperational_metadata:\n  columns:\n    _ingested_at: \"current_timestamp()\"\n    _file:\n      expression: \"F.col('_metadata.file_path')\"\n      applies_to: [view, streaming_table]\n      additional_imports: [\"from pyspark.sql import functions as F\"]\nevent_log:\n  catalog: ops\n  schema: logs\n  name_suffix: _events\nplugins:\n  enabled: false\n  commands: [lhp-plugin-kafka]\n  config:\n    kafka: {brokers: \"${brokers}\"}\n";
    let (config, _) = config("settings", yaml, false).unwrap();
    let settings = &config.settings;
    assert_eq!(settings.metadata_columns.len(), 2);
    assert_eq!(
        settings.metadata_columns[0].applies_to,
        ["streaming_table", "materialized_view"]
    );
    assert_eq!(
        settings.metadata_columns[1].applies_to,
        ["view", "streaming_table"]
    );
    assert_eq!(settings.metadata_columns[1].additional_imports.len(), 1);
    let event_log = settings.event_log.as_ref().unwrap();
    assert!(event_log.enabled);
    assert_eq!(event_log.name_suffix, "_events");
    assert!(!settings.plugins.enabled);
    assert_eq!(settings.plugins.directories, ["./plugins"]);
    assert_eq!(settings.plugins.commands, ["lhp-plugin-kafka"]);
    assert!(settings.plugins.config.contains_key("kafka"));
}
