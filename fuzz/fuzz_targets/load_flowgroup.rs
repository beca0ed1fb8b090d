//! Any bytes as a flowgroup file: read, parsed into flowgroups, variables resolved,
//! substituted and checked. Whatever the input, this must return, never panic or hang.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lhp_orchestrator::flowgroup::{parse_flowgroup_file, FileContent};
use lhp_orchestrator::substitution::{resolve_local_variables, unresolved_tokens};
use lhp_orchestrator::Substitutions;
use lhp_plugin::{load_documents, Limits, Sources};

fuzz_target!(|data: &[u8]| {
    let mut sources = Sources::new();
    let file = sources.add("fuzz.yaml", String::from_utf8_lossy(data).into_owned());
    let Ok(documents) = load_documents(file, data, Limits::default()) else {
        return;
    };
    let mut problems = Vec::new();
    let substitutions = Substitutions::new("dev", documents.first(), |_| None, &mut problems);
    if let FileContent::Flowgroups(flowgroups) = parse_flowgroup_file(file, documents, &mut problems) {
        for flowgroup in flowgroups {
            let mut value = flowgroup.value;
            resolve_local_variables(&mut value, &mut problems);
            let mut secrets = Vec::new();
            substitutions.substitute(&mut value, &mut secrets, &mut problems);
            let _ = unresolved_tokens(&value);
            lhp_orchestrator::fields::check_actions(&value, &mut problems);
            if let Ok(model) = lhp_plugin::Flowgroup::from_value(&value) {
                for action in &model.actions {
                    let _ = action.reads();
                }
                lhp_orchestrator::dependency::check_flowgroup(&model, &mut problems);
            }
        }
    }
});
