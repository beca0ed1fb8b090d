//! End-to-end tests of the `lhp` binary.

use std::process::Command;

fn lhp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lhp"))
        .args(args)
        .output()
        .expect("the lhp binary runs")
}

#[test]
fn version_names_the_package_version() {
    let out = lhp(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "lhp {} (reads lakehouse-plumber 0.9.3 projects)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn help_describes_the_tool() {
    let out = lhp(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: lhp"), "{help}");
    assert!(help.contains("Lakeflow Declarative Pipelines"), "{help}");
}

#[test]
fn an_unknown_argument_is_a_usage_error_not_a_panic() {
    let out = lhp(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--no-such-flag"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
