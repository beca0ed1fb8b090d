//! `lhp validate` end to end: a valid project passes, and each broken one is refused with
//! its code, its position and a useful message.
//!
//! Each negative case says whether the reference `lakehouse-plumber` 0.9.3 also rejects it
//! (from its source and, where marked [checked], from running it), and why where we differ.

use std::path::{Path, PathBuf};
use std::process::Command;

const LHP_YAML: &str = "name: shop\n";
const SUBSTITUTIONS: &str =
    "dev:\n  catalog: main\n  schema: bronze\nsecrets:\n  default_scope: shop\n";
const ORDERS: &str = "\
pipeline: bronze
flowgroup: orders
actions:
  - name: load_orders
    type: load
    source:
      type: delta
      catalog: \"${catalog}\"
      schema: \"${schema}\"
      table: orders_raw
    target: v_orders
  - name: write_orders
    type: write
    source: v_orders
    write_target:
      type: streaming_table
      catalog: \"${catalog}\"
      schema: \"${schema}\"
      table: orders
";

/// A throw-away project: the valid base, with some files replaced or added.
struct Project(PathBuf);

impl Project {
    fn new(name: &str, files: &[(&str, &[u8])]) -> Self {
        let dir = std::env::temp_dir().join(format!("lhp-validate-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let base: [(&str, &[u8]); 3] = [
            ("lhp.yaml", LHP_YAML.as_bytes()),
            ("substitutions/dev.yaml", SUBSTITUTIONS.as_bytes()),
            ("pipelines/bronze/orders.yaml", ORDERS.as_bytes()),
        ];
        for (path, text) in base.iter().chain(files) {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Self(dir)
    }

    fn validate(&self, args: &[&str]) -> (i32, String) {
        run_in(&self.0, args, &[])
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lhp"))
        .arg("validate")
        .args(args)
        .current_dir(dir)
        .env_remove("LHP_IGNORE_VERSION")
        .envs(env.iter().copied())
        .output()
        .expect("lhp runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_valid_base_project_passes() {
    let project = Project::new("valid", &[]);
    let (code, stderr) = project.validate(&["--env", "dev"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("1 flowgroup(s) in 1 pipeline(s) valid"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "no colour when not on a terminal: {stderr}"
    );
}

#[test]
fn validate_works_from_a_subdirectory_and_says_when_there_is_no_project() {
    let project = Project::new("subdir", &[]);
    let (code, stderr) = run_in(&project.0.join("pipelines/bronze"), &[], &[]);
    assert_eq!(code, 0, "{stderr}");
    let outside = std::env::temp_dir().join(format!("lhp-validate-{}-nowhere", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    let (code, stderr) = run_in(&outside, &[], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("LHP-CFG-011") && stderr.contains("no lhp.yaml"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(outside);
}

#[test]
fn warnings_pass_unless_strict() {
    let bare = ORDERS.replacen("\"${catalog}\"", "\"{catalog}\"", 1);
    let project = Project::new(
        "strict",
        &[("pipelines/bronze/orders.yaml", bare.as_bytes())],
    );
    let (code, stderr) = project.validate(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning[LHP-DEPR-001]"), "{stderr}");
    assert!(
        stderr.contains("--> pipelines/bronze/orders.yaml:8:17"),
        "{stderr}"
    );
    let (code, _) = project.validate(&["--strict"]);
    assert_eq!(code, 1);
}

#[test]
fn an_include_pattern_that_selects_nothing_is_a_note_at_the_pattern() {
    let project = Project::new(
        "idle",
        &[(
            "lhp.yaml",
            b"name: shop\ninclude:\n  - \"bronze/**/*.yaml\"\n  - \"silver/**/*.yaml\"\n",
        )],
    );
    let (code, stderr) = project.validate(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("note[LHP-CFG-005]") && stderr.contains("--> lhp.yaml:4:5"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("note[").count(), 1, "{stderr}");
}

#[test]
fn side_files_that_exist_pass() {
    let flowgroup = b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: sql, sql_path: sql/orders.sql}, target: v}\n  - {name: w, type: write, source: v, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n";
    let project = Project::new(
        "sidefiles",
        &[
            ("pipelines/bronze/x.yaml", flowgroup),
            ("sql/orders.sql", b"SELECT 1"),
        ],
    );
    let (code, stderr) = project.validate(&[]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_sql_file_that_inline_sql_overrides_is_not_checked_for_tokens() {
    // The generators take inline `sql` over `sql_path`: the file is never read.
    let flowgroup = b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: sql, sql: SELECT 1, sql_path: sql/old.sql}, target: v}\n  - {name: w, type: write, source: v, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n";
    let project = Project::new(
        "inline_over_file",
        &[
            ("pipelines/bronze/x.yaml", flowgroup),
            ("sql/old.sql", b"SELECT * FROM ${gone}.t"),
        ],
    );
    let (code, stderr) = project.validate(&[]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_view_nothing_produces_is_a_note_not_an_error() {
    // The reference takes such a name for an external table, so it is only a warning here.
    let flowgroup = b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n  - {name: w, type: write, source: v_typo, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n";
    let project = Project::new("view", &[("pipelines/bronze/x.yaml", flowgroup)]);
    let (code, stderr) = project.validate(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("note[LHP-DEP-101]") && stderr.contains("--> pipelines/bronze/x.yaml:5:36"),
        "{stderr}"
    );
    // A note, because the reference accepts it silently: not even --strict fails on it.
    let (code, _) = project.validate(&["--strict"]);
    assert_eq!(code, 0);
}

#[test]
fn test_actions_are_checked_only_with_include_tests() {
    // The reference drops test actions unless --include-tests, so their mistakes only count then.
    let with_test = format!("{ORDERS}  - name: orders_unique\n    type: test\n    test_type: uniquness\n    source: v_orders\n");
    let project = Project::new(
        "tests",
        &[("pipelines/bronze/orders.yaml", with_test.as_bytes())],
    );
    let (code, stderr) = project.validate(&[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = project.validate(&["--include-tests"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("unknown test type \"uniquness\"")
            && stderr.contains("did you mean `uniqueness`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--> pipelines/bronze/orders.yaml:22:16"),
        "{stderr}"
    );
}

#[test]
fn lhp_ignore_version_turns_the_version_error_into_a_note() {
    let project = Project::new(
        "ignore",
        &[("lhp.yaml", b"name: shop\nrequired_lhp_version: \">=2.0\"\n")],
    );
    let (code, stderr) = project.validate(&[]);
    assert_eq!(code, 1, "{stderr}");
    let (code, stderr) = run_in(&project.0, &[], &[("LHP_IGNORE_VERSION", "1")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("note[LHP-CFG-007]"), "{stderr}");
    // The reference only logs this; its --strict does not fail on it, nor does ours.
    let (code, stderr) = run_in(&project.0, &["--strict"], &[("LHP_IGNORE_VERSION", "1")]);
    assert_eq!(code, 0, "{stderr}");
}

/// One broken project: files over the base, and what must be said about it.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static [u8])],
    code: &'static str,
    at: &'static str,
    says: &'static str,
}

const ORDERS_APPEND_ONLY: &[u8] = b"pipeline: bronze\nflowgroup: orders\nactions:\n  - name: load_orders\n    type: load\n    source:\n      type: delta\n      catalog: \"${catalog}\"\n      schema: \"${schema}\"\n      table: orders_raw\n    target: v_orders\n  - name: write_orders\n    type: write\n    source: v_orders\n    write_target:\n      type: streaming_table\n      create_table: false\n      catalog: \"${catalog}\"\n      schema: \"${schema}\"\n      table: orders\n";

const FULL_WITH_BAD_TRANSFORM: &[u8] = b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n  - name: t\n    type: transform\n    transform_type: sqll\n    source: v\n    sql: SELECT 1\n    target: v_clean\n  - {name: w, type: write, source: v_clean, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n";

const FULL_WITH_SQL_PATH: &[u8] = b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n  - name: t\n    type: transform\n    transform_type: sql\n    source: v\n    sql_path: sql/clean_orders.sql\n    target: v_clean\n  - {name: w, type: write, source: v_clean, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n";

const BP: &str = "name: site\nparameters:\n  - {name: site, required: true}\nflowgroups:\n  - pipeline: sites\n    flowgroup: \"site_%{site}\"\n    actions: [{name: a, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}]\n";

/// A flowgroup whose write is a CDC streaming table; `$tail` is its `cdc_config`, from line 15.
macro_rules! cdc {
    ($tail:literal) => {
        concat!(
            "pipeline: p\nflowgroup: c\nactions:\n",
            "  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n",
            "  - name: w\n    type: write\n    source: v\n    write_target:\n",
            "      type: streaming_table\n      mode: cdc\n      catalog: c\n      schema: s\n      table: t\n",
            "      cdc_config:\n",
            $tail
        )
        .as_bytes()
    };
}

/// A flowgroup whose write is a snapshot CDC table; `$tail` is its `snapshot_cdc_config`,
/// from line 15.
macro_rules! snapshot {
    ($tail:literal) => {
        concat!(
            "pipeline: p\nflowgroup: c\nactions:\n",
            "  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n",
            "  - {name: w2, type: write, source: v, write_target: {type: streaming_table, catalog: c, schema: s, table: t2}}\n",
            "  - name: w\n    type: write\n    write_target:\n",
            "      type: streaming_table\n      mode: snapshot_cdc\n      catalog: c\n      schema: s\n      table: t\n",
            "      snapshot_cdc_config:\n",
            $tail
        )
        .as_bytes()
    };
}

const SNAPSHOT_FUNCTION: &[u8] = b"def snapshot(latest_version, *, day=None):\n    return None\n";

/// Two CDC writes merging into table c.s.t; the second is the given line 7.
macro_rules! concat_bytes_fan_in {
    ($second:literal) => {
        concat!("pipeline: p\nflowgroup: f\nactions:\n  - {name: l1, type: load, source: {type: delta, catalog: c, schema: s, table: a}, target: v1}\n  - {name: l2, type: load, source: {type: delta, catalog: c, schema: s, table: b}, target: v2}\n  - {name: w1, type: write, source: v1, write_target: {type: streaming_table, mode: cdc, catalog: c, schema: s, table: t, cdc_config: {keys: [id], sequence_by: ts}}}\n", $second).as_bytes()
    };
}

const CASES: &[Case] = &[
    // CDC fan-in: the writes into one table must agree; the reference rejects both,
    // with these codes [checked].
    Case { name: "cdc_fan_in_keys_disagree", files: &[("pipelines/bronze/f.yaml", concat_bytes_fan_in!("  - {name: w2, type: write, source: v2, write_target: {type: streaming_table, mode: cdc, create_table: false, catalog: c, schema: s, table: t, cdc_config: {keys: [other], sequence_by: ts}}}\n"))], code: "LHP-CFG-010", at: "pipelines/bronze/f.yaml:7:163", says: "disagree on `cdc_config.keys`" },
    Case { name: "cdc_fan_in_mixed_modes", files: &[("pipelines/bronze/f.yaml", concat_bytes_fan_in!("  - {name: w2, type: write, source: v2, write_target: {type: streaming_table, create_table: false, catalog: c, schema: s, table: t}}\n"))], code: "LHP-VAL-010", at: "pipelines/bronze/f.yaml:7:130", says: "both with CDC" },
    // CDC options the reference refuses: each rejected with LHP-VAL-007 [checked].
    Case { name: "cdc_truncates_with_scd2", files: &[("pipelines/bronze/c.yaml", cdc!("        keys: [id]\n        sequence_by: ts\n        scd_type: 2\n        apply_as_truncates: \"op = 'T'\"\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:18:29", says: "SCD type 1 only" },
    Case { name: "cdc_both_column_lists", files: &[("pipelines/bronze/c.yaml", cdc!("        keys: [id]\n        sequence_by: ts\n        column_list: [a]\n        except_column_list: [b]\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:18:29", says: "exclude each other" },
    Case { name: "cdc_scd_type_3", files: &[("pipelines/bronze/c.yaml", cdc!("        keys: [id]\n        sequence_by: ts\n        scd_type: 3\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:17:19", says: "`scd_type` is 1 or 2" },
    Case { name: "cdc_ignore_null_updates_text", files: &[("pipelines/bronze/c.yaml", cdc!("        keys: [id]\n        sequence_by: ts\n        ignore_null_updates: sometimes\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:17:30", says: "true or false" },
    Case { name: "cdc_empty_keys", files: &[("pipelines/bronze/c.yaml", cdc!("        keys: []\n        sequence_by: ts\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:15:15", says: "lists no column" },
    Case { name: "cdc_empty_sequence_by", files: &[("pipelines/bronze/c.yaml", cdc!("        keys: [id]\n        sequence_by: []\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:16:22", says: "non-empty list" },
    Case { name: "cdc_scd2_schema_without_history", files: &[("pipelines/bronze/c.yaml", cdc!("        keys: [id]\n        sequence_by: ts\n        scd_type: 2\n      table_schema: \"id BIGINT, ts TIMESTAMP, __START_AT TIMESTAMP\"\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:18:21", says: "`__END_AT`" },
    Case { name: "snapshot_source_and_function", files: &[("py/snap.py", SNAPSHOT_FUNCTION), ("pipelines/bronze/c.yaml", snapshot!("        keys: [id]\n        source: c.s.t\n        source_function: {file: py/snap.py, function: snapshot}\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:17:26", says: "exclude each other" },
    Case { name: "snapshot_parameters_not_a_mapping", files: &[("py/snap.py", SNAPSHOT_FUNCTION), ("pipelines/bronze/c.yaml", snapshot!("        keys: [id]\n        source_function: {file: py/snap.py, function: snapshot, parameters: [1]}\n"))], code: "LHP-VAL-007", at: "pipelines/bronze/c.yaml:16:77", says: "keyword arguments" },

    // Reference: rejects, LHP-ACT-001 with a did-you-mean [checked].
    Case { name: "action_type_typo", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - name: a\n    type: lod\n")], code: "LHP-ACT-001", at: "pipelines/bronze/x.yaml:5:11", says: "did you mean `load`?" },
    // Reference: rejects, LHP-CFG-010 [checked].
    Case { name: "unresolved_token", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - name: a\n    type: load\n    source: {type: delta, catalog: \"${catalg}\", schema: s, table: t}\n    target: v\n")], code: "LHP-CFG-010", at: "pipelines/bronze/x.yaml:6:36", says: "did you mean `catalog`?" },
    // Reference: rejects, but as an internal error (pydantic, LHP-GEN-902, exit 3, with a traceback).
    Case { name: "missing_pipeline", files: &[("pipelines/bronze/x.yaml", b"flowgroup: x\nactions: []\n")], code: "LHP-CFG-009", at: "pipelines/bronze/x.yaml:1:1", says: "has no `pipeline`" },
    // Reference: rejects as LHP-GEN-902 (exit 3).
    Case { name: "action_without_name", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - type: load\n")], code: "LHP-CFG-009", at: "pipelines/bronze/x.yaml:4:5", says: "has no `name`" },
    // Reference: rejects, LHP-VAL-007 "Duplicate action name".
    Case { name: "duplicate_action", files: &[("pipelines/bronze/orders.yaml", b"pipeline: bronze\nflowgroup: orders\nactions:\n  - {name: a, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v1}\n  - {name: a, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v2}\n")], code: "LHP-VAL-007", at: "pipelines/bronze/orders.yaml:5:12", says: "two actions are named `a`" },
    // Reference: rejects, LHP-VAL-007 "Duplicate target name" [checked].
    Case { name: "duplicate_target", files: &[("pipelines/bronze/orders.yaml", b"pipeline: bronze\nflowgroup: orders\nactions:\n  - {name: a, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n  - {name: b, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n")], code: "LHP-VAL-007", at: "pipelines/bronze/orders.yaml:5:91", says: "both produce the view `v`" },
    // Reference: rejects, LHP-CFG-005 "Empty flowgroup file" [checked].
    Case { name: "empty_file", files: &[("pipelines/bronze/x.yaml", b"# nothing here\n")], code: "LHP-CFG-005", at: "pipelines/bronze/x.yaml:1:1", says: "is empty" },
    // Reference: rejects, LHP-CFG-009 [checked].
    Case { name: "yaml_syntax", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: [x\nactions: []\n")], code: "LHP-CFG-009", at: "pipelines/bronze/x.yaml:3:", says: "invalid YAML" },
    // Reference: rejects, LHP-VAL-013 [checked].
    Case { name: "duplicate_in_file", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions: []\n---\npipeline: p\nflowgroup: x\nactions: []\n")], code: "LHP-VAL-013", at: "pipelines/bronze/x.yaml:6:12", says: "defined twice in this file" },
    // Reference: rejects, LHP-VAL-009 [checked].
    Case { name: "duplicate_across_files", files: &[("pipelines/bronze/copy.yaml", ORDERS.as_bytes())], code: "LHP-VAL-009", at: "pipelines/bronze/orders.yaml:1:1", says: "is defined twice" },
    // Reference: rejects, LHP-VAL-014.
    Case { name: "mixed_syntax", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: a\nactions: []\n---\nflowgroups: []\n")], code: "LHP-VAL-014", at: "pipelines/bronze/x.yaml:5:13", says: "mixes" },
    // Reference: rejects, LHP-CFG-040.
    Case { name: "blueprint_in_pipelines", files: &[("pipelines/bronze/x.yaml", b"name: bp\nparameters: []\nflowgroups: []\n")], code: "LHP-CFG-040", at: "pipelines/bronze/x.yaml:1:1", says: "blueprint" },
    // Reference: rejects, LHP-ACT-001 "Unknown preset".
    Case { name: "unknown_preset", files: &[("presets/bronze.yaml", b"name: bronze_layer\ndefaults: {}\n"), ("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\npresets: [bronze_layr]\nactions: [{name: a, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}]\n")], code: "LHP-ACT-001", at: "pipelines/bronze/x.yaml:3:11", says: "did you mean `bronze_layer`?" },
    // Reference: rejects, LHP-DEP-022.
    Case { name: "circular_presets", files: &[("presets/a.yaml", b"name: a\nextends: b\n"), ("presets/b.yaml", b"name: b\nextends: a\n"), ("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\npresets: [a]\nactions: [{name: a, type: load}]\n")], code: "LHP-DEP-022", at: "presets/b.yaml:2:10", says: "a -> b -> a" },
    // Reference: rejects, LHP-CFG-027 with close matches.
    Case { name: "missing_template", files: &[("templates/ingest.yaml", b"name: ingest\nactions: []\n"), ("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nuse_template: ingset\n")], code: "LHP-CFG-027", at: "pipelines/bronze/x.yaml:3:15", says: "did you mean `ingest`?" },
    // Reference: rejects, LHP-CFG-012.
    Case { name: "missing_template_parameter", files: &[("templates/ingest.yaml", b"name: ingest\nparameters: [{name: entity, required: true}]\nactions: [{name: \"load_{{ entity }}\", type: load}]\n"), ("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nuse_template: ingest\ntemplate_parameters: {}\n")], code: "LHP-CFG-012", at: "pipelines/bronze/x.yaml:3:15", says: "`entity`" },
    // Reference: rejects, LHP-CFG-011 [checked].
    Case { name: "undefined_variable", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nvariables: {a: b}\nactions:\n  - {name: \"load_%{entity}\", type: load}\n")], code: "LHP-CFG-011", at: "pipelines/bronze/x.yaml:5:12", says: "`%{entity}`" },
    // Reference: rejects as LHP-GEN-902 (pydantic, exit 3) [checked]; we say which variable.
    Case { name: "variable_not_a_string", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nvariables:\n  n: 5\nactions: [{name: a, type: load}]\n")], code: "LHP-CFG-011", at: "pipelines/bronze/x.yaml:4:6", says: "variable `n` must be a string" },
    // Reference: rejects, LHP-CFG-008 "Missing default secret scope".
    Case { name: "secret_without_scope", files: &[("substitutions/dev.yaml", b"dev: {catalog: main, schema: s}\n"), ("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: a, type: load, source: {type: jdbc, password: \"${secret:pw}\"}, target: v}\n")], code: "LHP-CFG-008", at: "pipelines/bronze/x.yaml:4:58", says: "no default scope" },
    // Reference: rejects, LHP-VAL-008 [checked].
    Case { name: "bad_secret_scope", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: a, type: load, source: {type: jdbc, password: \"${secret:bad scope/pw}\"}, target: v}\n")], code: "LHP-VAL-008", at: "pipelines/bronze/x.yaml:4:58", says: "secret scope `bad scope`" },
    // Reference: rejects, but as a TypeError reported as LHP-VAL-901 [checked].
    Case { name: "structured_token_in_string", files: &[("substitutions/dev.yaml", b"dev: {catalog: main, schema: s, cols: [a, b]}\n"), ("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: a, type: load, source: {type: sql, sql: \"SELECT ${cols}\"}, target: v}\n")], code: "LHP-VAL-901", at: "pipelines/bronze/x.yaml:4:52", says: "`cols` is a mapping or a list" },
    // Reference: rejects, LHP-CFG-003.
    Case { name: "include_not_a_list", files: &[("lhp.yaml", b"name: shop\ninclude: bronze/*.yaml\n")], code: "LHP-CFG-003", at: "lhp.yaml:2:10", says: "must be a list" },
    // Reference: rejects, LHP-CFG-005.
    Case { name: "include_empty_pattern", files: &[("lhp.yaml", b"name: shop\ninclude: [\"\"]\n")], code: "LHP-CFG-005", at: "lhp.yaml:2:11", says: "cannot be empty" },
    // Reference: rejects, LHP-CFG-007 [checked].
    Case { name: "version_unsatisfied", files: &[("lhp.yaml", b"name: shop\nrequired_lhp_version: \">=1.0\"\n")], code: "LHP-CFG-007", at: "lhp.yaml:2:23", says: "0.9.3" },
    // Reference: rejects, LHP-CFG-008 [checked].
    Case { name: "version_unreadable", files: &[("lhp.yaml", b"name: shop\nrequired_lhp_version: \"newest\"\n")], code: "LHP-CFG-008", at: "lhp.yaml:2:23", says: "not a version specifier" },
    // Reference: rejects, LHP-CFG-002 [checked].
    Case { name: "project_not_a_mapping", files: &[("lhp.yaml", b"- shop\n")], code: "LHP-CFG-002", at: "lhp.yaml:1:1", says: "must be a mapping" },
    // Reference: rejects, LHP-IO-003 [checked].
    Case { name: "project_two_documents", files: &[("lhp.yaml", b"name: a\n---\nname: b\n")], code: "LHP-IO-003", at: "lhp.yaml:1:1", says: "exactly one YAML document" },
    // Reference: fails reading the file with a UnicodeDecodeError (no position); we name it.
    Case { name: "not_utf8", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: caf\xe9\n")], code: "LHP-CFG-009", at: "pipelines/bronze/x.yaml:2:15", says: "not valid UTF-8" },
    // Reference: PyYAML expands the aliases until memory runs out; we refuse by counting.
    Case { name: "alias_bomb", files: &[("pipelines/bronze/x.yaml", b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n")], code: "LHP-CFG-009", at: "pipelines/bronze/x.yaml:6:", says: "expands to more than" },
    // Reference: PyYAML recurses per level and fails with a RecursionError; the parser's own
    // limit (or ours, 256) refuses it with a position.
    Case { name: "deep_nesting", files: &[("pipelines/bronze/x.yaml", b"pipeline: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n")], code: "LHP-CFG-009", at: "pipelines/bronze/x.yaml:1:", says: "invalid YAML: recursion limit exceeded" },
    // Reference: rejects, LHP-VAL-041 with a did-you-mean.
    Case { name: "unknown_blueprint", files: &[("blueprints/site.yaml", BP.as_bytes()), ("pipelines/sites.yaml", b"use_blueprint: siet\nparameters: {site: oslo}\n")], code: "LHP-VAL-041", at: "pipelines/sites.yaml:1:16", says: "did you mean `site`?" },
    // Reference: rejects, LHP-VAL-043.
    Case { name: "undeclared_blueprint_parameter", files: &[("blueprints/site.yaml", BP.as_bytes()), ("pipelines/sites.yaml", b"use_blueprint: site\nparameters:\n  site: oslo\n  stie: x\n")], code: "LHP-VAL-043", at: "pipelines/sites.yaml:4:3", says: "no parameter `stie`" },
    // Reference: rejects, LHP-VAL-007 "FlowGroup must have at least one action".
    Case { name: "no_actions", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions: []\n")], code: "LHP-VAL-007", at: "pipelines/bronze/x.yaml:1:1", says: "has no actions" },
    // Reference: rejects too (any leftover {word}, regex quantifiers included) [checked].
    Case { name: "regex_quantifier_in_sql", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: a, type: load, source: {type: sql, sql: \"SELECT * FROM t WHERE id RLIKE '^[0-9]{8}$'\"}, target: v}\n")], code: "LHP-CFG-010", at: "pipelines/bronze/x.yaml:4:52", says: "put the SQL in a `sql_path` file" },
    // Reference: rejects, LHP-VAL-009 "Invalid array template parameter".
    Case { name: "template_bad_list", files: &[("templates/t.yaml", b"name: t\nactions:\n  - {name: a, type: load, cols: \"[{{ x }}\"}\n  - {name: b, type: load, cols: \"[{{ x }}, ]]\"}\n"), ("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nuse_template: t\ntemplate_parameters: {x: 1}\n")], code: "LHP-VAL-009", at: "templates/t.yaml:4:33", says: "not a list" },
    // Reference: PyYAML raises a ConstructorError (reported as LHP-CFG-009).
    Case { name: "merge_key_scalar", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nbase: {<<: 5}\n")], code: "LHP-CFG-009", at: "pipelines/bronze/x.yaml:3:", says: "merge key" },
    // Reference: rejects a missing sql_path (LHP-IO-001) [source]; it checks expectations_file
    // only when generating, we check it here too.
    Case { name: "missing_sql_file", files: &[("pipelines/bronze/x.yaml", FULL_WITH_SQL_PATH)], code: "LHP-IO-001", at: "pipelines/bronze/x.yaml:9:15", says: "does not exist" },
    // Reference: rejects, LHP-CFG-010, a token the environment does not define in a sql_path
    // file (generate refused it; validate now says so first).
    Case { name: "undefined_token_in_sql_file", files: &[("pipelines/bronze/x.yaml", FULL_WITH_SQL_PATH), ("sql/clean_orders.sql", b"SELECT * FROM ${nowhere}.orders\n")], code: "LHP-CFG-010", at: "pipelines/bronze/x.yaml:9:15", says: "sql/clean_orders.sql uses ${nowhere}" },
    // Reference: rejects (module_path must exist under the project root).
    Case { name: "missing_python_module", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: python, module_path: py/orders.py}, target: v}\n  - {name: w, type: write, source: v, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n")], code: "LHP-IO-001", at: "pipelines/bronze/x.yaml:4:63", says: "`module_path`" },
    // Reference: rejects, LHP-VAL-007 "FlowGroup must have at least one Write action".
    Case { name: "no_write_action", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n")], code: "LHP-VAL-007", at: "pipelines/bronze/x.yaml:1:1", says: "no write action" },
    // Reference: rejects, LHP-VAL-007 "Circular dependency detected".
    Case { name: "dependency_cycle", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v0}\n  - {name: a, type: transform, transform_type: sql, source: vb, target: va, sql: x}\n  - {name: b, type: transform, transform_type: sql, source: va, target: vb, sql: x}\n  - {name: w, type: write, source: va, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n")], code: "LHP-VAL-007", at: "pipelines/bronze/x.yaml:5:5", says: "a -> b -> a" },
    // Reference: rejects, LHP-VAL-007 "Unused transform action" [checked].
    Case { name: "unused_transform", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n  - {name: t, type: transform, transform_type: sql, source: v, target: v_clean, sql: x}\n  - {name: w, type: write, source: v, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n")], code: "LHP-VAL-007", at: "pipelines/bronze/x.yaml:5:72", says: "no action in this flowgroup reads it" },
    // Reference: rejects, LHP-CFG-004 "Multiple table creators detected".
    Case { name: "two_table_creators", files: &[("pipelines/bronze/copy.yaml", b"pipeline: bronze\nflowgroup: orders_copy\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v2}\n  - name: w\n    type: write\n    source: v2\n    write_target: {type: streaming_table, catalog: \"${catalog}\", schema: \"${schema}\", table: orders}\n")], code: "LHP-CFG-004", at: "pipelines/bronze/orders.yaml:19:14", says: "created by both `w` and `write_orders`" },
    // Reference: rejects, LHP-VAL-009 "Table creation validation failed".
    Case { name: "table_without_creator", files: &[("pipelines/bronze/orders.yaml", ORDERS_APPEND_ONLY)], code: "LHP-VAL-009", at: "pipelines/bronze/orders.yaml:20:14", says: "no write creates it" },
    // Reference: rejects, LHP-CFG-001 "Unknown field 'tabel' in load source (delta)" [checked].
    Case { name: "unknown_source_field", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, tabel: t}, target: v}\n  - {name: w, type: write, source: v, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n")], code: "LHP-CFG-001", at: "pipelines/bronze/x.yaml:4:72", says: "did you mean `table`?" },
    // Reference: rejects (cloudfiles needs path and format).
    Case { name: "cloudfiles_without_path", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: cloudfiles, format: json}, target: v}\n  - {name: w, type: write, source: v, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n")], code: "LHP-VAL-007", at: "pipelines/bronze/x.yaml:4:35", says: "a cloudfiles source needs `path`" },
    // Reference: rejects (unknown write target type).
    Case { name: "unknown_write_type", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: delta, catalog: c, schema: s, table: t}, target: v}\n  - {name: w, type: write, source: v, write_target: {type: streaming_tabel, catalog: c, schema: s, table: t}}\n")], code: "LHP-VAL-007", at: "pipelines/bronze/x.yaml:5:60", says: "did you mean `streaming_table`?" },
    // Reference: rejects (a kafka source takes exactly one of subscribe / subscribePattern / assign).
    Case { name: "kafka_two_subscriptions", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nactions:\n  - {name: l, type: load, source: {type: kafka, bootstrap_servers: b, subscribe: t, assign: a}, target: v}\n  - {name: w, type: write, source: v, write_target: {type: streaming_table, catalog: c, schema: s, table: t}}\n")], code: "LHP-VAL-007", at: "pipelines/bronze/x.yaml:4:35", says: "exactly one of `subscribe`" },
    // Reference: rejects (transform_type must be one of sql, python, data_quality, temp_table, schema).
    Case { name: "unknown_transform_type", files: &[("pipelines/bronze/x.yaml", FULL_WITH_BAD_TRANSFORM)], code: "LHP-VAL-007", at: "pipelines/bronze/x.yaml:7:21", says: "did you mean `sql`?" },
    // Reference: rejects, LHP-CFG-007 (an enabled event_log needs catalog and schema).
    Case { name: "event_log_without_schema", files: &[("lhp.yaml", b"name: shop\nevent_log:\n  catalog: ops\n")], code: "LHP-CFG-007", at: "lhp.yaml:3:3", says: "needs `catalog` and `schema`" },
    // Reference: rejects, LHP-CFG-003 (a column is an expression or a mapping).
    Case { name: "metadata_column_shape", files: &[("lhp.yaml", b"name: shop\noperational_metadata:\n  columns:\n    _loaded_at: [now]\n")], code: "LHP-CFG-003", at: "lhp.yaml:4:17", says: "an expression or a mapping" },
    // Reference: ignores a `plugins:` section (it has none); ours checks its settings.
    Case { name: "plugins_typo", files: &[("lhp.yaml", b"name: shop\nplugins:\n  directorys: [plugins]\n")], code: "LHP-CFG-009", at: "lhp.yaml:3:3", says: "did you mean `directories`?" },
    // Reference: rejects, LHP-CFG-010 at config.variables.a (it checks the variables' own text).
    Case { name: "variable_using_variable", files: &[("pipelines/bronze/x.yaml", b"pipeline: p\nflowgroup: x\nvariables:\n  b: bronze\n  a: \"%{b}_x\"\nactions: [{name: l, type: load}]\n")], code: "LHP-CFG-010", at: "pipelines/bronze/x.yaml:5:6", says: "uses another variable, `%{b}`" },
    // Reference: PyYAML's safe loader refuses unknown tags (LHP-CFG-009).
    Case { name: "unknown_tag", files: &[("pipelines/bronze/x.yaml", b"pipeline: !python/name:os.system p\nflowgroup: x\n")], code: "LHP-CFG-009", at: "pipelines/bronze/x.yaml:1:", says: "not supported" },
];

#[test]
fn each_broken_project_is_refused_with_its_code_position_and_message() {
    assert!(CASES.len() >= 30, "the issue asks for at least 30 cases");
    let mut failures = Vec::new();
    for case in CASES {
        let project = Project::new(case.name, case.files);
        let (code, stderr) = project.validate(&["--env", "dev"]);
        let headline = format!("error[{}]", case.code);
        let at = format!("--> {}", case.at);
        if code != 1
            || !stderr.contains(&headline)
            || !stderr.contains(&at)
            || !stderr.contains(case.says)
        {
            failures.push(format!(
                "{} (exit {code}): expected {headline} {at} saying {:?}; got:\n{stderr}",
                case.name, case.says
            ));
        }
        let errors = stderr.matches("error[").count();
        if errors != 1 && !matches!(case.name, "alias_bomb" | "deep_nesting") {
            failures.push(format!(
                "{}: {errors} errors reported, one expected:\n{stderr}",
                case.name
            ));
        }
        if stderr.contains("panicked") {
            failures.push(format!("{} panicked:\n{stderr}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
