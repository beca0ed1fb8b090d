//! Flowgroup files: the documents of one file under `pipelines/` turned into flowgroups,
//! with the structural checks the reference makes on them.

use lhp_plugin::{FileId, Map, Span, Value, ValueKind};

use crate::diagnostic::Diagnostic;

/// The action kinds a flowgroup may hold.
pub const ACTION_KINDS: [&str; 4] = ["load", "transform", "write", "test"];

/// Keys a flowgroup in a `flowgroups:` list takes from the document around it, when it does
/// not set them itself (the only ones the reference passes down).
const INHERITED: [&str; 5] = [
    "pipeline",
    "use_template",
    "presets",
    "operational_metadata",
    "job_name",
];

/// One flowgroup as written (before variables, templates, presets and substitution).
#[derive(Debug, Clone)]
pub struct RawFlowgroup {
    /// The file it comes from.
    pub file: FileId,
    /// Its mapping.
    pub value: Value,
}

impl RawFlowgroup {
    /// The `pipeline` name, if it is a string.
    pub fn pipeline(&self) -> Option<&str> {
        self.value.as_map()?.get("pipeline")?.as_str()
    }

    /// The `flowgroup` name, if it is a string.
    pub fn name(&self) -> Option<&str> {
        self.value.as_map()?.get("flowgroup")?.as_str()
    }
}

/// What a file under `pipelines/` turned out to hold.
#[derive(Debug, Clone)]
pub enum FileContent {
    /// Flowgroups.
    Flowgroups(Vec<RawFlowgroup>),
    /// A blueprint instance (`use_blueprint`): expanded with the blueprints, not here.
    BlueprintInstance,
}

/// Reads the documents of one flowgroup file. Errors are collected: a file with any error
/// yields no flowgroups.
pub fn parse_flowgroup_file(
    file: FileId,
    documents: Vec<Value>,
    problems: &mut Vec<Diagnostic>,
) -> FileContent {
    let start = problems.len();
    let documents: Vec<Value> = documents.into_iter().filter(|d| !d.is_null()).collect();
    if documents.is_empty() {
        problems.push(
            Diagnostic::error("LHP-CFG-005", "the flowgroup file is empty")
                .at(Span::new(file, 1, 1))
                .hint("a flowgroup needs at least `pipeline:`, `flowgroup:` and `actions:`"),
        );
        return FileContent::Flowgroups(Vec::new());
    }
    let mut flowgroups = Vec::new();
    let several = documents.len() > 1;
    for document in documents {
        let Some(map) = document.as_map() else {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-009",
                    format!(
                        "a flowgroup document must be a mapping, not {}",
                        document.kind.describe()
                    ),
                )
                .at(document.span),
            );
            continue;
        };
        if map.contains_key("parameters")
            && map.contains_key("flowgroups")
            && !map.contains_key("actions")
        {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-040",
                    "this is a blueprint, but it is under pipelines/",
                )
                .at(document.span)
                .hint("move it under blueprints/ and instantiate it with `use_blueprint`"),
            );
            continue;
        }
        let instance = map.contains_key("use_blueprint")
            || (map.get("blueprint").is_some_and(|b| b.as_str().is_some())
                && !map.contains_key("flowgroups")
                && !map.contains_key("actions"));
        if instance {
            // As in the reference, an instance document makes the whole file an instance
            // (problems found in earlier documents stand).
            return FileContent::BlueprintInstance;
        }
        match map.get("flowgroups") {
            // A document of one flowgroup is that flowgroup: moved, not copied.
            None => flowgroups.push(RawFlowgroup {
                file,
                value: document,
            }),
            Some(list) => {
                if several {
                    problems.push(
                        Diagnostic::error(
                            "LHP-VAL-014",
                            "this file mixes `---` documents with a `flowgroups:` list",
                        )
                        .at(list.span)
                        .hint("use one form per file"),
                    );
                    continue;
                }
                let Some(items) = list.as_seq() else {
                    problems.push(
                        Diagnostic::error(
                            "LHP-CFG-009",
                            format!(
                                "`flowgroups` must be a list of flowgroups, not {}",
                                list.kind.describe()
                            ),
                        )
                        .at(list.span),
                    );
                    continue;
                };
                for item in items {
                    match &item.kind {
                        ValueKind::Map(own) => flowgroups.push(RawFlowgroup {
                            file,
                            value: Value::new(item.span, ValueKind::Map(inherit(own, map))),
                        }),
                        other => problems.push(
                            Diagnostic::error(
                                "LHP-CFG-009",
                                format!(
                                    "each entry of `flowgroups` must be a mapping, not {}",
                                    other.describe()
                                ),
                            )
                            .at(item.span),
                        ),
                    }
                }
            }
        }
    }
    for flowgroup in &flowgroups {
        check_shape(flowgroup, problems);
    }
    check_unique_names(&flowgroups, problems);
    if problems.len() > start {
        flowgroups.clear();
    }
    FileContent::Flowgroups(flowgroups)
}

/// An entry of a `flowgroups:` list, completed with the shared keys it does not set.
fn inherit(own: &Map, shared: &Map) -> Map {
    let mut merged = own.clone();
    for key in INHERITED {
        if own.contains_key(key) {
            continue;
        }
        if let Some((name, value)) = shared.get_entry(key) {
            merged.push(name.clone(), value.clone());
        }
    }
    merged
}

