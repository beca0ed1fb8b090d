//! End-to-end tests of plugins through the `lhp` binary: the example project (template,
//! process and hook plugins), the native example, bad plugins of every kind (each with its
//! own clear error, no other output lost), discovery, the cache, settings, and `lhp plugin`.
//!
//! Process plugins here are Python scripts: these tests need `python3` (CI installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lhp::plugin::serde_json;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures/plugins")
        .join(format!("lhp-plugin-{name}"))
        .display()
        .to_string()
}

fn run(binary: &Path, dir: &Path, args: &[&str], path: Option<&str>) -> Output {
    let mut command = Command::new(binary);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("LHP_IGNORE_VERSION")
        .env("HOME", dir.join(".no-home"));
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("lhp runs")
}

fn lhp(dir: &Path, args: &[&str]) -> Output {
    run(Path::new(env!("CARGO_BIN_EXE_lhp")), dir, args, None)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A project in a temporary directory, written file by file.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(lhp_yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = Self { dir };
        project.file("lhp.yaml", lhp_yaml);
        project.file("substitutions/dev.yaml", "dev:\n  catalog: main\n");
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// A flowgroup loading a delta table, transforming it with `transform_type` (plus
    /// `extra` lines of the transform action), and writing a materialized view.
    fn flowgroup(&self, name: &str, transform_type: &str, extra: &str) {
        self.file(
            &format!("pipelines/p/{name}.yaml"),
            &format!(
                "pipeline: p\nflowgroup: {name}\nactions:\n  - name: load_{name}\n    type: load\n    readMode: batch\n    target: v_{name}_in\n    source: {{type: delta, catalog: main, schema: raw, table: {name}}}\n  - name: shape_{name}\n    type: transform\n    transform_type: {transform_type}\n    source: v_{name}_in\n    target: v_{name}_out\n{extra}  - name: write_{name}\n    type: write\n    source: v_{name}_out\n    write_target: {{type: materialized_view, catalog: main, schema: out, table: {name}}}\n"
            ),
        );
    }

    fn generate(&self) -> Output {
        lhp(self.path(), &["generate", "--env", "dev"])
    }

    fn generated(&self, flowgroup: &str) -> Option<String> {
        std::fs::read_to_string(self.path().join(format!("generated/dev/p/{flowgroup}.py"))).ok()
    }
}

fn py_compile(file: &Path) {
    let status = Command::new("python3")
        .args(["-m", "py_compile"])
        .arg(file)
        .status()
        .expect("python3 runs (the plugin tests need it)");
    assert!(status.success(), "{} does not compile", file.display());
}

#[test]
fn the_example_project_generates_with_template_process_and_hook_plugins() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let project = repo().join("examples/plugin_project");
    let audit = project.join(".lhp/audit-dev.jsonl");
    let _ = std::fs::remove_file(&audit);
    let output = out_dir.path().display().to_string();
    let out = lhp(
        &project,
        &["generate", "--env", "dev", "--output", output.as_str()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stations = out_dir.path().join("dev/bronze/stations.py");
    let events = out_dir.path().join("dev/bronze/ride_events.py");
    let fares = out_dir.path().join("dev/silver/fares_by_hour.py");
    for file in [&stations, &events, &fares] {
        py_compile(file);
    }
    let stations = std::fs::read_to_string(stations).expect("written");
    assert!(stations.contains("return reader.load(\"s3://pedal-landing-dev/stations/\")"));
    let events = std::fs::read_to_string(events).expect("written");
    assert!(
        events.contains(".option(\"kafka.bootstrap.servers\", \"kafka-dev.pedal.internal:9092\")")
    );
    let fares = std::fs::read_to_string(fares).expect("written");
    assert!(fares.contains(".pivot(\"hour\", [0, 6, 12, 18]).agg(F.sum(\"fare\"))"));
    // plugins.config.pivot.comment_prefix, with its token resolved for dev.
    assert!(fares.contains("\"\"\"[dev] Pivot of v_rides"), "{fares}");

    // The hook plugin saw the events it asked for (generation.*, flowgroup.*), in order.
    let log = std::fs::read_to_string(&audit).expect("the audit hook wrote its log");
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"generation.start"));
    assert_eq!(types.last(), Some(&"generation.end"));
    assert_eq!(types.len(), 8, "{types:?}");
    assert_eq!(types.iter().filter(|t| **t == "flowgroup.start").count(), 3);
    assert_eq!(types.iter().filter(|t| **t == "flowgroup.end").count(), 3);
    // Numbered in publish order across the whole run: a filtered hook sees gaps.
    let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(seqs[0], 1);
    assert!(events
        .iter()
        .all(|e| e["v"] == 1 && e["run_id"] == events[0]["run_id"]));
    assert_eq!(events[7]["metadata"]["written"], 3);
    // The built-in event log has the whole run, without gaps.
    let all = std::fs::read_to_string(project.join(".lhp/events.jsonl")).expect("event log");
    let last_run: Vec<serde_json::Value> = all
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON lines"))
        .filter(|e| e["run_id"] == events[0]["run_id"])
        .collect();
    let seqs: Vec<u64> = last_run.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=last_run.len() as u64).collect::<Vec<_>>());
}

