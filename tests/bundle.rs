//! End-to-end tests of what `lhp generate` writes around the code: the bundle resources
//! (`resources/lhp/<pipeline>.pipeline.yml`, from the `-pc` pipeline config) and
//! event-log monitoring (its pipeline, `monitoring/<env>/union_event_logs.py` and the job).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lhp::plugin::{load_documents, Limits, Sources};
use serde_json::Value as Json;

const LHP_YAML: &str = r#"name: harbour
version: "1.0"
event_log:
  catalog: "${catalog}"
  schema: ops
  name_prefix: "el_"
  name_suffix: "_log"
"#;

const MONITORING: &str = r#"monitoring:
  checkpoint_path: "/Volumes/${catalog}/ops/checkpoints"
  job_config_path: config/job.yaml
  max_concurrent_streams: 2
"#;

const PIPELINE_CONFIG: &str = r#"project_defaults:
  catalog: "${catalog}"
  schema: raw
  configuration:
    harbour.env: "${catalog}"
    harbour.pattern: "[0-9]{4}"
  tags:
    team: harbour
  packaging: source
---
pipeline: [landing]
event_log: false
---
pipeline: marts
schema: "${marts_schema}"
serverless: false
edition: CORE
clusters:
  - label: default
    node_type_id: Standard_D4ds_v5
    autoscale: {min_workers: 1, max_workers: 4}
permissions:
  - {level: CAN_VIEW, group_name: analysts}
run_as:
  service_principal_name: sp-harbour
"#;

