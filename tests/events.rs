//! End-to-end tests of a run's events and the built-in hooks: the example project with every
//! hook on (Slack and the Pushgateway played by a local HTTP server), the sequence of events
//! in the log, table changes, failures, hook settings, and `lhp events tail`.

#[path = "../crates/hooks/tests/common/mod.rs"]
mod http_server;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use http_server::{refused_url, Server};
use serde_json::Value;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pedal")
}

/// A copy of the example project (without its output or state), with `hooks` appended to
/// its lhp.yaml.
fn project_with_hooks(hooks: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&example(), dir.path());
    let config = dir.path().join("lhp.yaml");
    let mut text = std::fs::read_to_string(&config).expect("lhp.yaml");
    text.push('\n');
    text.push_str(hooks);
    std::fs::write(config, text).expect("write lhp.yaml");
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("readable").flatten() {
        let name = entry.file_name();
        let output = ["generated", ".lhp", "resources", "monitoring"];
        if from == example() && output.contains(&name.to_string_lossy().as_ref()) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        if source.is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&source, &target);
        } else {
            std::fs::copy(&source, &target).expect("copy");
        }
    }
}

fn lhp(project: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lhp"));
    command.args(args);
    // The example is a bundle: its resources are made (and checked) from its pipeline config.
    if matches!(args.first(), Some(&"generate" | &"validate")) {
        command.args(["-pc", "config/pipeline_config.yaml"]);
    }
    command
        .current_dir(project)
        .env_remove("NO_COLOR")
        .env_remove("LHP_IGNORE_VERSION");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("lhp runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read_events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// The events of the last run in a log.
fn last_run(events: &[Value]) -> Vec<Value> {
    let run = events
        .last()
        .map(|e| e["run_id"].clone())
        .unwrap_or_default();
    events
        .iter()
        .filter(|e| e["run_id"] == run)
        .cloned()
        .collect()
}

fn kind(event: &Value) -> &str {
    event["type"].as_str().unwrap_or_default()
}

/// Where a step's start, closing and inner events are in a run: (starts, ends, inside).
type Positions = (Vec<usize>, Vec<usize>, Vec<usize>);

/// Checks the shape every run has: numbered from 1 without gaps; generation.start first and
/// generation.end last; validation before any pipeline; each pipeline, flowgroup and action
/// started once and closed once (end or error) after everything inside it; table events
/// after the last pipeline.
fn assert_well_formed(events: &[Value]) {
    let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e["v"] == 1));
    assert_eq!(kind(&events[0]), "generation.start");
    assert_eq!(kind(&events[1]), "validation.start");
    assert_eq!(kind(events.last().expect("events")), "generation.end");
    let position = |predicate: &dyn Fn(&Value) -> bool| -> Vec<usize> {
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| predicate(e))
            .map(|(i, _)| i)
            .collect()
    };
    let validation_end = position(&|e| kind(e) == "validation.end");
    assert_eq!(validation_end.len(), 1);
    let first_step = position(&|e| kind(e).starts_with("pipeline."));
    if let Some(first) = first_step.first() {
        assert!(validation_end[0] < *first);
    }
    // Every step opens once and closes once, around what it contains.
    let scope = |e: &Value, level: &str| -> Option<String> {
        let part = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
        match level {
            "pipeline" => e["pipeline"].as_str().map(str::to_owned),
            "flowgroup" => e["flowgroup"]
                .as_str()
                .map(|_| format!("{}/{}", part("pipeline"), part("flowgroup"))),
            _ => e["action"].as_str().map(|_| {
                format!(
                    "{}/{}/{}",
                    part("pipeline"),
                    part("flowgroup"),
                    part("action")
                )
            }),
        }
    };
    for level in ["pipeline", "flowgroup", "action"] {
        let mut spans: BTreeMap<String, Positions> = BTreeMap::new();
        for (i, event) in events.iter().enumerate() {
            let Some(key) = scope(event, level) else {
                continue;
            };
            let entry = spans.entry(key).or_default();
            match kind(event).strip_prefix(&format!("{level}.")) {
                Some("start") => entry.0.push(i),
                Some("end" | "error") => entry.1.push(i),
                _ if !kind(event).starts_with("table.") => entry.2.push(i),
                _ => {}
            }
        }
        for (key, (starts, ends, inside)) in spans {
            assert_eq!(starts.len(), 1, "{level} {key} starts {starts:?}");
            assert_eq!(ends.len(), 1, "{level} {key} ends {ends:?}");
            assert!(starts[0] < ends[0], "{level} {key}");
            assert!(
                inside.iter().all(|i| starts[0] < *i && *i < ends[0]),
                "{level} {key}: something outside its start and end"
            );
        }
    }
    // A flowgroup's events are one block: nothing of another flowgroup comes between its
    // start and its end.
    for start in position(&|e| kind(e) == "flowgroup.start") {
        let key = scope(&events[start], "flowgroup");
        let block = events[start..]
            .iter()
            .take_while(|e| scope(e, "flowgroup") == key)
            .count();
        let end = &events[start + block - 1];
        assert!(
            matches!(kind(end), "flowgroup.end" | "flowgroup.error"),
            "flowgroup {key:?} is interrupted at seq {}",
            start + block + 1
        );
    }
    let last_pipeline = position(&|e| kind(e).starts_with("pipeline."))
        .last()
        .copied();
    for table in position(&|e| kind(e).starts_with("table.")) {
        assert!(Some(table) > last_pipeline);
    }
}

