//! The cost of the hooks: `lhp generate` of a synthetic project of 2,000 flowgroups with every
//! built-in hook on (event log, logging, metrics with a Pushgateway, Slack digest, a command
//! hook; Slack and the Pushgateway played by a local HTTP server) against `--no-hooks`.
//! Goal: at most 5% slower. Run with `cargo bench --bench hooks`.

mod common;
#[path = "common/run.rs"]
mod run;

#[path = "../crates/hooks/tests/common/mod.rs"]
mod http_server;

use std::process::ExitCode;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// The allocator of the `lhp` binary, so that the run is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FLOWGROUPS: usize = 2_000;

fn hooks(c: &mut Criterion) {
    let server = http_server::Server::start(Vec::new());
    let dir = std::env::temp_dir().join(format!("lhp-bench-hooks-{}", std::process::id()));
    let project = dir.join("project");
    common::write_project(&project, FLOWGROUPS).expect("write the synthetic project");
    let config = project.join("lhp.yaml");
    let mut text = std::fs::read_to_string(&config).expect("lhp.yaml");
    text.push_str(&format!(
        "hooks:\n  metrics:\n    path: .lhp/metrics.prom\n    pushgateway: {url}\n  slack:\n    webhook_url: {url}/services/T/B/X\n    mode: digest\n    required: true\n  sink:\n    type: command\n    command: [sh, -c, \"cat > /dev/null\"]\n",
        url = server.url
    ));
    std::fs::write(&config, text).expect("write lhp.yaml");
    let output = dir.join("generated");
    // No variant writes a module after the first run: what is measured is the run itself.
    assert_eq!(run::generate(&project, &output, &[]), ExitCode::SUCCESS);
    let posted = server.received().len();
    assert_eq!(posted, 2, "one digest and one push per run");

    let mut group = c.benchmark_group("generate_2000_flowgroups");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(FLOWGROUPS as u64));
    let all_but = |kept: &str| -> Vec<String> {
        ["event_log", "logging", "metrics", "slack", "sink"]
            .iter()
            .filter(|h| **h != kept)
            .flat_map(|h| ["--hook".to_owned(), format!("{h}=off")])
            .collect()
    };
    let variants: Vec<(&str, Vec<String>)> = vec![
        ("no_hooks", vec!["--no-hooks".to_owned()]),
        ("event_log_only", all_but("event_log")),
        ("slack_only", all_but("slack")),
        ("every_hook", Vec::new()),
    ];
    for (name, extra) in variants {
        // `--force`: since runs are incremental, a rerun would otherwise have nothing to do
        // and publish two events; forced, every flowgroup is generated (and its events
        // published) while unchanged files are still not rewritten.
        let extra: Vec<&str> = std::iter::once("--force")
            .chain(extra.iter().map(String::as_str))
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(name), &extra, |b, extra| {
            b.iter(|| {
                let code = run::generate(&project, &output, extra);
                assert_eq!(code, ExitCode::SUCCESS);
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, hooks);
criterion_main!(benches);
