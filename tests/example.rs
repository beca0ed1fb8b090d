//! The example project in examples/pedal validates cleanly for both its environments, with
//! its pipeline config (it is a bundle). (The reference lakehouse-plumber 0.9.3 accepts it
//! too: `oracle.sh lhp validate --env dev -pc config/pipeline_config.yaml` and `--env prod`,
//! with and without `--include-tests`, each report 4 pipelines validated: the three and the
//! monitoring pipeline; without `-pc` both refuse it, LHP-CFG-023.)

use std::path::Path;
use std::process::Command;

#[test]
fn the_pedal_example_validates_for_dev_and_prod() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pedal");
    for args in [
        &["--env", "dev"][..],
        &["--env", "prod"],
        &["--env", "dev", "--include-tests", "--strict"],
    ] {
        let args = [args, &["-pc", "config/pipeline_config.yaml"]].concat();
        let out = Command::new(env!("CARGO_BIN_EXE_lhp"))
            .arg("validate")
            .args(&args)
            .current_dir(&project)
            .env_remove("LHP_IGNORE_VERSION")
            .output()
            .expect("lhp runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            // Its three pipelines and the monitoring pipeline lhp.yaml asks for.
            stderr.contains("12 flowgroup(s) in 4 pipeline(s) valid")
                && stderr.contains("0 error(s), 0 warning(s)"),
            "{args:?}: {stderr}"
        );
    }
}