const EVERY_HOOK: &str = r#"hooks:
  event_log:
    path: out/events.jsonl
    max_bytes: 1MiB
  logging:
    level: trace
  metrics:
    path: out/metrics.prom
    pushgateway: ${TEST_PUSHGATEWAY}
    job: pedal
  slack:
    webhook_url: ${TEST_SLACK_WEBHOOK}
    mode: digest
    title: "pedal ${catalog}"
    required: true
  notify:
    type: command
    command: [python3, -c, "import sys; open('out/command.jsonl', 'w').write(sys.stdin.read())"]
    events: ["pipeline.*", "generation.*"]
"#;

#[test]
fn every_hook_sees_the_example_run_and_the_log_holds_its_whole_sequence() {
    let project = project_with_hooks(EVERY_HOOK);
    std::fs::create_dir_all(project.path().join("out")).expect("mkdir");
    let slack = Server::start(vec![]);
    let gateway = Server::start(vec![]);
    let slack_url = format!("{}/services/T000/B000/SECRET", slack.url);
    let env = [
        ("TEST_SLACK_WEBHOOK", slack_url.as_str()),
        ("TEST_PUSHGATEWAY", gateway.url.as_str()),
    ];
    let out = lhp(
        project.path(),
        &["generate", "--env", "dev", "--log-format", "json"],
        &env,
    );
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");

    // The event log: the whole run, in a well-formed sequence.
    let events = read_events(&project.path().join("out/events.jsonl"));
    assert_well_formed(&events);
    let count = |name: &str| events.iter().filter(|e| kind(e) == name).count();
    // The example's three pipelines, and the monitoring pipeline its lhp.yaml asks for.
    assert_eq!((count("pipeline.start"), count("pipeline.end")), (4, 4));
    assert_eq!((count("flowgroup.start"), count("flowgroup.end")), (12, 12));
    assert_eq!(count("action.start"), count("action.end"));
    assert!(count("action.end") >= 20);
    assert_eq!(count("table.created"), 14);
    let end = events.last().expect("events");
    assert_eq!(end["metadata"]["success"], true);
    assert_eq!(end["metadata"]["generated"], 12);
    // 18 modules, the union notebook and its job, and the bundle's 4 pipeline resources.
    assert_eq!(end["metadata"]["written"], 24);
    let written: BTreeSet<&str> = end["metadata"]["files_written"]
        .as_array()
        .expect("files_written")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(written.contains("pedal_gold/daily_usage.py"));
    assert!(written.contains("pedal_monitoring/monitoring.py"));
    assert!(written.contains("monitoring/dev/union_event_logs.py"));
    assert!(written.contains("resources/lhp/pedal_gold.pipeline.yml"));
    let action = events
        .iter()
        .find(|e| kind(e) == "action.end" && e["action"] == "write_daily_usage")
        .expect("the gold write");
    assert_eq!(action["metadata"]["kind"], "write");
    assert_eq!(action["metadata"]["type"], "materialized_view");
    assert_eq!(action["metadata"]["provider"], "builtin");
    assert_eq!(action["metadata"]["table"], "pedal_dev.gold.daily_usage");
    assert!(action["metadata"]["duration_ms"].as_f64().is_some());

    // Logging, as JSON lines on stderr, down to the actions (level: trace).
    let logged: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(logged
        .iter()
        .any(|l| l["type"] == "action.end" && l["level"] == "TRACE"));
    assert!(logged.iter().any(|l| l["type"] == "generation.end"
        && l["level"] == "INFO"
        && l["run_id"] == end["run_id"]));

    // Metrics: the textfile, and the same text pushed to the Pushgateway.
    let metrics =
        std::fs::read_to_string(project.path().join("out/metrics.prom")).expect("textfile");
    assert!(
        metrics.contains(r#"lhp_flowgroups_total{pipeline="pedal_bronze",outcome="ok"} 6"#),
        "{metrics}"
    );
    assert!(metrics.contains("lhp_files_written_total 24"), "{metrics}");
    assert!(metrics.contains("lhp_run_success 1"), "{metrics}");
    let pushed = gateway.received();
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        (pushed[0].method.as_str(), pushed[0].path.as_str()),
        ("PUT", "/metrics/job/pedal")
    );
    assert_eq!(pushed[0].body, metrics);

    // Slack: one digest, its title with the token resolved for dev.
    let posted = slack.received();
    assert_eq!(posted.len(), 1);
    let digest = posted[0].json();
    assert_eq!(
        digest["blocks"][0]["text"]["text"],
        "lhp: pedal pedal_dev (dev) succeeded"
    );

    // The command hook got only what it asked for.
    let fed = read_events(&project.path().join("out/command.jsonl"));
    assert_eq!(fed.len(), 4 * 2 + 2);
    assert!(fed
        .iter()
        .all(|e| kind(e).starts_with("pipeline.") || kind(e).starts_with("generation.")));

    // The webhook URL is a credential: nowhere in what lhp wrote.
    let log = std::fs::read_to_string(project.path().join("out/events.jsonl")).expect("log");
    for place in [&text, &log] {
        assert!(!place.contains("SECRET"), "the webhook URL leaked");
    }
}

