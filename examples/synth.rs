//! Writes the synthetic project of the benches, for `scripts/bench-vs-reference.sh` and for
//! trying lhp on a large project: `cargo run --release --example synth -- 3000 /tmp/synth`.

#[path = "../benches/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(count), Some(dir), None) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: synth FLOWGROUPS DIR  (writes a synthetic lhp project of FLOWGROUPS flowgroups into DIR, replacing it)");
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("synth: FLOWGROUPS must be a number, not `{count}`");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    match common::write_project(&dir, count) {
        Ok(()) => {
            println!("wrote {count} flowgroups into {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("synth: cannot write {}: {error}", dir.display());
            ExitCode::FAILURE
        }
    }
}
