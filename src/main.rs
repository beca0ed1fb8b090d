//! The `lhp` command line: a thin layer over the lhp crates.

use clap::Parser;

/// lhp: compiles Lakehouse Plumber YAML projects into Lakeflow Declarative Pipelines Python.
#[derive(Debug, Parser)]
#[command(name = "lhp", version, about, long_about = None)]
struct Cli {}

fn main() {
    Cli::parse();
}
