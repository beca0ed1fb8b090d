//! Incremental generation, end to end: each kind of input is changed in turn, and the run
//! after it must regenerate exactly the flowgroups that depend on it and write exactly the
//! files whose code changed.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

/// The project: five flowgroups, each depending on a different kind of input.
///
/// - `plain`: only its own YAML, with a token of the environment;
/// - `preset`: the preset `layered`;
/// - `templated`: the template `ingest`;
/// - `from_file`: a SQL file with a token (`sql_path`);
/// - `checked`: an expectations file;
/// - `plugged`: the template plugin `stamp` (its version and its template).
const FILES: &[(&str, &str)] = &[
    ("lhp.yaml", "name: incremental\nversion: \"1.0\"\nplugins:\n  directories: [plugins/stamp]\n  discover_path: false\n"),
    ("substitutions/dev.yaml", "dev:\n  catalog: main\n  schema: bronze\n  region: eu\n"),
    ("presets/layered.yaml", "name: layered\nversion: \"1.0\"\ndefaults:\n  write_actions:\n    streaming_table:\n      table_properties: {layer: bronze}\n"),
    ("templates/ingest.yaml", "name: ingest\nversion: \"1.0\"\nparameters:\n  - {name: entity, required: true}\nactions:\n  - {name: \"load_{{ entity }}\", type: load, readMode: stream, source: {type: cloudfiles, path: \"/landing/{{ entity }}\", format: json}, target: \"v_{{ entity }}\"}\n  - {name: \"write_{{ entity }}\", type: write, source: \"v_{{ entity }}\", write_target: {type: streaming_table, catalog: \"${catalog}\", schema: \"${schema}\", table: \"{{ entity }}\"}}\n"),
    ("sql/regional.sql", "SELECT * FROM stream(v_raw) WHERE region = '${region}'\n"),
    ("expectations/basic.json", "[{\"name\": \"id_present\", \"expression\": \"id IS NOT NULL\", \"failureAction\": \"drop\"}]\n"),
    ("pipelines/p/plain.yaml", "pipeline: p\nflowgroup: plain\nactions:\n  - {name: load_a, type: load, readMode: stream, source: {type: delta, catalog: \"${catalog}\", schema: \"${schema}\", table: a_raw}, target: v_a}\n  - {name: write_a, type: write, source: v_a, write_target: {type: streaming_table, catalog: \"${catalog}\", schema: \"${schema}\", table: a}}\n"),
    ("pipelines/p/preset.yaml", "pipeline: p\nflowgroup: preset\npresets: [layered]\nactions:\n  - {name: load_b, type: load, readMode: stream, source: {type: delta, catalog: main, schema: raw, table: b_raw}, target: v_b}\n  - {name: write_b, type: write, source: v_b, write_target: {type: streaming_table, catalog: main, schema: raw, table: b}}\n"),
    ("pipelines/p/templated.yaml", "pipeline: p\nflowgroup: templated\nuse_template: ingest\ntemplate_parameters:\n  entity: orders\n"),
    ("pipelines/q/from_file.yaml", "pipeline: q\nflowgroup: from_file\nactions:\n  - {name: load_r, type: load, readMode: stream, source: {type: delta, catalog: main, schema: raw, table: r}, target: v_raw}\n  - {name: clean_r, type: transform, transform_type: sql, source: v_raw, target: v_clean, sql_path: sql/regional.sql}\n  - {name: write_r, type: write, source: v_clean, write_target: {type: streaming_table, catalog: main, schema: raw, table: regional}}\n"),
    ("pipelines/q/checked.yaml", "pipeline: q\nflowgroup: checked\nactions:\n  - {name: load_c, type: load, readMode: stream, source: {type: delta, catalog: main, schema: raw, table: c}, target: v_c}\n  - {name: check_c, type: transform, transform_type: data_quality, readMode: stream, source: v_c, target: v_ok, expectations_file: expectations/basic.json}\n  - {name: write_c, type: write, source: v_ok, write_target: {type: streaming_table, catalog: main, schema: raw, table: checked}}\n"),
    ("pipelines/q/plugged.yaml", "pipeline: q\nflowgroup: plugged\nactions:\n  - {name: load_s, type: load, source: {type: stamp, table: main.raw.s}, target: v_s}\n  - {name: write_s, type: write, source: v_s, write_target: {type: materialized_view, catalog: main, schema: raw, table: s}}\n"),
    ("plugins/stamp/lhp-plugin.yaml", "name: stamp\nversion: 1.0.0\ndescription: Reads a table in batch\nauthor: tests\nprovides:\n  - kind: load\n    type: stamp\n    template: templates/stamp.py.j2\n    parameters:\n      table: {type: string, required: true}\n"),
    ("plugins/stamp/templates/stamp.py.j2", "@dp.temporary_view()\ndef {{ target }}():\n    return spark.read.table({{ config.table | py }})\n"),
];

