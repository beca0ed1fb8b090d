//! `lhp generate` of the synthetic project (benches/common) at 100, 1,000 and 5,000
//! flowgroups, run in process as the binary runs it (default hooks: the event log):
//!
//! - **cold**: no output directory and no memory of an earlier run: every flowgroup is read,
//!   generated and written;
//! - **no-op**: the same run again with nothing changed: the run finds nothing to do.
//!
//! Goal (issue 8): a no-op run under 50 ms at 3,000 flowgroups. The comparison with the
//! reference implementation is `scripts/bench-vs-reference.sh`. Run with
//! `cargo bench --bench generate`.

mod common;
#[path = "common/run.rs"]
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

/// The allocator of the `lhp` binary, so that the run is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Removes what a run leaves: the output and the memory of the run (not the event log).
fn forget(project: &Path, output: &Path) {
    let _ = std::fs::remove_dir_all(output);
    let _ = std::fs::remove_dir_all(project.join(".lhp/generate"));
    let _ = std::fs::remove_file(project.join(".lhp/tables.json"));
}

fn bench(c: &mut Criterion) {
    let base = std::env::temp_dir().join(format!("lhp-bench-generate-{}", std::process::id()));
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for flowgroups in [100usize, 1_000, 5_000] {
        let project = base.join(format!("project-{flowgroups}"));
        common::write_project(&project, flowgroups).expect("write the synthetic project");
        let output: PathBuf = base.join(format!("out-{flowgroups}"));
        group.throughput(Throughput::Elements(flowgroups as u64));

        group.bench_with_input(
            BenchmarkId::new("cold", flowgroups),
            &project,
            |b, project| {
                b.iter_batched(
                    || forget(project, &output),
                    |()| assert_eq!(run::generate(project, &output, &[]), ExitCode::SUCCESS),
                    BatchSize::PerIteration,
                )
            },
        );

        forget(&project, &output);
        assert_eq!(run::generate(&project, &output, &[]), ExitCode::SUCCESS);
        // The first rerun re-reads the files the cold run had just written (their times are
        // too recent to trust) and remembers them; what is measured is the runs after it.
        assert_eq!(run::generate(&project, &output, &[]), ExitCode::SUCCESS);
        group.bench_with_input(
            BenchmarkId::new("no-op", flowgroups),
            &project,
            |b, project| {
                b.iter(|| assert_eq!(run::generate(project, &output, &[]), ExitCode::SUCCESS))
            },
        );
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&base);
}

criterion_group!(benches, bench);
criterion_main!(benches);
