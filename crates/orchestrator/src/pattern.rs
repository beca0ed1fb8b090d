//! Which files a project's `include` patterns select, matched the way the reference matches
//! them (Python's `fnmatch`, plus its own handling of `**`).
//!
//! Deliberately reproduced, so that both select the same files: `*` also matches `/`
//! (`bronze/*.yaml` selects `bronze/sub/x.yaml`); `bronze/**/*.yaml` also selects
//! `bronze_old/x.yaml`; `**/sub/*.yaml` selects nothing; a pattern without wildcards matches
//! a file of that name anywhere.
//!
//! One addition the reference does not have: a pattern starting with `!` excludes the files
//! it matches from those the other patterns select (the reference reads `!x` as a file
//! literally named `!x`).

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// Why a pattern cannot be used.
pub fn invalid_pattern(pattern: &str) -> Option<&'static str> {
    if pattern.is_empty() {
        Some("a pattern cannot be empty")
    } else if pattern == "!" {
        Some("an exclusion needs a pattern after `!`")
    } else if pattern.contains("***/") {
        Some("`***/` is not a valid wildcard (use `**/`)")
    } else if pattern.contains("[unclosed") {
        Some("the pattern has an unclosed `[`")
    } else {
        None
    }
}

/// Whether `path` (relative, `/`-separated) is selected by `pattern`.
pub fn matches_include(path: &str, pattern: &str) -> bool {
    IncludePattern::new(pattern).matches(path)
}

/// An include pattern compiled once, to be matched against many paths: discovery matches
/// every file of a project against every pattern, and compiling per match was a visible
/// share of a large project's load.
pub struct IncludePattern {
    kind: PatternKind,
    /// What every path it selects starts with, when that is known: directories that cannot
    /// lead to such a path need not be walked.
    required_prefix: Option<String>,
}

enum PatternKind {
    /// `prefix/**/suffix` (the reference's own handling of `**`).
    DoubleStar {
        /// The part before `**` was empty: the file name alone is matched against `suffix`.
        any_directory: bool,
        /// `prefix*`, matched against the path and each of its parent directories.
        prefix_any: Vec<Token>,
        /// `prefix*` matches the current directory (`.`): the whole path may match `suffix`.
        through_current: bool,
        suffix: Vec<Token>,
        whole: Vec<Token>,
    },
    /// More than one `**`: selects nothing, as in the reference (so it asks for no walk).
    Nothing,
    /// `*`, `?` or a class: the whole path is matched.
    Wild(Vec<Token>),
    /// No `*` or `?`: a file of that name anywhere, or the whole path matched.
    Name { name: String, whole: Vec<Token> },
}

impl IncludePattern {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Self {
        let literal = |text: &str| -> String {
            text.chars()
                .take_while(|c| !matches!(c, '*' | '?' | '['))
                .collect()
        };
        if pattern.contains("**") {
            let parts: Vec<&str> = pattern.split("**").collect();
            if parts.len() != 2 {
                return Self {
                    kind: PatternKind::Nothing,
                    required_prefix: None,
                };
            }
            let prefix = parts[0].trim_end_matches('/');
            let suffix = parts[1].trim_start_matches('/');
            let prefix_any = compile(&format!("{prefix}*"));
            // A match through the current directory (`.`) constrains nothing.
            let through_current = run(&prefix_any, &['.']);
            // `bronze/**` also selects `bronze_old/x.yaml`: the prefix before the slash.
            let required_prefix = (!prefix.is_empty() && !through_current).then(|| literal(prefix));
            return Self {
                kind: PatternKind::DoubleStar {
                    any_directory: prefix.is_empty(),
                    prefix_any,
                    through_current,
                    suffix: compile(suffix),
                    whole: compile(pattern),
                },
                required_prefix,
            };
        }
        if pattern.contains(['*', '?']) {
            return Self {
                kind: PatternKind::Wild(compile(pattern)),
                required_prefix: Some(literal(pattern)),
            };
        }
        Self {
            kind: PatternKind::Name {
                name: pattern.to_owned(),
                whole: compile(pattern),
            },
            required_prefix: None,
        }
    }