/// A small bundle of our own: two pipelines, an event log, a pipeline config; with
/// `monitoring` appended to lhp.yaml when given.
fn bundle_project(monitoring: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = [
        (
            "lhp.yaml",
            format!("{LHP_YAML}{}", monitoring.unwrap_or_default()),
        ),
        ("databricks.yml", "bundle:\n  name: harbour\n".to_owned()),
        (
            "substitutions/dev.yaml",
            "dev:\n  catalog: harbour_dev\n  marts_schema: marts\n".to_owned(),
        ),
        ("config/pc.yaml", PIPELINE_CONFIG.to_owned()),
        (
            "config/job.yaml",
            "timeout_seconds: 600\ntags:\n  env: \"${catalog}\"\n".to_owned(),
        ),
        (
            "pipelines/landing.yaml",
            "pipeline: landing\nflowgroup: ships\nactions:\n  - name: load_ships\n    type: load\n    source: {type: delta, database: \"${catalog}.src\", table: ships}\n    target: v_ships\n  - name: write_ships\n    type: write\n    source: v_ships\n    write_target: {type: streaming_table, database: \"${catalog}.raw\", table: ships}\n".to_owned(),
        ),
        (
            "pipelines/marts.yaml",
            "pipeline: marts\nflowgroup: berths\nactions:\n  - name: load_berths\n    type: load\n    source: {type: delta, database: \"${catalog}.raw\", table: ships}\n    target: v_berths\n  - name: write_berths\n    type: write\n    source: v_berths\n    write_target: {type: materialized_view, database: \"${catalog}.marts\", table: berths}\n".to_owned(),
        ),
    ];
    for (relative, text) in files {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn lhp(project: &Path, args: &[&str]) -> Output {
    // Runs that generate do it without hooks (validate publishes nothing).
    let no_hooks = args.first().is_some_and(|command| *command != "validate");
    Command::new(env!("CARGO_BIN_EXE_lhp"))
        .args(args)
        .args(no_hooks.then_some("--no-hooks"))
        .current_dir(project)
        .env("NO_COLOR", "1")
        .output()
        .expect("lhp runs")
}

/// `validate` and `generate` with `-pc config/pc.yaml` both fail (exit 1) and both say
/// each of `expected`; `case` names what is tested in the messages.
fn both_refuse(project: &Path, case: &str, expected: &[&str]) {
    for command in ["validate", "generate"] {
        let out = lhp(project, &[command, "-pc", "config/pc.yaml"]);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{command} {case}: {text}");
        for needle in expected {
            assert!(
                text.contains(needle),
                "{command} {case}: {needle:?} in {text}"
            );
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A YAML file as JSON, to look into.
fn yaml(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sources = Sources::default();
    let file = sources.add(path, text.clone());
    let mut documents = load_documents(file, text.as_bytes(), Limits::default())
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
    assert_eq!(documents.len(), 1, "{text}");
    documents.remove(0).to_json()
}

fn resource(project: &Path, pipeline: &str) -> Json {
    let document = yaml(
        &project
            .join("resources/lhp")
            .join(format!("{pipeline}.pipeline.yml")),
    );
    document["resources"]["pipelines"][format!("{pipeline}_pipeline")].clone()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.path().strip_prefix(dir).expect("inside").to_owned());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn each_pipeline_gets_a_resource_from_the_pipeline_config() {
    let project = bundle_project(None);
    let out = lhp(project.path(), &["generate", "-pc", "config/pc.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let landing = resource(project.path(), "landing");
    assert_eq!(landing["name"], "landing_pipeline");
    assert_eq!(landing["catalog"], "harbour_dev");
    assert_eq!(landing["schema"], "raw");
    assert_eq!(landing["serverless"], true);
    assert_eq!(landing["channel"], "CURRENT");
    assert_eq!(
        landing["libraries"][0]["glob"]["include"],
        "${workspace.file_path}/generated/${bundle.target}/landing/**"
    );
    assert_eq!(
        landing["root_path"],
        "${workspace.file_path}/generated/${bundle.target}/landing"
    );
    assert_eq!(
        landing["configuration"]["bundle.sourcePath"],
        "${workspace.file_path}/generated/${bundle.target}"
    );
    assert_eq!(landing["configuration"]["harbour.env"], "harbour_dev");
    // A bare `{4}` is text, not a token.
    assert_eq!(landing["configuration"]["harbour.pattern"], "[0-9]{4}");
    assert_eq!(landing["tags"]["team"], "harbour");
    // `event_log: false` in its document; serverless, so no edition; packaging is lhp's own.
    for absent in [
        "event_log",
        "edition",
        "clusters",
        "packaging",
        "continuous",
    ] {
        assert!(landing.get(absent).is_none(), "{absent}: {landing}");
    }

    let marts = resource(project.path(), "marts");
    assert_eq!(marts["schema"], "marts");
    assert_eq!(marts["serverless"], false);
    assert_eq!(marts["edition"], "CORE");
    assert_eq!(marts["clusters"][0]["node_type_id"], "Standard_D4ds_v5");
    assert_eq!(marts["clusters"][0]["autoscale"]["max_workers"], 4);
    assert_eq!(marts["permissions"][0]["group_name"], "analysts");
    assert_eq!(marts["run_as"]["service_principal_name"], "sp-harbour");
    assert_eq!(
        marts["event_log"],
        serde_json::json!({"name": "el_marts_log", "schema": "ops", "catalog": "harbour_dev"})
    );
    assert_eq!(
        files_under(&project.path().join("resources")),
        [
            PathBuf::from("lhp/landing.pipeline.yml"),
            PathBuf::from("lhp/marts.pipeline.yml")
        ]
    );

    // Same input, same bytes: a second run has nothing to do, and changes nothing.
    let before = std::fs::read(project.path().join("resources/lhp/marts.pipeline.yml"));
    let again = lhp(
        project.path(),
        &["generate", "--pipeline-config=config/pc.yaml"],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("nothing to do: 2 flowgroup(s) of 2 pipeline(s)"),
        "{}",
        stderr(&again)
    );
    let forced = lhp(
        project.path(),
        &["generate", "--pipeline-config=config/pc.yaml", "--force"],
    );
    assert!(
        stderr(&forced).contains("0 file(s) written, 2 unchanged, 0 removed"),
        "{}",
        stderr(&forced)
    );
    assert_eq!(
        before.ok(),
        std::fs::read(project.path().join("resources/lhp/marts.pipeline.yml")).ok()
    );
}

#[test]
fn a_bundle_needs_its_pipeline_config_unless_no_bundle() {
    let project = bundle_project(None);
    // validate refuses what generate refuses (as the reference's validate does).
    let out = lhp(project.path(), &["validate"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("error[LHP-CFG-023]"), "{text}");
    for passing in [
        &["validate", "--no-bundle"][..],
        &["validate", "-pc", "config/pc.yaml"],
    ] {
        let out = lhp(project.path(), passing);
        assert!(out.status.success(), "{passing:?}: {}", stderr(&out));
    }
    assert!(
        !project.path().join("resources").exists(),
        "validate writes nothing"
    );
    let out = lhp(project.path(), &["generate"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("error[LHP-CFG-023]"), "{text}");
    assert!(text.contains("--no-bundle"), "{text}");
    assert!(
        !project.path().join("generated").exists(),
        "nothing is written"
    );

    let out = lhp(project.path(), &["generate", "--no-bundle"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(project
        .path()
        .join("generated/dev/marts/berths.py")
        .is_file());
    assert!(!project.path().join("resources").exists());

    // Without a databricks.yml there is no bundle, and the config is not needed.
    std::fs::remove_file(project.path().join("databricks.yml")).expect("remove");
    let out = lhp(project.path(), &["generate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!project.path().join("resources").exists());
}

#[test]
fn hand_written_resources_stay_and_stale_generated_ones_go() {
    let project = bundle_project(None);
    let dir = project.path().join("resources/lhp");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let hand_written = "# my own\nresources: {}\n";
    std::fs::write(dir.join("extra.yml"), hand_written).expect("write");
    std::fs::write(dir.join("landing.pipeline.yml"), hand_written).expect("write");
    let stale = "# Generated by lhp (Lakehouse Plumber): the bundle resource of pipeline gone.\nresources: {}\n";
    std::fs::write(dir.join("gone.pipeline.yml"), stale).expect("write");
    let by_reference = "# Generated by LakehousePlumber - Bundle Resource for old\nresources: {}\n";
    std::fs::write(dir.join("old.pipeline.yml"), by_reference).expect("write");
    std::fs::write(project.path().join("resources/job.yml"), hand_written).expect("write");

    let out = lhp(project.path(), &["generate", "-pc", "config/pc.yaml"]);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("warning[LHP-IO-004]") && text.contains("landing.pipeline.yml"),
        "{text}"
    );
    assert_eq!(
        files_under(&project.path().join("resources")),
        [
            PathBuf::from("job.yml"),
            PathBuf::from("lhp/extra.yml"),
            PathBuf::from("lhp/landing.pipeline.yml"),
            PathBuf::from("lhp/marts.pipeline.yml"),
        ]
    );
    // A document for a pipeline the project does not have is most likely a typo.
    let config = std::fs::read_to_string(project.path().join("config/pc.yaml")).expect("config");
    std::fs::write(
        project.path().join("config/pc.yaml"),
        config.replace("pipeline: marts\n", "pipeline: mart\n"),
    )
    .expect("write");
    let out = lhp(project.path(), &["generate", "-pc", "config/pc.yaml"]);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("warning[LHP-CFG-009]") && text.contains("did you mean `marts`?"),
        "{text}"
    );
    for kept in ["lhp/extra.yml", "lhp/landing.pipeline.yml", "job.yml"] {
        let text = std::fs::read_to_string(project.path().join("resources").join(kept));
        assert_eq!(text.ok().as_deref(), Some(hand_written), "{kept}");
    }
}

#[test]
fn pipeline_config_mistakes_are_errors_at_their_line_and_nothing_is_written() {
    let cases = [
        (
            "project_defaults:\n  schema: raw\n",
            "LHP-CFG-026",
            "config/pc.yaml:2",
        ),
        (
            "project_defaults:\n  catalog: \"${nope}\"\n  schema: raw\n",
            "LHP-CFG-010",
            "config/pc.yaml:2",
        ),
        (
            "project_defaults: {catalog: c, schema: s}\n---\npipeline: marts\nedition: GOLD\n",
            "LHP-VAL-009",
            "config/pc.yaml:4",
        ),
        (
            "project_defaults: {catalog: c, schema: s}\n---\npipeline: marts\n---\npipeline: [landing, marts]\n",
            "LHP-VAL-006",
            "config/pc.yaml:5",
        ),
        (
            "project_defaults: {catalog: c, schema: s}\n---\npipeline: marts\nconfiguration: {retries: 3}\n",
            "LHP-VAL-009",
            "config/pc.yaml:4",
        ),
        (
            "project_defaults: {catalog: c, schema: s, packaging: wheel}\n",
            "LHP-VAL-009",
            "config/pc.yaml:1",
        ),
        ("project_defaults: [unclosed\n", "LHP-CFG-009", "config/pc.yaml"),
        (
            "project_defaults:\n---\npipeline: marts\ncatalog: c\nschema: s\n",
            "LHP-CFG-026",
            "config/pc.yaml:1",
        ),
        (
            "project_defaults: {catalog: c, schema: s}\n---\npipeline: marts\nroot_path: /elsewhere\n",
            "LHP-VAL-009",
            "config/pc.yaml:4",
        ),
        (
            "project_defaults: {catalog: c, schema: s, tags: {token: \"${secret:ops/token}\"}}\n",
            "LHP-CFG-010",
            "config/pc.yaml:1",
        ),
    ];
    for (config, code, position) in cases {
        let project = bundle_project(None);
        std::fs::write(project.path().join("config/pc.yaml"), config).expect("write");
        // validate finds what generate refuses, at the same place.
        both_refuse(
            project.path(),
            config,
            &[&format!("error[{code}]"), position],
        );
        assert!(!project.path().join("generated").exists(), "{config}");
        assert!(!project.path().join("resources").exists(), "{config}");
    }
    let project = bundle_project(None);
    let out = lhp(project.path(), &["generate", "-pc", "config/missing.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error[LHP-CFG-001]") && stderr(&out).contains("config/missing.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn monitoring_writes_its_pipeline_notebook_and_job_and_removes_them_when_turned_off() {
    let project = bundle_project(Some(MONITORING));
    let out = lhp(project.path(), &["generate", "-pc", "config/pc.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let root = project.path();

    // The pipeline: the run summary over the union table, in the event log's schema.
    let module = std::fs::read_to_string(
        root.join("generated/dev/harbour_event_log_monitoring/monitoring.py"),
    )
    .expect("the monitoring pipeline");
    assert!(
        module.contains("name=\"harbour_dev.ops.events_summary\""),
        "{module}"
    );
    assert!(
        module.contains("FROM harbour_dev.ops.all_pipelines_event_log"),
        "{module}"
    );

    // The notebook reads the event log of `marts` only: `landing` turned its log off.
    let notebook = root.join("monitoring/dev/union_event_logs.py");
    let text = std::fs::read_to_string(&notebook).expect("the union notebook");
    assert!(
        text.contains("TARGET_TABLE = \"harbour_dev.ops.all_pipelines_event_log\"\n"),
        "{text}"
    );
    assert!(
        text.contains("CHECKPOINT_BASE = \"/Volumes/harbour_dev/ops/checkpoints\"\n"),
        "{text}"
    );
    assert!(text.contains("MAX_WORKERS = 2\n"), "{text}");
    assert!(
        text.contains("SOURCES = [\n    (\"marts\", \"harbour_dev.ops.el_marts_log\"),\n]\n"),
        "{text}"
    );
    let bytecode = tempfile::tempdir().expect("temp dir");
    if let Ok(check) = Command::new("python3")
        .env("PYTHONPYCACHEPREFIX", bytecode.path())
        .args(["-m", "py_compile"])
        .arg(&notebook)
        .output()
    {
        assert!(check.status.success(), "{}", stderr(&check));
    }

    // The job: the union, then the pipeline; its settings substituted.
    let job = yaml(&root.join("resources/harbour_event_log_monitoring.job.yml"));
    let job = &job["resources"]["jobs"]["harbour_event_log_monitoring_job"];
    assert_eq!(job["tasks"][0]["task_key"], "union_event_logs");
    assert_eq!(
        job["tasks"][0]["notebook_task"]["notebook_path"],
        "${workspace.file_path}/monitoring/${bundle.target}/union_event_logs"
    );
    assert_eq!(
        job["tasks"][1]["pipeline_task"]["pipeline_id"],
        "${resources.pipelines.harbour_event_log_monitoring_pipeline.id}"
    );
    assert_eq!(job["timeout_seconds"], 600);
    assert_eq!(job["tags"]["env"], "harbour_dev");
    assert_eq!(job["queue"]["enabled"], true);
    assert_eq!(job["performance_target"], "STANDARD");
    // The monitoring pipeline is a bundle pipeline too, without an event log of its own.
    let resource = resource(root, "harbour_event_log_monitoring");
    assert_eq!(resource["catalog"], "harbour_dev");
    assert!(resource.get("event_log").is_none(), "{resource}");

    // A hand-written file where the job goes is left as it is, and said so.
    let job_path = root.join("resources/harbour_event_log_monitoring.job.yml");
    std::fs::write(&job_path, "resources: {}\n").expect("write");
    let out = lhp(root, &["generate", "-pc", "config/pc.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning[LHP-IO-004]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&job_path).ok().as_deref(),
        Some("resources: {}\n")
    );
    std::fs::remove_file(&job_path).expect("remove");

    // Turned off: everything monitoring wrote goes; the rest stays.
    let config = std::fs::read_to_string(root.join("lhp.yaml")).expect("lhp.yaml");
    std::fs::write(
        root.join("lhp.yaml"),
        config.replace("monitoring:\n", "monitoring:\n  enabled: false\n"),
    )
    .expect("write");
    let out = lhp(root, &["generate", "-pc", "config/pc.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!root.join("monitoring").exists());
    assert!(!root
        .join("generated/dev/harbour_event_log_monitoring")
        .exists());
    assert_eq!(
        files_under(&root.join("resources")),
        [
            PathBuf::from("lhp/landing.pipeline.yml"),
            PathBuf::from("lhp/marts.pipeline.yml")
        ]
    );
}

/// Job settings the monitoring job cannot carry, and pipeline settings a resource cannot
/// carry, used to be left out without a word: each is an error at its line, found by
/// validate and generate alike, and nothing is written.
#[test]
fn settings_of_a_shape_the_files_cannot_carry_are_errors_at_their_line() {
    let job_cases = [
        (
            "tags: [a, b]\n",
            "config/job.yaml:1",
            "`tags` in the monitoring job config must be a mapping",
        ),
        (
            "schedule: \"0 0 * * *\"\n",
            "config/job.yaml:1",
            "`schedule` in the monitoring job config must be a mapping",
        ),
        (
            "email_notifications: [ops@example.com]\n",
            "config/job.yaml:1",
            "`email_notifications` in the monitoring job config must be a mapping",
        ),
        (
            "email_notifications:\n  on_failure: ops@example.com\n",
            "config/job.yaml:2",
            "`email_notifications.on_failure` must be a list",
        ),
        (
            "timeout_seconds: 60\ntasks: []\n",
            "config/job.yaml:2",
            "the monitoring job's `tasks` are lhp's",
        ),
        (
            "permissions: {level: CAN_VIEW}\n",
            "config/job.yaml:1",
            "`permissions` in the monitoring job config must be a list",
        ),
    ];
    for (job, position, expected) in job_cases {
        let project = bundle_project(Some(MONITORING));
        std::fs::write(project.path().join("config/job.yaml"), job).expect("write");
        both_refuse(
            project.path(),
            job,
            &["error[LHP-CFG-008]", expected, position],
        );
        assert!(!project.path().join("generated").exists(), "{job}");
        assert!(!project.path().join("resources").exists(), "{job}");
    }
    let pipeline_cases = [
        ("tags: [a]\n", "`tags` must be a mapping"),
        (
            "notifications: {email_recipients: [a@example.com]}\n",
            "`notifications` must be a list",
        ),
        (
            "notifications:\n  - ops@example.com\n",
            "a notification must be a mapping",
        ),
        (
            "notifications:\n  - {email_recipients: a@example.com}\n",
            "`email_recipients` must be a list",
        ),
        (
            "serverless: false\nclusters: {label: default}\n",
            "`clusters` must be a list",
        ),
        (
            "serverless: false\nclusters:\n  - default\n",
            "a cluster must be a mapping",
        ),
    ];
    for (settings, expected) in pipeline_cases {
        let project = bundle_project(None);
        let config = format!(
            "project_defaults: {{catalog: c, schema: s}}\n---\npipeline: marts\n{settings}"
        );
        std::fs::write(project.path().join("config/pc.yaml"), config).expect("write");
        both_refuse(
            project.path(),
            settings,
            &["error[LHP-VAL-009]", expected, "config/pc.yaml:"],
        );
        assert!(!project.path().join("resources").exists(), "{settings}");
    }
}

#[test]
fn monitoring_settings_are_checked_where_they_are_written() {
    let cases = [
        ("monitoring:\n  job_config_path: config/job.yaml\n", "checkpoint_path"),
        (
            "monitoring:\n  checkpoint_path: /v\n  job_config_path: config/job.yaml\n  max_concurrent_streams: 50\n",
            "from 1 to 20",
        ),
        (
            "monitoring:\n  checkpoint_path: /v\n  job_config_path: config/job.yaml\n  materialized_views:\n    - name: a\n",
            "needs `sql` or `sql_path`",
        ),
        (
            "monitoring:\n  checkpoint_path: /v\n  job_config_path: config/job.yaml\n  materialized_views:\n    - {name: a, sql: SELECT 1}\n    - {name: a, sql: SELECT 2}\n",
            "declared twice",
        ),
        (
            "monitoring:\n  pipeline_name: ../../outside\n  checkpoint_path: /v\n  job_config_path: config/job.yaml\n",
            "letters, digits",
        ),
        (
            "monitoring:\n  checkpoint_path: /v\n  job_config_path: config/missing.yaml\n",
            "cannot read the monitoring job config",
        ),
    ];
    for (section, expected) in cases {
        let project = bundle_project(Some(section));
        let out = lhp(project.path(), &["generate", "-pc", "config/pc.yaml"]);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{section}: {text}");
        assert!(text.contains("error[LHP-CFG-008]"), "{section}: {text}");
        assert!(text.contains(expected), "{section}: {text}");
        assert!(text.contains("lhp.yaml:"), "{section}: {text}");
        // Checked before anything is written.
        assert!(!project.path().join("generated").exists(), "{section}");
    }
}
