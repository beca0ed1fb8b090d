//! End-to-end tests of `lhp init`, `diff`, `dag`, `substitutions`, `list` and
//! `completions`, and of every command's help: output and exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lhp_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lhp"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the lhp binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A new project made by `lhp init` in a fresh temporary directory.
fn init(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut all = vec!["init"];
    all.extend_from_slice(args);
    let out = lhp_in(dir.path(), &all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let project = dir.path().join(args[0]);
    (dir, project)
}

/// Every file under `dir`, relative to it, with its content; directories too (empty).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at)
            .expect("a readable directory")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                files.push((path.strip_prefix(dir).unwrap_or(&path).join(""), Vec::new()));
                stack.push(path);
            } else {
                let content = std::fs::read(&path).expect("a readable file");
                files.push((path.strip_prefix(dir).unwrap_or(&path).to_owned(), content));
            }
        }
    }
    files.sort();
    files
}

fn py_compile(files: &[PathBuf]) {
    let Ok(status) = Command::new("python3").arg("--version").output() else {
        return;
    };
    assert!(status.status.success());
    let out = Command::new("python3")
        .args(["-m", "py_compile"])
        .args(files)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", stderr(&out));
}

fn python_files(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_iter()
        .map(|(p, _)| dir.join(p))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "py"))
        .collect()
}

