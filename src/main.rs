//! The `lhp` binary: the command line with the built-in types and no native plugins.

fn main() -> std::process::ExitCode {
    lhp::Cli::new().run()
}
