//! `lhp generate` run in process, as the binary runs it, for the benches that time it.

use std::path::Path;
use std::process::ExitCode;

/// Generates `project` for `dev` into `output`, quietly, with `extra` arguments.
pub fn generate(project: &Path, output: &Path, extra: &[&str]) -> ExitCode {
    let mut args: Vec<String> = vec![
        "lhp".into(),
        "generate".into(),
        "--env".into(),
        "dev".into(),
        "--project".into(),
        project.display().to_string(),
        "--output".into(),
        output.display().to_string(),
        "--log-format".into(),
        "json".into(),
        "-q".into(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    lhp::Cli::new().run_with(args)
}