#[test]
fn init_makes_a_starter_that_validates_and_generates_as_created() {
    let (_dir, project) = init(&["demo"]);
    let lhp_yaml = std::fs::read_to_string(project.join("lhp.yaml")).expect("lhp.yaml");
    assert!(lhp_yaml.contains("name: demo"), "{lhp_yaml}");
    assert!(!snapshot(&project)
        .iter()
        .any(|(_, text)| String::from_utf8_lossy(text).contains("__LHP_PROJECT__")));
    assert!(!project.join("databricks.yml").exists());
    for env in ["dev", "prod"] {
        let out = lhp_in(&project, &["validate", "--env", env, "--strict"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("0 error(s), 0 warning(s)"),
            "{}",
            stderr(&out)
        );
    }
    let out = lhp_in(&project, &["generate", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let modules = python_files(&project.join("generated/dev"));
    assert_eq!(modules.len(), 2, "{modules:?}");
    py_compile(&modules);
}

#[test]
fn init_sample_as_a_bundle_generates_every_environment_with_its_tests() {
    let (_dir, project) = init(&["roastery", "--sample", "--bundle"]);
    assert!(project.join("databricks.yml").is_file());
    for env in ["dev", "tst", "prod"] {
        let out = lhp_in(
            &project,
            &[
                "generate",
                "--env",
                env,
                "--include-tests",
                "-pc",
                "config/pipeline_config.yaml",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{env}: {}", stderr(&out));
        let modules = python_files(&project.join("generated").join(env));
        assert_eq!(modules.len(), 12, "{env}: {modules:?}");
        py_compile(&modules);
    }
    let resources = snapshot(&project.join("resources/lhp"));
    let names: Vec<String> = resources
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "roastery_bronze.pipeline.yml",
            "roastery_gold.pipeline.yml",
            "roastery_silver.pipeline.yml"
        ]
    );
}

#[test]
fn init_refuses_a_used_directory_and_a_bad_name_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("taken")).expect("a directory");
    std::fs::write(dir.path().join("taken/notes.txt"), "mine").expect("a file");
    let before = snapshot(dir.path());
    let out = lhp_in(dir.path(), &["init", "taken"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("LHP-CLI-007"), "{}", stderr(&out));
    for bad in ["2fast", "a/b", "has space"] {
        let out = lhp_in(dir.path(), &["init", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("LHP-CLI-004"), "{}", stderr(&out));
    }
    assert_eq!(snapshot(dir.path()), before);
    // An empty directory given with --dir is fine.
    std::fs::create_dir(dir.path().join("empty")).expect("a directory");
    let out = lhp_in(dir.path(), &["init", "lake", "--dir", "empty"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("empty/lhp.yaml").is_file());
    // And the current directory, when it is empty.
    let here = dir.path().join("here");
    std::fs::create_dir(&here).expect("a directory");
    let out = lhp_in(&here, &["init", "lake", "--dir", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(here.join("lhp.yaml").is_file());
    assert!(
        stdout(&out).contains("lhp generate --env dev"),
        "{}",
        stdout(&out)
    );
}

/// `lhp diff --name-only` lines, and its exit status.
fn name_only(project: &Path, extra: &[&str]) -> (Vec<String>, Option<i32>) {
    let mut args = vec!["diff", "--name-only"];
    args.extend_from_slice(extra);
    let out = lhp_in(project, &args);
    let lines = stdout(&out).lines().map(str::to_owned).collect();
    (lines, out.status.code())
}

#[test]
fn diff_shows_what_generate_would_change_and_writes_nothing() {
    let (_dir, project) = init(&["shop"]);
    let before = snapshot(&project);
    let out = lhp_in(&project, &["diff"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("--- /dev/null\n+++ b/generated/dev/bronze/orders.py\n"),
        "{text}"
    );
    assert!(text.contains("+# Generated by lhp"), "{text}");
    assert!(
        stderr(&out).contains("2 new, 0 changed, 0 removed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&project), before, "diff wrote something");
    let (lines, code) = name_only(&project, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        lines,
        [
            "+ generated/dev/bronze/customers.py",
            "+ generated/dev/bronze/orders.py"
        ]
    );

    let out = lhp_in(&project, &["generate", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = lhp_in(&project, &["diff"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("no changes"), "{}", stderr(&out));

    // A token changes both modules; a removed flowgroup removes its module.
    let dev = project.join("substitutions/dev.yaml");
    let tokens = std::fs::read_to_string(&dev).expect("dev.yaml");
    assert!(tokens.contains("catalog: dev_catalog"), "{tokens}");
    std::fs::write(&dev, tokens.replace("catalog: dev_catalog", "catalog: lab")).expect("write");
    std::fs::remove_file(project.join("pipelines/bronze/customers.yaml")).expect("remove");
    let out = lhp_in(&project, &["diff"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "--- a/generated/dev/bronze/orders.py\n+++ b/generated/dev/bronze/orders.py\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("-    name=\"dev_catalog.bronze.orders\""),
        "{text}"
    );
    assert!(text.contains("+    name=\"lab.bronze.orders\""), "{text}");
    assert!(text.contains("+++ /dev/null\n"), "{text}");
    let (lines, _) = name_only(&project, &[]);
    assert_eq!(
        lines,
        [
            "- generated/dev/bronze/customers.py",
            "~ generated/dev/bronze/orders.py"
        ]
    );
    // What generate then does is what the diff said.
    let out = lhp_in(&project, &["generate"]);
    let said = stderr(&out);
    let generated = project
        .canonicalize()
        .expect("the project")
        .join("generated/dev/bronze");
    let wrote = format!("wrote {}\n", generated.join("orders.py").display());
    let removed = format!("removed {}\n", generated.join("customers.py").display());
    assert!(said.contains(&wrote) && said.contains(&removed), "{said}");
    assert!(
        said.contains("1 file(s) written, 0 unchanged, 1 removed"),
        "{said}"
    );
    assert_eq!(name_only(&project, &[]), (Vec::new(), Some(0)));
}

#[test]
fn diff_covers_the_bundle_resources_and_scopes_to_a_pipeline() {
    let (_dir, project) = init(&["roast", "--sample", "--bundle"]);
    let out = lhp_in(&project, &["diff"]);
    assert_eq!(out.status.code(), Some(2), "a bundle needs -pc");
    assert!(stderr(&out).contains("LHP-CFG-023"), "{}", stderr(&out));
    let pc = ["-pc", "config/pipeline_config.yaml"];
    let before = snapshot(&project);
    let (lines, code) = name_only(&project, &pc);
    assert_eq!(code, Some(1));
    assert_eq!(snapshot(&project), before, "diff wrote something");
    assert_eq!(lines.len(), 15, "{lines:?}");
    assert!(lines.contains(&"+ resources/lhp/roastery_gold.pipeline.yml".to_owned()));
    let (lines, _) = name_only(&project, &["--no-bundle"]);
    assert_eq!(lines.len(), 12, "{lines:?}");
    let (lines, _) = name_only(&project, &["--no-bundle", "--pipeline", "roastery_gold"]);
    assert_eq!(
        lines,
        [
            "+ generated/dev/roastery_gold/customer_directory.py",
            "+ generated/dev/roastery_gold/lot_yield.py",
            "+ generated/dev/roastery_gold/roast_daily.py"
        ]
    );
    let (_, code) = name_only(&project, &["--no-bundle", "--pipeline", "nope"]);
    assert_eq!(code, Some(2));
    let out = lhp_in(
        &project,
        &["generate", "-q", "-pc", "config/pipeline_config.yaml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(name_only(&project, &pc), (Vec::new(), Some(0)));
    // A hand edit of a resource is drift too.
    let resource = project.join("resources/lhp/roastery_gold.pipeline.yml");
    let text = std::fs::read_to_string(&resource).expect("the resource");
    std::fs::write(&resource, format!("{text}# edited\n")).expect("write");
    let (lines, code) = name_only(&project, &pc);
    assert_eq!(
        (lines, code),
        (
            vec!["~ resources/lhp/roastery_gold.pipeline.yml".to_owned()],
            Some(1)
        )
    );
}

#[test]
fn diff_covers_monitoring_files_and_writes_none_of_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pedal");
    let project = dir.path().join("pedal");
    let out = Command::new("cp")
        .arg("-a")
        .arg(&example)
        .arg(&project)
        .output()
        .expect("cp");
    assert!(out.status.success());
    for gone in ["generated", "monitoring", "resources/lhp", ".lhp"] {
        let _ = std::fs::remove_dir_all(project.join(gone));
    }
    let _ = std::fs::remove_file(project.join("resources/pedal_monitoring.job.yml"));
    let before = snapshot(&project);
    let pc = ["-pc", "config/pipeline_config.yaml"];
    let (lines, code) = name_only(&project, &pc);
    assert_eq!(code, Some(1));
    assert_eq!(snapshot(&project), before, "diff wrote something");
    for expected in [
        "+ monitoring/dev/union_event_logs.py",
        "+ resources/pedal_monitoring.job.yml",
        "+ resources/lhp/pedal_monitoring.pipeline.yml",
        "+ generated/dev/pedal_monitoring/monitoring.py",
    ] {
        assert!(
            lines.contains(&expected.to_owned()),
            "{expected}: {lines:?}"
        );
    }
    let out = lhp_in(&project, &["generate", "-q", "--no-hooks", pc[0], pc[1]]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Every file the diff named was written, and nothing else outside .lhp/.
    let after = snapshot(&project);
    let new_files: Vec<String> = after
        .iter()
        .filter(|(path, _)| !before.iter().any(|(old, _)| old == path))
        .filter(|(path, _)| project.join(path).is_file() && !path.starts_with(".lhp"))
        .map(|(path, _)| format!("+ {}", path.display()))
        .collect();
    let mut expected = lines.clone();
    expected.sort();
    assert_eq!(new_files.len(), expected.len(), "{new_files:?}");
    for line in &new_files {
        assert!(expected.contains(line), "{line}: {expected:?}");
    }
    assert_eq!(name_only(&project, &pc), (Vec::new(), Some(0)));
}

/// A project of two pipelines whose flowgroups read each other's tables.
fn circular_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("directories");
        std::fs::write(path, text).expect("a file");
    };
    write("lhp.yaml", "name: circle\n");
    write("substitutions/dev.yaml", "dev:\n  catalog: main\n");
    let flowgroup = |pipeline: &str, name: &str, reads: &str| {
        format!(
            "pipeline: {pipeline}\nflowgroup: {name}\nactions:\n\
             - name: load\n  type: load\n  readMode: stream\n  source: {{type: delta, catalog: \"${{catalog}}\", schema: s, table: {reads}}}\n  target: v_in\n\
             - name: write\n  type: write\n  source: v_in\n  write_target: {{type: streaming_table, catalog: \"${{catalog}}\", schema: s, table: {name}}}\n"
        )
    };
    write(
        "pipelines/alpha/one.yaml",
        &flowgroup("alpha", "one", "two"),
    );
    write("pipelines/beta/two.yaml", &flowgroup("beta", "two", "one"));
    write(
        "pipelines/beta/report.yaml",
        "pipeline: beta\nflowgroup: report\nactions:\n\
         - name: summary\n  type: write\n  write_target:\n    type: materialized_view\n    catalog: main\n    schema: s\n    table: report\n    sql: |\n      SELECT * FROM main.s.one o JOIN s.two t USING (id)\n",
    );
    dir
}

#[test]
fn dag_names_edges_across_pipelines_and_the_cycles() {
    let dir = circular_project();
    let out = lhp_in(dir.path(), &["dag"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("  one\n    reads  main.s.two  <- beta/two\n    writes main.s.one\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  report\n    reads  main.s.one  <- alpha/one\n    reads  main.s.two  <- beta/two\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("flowgroups: alpha/one -> beta/two -> alpha/one"),
        "{text}"
    );
    let err = stderr(&out);
    assert!(err.contains("error[LHP-DEP-001]: tables are computed from each other in a circle: main.s.one -> main.s.two -> main.s.one"), "{err}");
    assert!(err.contains("warning[LHP-DEP-002]: pipelines read each other's tables in a circle: alpha -> beta -> alpha"), "{err}");

    let out = lhp_in(dir.path(), &["dag", "--format", "json"]);
    let graph: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        graph["cycles"]["flowgroups"],
        serde_json::json!([["alpha/one", "beta/two", "alpha/one"]])
    );
    assert_eq!(
        graph["cycles"]["tables"],
        serde_json::json!([["main.s.one", "main.s.two", "main.s.one"]])
    );
    let edges = graph["edges"]["flowgroups"].as_array().expect("edges");
    assert_eq!(edges.len(), 4, "{edges:?}");
    assert!(edges.contains(
        &serde_json::json!({"from": "alpha/one", "to": "beta/report", "tables": ["main.s.one"]})
    ));
}

#[test]
fn dag_accepts_flowgroups_of_one_pipeline_that_depend_on_each_other_without_a_table_cycle() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    std::fs::write(root.join("lhp.yaml"), "name: braid\n").expect("lhp.yaml");
    std::fs::create_dir_all(root.join("pipelines/g")).expect("dir");
    // a: u -> t1.  b: t0 -> u, and t1 -> t2.  Flowgroups a and b feed each other; tables do not.
    std::fs::write(
        root.join("pipelines/g/a.yaml"),
        "pipeline: g\nflowgroup: a\nactions:\n\
         - {name: l, type: load, source: {type: delta, catalog: m, schema: s, table: u}, target: v_u}\n\
         - {name: w, type: write, source: v_u, write_target: {type: streaming_table, catalog: m, schema: s, table: t1}}\n",
    )
    .expect("a");
    std::fs::write(
        root.join("pipelines/g/b.yaml"),
        "pipeline: g\nflowgroup: b\nactions:\n\
         - {name: l0, type: load, source: {type: delta, catalog: m, schema: s, table: t0}, target: v_t0}\n\
         - {name: wu, type: write, source: v_t0, write_target: {type: streaming_table, catalog: m, schema: s, table: u}}\n\
         - {name: l1, type: load, source: {type: delta, catalog: m, schema: s, table: t1}, target: v_t1}\n\
         - {name: w2, type: write, source: v_t1, write_target: {type: streaming_table, catalog: m, schema: s, table: t2}}\n",
    )
    .expect("b");
    let out = lhp_in(root, &["dag"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.ends_with("cycles:\n  flowgroups: g/a -> g/b -> g/a\n"),
        "{text}"
    );
    assert!(!stderr(&out).contains("LHP-DEP"), "{}", stderr(&out));
}

/// The reference's flags that scripts pass (`--no-progress`, and diff's `--exit-code` and
/// `-s/--show-details`) are accepted, and change nothing that a script reads.
#[test]
fn the_references_flags_are_accepted_where_scripts_pass_them() {
    let (_dir, project) = init(&["starter"]);
    let out = lhp_in(&project, &["validate", "--env", "dev", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = lhp_in(
        &project,
        &["diff", "--env", "dev", "--exit-code", "-s", "--no-progress"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "changes to make: {}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("+++ "),
        "unified diffs: {}",
        stdout(&out)
    );
    let out = lhp_in(
        &project,
        &["generate", "--env", "dev", "--no-progress", "--no-hooks"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = lhp_in(
        &project,
        &["diff", "--env", "dev", "--show-details", "--exit-code"],
    );
    assert_eq!(out.status.code(), Some(0), "nothing left: {}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

/// A project with an error gets no graph, and is pointed to the validate that shows the
/// same errors: in a bundle, one without the pipeline config dag does not read.
#[test]
fn dag_of_a_project_with_errors_names_the_validate_that_shows_them() {
    for bundle in [false, true] {
        let mut args = vec!["roast", "--sample"];
        if bundle {
            args.push("--bundle");
        }
        let (_dir, project) = init(&args);
        std::fs::write(
            project.join("pipelines/broken.yaml"),
            "pipeline: x\nflowgroup: broken\nactions: 3\n",
        )
        .expect("write");
        let out = lhp_in(&project, &["dag", "--env", "dev"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let suggested = if bundle {
            "`lhp validate --env dev --no-bundle` shows the same"
        } else {
            "`lhp validate --env dev` shows the same"
        };
        assert!(stderr(&out).contains(suggested), "{}", stderr(&out));
        // ...and it does: the same error, and nothing else.
        let command: Vec<&str> = suggested
            .trim_start_matches("`lhp ")
            .trim_end_matches("` shows the same")
            .split(' ')
            .collect();
        let check = lhp_in(&project, &command);
        assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
        assert_eq!(
            stderr(&check).matches("error[").count(),
            1,
            "{}",
            stderr(&check)
        );
    }
}

#[test]
fn dag_writes_text_dot_mermaid_and_json_of_the_sample_in_run_order() {
    let (_dir, project) = init(&["roast", "--sample"]);
    let out = lhp_in(&project, &["dag", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("pipelines, each after those it reads from:\n  1. roastery_bronze\n  2. roastery_silver  <- roastery_bronze"), "{text}");
    assert!(
        text.contains("  3. roastery_gold  <- roastery_silver"),
        "{text}"
    );
    assert!(text.ends_with("cycles: none\n"), "{text}");

    let out = lhp_in(&project, &["dag", "-f", "dot"]);
    let dot = stdout(&out);
    assert!(dot.starts_with("digraph lhp {\n"), "{dot}");
    assert!(dot.contains("label=\"roastery_silver\""), "{dot}");
    assert!(dot.contains("\"table:roastery_dev.bronze.roast_batches\" -> \"flowgroup:roastery_silver/roast_batches\";"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));

    let out = lhp_in(&project, &["dag", "-f", "mermaid"]);
    let mermaid = stdout(&out);
    assert!(
        mermaid.starts_with("flowchart LR\n  subgraph p0[\"roastery_bronze\"]\n"),
        "{mermaid}"
    );
    assert_eq!(mermaid.matches("subgraph").count(), 3);

    let out = lhp_in(&project, &["dag", "-f", "json", "-o", "dag.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let graph: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join("dag.json")).expect("dag.json"))
            .expect("JSON");
    let pipelines: Vec<&str> = graph["pipelines"]
        .as_array()
        .expect("pipelines")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        pipelines,
        ["roastery_bronze", "roastery_silver", "roastery_gold"]
    );
    assert_eq!(
        graph["pipelines"][1]["depends_on"],
        serde_json::json!(["roastery_bronze"])
    );

    let out = lhp_in(&project, &["dag", "-f", "svg"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn substitutions_resolves_tokens_masks_credentials_and_lists_secrets() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    std::fs::write(root.join("lhp.yaml"), "name: masked\n").expect("lhp.yaml");
    std::fs::create_dir_all(root.join("substitutions")).expect("dir");
    std::fs::write(
        root.join("substitutions/dev.yaml"),
        "dev:\n  catalog: main\n  schema: ${catalog}_raw\n  api_token: abc123\n  db: {host: h1, password: hunter2}\n  \
         db_password: s3cr3t-pw\n  jdbc_url: \"jdbc:pg://h/db?password=${db_password}\"\n  \
         broker: \"https://ops:opensesame@broker.example:443/x\"\n  storage_account_key: k3y-value\n\
         secrets:\n  default_scope: kv\n",
    )
    .expect("dev.yaml");
    std::fs::create_dir_all(root.join("pipelines/p")).expect("dir");
    std::fs::write(
        root.join("pipelines/p/f.yaml"),
        "pipeline: p\nflowgroup: f\nactions:\n\
         - name: load\n  type: load\n  source:\n    type: jdbc\n    url: jdbc:x\n    driver: d\n    user: u\n    password: \"${secret:db_pass}\"\n    table: t\n  target: v\n\
         - name: write\n  type: write\n  source: v\n  write_target: {type: streaming_table, catalog: \"${catalog}\", schema: \"${schema}\", table: t}\n",
    )
    .expect("flowgroup");
    let out = lhp_in(root, &["substitutions", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("tokens of env `dev` (substitutions/dev.yaml):\n"),
        "{text}"
    );
    assert!(text.contains("  schema               main_raw\n"), "{text}");
    assert!(text.contains("  api_token            ********\n"), "{text}");
    assert!(
        text.contains("  jdbc_url             jdbc:pg://h/db?password=********\n"),
        "{text}"
    );
    assert!(
        text.contains("  broker               https://ops:********@broker.example:443/x\n"),
        "{text}"
    );
    assert!(text.contains("\"password\":\"********\""), "{text}");
    for secret in ["abc123", "hunter2", "s3cr3t-pw", "opensesame", "k3y-value"] {
        assert!(!text.contains(secret), "{secret}: {text}");
    }
    assert!(text.contains("default secret scope: kv\n"), "{text}");
    assert!(
        text.contains("  kv/db_pass  1 use(s), first at pipelines/p/f.yaml:"),
        "{text}"
    );

    let out = lhp_in(root, &["substitutions", "--json"]);
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let token = document["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["name"] == "api_token")
        .cloned()
        .expect("api_token");
    assert_eq!(token["masked"], true);
    assert_eq!(token["value"], "********");
    let json = stdout(&out);
    for secret in ["abc123", "hunter2", "s3cr3t-pw", "opensesame", "k3y-value"] {
        assert!(!json.contains(secret), "{secret}: {json}");
    }
    assert_eq!(document["secrets"][0]["key"], "db_pass");

    // An environment without a file: only the built-in tokens, and the project's errors.
    let out = lhp_in(root, &["substitutions", "--env", "qa"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("substitutions/qa.yaml does not exist"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("  workspace_env  qa\n"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("error[LHP-CFG-008]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn list_shows_presets_templates_blueprints_plugins_and_hooks() {
    let (_dir, project) = init(&["roast", "--sample"]);
    let list = |what: &str| {
        let out = lhp_in(&project, &["list", what]);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
        stdout(&out)
    };
    let presets = list("presets");
    assert!(
        presets.starts_with("NAME          EXTENDS       USED BY  FILE"),
        "{presets}"
    );
    assert!(
        presets.contains("\nsilver_layer  bronze_layer  2        presets/silver_layer.yaml:"),
        "{presets}"
    );
    let templates = list("templates");
    assert!(
        templates.contains("landing_to_bronze  entity*, file_format, table_comment  2        2 "),
        "{templates}"
    );
    let blueprints = list("blueprints");
    assert!(
        blueprints.contains("roaster_telemetry  roaster*, files_per_trigger  1 "),
        "{blueprints}"
    );
    let plugins = list("plugins");
    assert!(plugins.contains("builtin  "), "{plugins}");
    let hooks = list("hooks");
    assert!(
        hooks.contains("event_log  default  *       4096 block  no        on"),
        "{hooks}"
    );
    assert!(
        hooks.contains("logging    default  -       -           no        off (-v turns it on)"),
        "{hooks}"
    );
    for what in ["presets", "templates", "blueprints", "plugins", "hooks"] {
        let out = lhp_in(&project, &["list", what, "--json"]);
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert!(!rows.as_array().expect("an array").is_empty(), "{what}");
    }
    let outside = tempfile::tempdir().expect("a temporary directory");
    let out = lhp_in(outside.path(), &["list", "presets"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("LHP-CFG-011"), "{}", stderr(&out));
}

#[test]
fn completions_are_scripts_for_bash_zsh_and_fish() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bash = stdout(&lhp_in(here, &["completions", "bash"]));
    assert!(
        bash.contains("_lhp()") && bash.contains("complete -F _lhp"),
        "{bash}"
    );
    for command in [
        "init",
        "diff",
        "dag",
        "substitutions",
        "list",
        "completions",
    ] {
        assert!(bash.contains(command), "{command}");
    }
    if let Ok(status) = Command::new("bash").arg("--version").output() {
        assert!(status.status.success());
        let scratch = tempfile::tempdir().expect("a temporary directory");
        let script = scratch.path().join("lhp.bash");
        std::fs::write(&script, &bash).expect("write");
        let out = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .expect("bash");
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let zsh = stdout(&lhp_in(here, &["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef lhp"), "{zsh}");
    let fish = stdout(&lhp_in(here, &["completions", "fish"]));
    assert!(fish.contains("complete -c lhp"), "{fish}");
    let out = lhp_in(here, &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_command_has_help_with_an_example() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commands: &[&[&str]] = &[
        &["init"],
        &["validate"],
        &["generate"],
        &["diff"],
        &["dag"],
        &["list"],
        &["list", "presets"],
        &["list", "templates"],
        &["list", "blueprints"],
        &["list", "plugins"],
        &["list", "hooks"],
        &["substitutions"],
        &["completions"],
        &["plugin"],
        &["plugin", "list"],
        &["plugin", "info"],
        &["plugin", "validate"],
        &["plugin", "new"],
        &["events"],
        &["events", "tail"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = lhp_in(here, &args);
        assert_eq!(out.status.code(), Some(0), "{command:?}");
        let help = stdout(&out);
        assert!(help.contains("Example: lhp "), "{command:?}: {help}");
    }
}

#[test]
fn the_project_env_output_and_test_flags_reach_diff_dag_and_list() {
    let (dir, project) = init(&["roast", "--sample"]);
    let elsewhere = dir.path();
    let project_arg = project.display().to_string();
    let out_dir = dir.path().join("out").display().to_string();
    // --project from another directory; --output where the modules would go.
    let out = lhp_in(
        elsewhere,
        &[
            "diff",
            "--name-only",
            "--project",
            &project_arg,
            "--output",
            &out_dir,
            "--env",
            "tst",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = stdout(&out);
    assert_eq!(lines.lines().count(), 12, "{lines}");
    assert!(
        lines
            .lines()
            .all(|l| l.starts_with("+ ") && l.contains("/out/tst/roastery_")),
        "{lines}"
    );
    // --include-tests changes the modules that have tests, and only those.
    let out = lhp_in(&project, &["generate", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (lines, code) = name_only(&project, &["--include-tests"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        lines,
        [
            "~ generated/dev/roastery_gold/customer_directory.py",
            "~ generated/dev/roastery_gold/lot_yield.py"
        ]
    );
    // The tests' reads join the graph with --include-tests; tables are named per env.
    let plain = stdout(&lhp_in(
        elsewhere,
        &["dag", "-f", "json", "--project", &project_arg],
    ));
    let tests = stdout(&lhp_in(
        elsewhere,
        &[
            "dag",
            "-f",
            "json",
            "--include-tests",
            "--project",
            &project_arg,
            "--env",
            "prod",
        ],
    ));
    assert!(plain.contains("\"roastery_dev.gold.lot_yield\""), "{plain}");
    assert!(tests.contains("\"roastery.gold.lot_yield\""), "{tests}");
    let reads = |json: &str| -> usize {
        let graph: serde_json::Value = serde_json::from_str(json).expect("JSON");
        let flowgroups = graph["flowgroups"].as_array().expect("flowgroups").clone();
        flowgroups
            .iter()
            .filter(|f| f["pipeline"] == "roastery_gold")
            .map(|f| f["reads"].as_array().map_or(0, Vec::len))
            .sum()
    };
    assert!(reads(&tests) > reads(&plain), "{plain}\n{tests}");
    let out = lhp_in(
        elsewhere,
        &[
            "list",
            "presets",
            "--env",
            "prod",
            "--project",
            &project_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("bronze_layer"), "{}", stdout(&out));
    // An environment without substitutions: the project does not read, and list says so.
    let out = lhp_in(
        elsewhere,
        &["list", "presets", "--env", "qa", "--project", &project_arg],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("error[LHP-CFG-0"), "{}", stderr(&out));
    let out = lhp_in(
        elsewhere,
        &["substitutions", "--env", "prod", "--project", &project_arg],
    );
    assert!(
        stdout(&out).contains("  catalog        roastery\n"),
        "{}",
        stdout(&out)
    );
}