#[test]
fn every_event_type_is_published_across_success_change_and_failure() {
    let project = project_with_hooks("");
    let log = project.path().join(".lhp/events.jsonl");
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut record = |events: &[Value]| {
        seen.extend(events.iter().map(|e| kind(e).to_owned()));
    };

    let out = lhp(project.path(), &["generate", "-q"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = last_run(&read_events(&log));
    assert_well_formed(&first);
    record(&first);

    // Nothing changed: no table event.
    let out = lhp(project.path(), &["generate", "-q"], &[]);
    assert!(out.status.success());
    let again = last_run(&read_events(&log));
    assert!(again.iter().all(|e| !kind(e).starts_with("table.")));

    // One table's definition changes: one table.updated, for it.
    let fleet = project.path().join("pipelines/01_bronze/fleet.yaml");
    let text = std::fs::read_to_string(&fleet).expect("fleet");
    std::fs::write(
        &fleet,
        text.replace("pedal.owner: workshop", "pedal.owner: garage"),
    )
    .expect("write");
    let out = lhp(project.path(), &["generate", "-q"], &[]);
    assert!(out.status.success());
    let changed = last_run(&read_events(&log));
    let tables: Vec<(&str, &str)> = changed
        .iter()
        .filter(|e| kind(e).starts_with("table."))
        .map(|e| (kind(e), e["metadata"]["table"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(tables, [("table.updated", "pedal_dev.bronze.repair_plan")]);
    record(&changed);

    // A flowgroup that fails while generating: action, flowgroup and pipeline errors with
    // the position; the others are still generated.
    std::fs::write(
        project.path().join("expectations/rides.json"),
        "[{\"name\": \"x\"}]",
    )
    .expect("write");
    let out = lhp(project.path(), &["generate", "-q"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let failed = last_run(&read_events(&log));
    assert_well_formed(&failed);
    record(&failed);
    let error_of = |name: &str| {
        failed
            .iter()
            .find(|e| kind(e) == name)
            .unwrap_or_else(|| panic!("no {name}"))["error"]
            .clone()
    };
    for name in ["action.error", "flowgroup.error", "pipeline.error"] {
        let error = error_of(name);
        assert_eq!(error["code"], "LHP-CFG-009", "{name}");
        assert_eq!(
            error["file"], "pipelines/02_silver/rides_clean.yaml",
            "{name}"
        );
        assert!(error["line"].as_u64().is_some_and(|l| l > 0), "{name}");
    }
    assert_eq!(failed.last().expect("end")["metadata"]["success"], false);

    // A project that does not validate: one validation.error per error, nothing generated.
    std::fs::write(
        project.path().join("pipelines/03_gold/broken.yaml"),
        "pipeline: pedal_gold\nflowgroup: broken\nactions:\n  - name: w\n    type: write\n    write_target: {type: nonsense}\n",
    )
    .expect("write");
    let out = lhp(project.path(), &["generate", "-q"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let invalid = last_run(&read_events(&log));
    assert_well_formed(&invalid);
    record(&invalid);
    let error = invalid
        .iter()
        .find(|e| kind(e) == "validation.error")
        .expect("validation.error")["error"]
        .clone();
    assert_eq!(error["file"], "pipelines/03_gold/broken.yaml");
    assert!(error["code"]
        .as_str()
        .is_some_and(|c| c.starts_with("LHP-")));
    assert!(invalid.iter().all(|e| !kind(e).starts_with("flowgroup.")));

    let expected: BTreeSet<String> = [
        "generation.start",
        "generation.end",
        "validation.start",
        "validation.end",
        "validation.error",
        "pipeline.start",
        "pipeline.end",
        "pipeline.error",
        "flowgroup.start",
        "flowgroup.end",
        "flowgroup.error",
        "action.start",
        "action.end",
        "action.error",
        "table.created",
        "table.updated",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(seen, expected);
}

#[test]
fn a_dead_slack_fails_the_run_only_when_required_and_never_shows_its_url() {
    let url = refused_url();
    for (required, expected) in [(false, 0), (true, 1)] {
        let project = project_with_hooks(&format!(
            "hooks:\n  slack:\n    webhook_url: ${{TEST_SLACK_WEBHOOK}}\n    retries: 1\n    timeout: 1\n    flush_timeout: 3\n    required: {required}\n"
        ));
        let started = Instant::now();
        let out = lhp(
            project.path(),
            &["generate"],
            &[("TEST_SLACK_WEBHOOK", &url)],
        );
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(expected), "{text}");
        assert!(text.contains("hook `slack`"), "{text}");
        assert!(text.contains("connection failed"), "{text}");
        assert!(
            !text.contains("SECRET") && !text.contains("/services/"),
            "{text}"
        );
        // The files are written whatever Slack does.
        assert!(project
            .path()
            .join("generated/dev/pedal_gold/daily_usage.py")
            .is_file());
        // Bounded by the hook's flush deadline (3 s), with room for a slow machine.
        assert!(started.elapsed() < Duration::from_secs(30));
        let log = std::fs::read_to_string(project.path().join(".lhp/events.jsonl")).expect("log");
        assert!(!log.contains("SECRET"));
    }
}

#[test]
fn hooks_are_switched_off_from_the_command_line_and_settings_are_checked() {
    let project = project_with_hooks("hooks:\n  metrics: {path: out/m.prom}\n");
    let out = lhp(project.path(), &["generate", "--no-hooks"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!project.path().join(".lhp/events.jsonl").exists());
    assert!(!project.path().join("out/m.prom").exists());

    let out = lhp(
        project.path(),
        &["generate", "--hook", "event_log=off"],
        &[],
    );
    assert!(out.status.success());
    assert!(!project.path().join(".lhp/events.jsonl").exists());
    assert!(project.path().join("out/m.prom").is_file());

    let out = lhp(project.path(), &["generate", "--hook", "metrics"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--hook takes NAME=off or NAME=on"));

    // A variable that is not set turns its hook off with a warning...
    let project =
        project_with_hooks("hooks:\n  slack:\n    webhook_url: ${LHP_TEST_UNSET_VARIABLE}\n");
    let out = lhp(project.path(), &["generate"], &[]);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("warning[LHP-HOOK-004]"), "{text}");
    assert!(text.contains("hook `slack` is off for this run"), "{text}");

    // ...and a mistake in the settings is an error at its line, before anything is written.
    let project =
        project_with_hooks("hooks:\n  slack:\n    webhok_url: https://example.invalid/x\n");
    let out = lhp(project.path(), &["validate"], &[]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("hooks.slack: no setting `webhok_url`") && !text.contains("LHP-CFG-023"),
        "{text}"
    );
    assert!(text.contains("did you mean `webhook_url`?"), "{text}");
    assert!(text.contains("lhp.yaml:"), "{text}");
    let out = lhp(project.path(), &["generate"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!project.path().join("generated").exists());
}

/// Appends events of `run` with seq `from..to` to `path`, as the event log writes them.
fn append(path: &Path, run: &str, seqs: std::ops::Range<u64>, kind: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    for seq in seqs {
        writeln!(
            file,
            r#"{{"v":1,"run_id":"{run}","seq":{seq},"ts":"2026-11-25T12:00:00.000Z","type":"{kind}","pipeline":"p","flowgroup":"f{seq}","action":null,"metadata":{{}},"error":null}}"#
        )
        .expect("append");
    }
}

#[test]
fn tail_shows_the_last_events_with_filters() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("events.jsonl");
    // An older run in a rotated file, then the current file.
    append(
        &dir.path().join("events.jsonl.1"),
        "run-a",
        1..4,
        "flowgroup.end",
    );
    append(&log, "run-b", 1..6, "flowgroup.end");
    append(&log, "run-b", 6..7, "flowgroup.error");
    let file = log.to_string_lossy().into_owned();
    let tail = |args: &[&str]| {
        let mut all = vec!["events", "tail", "--file", file.as_str(), "--json"];
        all.extend_from_slice(args);
        let out = lhp(dir.path(), &all, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let e: Value = serde_json::from_str(l).expect("JSON");
                format!("{}:{}", e["run_id"].as_str().unwrap_or(""), e["seq"])
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(tail(&["-n", "3"]), ["run-b:4", "run-b:5", "run-b:6"]);
    assert_eq!(
        tail(&["-n", "100"]).len(),
        9,
        "rotated files are read, oldest first"
    );
    assert_eq!(tail(&["-n", "100"])[0], "run-a:1");
    assert_eq!(tail(&["--type", "*.error"]), ["run-b:6"]);
    assert_eq!(tail(&["--run", "run-a", "-n", "1"]), ["run-a:3"]);
    assert_eq!(tail(&["--last-run", "-n", "100"]).len(), 6);
    assert_eq!(
        tail(&["--flowgroup", "f2", "-n", "100"]),
        ["run-a:2", "run-b:2"]
    );
    assert!(tail(&["--since", "2030-01-01"]).is_empty());
    assert_eq!(
        tail(&["--since", "2026-11-25T11:59:59Z", "-n", "1"]),
        ["run-b:6"]
    );

    // Pretty lines, coloured by level only on a terminal.
    let out = lhp(
        dir.path(),
        &["events", "tail", "--file", &file, "-n", "1"],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text, "12:00:00.000 ERROR flowgroup.error p/f6\n");

    // Bad input: a clear error, exit 2.
    let out = lhp(
        dir.path(),
        &["events", "tail", "--file", &file, "--since", "yesterday"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--since takes a duration"));
    let out = lhp(
        dir.path(),
        &["events", "tail", "--file", "missing.jsonl"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no event log at"));
}

#[cfg(unix)]
#[test]
fn tail_follows_a_concurrent_writer_across_rotation_and_partial_lines_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("events.jsonl");
    append(&log, "old", 1..3, "flowgroup.end");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lhp"))
        .args([
            "events",
            "tail",
            "-f",
            "-n",
            "0",
            "--json",
            "--type",
            "flowgroup.*",
        ])
        .arg("--file")
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tail runs");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> Value {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("tail did not show {what}"));
        serde_json::from_str(&line).expect("JSON line")
    };
    // Give tail a moment to open the file and seek to its end.
    std::thread::sleep(Duration::from_millis(500));

    // A writer appends whole events...
    append(&log, "new", 1..3, "flowgroup.end");
    assert_eq!(next("the first event")["seq"], 1);
    assert_eq!(next("the second event")["seq"], 2);
    // ...a type the filter leaves out...
    append(&log, "new", 3..4, "action.end");
    // ...then one line in two writes: nothing shows until its newline arrives.
    let line = r#"{"v":1,"run_id":"new","seq":4,"ts":"2026-11-25T12:00:00.000Z","type":"flowgroup.error","pipeline":"p","flowgroup":"f","action":null,"metadata":{},"error":null}"#;
    let (head, rest) = line.split_at(40);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("open");
    file.write_all(head.as_bytes()).expect("write");
    file.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(400));
    assert!(lines_rx.try_recv().is_err(), "a partial line was shown");
    writeln!(file, "{rest}").expect("write");
    drop(file);
    assert_eq!(next("the line written in two parts")["seq"], 4);

    // Rotation: the writer appends to the old file, renames it, and starts a new one.
    append(&log, "new", 5..6, "flowgroup.end");
    std::fs::rename(&log, dir.path().join("events.jsonl.1")).expect("rotate");
    append(&log, "new", 6..8, "flowgroup.end");
    let seqs: Vec<u64> = (0..3)
        .map(|_| {
            next("events around the rotation")["seq"]
                .as_u64()
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(seqs, [5, 6, 7]);

    // Ctrl-C: tail ends by itself, successfully.
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "tail did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut errors)
        .expect("stderr");
    assert!(errors.is_empty(), "{errors}");
}

#[cfg(unix)]
#[test]
fn tail_ends_quietly_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("events.jsonl");
    append(&log, "run", 1..5001, "flowgroup.end");
    // `| head -n 1`: the pipe closes after one line.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' events tail -n 5000 --file '{}' | head -n 1; echo \"status=${{PIPESTATUS:-done}}\"",
            env!("CARGO_BIN_EXE_lhp"),
            log.display()
        ))
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("12:00:00.000 DEBUG flowgroup.end p/f1\n"),
        "{text}"
    );
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        !errors.contains("panicked") && !errors.contains("Broken pipe"),
        "{errors}"
    );
    // And through a pipe that is closed before anything is read.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lhp"))
        .args(["events", "tail", "-n", "5000", "--file"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ends");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}