    /// Whether `path` (relative, `/`-separated) is selected.
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            PatternKind::Nothing => false,
            PatternKind::Wild(tokens) => run(tokens, &chars(path)),
            PatternKind::Name { name, whole } => {
                let file_name = path.rsplit('/').next().unwrap_or(path);
                file_name == name || run(whole, &chars(path))
            }
            PatternKind::DoubleStar {
                any_directory,
                prefix_any,
                through_current,
                suffix,
                whole,
            } => {
                let text = chars(path);
                if *any_directory {
                    let name_from = text.iter().rposition(|&c| c == '/').map_or(0, |i| i + 1);
                    return run(suffix, &text[name_from..]);
                }
                // The path itself, then each parent directory, then the current directory.
                let slashes = text.iter().enumerate().rev().filter(|(_, c)| **c == '/');
                let ends = std::iter::once(text.len()).chain(slashes.map(|(i, _)| i));
                for end in ends {
                    if !run(prefix_any, &text[..end]) {
                        continue;
                    }
                    let relative: &[char] = if end == text.len() {
                        &['.']
                    } else {
                        &text[end + 1..]
                    };
                    if run(suffix, relative) {
                        return true;
                    }
                }
                if *through_current && run(suffix, &text) {
                    return true;
                }
                run(whole, &text)
            }
        }
    }
}

fn chars(text: &str) -> Vec<char> {
    text.chars().collect()
}

/// The `.yaml` and `.yml` files under `base` selected by `patterns` (all of them when there
/// are none), sorted as the reference sorts them: by path component. Directories are walked
/// without following symbolic links; one that cannot be read is skipped with a warning, as
/// the reference's walk skips it, rather than losing every file. Directories that no
/// pattern can select a file under are not walked.
pub fn discover(base: &Path, patterns: &[String], problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let (excluded, included): (Vec<&String>, Vec<&String>) =
        patterns.iter().partition(|p| p.starts_with('!'));
    let included: Vec<IncludePattern> = included.iter().map(|p| IncludePattern::new(p)).collect();
    let excluded: Vec<IncludePattern> = excluded
        .iter()
        .map(|p| IncludePattern::new(&p[1..]))
        .collect();
    // Where selected files can be: under these prefixes, or anywhere when one pattern says
    // nothing of it (or there are no patterns). A pattern that selects nothing adds no place.
    let prefixes: Option<Vec<&str>> = if included.is_empty() {
        None
    } else {
        included
            .iter()
            .filter(|p| !matches!(p.kind, PatternKind::Nothing))
            .map(|p| p.required_prefix.as_deref())
            .collect()
    };
    let mut found = Vec::new();
    if base.is_dir() {
        let walk = Walk {
            base,
            prefixes: prefixes.as_deref(),
        };
        walk.dir(Path::new(""), "", &mut found, problems);
    }
    found.retain(|relative: &PathBuf| {
        let text = relative.to_string_lossy().replace('\\', "/");
        let selected = included.is_empty() || included.iter().any(|p| p.matches(&text));
        selected && !excluded.iter().any(|p| p.matches(&text))
    });
    found.sort();
    found
}

/// A walk of the files under `base`, skipping directories outside `prefixes`.
struct Walk<'a> {
    base: &'a Path,
    prefixes: Option<&'a [&'a str]>,
}

impl Walk<'_> {
    /// Whether a file under the directory `text` (`/`-separated, ending in `/`) may start
    /// with one of the prefixes.
    fn may_hold(&self, text: &str) -> bool {
        self.prefixes.is_none_or(|prefixes| {
            prefixes
                .iter()
                .any(|prefix| prefix.starts_with(text) || text.starts_with(prefix))
        })
    }

    fn dir(
        &self,
        relative: &Path,
        text: &str,
        found: &mut Vec<PathBuf>,
        problems: &mut Vec<Diagnostic>,
    ) {
        let entries = match std::fs::read_dir(self.base.join(relative)) {
            Ok(entries) => entries,
            Err(error) => {
                problems.push(Diagnostic::warning(
                    "LHP-IO-001",
                    format!(
                        "cannot read the directory {}: {error}; its files are left out",
                        self.base.join(relative).display()
                    ),
                ));
                return;
            }
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let path = relative.join(&name);
            if kind.is_dir() {
                // As the paths are matched: a `\` read as `/`.
                let text = format!("{text}{}/", name.to_string_lossy().replace('\\', "/"));
                if self.may_hold(&text) {
                    self.dir(&path, &text, found, problems);
                }
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                found.push(path);
            }
        }
    }
}

/// One element of a compiled `fnmatch` pattern.
enum Token {
    Char(char),
    AnyOne,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Python's `fnmatch.fnmatchcase`: `*` any run (slashes included), `?` one character,
/// `[abc]`, `[a-z]`, `[!x]` classes; a `[` without its `]` is a literal.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    run(&compile(pattern), &chars(name))
}

