//! The files `lhp plugin new` writes, from the templates in `src/scaffold/`.

use std::path::Path;

use crate::plugin_cmd::NewKind;

/// A file to write: its path in the plugin directory, its text, whether it is executable.
pub type ScaffoldFile = (String, String, bool);

fn fill(text: &str, name: &str) -> String {
    let camel: String = name
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let mut version = lhp_plugin::LHP_VERSION.split('.');
    let major_minor = format!(
        "{}.{}",
        version.next().unwrap_or("0"),
        version.next().unwrap_or("0")
    );
    text.replace("__NAME__", name)
        .replace("__CAMEL__", &camel)
        .replace("__LHP_MAJOR_MINOR__", &major_minor)
}

/// A template plugin providing the load type `name`.
pub fn template(name: &str) -> Vec<ScaffoldFile> {
    vec![
        (
            "lhp-plugin.yaml".into(),
            fill(include_str!("scaffold/template/lhp-plugin.yaml"), name),
            false,
        ),
        (
            format!("templates/{name}.py.j2"),
            fill(include_str!("scaffold/template/__NAME__.py.j2"), name),
            false,
        ),
        (
            "tests/basic.yaml".into(),
            fill(include_str!("scaffold/template/basic.yaml"), name),
            false,
        ),
        (
            "README.md".into(),
            fill(include_str!("scaffold/template/README.md"), name),
            false,
        ),
    ]
}

/// A Python process plugin providing the transform type `name`, with its unittest.
pub fn process(name: &str) -> Vec<ScaffoldFile> {
    vec![
        (
            format!("lhp-plugin-{name}"),
            fill(include_str!("scaffold/process/lhp-plugin-__NAME__"), name),
            true,
        ),
        (
            "test_plugin.py".into(),
            fill(include_str!("scaffold/process/test_plugin.py"), name),
            false,
        ),
        (
            "README.md".into(),
            fill(include_str!("scaffold/process/README.md"), name),
            false,
        ),
    ]
}

/// A Rust crate building `lhp-<name>`: lhp with the load type `name` compiled in.
pub fn native(name: &str, lhp_path: &Path) -> Vec<ScaffoldFile> {
    let path = lhp_path.display().to_string().replace('\\', "/");
    vec![
        (
            "Cargo.toml".into(),
            fill(include_str!("scaffold/native/Cargo.toml"), name).replace("__LHP_PATH__", &path),
            false,
        ),
        (
            "src/main.rs".into(),
            fill(include_str!("scaffold/native/main.rs"), name),
            false,
        ),
        (
            "README.md".into(),
            fill(include_str!("scaffold/native/README.md"), name),
            false,
        ),
    ]
}

/// What to do next, printed after the files.
pub fn next_steps(kind: NewKind, name: &str, dir: &Path) -> String {
    let dir = dir.display();
    match kind {
        NewKind::Template => format!(
            "next: `lhp plugin validate {dir}` runs its sample and tests/; put it under a project's plugins/ to use type `{name}`"
        ),
        NewKind::Process => format!(
            "next: `cd {dir} && python3 -m unittest`; `lhp plugin validate {dir}/lhp-plugin-{name}`; list it in plugins.commands of lhp.yaml"
        ),
        NewKind::Native => format!(
            "next: `cd {dir} && cargo test && cargo build`; then run target/debug/lhp-{name} instead of lhp"
        ),
    }
}
