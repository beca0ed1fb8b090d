//! Load + resolve + validate of a generated project: the work `lhp validate` does.
//!
//! The project is written once per size into the temporary directory: flowgroups in four
//! shapes (template-driven cloudfiles ingests, delta -> sql -> streaming table, materialized
//! views with their own SQL, data-quality flows with an expectations file), two presets (one
//! extending the other), substitutions with secrets. Run with `cargo bench --bench validate`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lhp_orchestrator::load::{load_project, LoadOptions};

fn validate(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for flowgroups in [1_000usize, 5_000] {
        let dir: PathBuf = std::env::temp_dir().join(format!("lhp-bench-validate-{flowgroups}"));
        common::write_project(&dir, flowgroups).expect("write the synthetic project");
        let env_var = |_: &str| None;
        let options = LoadOptions {
            env: "dev",
            include_tests: false,
            pipeline: None,
            env_var: &env_var,
            plugin_types: &[],
        };
        let check = load_project(&dir, &options);
        assert!(
            !check.has_errors(),
            "the synthetic project must be valid: {:?}",
            check.diagnostics.first()
        );
        assert_eq!(check.flowgroups.len(), flowgroups);
        group.throughput(Throughput::Elements(flowgroups as u64));
        group.bench_with_input(BenchmarkId::from_parameter(flowgroups), &dir, |b, dir| {
            b.iter(|| load_project(dir, &options))
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

criterion_group!(benches, validate);
criterion_main!(benches);