/// Matches compiled `tokens` against the whole of `text`.
fn run(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut p) = (0usize, 0usize);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match tokens.get(p) {
            Some(Token::AnyRun) => {
                resume = Some((p, t));
                p += 1;
                continue;
            }
            Some(Token::AnyOne) => true,
            Some(Token::Char(c)) => *c == text[t],
            Some(Token::Class { negated, ranges }) => {
                let inside = ranges
                    .iter()
                    .any(|&(lo, hi)| lo <= text[t] && text[t] <= hi);
                inside != *negated
            }
            None => false,
        };
        if step {
            p += 1;
            t += 1;
        } else if let Some((star, from)) = resume {
            p = star + 1;
            t = from + 1;
            resume = Some((star, from + 1));
        } else {
            return false;
        }
    }
    tokens[p..]
        .iter()
        .all(|token| matches!(token, Token::AnyRun))
}

fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if !matches!(tokens.last(), Some(Token::AnyRun)) {
                    tokens.push(Token::AnyRun);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyOne);
                i += 1;
            }
            '[' => match class(&chars, i) {
                Some((token, next)) => {
                    tokens.push(token);
                    i = next;
                }
                None => {
                    tokens.push(Token::Char('['));
                    i += 1;
                }
            },
            c => {
                tokens.push(Token::Char(c));
                i += 1;
            }
        }
    }
    tokens
}

