//! End-to-end tests of `lhp generate` on the example project: what it writes, that the
//! modules compile and need no formatter, that output does not depend on the thread count,
//! and how it treats an existing output directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pedal")
}

fn lhp_in(project: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lhp"))
        .args(args)
        .current_dir(project)
        .env_remove("LHP_IGNORE_VERSION")
        .output()
        .expect("lhp runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("readable");
                files.insert(path.strip_prefix(dir).expect("inside").to_owned(), bytes);
            }
        }
    }
    files
}

/// A copy of the example project, to change.
fn copy_of_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (relative, bytes) in tree(&example()) {
        if relative.starts_with("generated") {
            continue;
        }
        let path = dir.path().join(&relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    dir
}

fn generate_into(project: &Path, output: &Path, extra: &[&str]) -> Output {
    let output = output.to_string_lossy().into_owned();
    // Code only: the bundle resources have tests of their own (tests/bundle.rs).
    let mut args = vec![
        "generate",
        "--env",
        "dev",
        "--output",
        output.as_str(),
        "--no-bundle",
    ];
    args.extend_from_slice(extra);
    lhp_in(project, &args)
}

const PEDAL_FILES: [&str; 18] = [
    "pedal_bronze/custom_python_functions/__init__.py",
    "pedal_bronze/custom_python_functions/maintenance.py",
    "pedal_bronze/dock_feed_lisbon.py",
    "pedal_bronze/dock_feed_porto.py",
    "pedal_bronze/fleet.py",
    "pedal_bronze/rides.py",
    "pedal_bronze/stations.py",
    "pedal_bronze/weather.py",
    "pedal_gold/custom_python_functions/__init__.py",
    "pedal_gold/custom_python_functions/open_data_sink.py",
    "pedal_gold/daily_usage.py",
    "pedal_gold/ride_exports.py",
    "pedal_monitoring/monitoring.py",
    "pedal_silver/custom_python_functions/__init__.py",
    "pedal_silver/custom_python_functions/ride_features.py",
    "pedal_silver/fleet_status.py",
    "pedal_silver/rides_clean.py",
    "pedal_silver/stations_dim.py",
];

#[test]
fn the_example_generates_one_module_per_flowgroup_and_each_compiles() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = generate_into(&example(), out_dir.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let files = tree(&out_dir.path().join("dev"));
    let names: Vec<String> = files
        .keys()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    assert_eq!(names, PEDAL_FILES);
    assert!(
        stderr(&out).contains("generated 12 flowgroup(s) of 4 pipeline(s)")
            && stderr(&out).contains("18 file(s) written, 0 unchanged, 0 removed"),
        "{}",
        stderr(&out)
    );
    let stations =
        String::from_utf8_lossy(&files[Path::new("pedal_bronze/stations.py")]).into_owned();
    assert!(
        stations.contains(r#"dbutils.secrets.get(scope="pedal-ops-dev", key="db_user")"#),
        "secrets are read at run time, through the aliased scope:\n{stations}"
    );
    let python = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        eprintln!("no python3 on this machine: py_compile skipped");
        return;
    };
    for name in PEDAL_FILES {
        let path = out_dir.path().join("dev").join(name);
        let check = Command::new(python)
            .args(["-m", "py_compile"])
            .arg(&path)
            .output()
            .expect("python runs");
        assert!(check.status.success(), "{name}: {}", stderr(&check));
    }
}

#[test]
fn output_is_byte_identical_whatever_the_thread_count_and_reruns_change_nothing() {
    // A copy: other tests write around the code in the example (monitoring files), which
    // would count as changes between the runs here.
    let project = copy_of_example();
    let project = project.path();
    let one = tempfile::tempdir().expect("temp dir");
    let eight = tempfile::tempdir().expect("temp dir");
    let out = generate_into(project, one.path(), &["--jobs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = generate_into(project, eight.path(), &["--jobs", "8"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = tree(one.path());
    assert_eq!(first, tree(eight.path()));
    assert_eq!(first.len(), PEDAL_FILES.len());

    let modified = |dir: &Path| -> Vec<std::time::SystemTime> {
        PEDAL_FILES
            .iter()
            .map(|f| {
                std::fs::metadata(dir.join("dev").join(f))
                    .and_then(|m| m.modified())
                    .expect("mtime")
            })
            .collect()
    };
    let before = modified(one.path());
    // Nothing changed: the run has nothing to do (see tests/incremental.rs).
    let again = generate_into(project, one.path(), &["--jobs", "3"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("nothing to do: 12 flowgroup(s) of 4 pipeline(s)"),
        "{}",
        stderr(&again)
    );
    // Regenerated all the same, every file comes out as it was.
    let forced = generate_into(project, one.path(), &["--jobs", "3", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(
        stderr(&forced).contains("0 file(s) written, 18 unchanged, 0 removed"),
        "{}",
        stderr(&forced)
    );
    assert_eq!(first, tree(one.path()));
    assert_eq!(
        before,
        modified(one.path()),
        "unchanged files are not rewritten"
    );
}

#[test]
fn stale_generated_files_go_and_everything_else_stays() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let dev = out_dir.path().join("dev");
    let out = generate_into(&example(), out_dir.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stale = dev.join("pedal_gold/retired_report.py");
    let stale_copy = dev.join("old_pipeline/custom_python_functions/helper.py");
    let hand_written = dev.join("pedal_gold/notes.py");
    let other_kind = dev.join("pedal_gold/README.md");
    let outside = out_dir.path().join("keep.py");
    std::fs::write(&stale, "# Generated by lhp (Lakehouse Plumber)\nx = 1\n").expect("write");
    std::fs::create_dir_all(stale_copy.parent().expect("parent")).expect("mkdir");
    std::fs::write(&stale_copy, "# LHP-SOURCE: py/helper.py\n").expect("write");
    std::fs::write(&hand_written, "# mine\nx = 1\n").expect("write");
    std::fs::write(&other_kind, "# Generated by lhp (Lakehouse Plumber)\n").expect("write");
    std::fs::write(&outside, "# Generated by lhp (Lakehouse Plumber)\n").expect("write");

    let out = generate_into(&example(), out_dir.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stale.exists(),
        "a generated module whose flowgroup is gone is removed"
    );
    assert!(
        !stale_copy.exists() && !dev.join("old_pipeline").exists(),
        "and its emptied directories"
    );
    assert!(
        hand_written.exists(),
        "a file without the generated header is left alone"
    );
    assert!(other_kind.exists(), "only Python files are considered");
    assert!(outside.exists(), "nothing outside OUTPUT/ENV is touched");
    assert!(stderr(&out).contains("2 removed"), "{}", stderr(&out));
}

#[test]
fn a_pipeline_run_touches_only_that_pipeline() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let dev = out_dir.path().join("dev");
    assert!(generate_into(&example(), out_dir.path(), &[])
        .status
        .success());
    let gold_stale = dev.join("pedal_gold/old.py");
    let bronze_stale = dev.join("pedal_bronze/old.py");
    for path in [&gold_stale, &bronze_stale] {
        std::fs::write(path, "# Generated by lhp (Lakehouse Plumber)\n").expect("write");
    }
    std::fs::remove_file(dev.join("pedal_bronze/rides.py")).expect("remove");
    let out = generate_into(&example(), out_dir.path(), &["--pipeline", "pedal_gold"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("generated 0 flowgroup(s) (2 up to date) of 1 pipeline(s)"),
        "{}",
        stderr(&out)
    );
    assert!(!gold_stale.exists());
    assert!(
        bronze_stale.exists(),
        "another pipeline's files are left as they are"
    );
    assert!(
        !dev.join("pedal_bronze/rides.py").exists(),
        "and are not regenerated"
    );

    let out = generate_into(
        &example(),
        out_dir.path(),
        &["--pipeline", "no_such_pipeline"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no flowgroup belongs to pipeline `no_such_pipeline`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_flowgroup_that_fails_is_reported_and_the_others_are_written() {
    let project = copy_of_example();
    std::fs::write(
        project.path().join("expectations/rides.json"),
        "[{\"name\": \"x\"}]",
    )
    .expect("write");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = generate_into(project.path(), out_dir.path(), &[]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "error[LHP-CFG-009]: expectations/rides.json: an expectation has no `constraint`"
        ),
        "{text}"
    );
    assert!(
        text.contains("--> pipelines/02_silver/rides_clean.yaml:"),
        "{text}"
    );
    assert!(text.contains("1 error(s)"), "{text}");
    let dev = out_dir.path().join("dev");
    assert!(!dev.join("pedal_silver/rides_clean.py").exists());
    assert!(dev.join("pedal_silver/stations_dim.py").exists());
    assert!(dev.join("pedal_bronze/rides.py").exists());
}

#[test]
fn a_project_with_errors_writes_nothing() {
    let project = copy_of_example();
    let broken = project.path().join("pipelines/03_gold/daily_usage.yaml");
    let text = std::fs::read_to_string(&broken).expect("read");
    std::fs::write(
        &broken,
        text.replace("type: materialized_view", "type: materialised_view"),
    )
    .expect("write");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = generate_into(project.path(), out_dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("nothing generated"),
        "{}",
        stderr(&out)
    );
    assert!(!out_dir.path().join("dev").exists());
}
/// ruff, when this machine has it: `LHP_RUFF`, `ruff` on PATH, or the reference's venv.
fn ruff() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LHP_RUFF").map(PathBuf::from),
        Some(PathBuf::from("ruff")),
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/lhp-oracle-0.9.3/bin/ruff")),
    ];
    candidates.into_iter().flatten().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn ruff_format_leaves_the_generated_code_as_it_is() {
    let Some(ruff) = ruff() else {
        eprintln!("no ruff on this machine (set LHP_RUFF): the formatting check is skipped");
        return;
    };
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = generate_into(&example(), out_dir.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let check = Command::new(ruff)
        .args(["format", "--isolated", "--check", "--diff"])
        .arg(out_dir.path().join("dev"))
        .output()
        .expect("ruff runs");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        stderr(&check)
    );
}
