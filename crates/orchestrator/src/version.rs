//! `required_lhp_version`: PEP 440 version specifiers, checked against the format version we
//! implement.

use std::cmp::Ordering;

/// The `lakehouse-plumber` version whose project format this implementation reads.
pub const FORMAT_VERSION: &str = "0.9.3";

/// A PEP 440 version: release numbers, then an optional pre-release, post-release and
/// development release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    release: Vec<u64>,
    /// `a` = 0, `b` = 1, `rc` = 2, with its number.
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

impl Version {
    /// Parses `1.2.3`, `1.2rc1`, `1.2.post3`, `1.2.dev4` (a leading `v` is allowed).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        let text = text.strip_prefix('v').unwrap_or(&text);
        let release_end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (release_text, mut rest) = text.split_at(release_end);
        let release_text = release_text.trim_end_matches('.');
        let release = release_text
            .split('.')
            .map(|part| part.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()?;
        let mut version = Version {
            release,
            pre: None,
            post: None,
            dev: None,
        };
        for (tag, kind) in [("rc", 2u8), ("c", 2), ("a", 0), ("b", 1)] {
            if let Some(after) = rest.strip_prefix(tag) {
                let (number, tail) = leading_number(after);
                version.pre = Some((kind, number));
                rest = tail;
                break;
            }
        }
        if let Some(after) = rest
            .strip_prefix(".post")
            .or_else(|| rest.strip_prefix("post"))
        {
            let (number, tail) = leading_number(after);
            version.post = Some(number);
            rest = tail;
        }
        if let Some(after) = rest
            .strip_prefix(".dev")
            .or_else(|| rest.strip_prefix("dev"))
        {
            let (number, tail) = leading_number(after);
            version.dev = Some(number);
            rest = tail;
        }
        rest.is_empty().then_some(version)
    }

    fn release_cmp(&self, other: &Self) -> Ordering {
        let len = self.release.len().max(other.release.len());
        (0..len)
            .map(|i| {
                let a = self.release.get(i).copied().unwrap_or(0);
                let b = other.release.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

fn leading_number(text: &str) -> (u64, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    (text[..end].parse().unwrap_or(0), &text[end..])
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // A dev release sorts before its pre-releases, which sort before the release.
        let phase = |v: &Version| match (v.pre, v.dev, v.post) {
            (None, Some(_), None) => (0u8, 0u64),
            (Some((kind, n)), _, _) => (1 + kind, n),
            _ => (4, 0),
        };
        self.release_cmp(other)
            .then_with(|| phase(self).cmp(&phase(other)))
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| {
                // Within the same phase, no dev part sorts after a dev part.
                match (self.dev, other.dev) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(a), Some(b)) => a.cmp(&b),
                }
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether `version` satisfies the comma-separated PEP 440 `specifiers`; `Err` says why the
/// specifiers cannot be read.
pub fn satisfies(specifiers: &str, version: &str) -> Result<bool, String> {
    let version = Version::parse(version).ok_or_else(|| format!("`{version}` is not a version"))?;
    let mut all = true;
    for clause in specifiers.split(',') {
        let clause = clause.trim();
        // As Python's `packaging`: empty clauses (and an empty set) constrain nothing.
        if clause.is_empty() {
            continue;
        }
        let op_len = clause
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '!' | '~'))
            .unwrap_or(clause.len());
        let (op, target) = clause.split_at(op_len);
        let target = target.trim();
        let wildcard = target.strip_suffix(".*");
        let bad = || format!("`{clause}` is not a version specifier (such as `>=0.9,<1.0`)");
        let ok = match (op, wildcard) {
            ("==" | "!=", Some(prefix)) => {
                let prefix = Version::parse(prefix).ok_or_else(bad)?;
                let matches = prefix
                    .release
                    .iter()
                    .enumerate()
                    .all(|(i, n)| version.release.get(i).copied().unwrap_or(0) == *n);
                (op == "==") == matches
            }
            (_, Some(_)) => return Err(bad()),
            ("===", None) => target == FORMAT_VERSION,
            (_, None) => {
                let target = Version::parse(target).ok_or_else(bad)?;
                match op {
                    "==" => version == target || version.cmp(&target).is_eq(),
                    "!=" => version.cmp(&target).is_ne(),
                    ">=" => version >= target,
                    "<=" => version <= target,
                    ">" => version > target,
                    "<" => version < target,
                    "~=" => {
                        if target.release.len() < 2 {
                            return Err(format!(
                                "`{clause}`: `~=` needs at least two release numbers"
                            ));
                        }
                        let prefix = &target.release[..target.release.len() - 1];
                        version >= target
                            && prefix
                                .iter()
                                .enumerate()
                                .all(|(i, n)| version.release.get(i).copied().unwrap_or(0) == *n)
                    }
                    _ => return Err(bad()),
                }
            }
        };
        all &= ok;
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are what Python's `packaging` (which the reference uses) answered.
    #[test]
    fn specifiers_against_the_format_version() {
        for (spec, expected) in [
            (">=0.9", true),
            (">=0.9,<1.0", true),
            ("==0.9.3", true),
            ("==0.9.3.0", true),
            ("==0.9.*", true),
            ("!=0.9.*", false),
            ("~=0.9.0", true),
            ("~=0.9", true),
            ("~=0.8.0", false),
            (">0.9.3", false),
            ("<0.9.3", false),
            (">=0.9.3rc1", true),
            ("<0.9.4.dev0", true),
            ("==1.*", false),
            (">= 0.9 , < 2", true),
            ("", true),
            (">=0.9,", true),
        ] {
            assert_eq!(satisfies(spec, FORMAT_VERSION), Ok(expected), "{spec}");
        }
    }

    #[test]
    fn unreadable_specifiers_say_why() {
        for spec in ["0.9", ">=banana", "~=1", ">=1.*", "=>0.9"] {
            assert!(satisfies(spec, FORMAT_VERSION).is_err(), "{spec}");
        }
    }

    #[test]
    fn pre_and_post_releases_order_as_pep_440_says() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.0.dev1") < v("1.0a1"));
        assert!(v("1.0a1") < v("1.0b1"));
        assert!(v("1.0b1") < v("1.0rc1"));
        assert!(v("1.0rc1") < v("1.0"));
        assert!(v("1.0") < v("1.0.post1"));
        assert_eq!(v("1.0").cmp(&v("1.0.0")), Ordering::Equal);
    }
}