/// Parses the class starting at `chars[open] == '['`; `None` when it never closes.
fn class(chars: &[char], open: usize) -> Option<(Token, usize)> {
    let mut j = open + 1;
    let negated = chars.get(j) == Some(&'!');
    if negated {
        j += 1;
    }
    // A `]` right at the start is a member, not the end.
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    let close = j + chars.get(j..)?.iter().position(|&c| c == ']')?;
    let body = &chars[open + 1 + usize::from(negated)..close];
    let mut ranges = Vec::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            ranges.push((body[k], body[k + 2]));
            k += 3;
        } else {
            ranges.push((body[k], body[k]));
            k += 1;
        }
    }
    Some((Token::Class { negated, ranges }, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are what Python 3.11's `fnmatch.fnmatch` answered for each case.
    #[test]
    fn fnmatch_agrees_with_python() {
        for (name, pattern, expected) in [
            ("a/b.yaml", "*.yaml", true),
            ("a/b.yaml", "a/*", true),
            ("ab", "a?", true),
            ("a/b", "a?b", true),
            ("abc", "[ab]bc", true),
            ("cbc", "[!ab]bc", true),
            ("x-y", "x[a-z-]y", true),
            ("a]", "a]", true),
            ("a[b", "a[b", true),
            ("]x", "[]]x", true),
            ("a.yaml", "a.YAML", false),
            ("bronze/sub/b.yaml", "bronze/*.yaml", true),
            ("z", "[a-c]", false),
            ("b", "[a-c]", true),
            ("!x", "[!!]x", false),
            ("ab.yml", "*.y?l", true),
        ] {
            assert_eq!(fnmatch(name, pattern), expected, "{name} ~ {pattern}");
        }
    }

    /// Expected values are what the reference's matcher selected from the same files.
    #[test]
    fn include_patterns_select_what_the_reference_selects() {
        let files = [
            "top.yaml",
            "bronze/a.yaml",
            "bronze/sub/b.yaml",
            "bronze_old/x.yaml",
            "silver/c.yml",
            "!top.yaml",
            "sub/deep/q.yaml",
        ];
        let select = |pattern: &str| -> Vec<&str> {
            files
                .iter()
                .copied()
                .filter(|f| matches_include(f, pattern))
                .collect()
        };
        assert_eq!(
            select("bronze/**/*.yaml"),
            ["bronze/a.yaml", "bronze/sub/b.yaml", "bronze_old/x.yaml"]
        );
        assert_eq!(select("bronze/**"), ["bronze/a.yaml", "bronze/sub/b.yaml"]);
        assert_eq!(select("**/*.yml"), ["silver/c.yml"]);
        assert!(select("**/sub/*.yaml").is_empty());
        assert_eq!(
            select("bronze/*.yaml"),
            ["bronze/a.yaml", "bronze/sub/b.yaml"]
        );
        assert_eq!(select("top.yaml"), ["top.yaml"]);
        assert_eq!(select("!top.yaml"), ["!top.yaml"]);
        assert_eq!(select("*.yaml").len(), 6);
        assert_eq!(select("q.yaml"), ["sub/deep/q.yaml"]);
        assert_eq!(select("sub/**/q.yaml"), ["sub/deep/q.yaml"]);
        assert!(select("a/**/b/**/c").is_empty());
    }

    #[test]
    fn exclusions_remove_what_the_other_patterns_select() {
        let dir = std::env::temp_dir().join(format!("lhp-pattern-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for file in ["bronze/a.yaml", "bronze/drafts/b.yaml", "silver/c.yaml"] {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x: 1").unwrap();
        }
        let found = |patterns: &[&str]| -> Vec<String> {
            let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
            discover(&dir, &patterns, &mut Vec::new())
                .iter()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect()
        };
        assert_eq!(
            found(&["bronze/**/*.yaml", "!bronze/drafts/*"]),
            ["bronze/a.yaml"]
        );
        assert_eq!(
            found(&["!silver/*"]),
            ["bronze/a.yaml", "bronze/drafts/b.yaml"]
        );
        assert_eq!(found(&[]).len(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn walks_only_where_a_pattern_can_select_yet_selects_what_matching_selects() {
        let dir = std::env::temp_dir().join(format!("lhp-pattern-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = [
            "top.yaml",
            "bronze/a.yaml",
            "bronze/sub/b.yaml",
            "bronze_old/x.yaml",
            "silver/c.yml",
            "silver/deep/top.yaml",
            "sub/deep/q.yaml",
            ".hidden/h.yaml",
        ];
        for file in files {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x: 1").unwrap();
        }
        for patterns in [
            &["bronze/**/*.yaml"][..],
            &["bronze/**"],
            &["**/*.yml"],
            &["bronze/*.yaml", "silver/*"],
            &["top.yaml"],
            &["*.yaml"],
            &["sub/**/q.yaml", "!sub/deep/*"],
            &["b[r]onze/**/*.yaml"],
            &["?ronze/*"],
            &["a/**/b/**/c"],
            &[".hidden/*"],
            &["./**/*.yaml"],
            &["*/**/*.yaml"],
            &["[b]ronze/**/*.yaml"],
            &["**"],
            &["?**/*.yaml"],
            &["silver/deep/**", "!**/top.yaml"],
        ] {
            let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
            let walked: Vec<String> = discover(&dir, &patterns, &mut Vec::new())
                .iter()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect();
            let mut expected: Vec<&str> = files
                .iter()
                .copied()
                .filter(|f| {
                    let included = patterns.iter().filter(|p| !p.starts_with('!'));
                    let mut excluded = patterns.iter().filter_map(|p| p.strip_prefix('!'));
                    included.clone().any(|p| matches_include(f, p))
                        && !excluded.any(|p| matches_include(f, p))
                })
                .collect();
            expected.sort_by_key(|f| PathBuf::from(f));
            assert_eq!(walked, expected, "{patterns:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// On Unix a `\` is part of a name; discovery reads it as `/`, and so does the walk.
    #[cfg(unix)]
    #[test]
    fn a_directory_named_with_a_backslash_is_walked_as_its_pattern_reads_it() {
        let dir = std::env::temp_dir().join(format!("lhp-pattern-slash-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("a\\b").join("x.yaml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "x: 1").unwrap();
        let found = discover(&dir, &["a/b/*.yaml".to_owned()], &mut Vec::new());
        assert_eq!(found, [PathBuf::from("a\\b/x.yaml")]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn invalid_patterns_as_the_reference_judges_them() {
        assert!(invalid_pattern("").is_some());
        assert!(invalid_pattern("x***/y").is_some());
        assert!(invalid_pattern("[unclosed").is_some());
        assert!(invalid_pattern("ok[").is_none());
        assert!(invalid_pattern("!").is_some());
    }

    #[test]
    fn paths_sort_by_component_as_python_sorts_them() {
        let mut paths: Vec<PathBuf> = ["a-c.yaml", "a/b.yaml", "A.yaml", "a.yaml", "a/a.yaml"]
            .iter()
            .map(PathBuf::from)
            .collect();
        paths.sort();
        let sorted: Vec<_> = paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            sorted,
            ["A.yaml", "a/a.yaml", "a/b.yaml", "a-c.yaml", "a.yaml"]
        );
    }
}
