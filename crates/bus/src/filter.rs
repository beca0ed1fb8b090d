//! Which events a subscriber sees: kind globs (`action.*`, `*.error`, exact kinds) and an
//! optional predicate over the event itself.

use std::fmt;
use std::sync::Arc;

use crate::{Event, SubscribeError};

/// One kind pattern, compiled to the cheapest matcher that does its job.
#[derive(Clone, PartialEq, Eq)]
enum KindPattern {
    /// `*`
    Any,
    /// No wildcard.
    Exact(Box<str>),
    /// `prefix*`
    Prefix(Box<str>),
    /// `*suffix`
    Suffix(Box<str>),
    /// Anything else with `*` (any run of characters, dots included) or `?` (one character).
    Glob(Box<[char]>),
}

impl KindPattern {
    fn parse(pattern: &str) -> Result<Self, SubscribeError> {
        if pattern.is_empty() {
            return Err(SubscribeError::InvalidPattern {
                pattern: pattern.to_owned(),
                reason: "a kind pattern cannot be empty".to_owned(),
            });
        }
        if let Some(bad) = pattern
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(SubscribeError::InvalidPattern {
                pattern: pattern.to_owned(),
                reason: format!("kind patterns cannot contain {bad:?}"),
            });
        }
        let stars = pattern.matches('*').count();
        let has_question = pattern.contains('?');
        Ok(match (stars, has_question) {
            (0, false) => Self::Exact(pattern.into()),
            _ if pattern.chars().all(|c| c == '*') => Self::Any,
            (1, false) if pattern.ends_with('*') => {
                Self::Prefix(pattern[..pattern.len() - 1].into())
            }
            (1, false) if pattern.starts_with('*') => Self::Suffix(pattern[1..].into()),
            _ => Self::Glob(pattern.chars().collect()),
        })
    }

    fn matches(&self, kind: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(exact) => kind == &**exact,
            Self::Prefix(prefix) => kind.starts_with(&**prefix),
            Self::Suffix(suffix) => kind.ends_with(&**suffix),
            Self::Glob(pattern) => glob_matches(pattern, kind),
        }
    }
}

/// Wildcard matching with single-star backtracking: linear in practice, O(n·m) at worst.
fn glob_matches(pattern: &[char], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                resume = Some((p, t));
                p += 1;
            }
            Some('?') => {
                p += 1;
                t += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match resume {
                Some((star, matched_to)) => {
                    p = star + 1;
                    t = matched_to + 1;
                    resume = Some((star, matched_to + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

type Predicate<E> = Arc<dyn Fn(&E) -> bool + Send + Sync>;

/// Decides whether a subscriber receives an event.
///
/// An event matches when its kind matches at least one pattern (or there are no patterns)
/// **and** the predicate, if any, returns true. Patterns: `*` matches any run of characters
/// including dots, `?` matches one character, anything else matches itself.
///
/// ```
/// use lhp_bus::Filter;
/// # #[derive(Debug)] struct Ev(&'static str);
/// # impl lhp_bus::Event for Ev { fn kind(&self) -> &str { self.0 } }
/// let errors = Filter::<Ev>::kinds(["*.error", "pipeline.end"]).unwrap();
/// assert!(errors.matches(&Ev("action.error")));
/// assert!(errors.matches(&Ev("pipeline.end")));
/// assert!(!errors.matches(&Ev("action.start")));
/// ```
pub struct Filter<E> {
    patterns: Vec<KindPattern>,
    predicate: Option<Predicate<E>>,
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Self {
            patterns: self.patterns.clone(),
            predicate: self.predicate.clone(),
        }
    }
}

impl<E: 'static> Default for Filter<E> {
    fn default() -> Self {
        Self::all()
    }
}

impl<E> fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let patterns: Vec<String> = self.patterns.iter().map(describe).collect();
        f.debug_struct("Filter")
            .field("patterns", &patterns)
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

fn describe(pattern: &KindPattern) -> String {
    match pattern {
        KindPattern::Any => "*".to_owned(),
        KindPattern::Exact(s) => s.to_string(),
        KindPattern::Prefix(s) => format!("{s}*"),
        KindPattern::Suffix(s) => format!("*{s}"),
        KindPattern::Glob(chars) => chars.iter().collect(),
    }
}

impl<E: 'static> Filter<E> {
    /// A filter that lets every event through.
    pub fn all() -> Self {
        Self {
            patterns: Vec::new(),
            predicate: None,
        }
    }

    /// A filter on event kinds: an event passes when any pattern matches its kind.
    pub fn kinds<I, S>(patterns: I) -> Result<Self, SubscribeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = patterns
            .into_iter()
            .map(|p| KindPattern::parse(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            patterns,
            predicate: None,
        })
    }

    /// Replaces the kind patterns, keeping the predicate.
    pub fn with_kinds<I, S>(self, patterns: I) -> Result<Self, SubscribeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(Self {
            predicate: self.predicate,
            ..Self::kinds(patterns)?
        })
    }

    /// Adds a predicate that must also hold for an event to pass.
    pub fn and(mut self, predicate: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.predicate = Some(match self.predicate.take() {
            None => Arc::new(predicate),
            Some(first) => Arc::new(move |e: &E| first(e) && predicate(e)),
        });
        self
    }
}