const ALL: [&str; 6] = [
    "p/plain.py",
    "p/preset.py",
    "p/templated.py",
    "q/checked.py",
    "q/from_file.py",
    "q/plugged.py",
];

struct Project {
    dir: tempfile::TempDir,
}

/// What a run did: the flowgroups it generated and the files it wrote.
#[derive(Debug)]
struct Run {
    generated: usize,
    up_to_date: usize,
    written: BTreeSet<String>,
    nothing_to_do: bool,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in FILES {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        Self { dir }
    }

    fn path(&self, relative: &str) -> std::path::PathBuf {
        self.dir.path().join(relative)
    }

    fn edit(&self, relative: &str, from: &str, to: &str) {
        let path = self.path(relative);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{relative} has no `{from}`");
        std::fs::write(&path, text.replace(from, to)).expect("write");
    }

    fn lhp(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_lhp"))
            .args(["generate", "--env", "dev", "--no-hooks"])
            .args(extra)
            .current_dir(self.dir.path())
            .env_remove("LHP_IGNORE_VERSION")
            .output()
            .expect("lhp runs")
    }

    fn generate(&self, extra: &[&str]) -> Run {
        let out = self.lhp(extra);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let prefix = format!("wrote {}/", self.path("generated/dev").display());
        let written = stderr
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(str::to_owned)
            .collect();
        if stderr.contains("nothing to do:") {
            return Run {
                generated: 0,
                up_to_date: ALL.len(),
                written,
                nothing_to_do: true,
            };
        }
        let summary = stderr
            .lines()
            .find(|l| l.starts_with("generated "))
            .unwrap_or_else(|| panic!("no summary in {stderr}"));
        let number = |after: &str| -> usize {
            summary
                .split(after)
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Run {
            generated: number("generated "),
            up_to_date: number(" (").min(ALL.len()),
            written,
            nothing_to_do: false,
        }
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// After `change`, the run generates `generated` flowgroups (the others are up to date) and
/// writes exactly `written`.
fn expect(project: &Project, what: &str, generated: usize, written: &[&str]) {
    let run = project.generate(&[]);
    assert!(!run.nothing_to_do, "{what}: the run must not be skipped");
    assert_eq!(
        run.generated, generated,
        "{what}: flowgroups generated: {run:?}"
    );
    assert_eq!(run.up_to_date, ALL.len() - generated, "{what}: {run:?}");
    assert_eq!(run.written, set(written), "{what}: files written");
    let again = project.generate(&[]);
    assert!(
        again.nothing_to_do,
        "{what}: the run after has nothing to do: {again:?}"
    );
}

#[test]
fn each_kind_of_input_regenerates_exactly_what_depends_on_it() {
    let project = Project::new();
    let first = project.generate(&[]);
    assert_eq!(first.generated, ALL.len(), "{first:?}");
    assert_eq!(first.written, set(&ALL));
    let unchanged = project.generate(&[]);
    assert!(unchanged.nothing_to_do, "{unchanged:?}");
    assert!(unchanged.written.is_empty());

    // A flowgroup's own YAML.
    project.edit("pipelines/p/plain.yaml", "table: a}", "table: a_v2}");
    expect(&project, "flowgroup YAML", 1, &["p/plain.py"]);

    // A side file: the SQL of `sql_path`, and an expectations file.
    project.edit("sql/regional.sql", "WHERE", "WHERE id IS NOT NULL AND");
    expect(&project, "SQL file", 1, &["q/from_file.py"]);
    project.edit("expectations/basic.json", "\"drop\"", "\"fail\"");
    expect(&project, "expectations file", 1, &["q/checked.py"]);

    // A preset, and a template.
    project.edit("presets/layered.yaml", "layer: bronze", "layer: raw");
    expect(&project, "preset", 1, &["p/preset.py"]);
    project.edit("templates/ingest.yaml", "format: json", "format: parquet");
    expect(&project, "template", 1, &["p/templated.py"]);

    // A token: the flowgroups whose YAML uses it (its own, or its template's), and the one
    // substituting tokens in its SQL file (regenerated, but its code does not change).
    project.edit(
        "substitutions/dev.yaml",
        "schema: bronze",
        "schema: landing",
    );
    expect(
        &project,
        "substitution",
        3,
        &["p/plain.py", "p/templated.py"],
    );
    project.edit("substitutions/dev.yaml", "region: eu", "region: us");
    expect(&project, "substitution in a file", 1, &["q/from_file.py"]);

    // A plugin's template, then its version: every flowgroup could be written by a plugin.
    project.edit(
        "plugins/stamp/templates/stamp.py.j2",
        "spark.read",
        "spark.read.option(\"x\", \"y\")",
    );
    expect(&project, "plugin template", ALL.len(), &["q/plugged.py"]);
    project.edit(
        "plugins/stamp/lhp-plugin.yaml",
        "version: 1.0.0",
        "version: 1.1.0",
    );
    expect(&project, "plugin version", ALL.len(), &[]);

    // Another lhp wrote the last run: everything is generated again.
    let states: Vec<_> = std::fs::read_dir(project.path(".lhp/generate"))
        .expect("state directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(states.len(), 1, "one state for one environment and output");
    let state = std::fs::read_to_string(&states[0]).expect("state");
    let version = format!("\"lhp_version\":\"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(state.contains(&version), "{state}");
    std::fs::write(
        &states[0],
        state.replace(&version, "\"lhp_version\":\"0.0.1\""),
    )
    .expect("write");
    expect(&project, "lhp version", ALL.len(), &[]);

    // An output changed by hand is written again; one removed too.
    std::fs::write(project.path("generated/dev/p/preset.py"), "# edited\n").expect("write");
    std::fs::remove_file(project.path("generated/dev/q/checked.py")).expect("remove");
    expect(&project, "outputs", 2, &["p/preset.py", "q/checked.py"]);

    // A new flowgroup, then a removed one.
    std::fs::write(
        project.path("pipelines/p/extra.yaml"),
        "pipeline: p\nflowgroup: extra\nactions:\n  - {name: e, type: write, write_target: {type: materialized_view, catalog: main, schema: raw, table: extra, sql: SELECT 1}}\n",
    )
    .expect("write");
    let run = project.generate(&[]);
    assert_eq!(
        (run.generated, run.written.clone()),
        (1, set(&["p/extra.py"])),
        "{run:?}"
    );
    std::fs::remove_file(project.path("pipelines/p/extra.yaml")).expect("remove");
    let out = project.lhp(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("generated 0 flowgroup(s) (6 up to date)"),
        "{stderr}"
    );
    assert!(stderr.contains("1 removed"), "{stderr}");
    assert!(!project.path("generated/dev/p/extra.py").exists());

    // --force generates everything, and writes nothing that is already right.
    let forced = project.generate(&["--force"]);
    assert_eq!(
        (forced.generated, forced.up_to_date),
        (ALL.len(), 0),
        "{forced:?}"
    );
    assert!(forced.written.is_empty(), "{forced:?}");
}

#[test]
fn a_file_that_is_not_an_input_still_counts_for_the_whole_run_but_regenerates_nothing() {
    let project = Project::new();
    project.generate(&[]);
    std::fs::write(project.path("README.md"), "notes\n").expect("write");
    // Any new file could be matched by a pattern: the project is read again...
    let run = project.generate(&[]);
    assert!(!run.nothing_to_do);
    // ...but no flowgroup depends on it.
    assert_eq!((run.generated, run.written.len()), (0, 0), "{run:?}");
    assert!(project.generate(&[]).nothing_to_do);
}

#[test]
fn an_environment_variable_the_run_read_is_part_of_the_state() {
    let project = Project::new();
    project.edit(
        "lhp.yaml",
        "name: incremental\n",
        "name: incremental\nrequired_lhp_version: \">=0.1\"\n",
    );
    let run = |value: Option<&str>| -> String {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lhp"));
        command
            .args(["generate", "--env", "dev", "--no-hooks"])
            .current_dir(project.path(""));
        match value {
            Some(v) => command.env("LHP_IGNORE_VERSION", v),
            None => command.env_remove("LHP_IGNORE_VERSION"),
        };
        let out = command.output().expect("lhp runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    run(None);
    assert!(run(None).contains("nothing to do"));
    assert!(
        !run(Some("1")).contains("nothing to do"),
        "LHP_IGNORE_VERSION changed"
    );
    assert!(run(Some("1")).contains("nothing to do"));
}

#[test]
fn a_state_file_that_is_damaged_means_a_full_run() {
    let project = Project::new();
    project.generate(&[]);
    let dir = project.path(".lhp/generate");
    for entry in std::fs::read_dir(&dir).expect("state directory").flatten() {
        std::fs::write(entry.path(), "{not json").expect("write");
    }
    let run = project.generate(&[]);
    assert_eq!((run.generated, run.up_to_date), (ALL.len(), 0), "{run:?}");
    assert!(run.written.is_empty());
    assert!(project.generate(&[]).nothing_to_do);
}

#[test]
fn runs_into_different_output_directories_are_remembered_apart() {
    let project = Project::new();
    let outside = tempfile::tempdir().expect("temp dir");
    let other = outside.path().to_string_lossy();
    project.generate(&[]);
    let out = project.lhp(&["--output", &other]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("generated {} flowgroup(s) of", ALL.len())),
        "nothing is known of that directory yet: {stderr}"
    );
    assert!(Path::new(&*other).join("dev/p/plain.py").exists());
    assert!(project.generate(&[]).nothing_to_do);
    assert!(project.generate(&["--output", &other]).nothing_to_do);
}