#[test]
fn the_native_plugin_generates_what_the_template_plugin_generates() {
    let native = Path::new(env!("CARGO_BIN_EXE_lhp"))
        .parent()
        .expect("target dir")
        .join("examples/lhp-s3-batch");
    assert!(
        native.is_file(),
        "cargo test builds the example {}",
        native.display()
    );
    let example = repo().join("examples/plugin_project");
    let pipelines =
        std::fs::read_to_string(example.join("pipelines/bronze/stations.yaml")).expect("example");
    let plugins = repo().join("examples/plugins");
    let project_with = |directory: &str| {
        let project = Project::new(&format!(
            "name: s3\nplugins:\n  directories: [{directory}]\n  discover_path: false\n"
        ));
        project.file(
            "substitutions/dev.yaml",
            "dev:\n  catalog: main\n  landing_bucket: landing\n",
        );
        project.file("pipelines/bronze/stations.yaml", &pipelines);
        project
    };
    let template = project_with(&plugins.join("s3_batch").display().to_string());
    let out = template.generate();
    assert!(out.status.success(), "{}", text(&out));
    let compiled_in = project_with("./none");
    let out = run(
        &native,
        compiled_in.path(),
        &["generate", "--env", "dev"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let read = |p: &Project| {
        std::fs::read_to_string(p.path().join("generated/dev/bronze/stations.py")).expect("written")
    };
    assert_eq!(read(&template), read(&compiled_in));
    assert!(read(&compiled_in).contains("reader.option(\"multiLine\", True)"));

    let out = run(&native, compiled_in.path(), &["plugin", "list"], None);
    assert!(
        text(&out).contains("s3_batch") && text(&out).contains("native"),
        "{}",
        text(&out)
    );
    // Both at once: the second provider of `s3_batch` is refused, naming both.
    let both = project_with(&plugins.join("s3_batch").display().to_string());
    let out = run(&native, both.path(), &["generate", "--env", "dev"], None);
    assert!(
        text(&out).contains("load type `s3_batch` is already provided by `s3_batch`"),
        "{}",
        text(&out)
    );
}

#[test]
fn bad_process_plugins_fail_only_their_flowgroups() {
    let commands: Vec<String> = [
        "good", "crash", "hang", "garbage", "badcode", "oldlhp", "dupe", "badproto",
    ]
    .iter()
    .map(|n| format!("    - {}\n", fixture(n)))
    .collect();
    let project = Project::new(&format!(
        "name: bad\nplugins:\n  discover_path: false\n  timeout: 1\n  commands:\n{}",
        commands.concat()
    ));
    project.flowgroup("fine", "sql", "    sql: SELECT * FROM v_fine_in\n");
    project.flowgroup("good", "good_tf", "");
    for name in ["crash", "hang", "garbage", "badcode", "oldlhp", "badproto"] {
        project.flowgroup(name, &format!("{name}_tf"), "");
    }
    let started = std::time::Instant::now();
    let out = project.generate();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{all}"
    );
    // Built-in and good plugin flowgroups are written; the `sql` type stays the built-in's.
    let fine = project
        .generated("fine")
        .unwrap_or_else(|| panic!("written:\n{all}"));
    assert!(fine.contains("spark.sql("), "{fine}");
    let good = project
        .generated("good")
        .unwrap_or_else(|| panic!("written:\n{all}"));
    assert!(good.contains("def v_good_out():"), "{good}");
    for name in ["crash", "hang", "garbage", "badcode", "oldlhp", "badproto"] {
        assert!(
            project.generated(name).is_none(),
            "{name} must not be written"
        );
    }
    for expected in [
        "plugin `crash` failed on action `shape_crash` (transform type `crash_tf`): it exited with status 3 without answering `generate`; its stderr: boom: something broke",
        "plugin `hang` failed on action `shape_hang` (transform type `hang_tf`): it did not answer `generate` within 1 s",
        "plugin `garbage` failed on action `shape_garbage` (transform type `garbage_tf`): it answered `generate` with something that is not a protocol response",
        "error[LHP-PLUGIN-008]: plugin `badcode` produced code for action `shape_badcode` that is not valid Python: line 1",
        "process plugin `oldlhp`",
        "it requires lhp >=9.0, and this is lhp 0.1.0",
        "action `shape_oldlhp` uses transform type `oldlhp_tf` of plugin `oldlhp`, which was refused",
        "transform type `sql` is already provided by `builtin`",
        "it speaks protocol version 99",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    // Each failure points at the user's file and line.
    assert!(all.contains("pipelines/p/crash.yaml:"), "{all}");
}

#[test]
fn a_plugin_check_reports_at_the_field() {
    let project = Project::new(&format!(
        "name: checks\nplugins:\n  discover_path: false\n  commands: [{}]\n",
        fixture("good")
    ));
    project.flowgroup("noted", "good_tf", "    note: 42\n");
    let out = lhp(project.path(), &["validate", "--env", "dev"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("`note` must be a string"), "{all}");
    assert!(all.contains("pipelines/p/noted.yaml:14:11"), "{all}");
}

#[test]
fn template_plugins_are_checked_sandboxed_and_bounded() {
    let project = Project::new(
        "name: templates\nplugins:\n  discover_path: false\n  directories: [plugins]\n",
    );
    let manifest = |name: &str, ty: &str, template: &str, extra: &str| {
        format!("name: {name}\nversion: 1.0.0\n{extra}provides:\n  - kind: transform\n    type: {ty}\n    template: {template}\n    parameters:\n      column: {{type: string, required: true}}\n      times: {{type: integer, default: 2}}\n")
    };
    project.file(
        "plugins/fine/lhp-plugin.yaml",
        &manifest("fine", "fine_tf", "t.py.j2", ""),
    );
    project.file(
        "plugins/fine/t.py.j2",
        "@dp.temporary_view()\ndef {{ target }}():\n    return spark.read.table({{ source | py }}).select({{ config.column | py }}, {{ config.times | py }})\n",
    );
    project.file(
        "plugins/escape/lhp-plugin.yaml",
        &manifest("escape", "escape_tf", "t.py.j2", ""),
    );
    project.file("plugins/escape/t.py.j2", "{% include '../../lhp.yaml' %}\n");
    project.file(
        "plugins/endless/lhp-plugin.yaml",
        &manifest("endless", "endless_tf", "t.py.j2", ""),
    );
    project.file(
        "plugins/endless/t.py.j2",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
    );
    project.file(
        "plugins/future/lhp-plugin.yaml",
        &manifest(
            "future",
            "future_tf",
            "t.py.j2",
            "requires_lhp_version: \">=2.0\"\n",
        ),
    );
    project.file("plugins/future/t.py.j2", "x = 1\n");
    project.file(
        "plugins/twin/lhp-plugin.yaml",
        &manifest("twin", "fine_tf", "t.py.j2", ""),
    );
    project.file("plugins/twin/t.py.j2", "x = 1\n");
    project.file(
        "plugins/broken/lhp-plugin.yaml",
        "name: broken\nversion: 1.0.0\nprovides:\n  - kind: transform\n    type: broken_tf\n    templat: t.py.j2\n",
    );
    project.flowgroup("uses_fine", "fine_tf", "    column: station_id\n");
    project.flowgroup("uses_escape", "escape_tf", "    column: a\n");
    project.flowgroup("uses_endless", "endless_tf", "    column: a\n");
    project.flowgroup("uses_future", "future_tf", "    column: a\n");
    let out = project.generate();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let fine = project.generated("uses_fine").expect("written");
    assert!(
        fine.contains("spark.read.table(\"v_uses_fine_in\").select(\"station_id\", 2)"),
        "{fine}"
    );
    for expected in [
        "is outside the plugin's directory",
        "rendering ran out of fuel",
        "it requires lhp >=2.0, and this is lhp 0.1.0",
        "transform type `fine_tf` is already provided by `fine`",
        "lhp-plugin.yaml:6:5",
        "needs `template`",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    for failed in ["uses_escape", "uses_endless", "uses_future"] {
        assert!(project.generated(failed).is_none(), "{failed}");
    }

    // Parameters are checked where they are written.
    project.flowgroup("uses_fine", "fine_tf", "    column: 7\n    colour: red\n");
    let out = lhp(project.path(), &["validate", "--env", "dev"]);
    let all = text(&out);
    assert!(
        all.contains("`column` must be a string, not an integer"),
        "{all}"
    );
    assert!(all.contains("unknown parameter `colour`"), "{all}");
}

#[test]
fn allow_override_replaces_a_builtin_type_with_a_warning() {
    let project = Project::new(&format!(
        "name: over\nplugins:\n  discover_path: false\n  allow_override: [transform.sql]\n  commands: [{}]\n",
        fixture("dupe")
    ));
    project.flowgroup("swapped", "sql", "    sql: SELECT 1\n");
    let out = project.generate();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("warning[LHP-PLUGIN-005]: transform type `sql` of `builtin` is replaced by plugin `dupe`"), "{all}");
    let code = project.generated("swapped").expect("written");
    assert!(
        !code.contains("spark.sql("),
        "the plugin's code, not the built-in's:\n{code}"
    );
}

#[test]
fn enabled_false_turns_plugins_off() {
    let project = Project::new(&format!(
        "name: off\nplugins:\n  enabled: false\n  discover_path: false\n  commands: [{}]\n",
        fixture("good")
    ));
    project.flowgroup("uses_good", "good_tf", "");
    let out = lhp(project.path(), &["plugin", "list"]);
    assert!(text(&out).contains("disabled"), "{}", text(&out));
    let out = project.generate();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("unknown transform type \"good_tf\""), "{all}");
}

/// A process plugin that logs each start to `starts.log` in its working directory and
/// writes into its code what it was given: its config and whether `LEAKED` reached it.
const PROBE: &str = r##"#!/usr/bin/env python3
import json, os, sys
with open("starts.log", "a") as log:
    log.write("start\n")
for line in sys.stdin:
    request = json.loads(line)
    method, params = request["method"], request.get("params", {})
    if method == "describe":
        result = {"protocol": 1, "name": "probe", "version": "0.2.0",
                  "provides": [{"kind": "transform", "type": "probe_tf"}]}
    elif method == "generate":
        config = json.loads(os.environ["LHP_PLUGIN_CONFIG"])
        action = params["action"]
        result = {"code": f"# config={json.dumps(config, sort_keys=True)}\n# leaked={'LEAKED' in os.environ}\n"
                          f"@dp.temporary_view()\ndef {action['target']}():\n    return spark.read.table({json.dumps(action['sources'][0])})\n"}
    else:
        result = {"problems": []} if method == "check" else {}
    print(json.dumps({"id": request["id"], "result": result}), flush=True)
    if method == "shutdown":
        break
"##;

fn probe_on_path(project: &Project) -> String {
    let bin = project.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let script = bin.join("lhp-plugin-probe");
    std::fs::write(&script, PROBE).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn path_discovery_the_cache_config_and_the_environment() {
    let project = Project::new(
        "name: probe\nplugins:\n  config:\n    probe:\n      region: ${catalog}-${PROBE_REGION}\n      key: ${secret:vault/api}\n",
    );
    project.flowgroup("probed", "probe_tf", "");
    let path = probe_on_path(&project);
    let lhp_bin = Path::new(env!("CARGO_BIN_EXE_lhp"));
    let starts = || {
        std::fs::read_to_string(project.path().join("starts.log"))
            .unwrap_or_default()
            .lines()
            .count()
    };

    let out = run(lhp_bin, project.path(), &["plugin", "list"], Some(&path));
    assert!(text(&out).contains("transform.probe_tf"), "{}", text(&out));
    assert_eq!(starts(), 1, "the first listing describes the plugin");
    let out = run(lhp_bin, project.path(), &["plugin", "list"], Some(&path));
    assert!(text(&out).contains("probe"), "{}", text(&out));
    assert_eq!(starts(), 1, "the second listing reads .lhp/plugins.json");
    assert!(project.path().join(".lhp/plugins.json").is_file());

    let mut command = Command::new(lhp_bin);
    let out = command
        .args(["generate", "--env", "dev"])
        .current_dir(project.path())
        .env("PATH", &path)
        .env("PROBE_REGION", "eu")
        .env("LEAKED", "yes")
        .output()
        .expect("lhp runs");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(starts(), 2, "a run that uses it starts it once");
    let code = project.generated("probed").expect("written");
    assert!(
        code.contains(r#"# config={"key": "${secret:vault/api}", "region": "main-eu"}"#),
        "{code}"
    );
    assert!(code.contains("# leaked=False"), "{code}");

    // A reference to an unset variable is named.
    let out = run(
        lhp_bin,
        project.path(),
        &["generate", "--env", "dev"],
        Some(&path),
    );
    assert!(
        text(&out).contains(
            "`${PROBE_REGION}` is neither a substitution token nor a set environment variable"
        ),
        "{}",
        text(&out)
    );

    assert_eq!(
        starts(),
        2,
        "settings with an unresolved reference do not start it"
    );

    // enabled: false lists it as disabled without starting it.
    project.file("lhp.yaml", "name: probe\nplugins:\n  enabled: false\n");
    std::fs::remove_file(project.path().join(".lhp/plugins.json")).expect("cache");
    let out = run(lhp_bin, project.path(), &["plugin", "list"], Some(&path));
    assert!(text(&out).contains("disabled"), "{}", text(&out));
    assert_eq!(starts(), 2, "a disabled plugin is not started");

    // discover_path: false hides it.
    project.file(
        "lhp.yaml",
        "name: probe\nplugins:\n  discover_path: false\n",
    );
    let out = run(lhp_bin, project.path(), &["plugin", "list"], Some(&path));
    assert!(!text(&out).contains("probe_tf"), "{}", text(&out));
}

#[test]
fn plugin_validate_and_info() {
    let here = repo();
    for target in [
        "examples/plugins/s3_batch",
        "examples/plugins/kafka_events/lhp-plugin.yaml",
        "examples/plugins/pivot/lhp-plugin-pivot",
        "examples/plugins/audit_hook/lhp-plugin-audit",
    ] {
        let out = lhp(&here, &["plugin", "validate", target]);
        assert!(out.status.success(), "{target}: {}", text(&out));
        assert!(text(&out).trim_end().ends_with("valid"), "{}", text(&out));
    }
    let out = lhp(&here, &["plugin", "validate", "examples/plugins/s3_batch"]);
    assert!(
        text(&out).contains("ok    test tests/stations.yaml"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("ok    load.s3_batch: sample generate parses"),
        "{}",
        text(&out)
    );
    for (name, expected) in [
        ("crash", "sample generate failed"),
        ("badcode", "sample generate does not parse"),
        ("oldlhp", "it requires lhp >=9.0"),
        ("badproto", "protocol version 99"),
    ] {
        let out = lhp(&here, &["plugin", "validate", &fixture(name)]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        assert!(text(&out).contains(expected), "{name}: {}", text(&out));
    }
    let out = lhp(
        &here.join("examples/plugin_project"),
        &["plugin", "info", "kafka_events"],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for expected in [
        "version:     0.3.0",
        "kind:        template",
        "provides:    load type `kafka_json`",
        "depends on:  the Kafka connector",
        "status:      active",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    let out = lhp(
        &here.join("examples/plugin_project"),
        &["plugin", "info", "nope"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("the project sees: s3_batch, kafka_events, pivot, audit"),
        "{}",
        text(&out)
    );
}

/// `lhp plugin info` and `lhp plugin validate` into a reader that has gone: they end as
/// they would have, with nothing on stderr (they used to panic on the closed pipe).
#[cfg(unix)]
#[test]
fn plugin_info_and_validate_end_quietly_when_their_reader_goes_away() {
    let here = repo();
    let good = fixture("good");
    for args in [
        vec!["plugin", "info", "kafka_events"],
        vec!["plugin", "validate", good.as_str()],
        vec![],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lhp"))
            .args(&args)
            .current_dir(here.join("examples/plugin_project"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(
            !errors.contains("panicked") && !errors.contains("Broken pipe"),
            "{args:?}: {errors}"
        );
        assert!(out.status.code().is_some(), "{args:?}: killed by a signal");
    }
}

#[test]
fn new_template_and_process_plugins_work_as_created() {
    let project = Project::new("name: fresh\nplugins:\n  discover_path: false\n  commands: [plugins/tagger/lhp-plugin-tagger]\n");
    let dir = project.path().join("plugins");
    let dir_text = dir.display().to_string();
    for (name, kind) in [("trips", "template"), ("tagger", "process")] {
        let out = lhp(
            project.path(),
            &["plugin", "new", name, "--kind", kind, "--dir", &dir_text],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = lhp(project.path(), &["plugin", "validate", "plugins/trips"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ok    test tests/basic.yaml"),
        "{}",
        text(&out)
    );
    let out = lhp(
        project.path(),
        &["plugin", "validate", "plugins/tagger/lhp-plugin-tagger"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let unittest = Command::new("python3")
        .args(["-m", "unittest", "-q"])
        .current_dir(dir.join("tagger"))
        .output()
        .expect("python3 runs");
    assert!(unittest.status.success(), "{}", text(&unittest));
    assert!(String::from_utf8_lossy(&unittest.stderr).contains("Ran 3 tests"));

    project.file(
        "pipelines/p/trips.yaml",
        "pipeline: p\nflowgroup: trips\nactions:\n  - name: load_trips\n    type: load\n    target: v_trips\n    source: {type: trips, table: raw.trips}\n  - name: tag_trips\n    type: transform\n    transform_type: tagger\n    source: v_trips\n    target: v_tagged\n    column: origin\n    value: app\n  - name: write_trips\n    type: write\n    source: v_tagged\n    write_target: {type: streaming_table, catalog: main, schema: out, table: trips}\n",
    );
    let out = project.generate();
    assert!(out.status.success(), "{}", text(&out));
    let code = project.generated("trips").expect("written");
    assert!(
        code.contains("return spark.read.table(\"raw.trips\")"),
        "{code}"
    );
    assert!(
        code.contains("withColumn(\"origin\", F.lit(\"app\"))"),
        "{code}"
    );
    py_compile(&project.path().join("generated/dev/p/trips.py"));

    let out = lhp(
        project.path(),
        &["plugin", "new", "Bad-Name", "--kind", "template"],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = lhp(
        project.path(),
        &[
            "plugin", "new", "trips", "--kind", "template", "--dir", &dir_text,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "an existing plugin is not overwritten"
    );
}

#[test]
fn secrets_in_plugin_code_become_dbutils_calls() {
    let project =
        Project::new("name: secrets\nplugins:\n  discover_path: false\n  directories: [plugins]\n");
    project.file(
        "substitutions/dev.yaml",
        "dev:\n  catalog: main\nsecrets:\n  default_scope: vault\n  scopes:\n    vault: vault_dev\n",
    );
    project.file(
        "plugins/jdbcish/lhp-plugin.yaml",
        "name: jdbcish\nversion: 1.0.0\nprovides:\n  - kind: transform\n    type: jdbcish\n    template: t.py.j2\n    parameters:\n      password: {type: string, required: true}\n",
    );
    project.file(
        "plugins/jdbcish/t.py.j2",
        "@dp.temporary_view()\ndef {{ target }}():\n    password = {{ config.password | py }}\n    return spark.read.table({{ source | py }})\n",
    );
    project.flowgroup("whole", "jdbcish", "    password: ${secret:vault/db_pw}\n");
    project.flowgroup(
        "embedded",
        "jdbcish",
        "    password: \"user:${secret:vault/db_pw}\"\n",
    );
    let out = project.generate();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let whole = project.generated("whole").expect("written");
    assert!(
        whole.contains("password = dbutils.secrets.get(scope=\"vault_dev\", key=\"db_pw\")"),
        "{whole}"
    );
    assert!(!whole.contains("__SECRET_"), "{whole}");
    assert!(project.generated("embedded").is_none());
    assert!(
        all.contains(
            "plugin `jdbcish` put secret ${secret:vault_dev/db_pw} inside a larger string"
        ),
        "{all}"
    );
}

/// A process plugin that misbehaves as its argument says: `chatty` writes a second line
/// after each answer, `deep` returns code nested 150 brackets deep, `sidefile` asks to write
/// a side file at the top of the pipeline's directory, `fstring` puts a secret in an f-string.
const MISBEHAVE: &str = r##"#!/usr/bin/env python3
import json, sys
mode = sys.argv[1]
for line in sys.stdin:
    request = json.loads(line)
    method, params = request["method"], request.get("params", {})
    result = {}
    if method == "describe":
        result = {"protocol": 1, "name": "misbehave_" + mode, "version": "1.0.0",
                  "provides": [{"kind": "transform", "type": mode + "_tf"}]}
    elif method == "generate":
        action = params["action"]
        body = "spark.read.table(%s)" % json.dumps(action["sources"][0])
        if mode == "deep":
            body = "(" * 150 + body + ")" * 150
        if mode == "fstring":
            body = 'spark.read.option("pw", f"%s").table("t")' % action["config"]["password"]
        result = {"code": "@dp.temporary_view()\ndef %s():\n    return %s\n" % (action["target"], body)}
        if mode == "sidefile":
            result["side_files"] = [{"path": "other.py", "text": "x = 1\n"}]
    elif method == "check":
        result = {"problems": []}
    print(json.dumps({"id": request["id"], "result": result}), flush=True)
    if mode == "chatty" and method == "generate":
        print("debug: done", flush=True)
    if method == "shutdown":
        break
"##;

#[test]
fn misbehaving_plugin_output_is_refused_and_blamed() {
    let project = Project::new(
        "name: misbehave\nplugins:\n  discover_path: false\n  commands:\n    - plugins/misbehave chatty\n    - plugins/misbehave deep\n    - plugins/misbehave sidefile\n    - plugins/misbehave fstring\n",
    );
    project.file("plugins/misbehave", MISBEHAVE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            project.path().join("plugins/misbehave"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }
    project.file(
        "substitutions/dev.yaml",
        "dev:\n  catalog: main\nsecrets:\n  default_scope: vault\n",
    );
    project.flowgroup("fine", "sql", "    sql: SELECT * FROM v_fine_in\n");
    for mode in ["chatty", "deep", "sidefile"] {
        project.flowgroup(mode, &format!("{mode}_tf"), "");
    }
    // The extra line after the first answer is found before the second request.
    project.flowgroup("chatty2", "chatty_tf", "");
    project.flowgroup(
        "fstring",
        "fstring_tf",
        "    password: ${secret:vault/db_pw}\n",
    );
    let out = project.generate();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(project.generated("fine").is_some(), "{all}");
    for expected in [
        // Whether the extra line is seen before the next request or read as its answer
        // depends on timing; either way it fails that request, named.
        "(transform type `chatty_tf`): it answered `generate` with something that is not a protocol response",
        "\"debug: done\"",
        "plugin `misbehave_deep` produced code for action `shape_deep` nested 151 brackets deep",
        "plugin `misbehave_sidefile` wants to write side file \"other.py\" for action `shape_sidefile`",
        "plugin `misbehave_fstring` put secret ${secret:vault/db_pw} inside a larger string",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    for failed in ["deep", "sidefile", "fstring"] {
        assert!(project.generated(failed).is_none(), "{failed}: {all}");
    }
    let chatty = [project.generated("chatty"), project.generated("chatty2")];
    // The first answer may be taken before its extra line comes; at least one fails.
    assert!(chatty.iter().any(Option::is_none), "{all}");
}

#[test]
fn a_failing_flowgroup_keeps_its_last_generated_file_and_bad_settings_do_not_panic() {
    let project = Project::new(&format!(
        "name: keep\nplugins:\n  discover_path: false\n  commands: [{}]\n",
        fixture("good")
    ));
    project.flowgroup("kept", "good_tf", "");
    let out = project.generate();
    assert!(out.status.success(), "{}", text(&out));
    let before = project.generated("kept").expect("written");
    // The plugin now refuses the action: the flowgroup fails, its last file stays.
    project.flowgroup("kept", "good_tf", "    note: 7\n");
    let out = project.generate();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("removed /"), "{all}");
    assert_eq!(project.generated("kept").as_deref(), Some(before.as_str()));

    project.file(
        "lhp.yaml",
        "name: keep\nplugins:\n  timeout: 9223372036854775807\n",
    );
    let out = lhp(project.path(), &["validate", "--env", "dev"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("`plugins.timeout` is a whole number of seconds from 1 to 86400"),
        "{all}"
    );
}