impl<E: 'static> Filter<E> {
    /// Whether an event of `kind` can pass: its kind matches, and a predicate (if any) is
    /// assumed to hold. Lets a publisher skip making events that nobody would receive.
    pub fn may_pass_kind(&self, kind: &str) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| p.matches(kind))
    }
}

impl<E: Event> Filter<E> {
    /// Whether `event` passes this filter.
    pub fn matches(&self, event: &E) -> bool {
        (self.patterns.is_empty() || {
            let kind = event.kind();
            self.patterns.iter().any(|p| p.matches(kind))
        }) && self.predicate.as_ref().is_none_or(|p| p(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, kind: &str) -> bool {
        KindPattern::parse(pattern).unwrap().matches(kind)
    }

    #[test]
    fn exact_prefix_suffix_and_any() {
        assert!(matches("action.start", "action.start"));
        assert!(!matches("action.start", "action.startx"));
        assert!(matches("action.*", "action.end"));
        assert!(!matches("action.*", "actions.end"));
        assert!(matches("*.error", "flowgroup.error"));
        assert!(!matches("*.error", "flowgroup.errors"));
        assert!(matches("*", "anything.at.all"));
        assert!(matches("**", ""));
    }

    #[test]
    fn general_globs_backtrack() {
        assert!(matches("plugin.*.done", "plugin.slack.done"));
        assert!(matches("plugin.*.done", "plugin.a.b.done"));
        assert!(!matches("plugin.*.done", "plugin.slack.doneX"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(matches("table.?pdated", "table.updated"));
        assert!(!matches("table.?pdated", "table.pdated"));
        assert!(matches("*.*", "a.b"));
        assert!(!matches("*.*", "ab"));
    }

    #[test]
    fn may_pass_kind_answers_for_kinds_alone() {
        let kinds: Filter<String> = Filter::kinds(["action.*", "*.error"]).unwrap();
        assert!(kinds.may_pass_kind("action.end"));
        assert!(kinds.may_pass_kind("pipeline.error"));
        assert!(!kinds.may_pass_kind("pipeline.end"));
        // A predicate cannot be asked without an event: the kind alone decides.
        let narrowed = kinds.and(|_: &String| false);
        assert!(narrowed.may_pass_kind("action.end"));
        assert!(!narrowed.may_pass_kind("flowgroup.start"));
        assert!(Filter::<String>::all().may_pass_kind("anything.at.all"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(matches!(
            KindPattern::parse(""),
            Err(SubscribeError::InvalidPattern { .. })
        ));
        assert!(matches!(
            KindPattern::parse("action .start"),
            Err(SubscribeError::InvalidPattern { .. })
        ));
    }
}
