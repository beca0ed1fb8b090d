//! The cost of a process plugin per action: 1,000 `generate` round trips through one
//! long-lived Python plugin (the `pivot` example), against the same actions through the
//! template plugin and a built-in generator. Goal: at most 100 µs per action through the
//! process plugin.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lhp::plugin::testkit::{self, TestContext};
use lhp::plugin::{ActionKind, GenerateRequest, Generator};
use lhp_orchestrator::plugins::process::{Launch, ProcessClient, ProcessGenerator};

const ACTIONS: usize = 1_000;

fn pivot_actions() -> Vec<lhp::plugin::Action> {
    (0..ACTIONS)
        .map(|i| {
            testkit::action_from_yaml(&format!(
                "name: pivot_{i}\ntype: transform\ntransform_type: pivot\nsource: v_rides_{i}\ntarget: v_pivot_{i}\nkey: hour\nvalues: [0, 6, 12, 18]\ngroup_by: [station_id]\naggregate: {{function: sum, column: fare}}\n"
            ))
            .expect("a valid action")
        })
        .collect()
}

/// A running plugin and a generator of its type.
fn plugin(program: &str, name: &str, type_name: &str) -> (Arc<ProcessClient>, ProcessGenerator) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let launch = Launch {
        program: repo.join(program),
        args: Vec::new(),
        root: repo.clone(),
        timeout: Duration::from_secs(30),
    };
    let config = Arc::new(OnceLock::new());
    let _ = config.set(serde_json::json!({}));
    let client = Arc::new(ProcessClient::new(name.into(), launch, config));
    // Started (and described) once, as in a run.
    if let Err(error) = client.describe() {
        panic!("plugin {program} does not start: {error}");
    }
    let generator = ProcessGenerator {
        client: Arc::clone(&client),
        plugin: name.into(),
        kind: ActionKind::Transform,
        type_name: type_name.into(),
        example: None,
    };
    (client, generator)
}

fn process_plugin(c: &mut Criterion) {
    let actions = pivot_actions();
    let context = TestContext::new();
    let mut group = c.benchmark_group("process_plugin");
    group.throughput(Throughput::Elements(ACTIONS as u64));
    group.sample_size(20);
    for (label, program, name, type_name) in [
        // The example plugin: validates its configuration and builds the pivot.
        (
            "pivot_1000_actions",
            "examples/plugins/pivot/lhp-plugin-pivot",
            "pivot",
            "pivot",
        ),
        // The least a Python plugin can do: the protocol's own cost.
        (
            "minimal_1000_actions",
            "tests/fixtures/plugins/lhp-plugin-good",
            "good",
            "good_tf",
        ),
    ] {
        let (client, generator) = plugin(program, name, type_name);
        group.bench_function(label, |b| {
            b.iter_batched(
                || (),
                |()| {
                    // As a run does: generate only (`check` runs in `lhp validate`).
                    for action in &actions {
                        let request = GenerateRequest {
                            action,
                            group: vec![action],
                            context: &context,
                        };
                        assert!(generator.generate(&request).is_ok());
                    }
                },
                BatchSize::SmallInput,
            )
        });
        client.shutdown();
    }
    group.finish();
}

criterion_group!(benches, process_plugin);
criterion_main!(benches);
