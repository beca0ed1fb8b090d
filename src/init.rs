//! `lhp init`: a new project that validates and generates as created. The projects are
//! the trees under `src/init/` (a starter, a richer sample, and the files a bundle adds),
//! embedded in the binary; `__LHP_PROJECT__` in them becomes the project's name.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use include_dir::{include_dir, Dir};

use crate::output::Output;

/// The starter: one pipeline, two flowgroups, a template and a preset, commented.
static STARTER: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/init/starter");
/// The sample: a coffee roastery in three pipelines, with most of what a project can do.
static SAMPLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/init/sample");
/// What `--bundle` adds: `databricks.yml` and the pipeline config.
static BUNDLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/init/bundle");

/// The text in the embedded files that becomes the project's name.
const NAME_PLACEHOLDER: &str = "__LHP_PROJECT__";

/// `lhp init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The project's name (letters, digits, `_` and `-`, starting with a letter): its
    /// directory, and its name in lhp.yaml.
    name: String,
    /// A richer sample instead of the starter: three pipelines of a coffee roastery with
    /// templates, presets, a blueprint, CDC, data quality, SQL files and data tests.
    #[arg(long)]
    sample: bool,
    /// Make it a Databricks Asset Bundle too: databricks.yml and
    /// config/pipeline_config.yaml (generate then takes `-pc config/pipeline_config.yaml`).
    #[arg(long)]
    bundle: bool,
    /// Where to create it (default: ./NAME). It must not exist, or be an empty directory.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Runs `lhp init`.
pub(crate) fn run(args: &InitArgs, output: &Output) -> ExitCode {
    if let Err(why) = check_name(&args.name) {
        output.error(
            "LHP-CLI-004",
            &format!("`{}` cannot name a project: {why}", args.name),
        );
        return ExitCode::from(2);
    }
    let target = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let empty_dir = std::fs::read_dir(&target).is_ok_and(|mut d| d.next().is_none());
    if target.exists() && !empty_dir {
        output.error(
            "LHP-CLI-007",
            &format!(
                "{} already exists and is not empty: lhp init writes only into a new or empty directory",
                target.display()
            ),
        );
        return ExitCode::FAILURE;
    }
    let mut trees = vec![if args.sample { &SAMPLE } else { &STARTER }];
    if args.bundle {
        trees.push(&BUNDLE);
    }
    let mut files = Vec::new();
    for tree in trees {
        collect(tree, &mut files);
    }
    if let Err(error) = create(&target, empty_dir, &files, &args.name) {
        output.error(
            "LHP-IO-002",
            &format!("cannot create {}: {error}", target.display()),
        );
        return ExitCode::FAILURE;
    }
    let kind = if args.sample { "sample" } else { "starter" };
    let bundle = if args.bundle {
        " (a Databricks Asset Bundle)"
    } else {
        ""
    };
    let pc = if args.bundle {
        " -pc config/pipeline_config.yaml"
    } else {
        ""
    };
    crate::output::emit(&format!(
        "created {kind} project `{}` in {}{bundle}: {} files\n\nnext:\n  cd {}\n  lhp validate --env dev{pc}\n  lhp generate --env dev{pc}\n  lhp dag --env dev\n",
        args.name,
        target.display(),
        files.len(),
        target.display(),
    ));
    ExitCode::SUCCESS
}

/// Writes the project to `target` so that a failure leaves nothing behind: into an empty
/// directory directly (emptied again on failure), or else beside the target and renamed
/// into place (the directories made for it removed on failure).
fn create(
    target: &Path,
    empty_dir: bool,
    files: &[(&Path, &[u8])],
    name: &str,
) -> std::io::Result<()> {
    if empty_dir {
        let written = write_tree(target, files, name);
        if written.is_err() {
            if let Ok(entries) = std::fs::read_dir(target) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
        return written;
    }
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // The outermost directory this creates, to remove on failure.
    let first_missing = parent
        .ancestors()
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        .last()
        .map(Path::to_path_buf);
    let staging = parent.join(format!(".lhp-init-{name}-{}", std::process::id()));
    let written =
        write_tree(&staging, files, name).and_then(|()| std::fs::rename(&staging, target));
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if let Some(dir) = first_missing {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    written
}

/// Why `name` cannot name a project, if it cannot.
fn check_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err("it is empty"),
        Some(first) if !first.is_ascii_alphabetic() => Err("it must start with a letter"),
        _ if name.len() > 64 => Err("it is longer than 64 characters"),
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') => {
            Err("only letters, digits, `_` and `-` are allowed")
        }
        _ => Ok(()),
    }
}

/// Every file of `dir`, at any depth, with its path relative to the tree's root.
fn collect<'a>(dir: &'a Dir<'a>, files: &mut Vec<(&'a Path, &'a [u8])>) {
    for file in dir.files() {
        files.push((file.path(), file.contents()));
    }
    for sub in dir.dirs() {
        collect(sub, files);
    }
}

/// Writes `files` under `root`, the placeholder replaced by `name`.
fn write_tree(root: &Path, files: &[(&Path, &[u8])], name: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    for (relative, contents) in files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = String::from_utf8_lossy(contents).replace(NAME_PLACEHOLDER, name);
        std::fs::write(&path, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_letters_digits_underscores_and_dashes_from_a_letter() {
        assert!(check_name("my-lake_2").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("2lake").is_err());
        assert!(check_name("../up").is_err());
        assert!(check_name("a b").is_err());
    }

    #[test]
    fn every_embedded_project_has_an_lhp_yaml_named_by_the_placeholder() {
        for tree in [&STARTER, &SAMPLE] {
            let lhp = tree.get_file("lhp.yaml").map(|f| f.contents_utf8());
            let text = lhp.flatten().unwrap_or_default();
            assert!(
                text.contains(&format!("name: {NAME_PLACEHOLDER}")),
                "{text}"
            );
        }
        assert!(BUNDLE.get_file("databricks.yml").is_some());
    }
}