/// The fields every flowgroup and action must have, with the types they must have.
fn check_shape(flowgroup: &RawFlowgroup, problems: &mut Vec<Diagnostic>) {
    let Some(map) = flowgroup.value.as_map() else {
        return;
    };
    for key in ["pipeline", "flowgroup"] {
        match map.get(key) {
            None => problems.push(
                Diagnostic::error("LHP-CFG-009", format!("the flowgroup has no `{key}`"))
                    .at(flowgroup.value.span)
                    .hint(format!("add `{key}: <name>`")),
            ),
            Some(value) if value.as_str().is_none_or(str::is_empty) => problems.push(
                Diagnostic::error(
                    "LHP-CFG-009",
                    format!(
                        "`{key}` must be a non-empty string, not {}",
                        value.kind.describe()
                    ),
                )
                .at(value.span),
            ),
            Some(_) => {}
        }
    }
    let Some(actions) = map.get("actions") else {
        return;
    };
    let Some(actions) = actions.as_seq() else {
        if !actions.is_null() {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-009",
                    format!("`actions` must be a list, not {}", actions.kind.describe()),
                )
                .at(actions.span),
            );
        }
        return;
    };
    for action in actions {
        let Some(fields) = action.as_map() else {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-009",
                    format!(
                        "an action must be a mapping, not {}",
                        action.kind.describe()
                    ),
                )
                .at(action.span),
            );
            continue;
        };
        match fields.get("name") {
            None => problems
                .push(Diagnostic::error("LHP-CFG-009", "the action has no `name`").at(action.span)),
            Some(name) if name.as_str().is_none_or(str::is_empty) => problems.push(
                Diagnostic::error(
                    "LHP-CFG-009",
                    format!(
                        "an action `name` must be a non-empty string, not {}",
                        name.kind.describe()
                    ),
                )
                .at(name.span),
            ),
            Some(_) => {}
        }
        match fields.get("type") {
            None => problems.push(
                Diagnostic::error("LHP-CFG-009", "the action has no `type`")
                    .at(action.span)
                    .hint("one of load, transform, write, test"),
            ),
            Some(kind) => match kind.as_str() {
                Some(name) if ACTION_KINDS.contains(&name) => {}
                _ => {
                    let written = kind
                        .as_str()
                        .map_or_else(|| kind.to_string(), str::to_owned);
                    let mut problem = Diagnostic::error(
                        "LHP-ACT-001",
                        format!("unknown action type {written:?}"),
                    )
                    .at(kind.span);
                    problem = match did_you_mean(&written, &ACTION_KINDS) {
                        Some(guess) => problem.hint(format!("did you mean `{guess}`?")),
                        None => problem.hint("one of load, transform, write, test"),
                    };
                    problems.push(problem);
                }
            },
        }
    }
}

/// A flowgroup name used twice in one file.
fn check_unique_names(flowgroups: &[RawFlowgroup], problems: &mut Vec<Diagnostic>) {
    let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
    for flowgroup in flowgroups {
        let Some(map) = flowgroup.value.as_map() else {
            continue;
        };
        let Some(name_value) = map.get("flowgroup") else {
            continue;
        };
        let Some(name) = name_value.as_str() else {
            continue;
        };
        match seen.get(name) {
            Some(first) => problems.push(
                Diagnostic::error(
                    "LHP-VAL-013",
                    format!("flowgroup `{name}` is defined twice in this file"),
                )
                .at(name_value.span)
                .hint(format!("the first definition is on line {}", first.line)),
            ),
            None => {
                seen.insert(name, name_value.span);
            }
        }
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo or an
/// abbreviation (`params` for `parameters`).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Names are short; a huge word cannot be a typo of one, and must not cost a huge table.
    if word.len() > 128 {
        return None;
    }
    let word = word.to_lowercase();
    let typo = candidates
        .iter()
        .filter(|c| c.len() <= 128)
        .map(|c| (edit_distance(&word, c), *c))
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate);
    typo.or_else(|| {
        // An abbreviation: most of the word (and at least four letters) starts the candidate.
        let needed = 4.max(word.chars().count() * 3 / 5);
        candidates
            .iter()
            .map(|c| (common_prefix(&word, c), *c))
            .filter(|(shared, _)| *shared >= needed)
            .max_by_key(|(shared, _)| *shared)
            .map(|(_, candidate)| candidate)
    })
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Edit distance counting an insertion, deletion, substitution or swap of two neighbouring
/// characters as one edit (optimal string alignment), in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion_and_strangers_do_not() {
        assert_eq!(did_you_mean("lod", &ACTION_KINDS), Some("load"));
        assert_eq!(did_you_mean("Transfrom", &ACTION_KINDS), Some("transform"));
        assert_eq!(did_you_mean("wrte", &ACTION_KINDS), Some("write"));
        assert_eq!(did_you_mean("cloudfiles", &ACTION_KINDS), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("bsae", "base"), 1);
        assert_eq!(did_you_mean("bsae", &["a", "b", "base"]), Some("base"));
        assert_eq!(
            did_you_mean("params", &["use_blueprint", "parameters"]),
            Some("parameters")
        );
        assert_eq!(did_you_mean("par", &["parameters"]), None);
    }
}
