//! How events are held once published: one shared allocation per publish (a *segment*),
//! runs of it in each subscriber's queue, and the [`Batch`] and [`Shared`] views handlers and
//! streams see.
//!
//! A publish allocates its events once, as a segment behind one `Arc`. A subscriber's queue
//! does not hold one reference per event but one per *run*: a stretch of consecutive events
//! of one segment that passed its filter. So a `publish_many` of 64 events costs each
//! subscriber one reference-count increment and one queue entry, not 64 of each, and the
//! events are freed together when the last run of their segment goes.

use std::collections::VecDeque;
use std::fmt;
use std::iter::FusedIterator;
use std::ops::{Deref, Range};
use std::sync::Arc;

/// The events of one publish, allocated once and shared by every subscriber that gets any.
/// A thin pointer, so that a queue entry ([`Run`]) takes 16 bytes.
pub(crate) type Segment<E> = Arc<Events<E>>;

/// The most events one segment holds: runs index them with `u32`.
pub(crate) const MAX_SEGMENT: usize = u32::MAX as usize;

/// A segment's events: a lone event in the segment's own allocation (what `publish` makes),
/// or those of a `publish_many`.
pub(crate) enum Events<E> {
    One(E),
    Many(Vec<E>),
}

impl<E> Events<E> {
    /// The events in publish order.
    pub(crate) fn as_slice(&self) -> &[E] {
        match self {
            Self::One(event) => std::slice::from_ref(event),
            Self::Many(events) => events,
        }
    }
}

/// A segment of one event.
pub(crate) fn segment_of_one<E>(event: E) -> Segment<E> {
    Arc::new(Events::One(event))
}

/// `events` as segments in order, each of at most [`MAX_SEGMENT`] events (one, but for
/// more than four billion events); none when there are no events.
pub(crate) fn into_segments<E>(mut events: Vec<E>) -> impl Iterator<Item = Segment<E>> {
    std::iter::from_fn(move || {
        if events.is_empty() {
            return None;
        }
        let rest = if events.len() > MAX_SEGMENT {
            events.split_off(MAX_SEGMENT)
        } else {
            Vec::new()
        };
        Some(Arc::new(Events::Many(std::mem::replace(&mut events, rest))))
    })
}

/// Consecutive events `start..end` of one segment.
pub(crate) struct Run<E> {
    segment: Segment<E>,
    start: u32,
    end: u32,
}

/// Converts an index within a segment, which [`MAX_SEGMENT`] keeps within `u32`.
fn narrow(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

impl<E> Run<E> {
    /// A run over `range` of `segment`; the range must lie within it.
    pub(crate) fn new(segment: Segment<E>, range: Range<usize>) -> Self {
        debug_assert!(range.start <= range.end && range.end <= segment.as_slice().len());
        Self {
            segment,
            start: narrow(range.start),
            end: narrow(range.end),
        }
    }

    /// The number of events in the run.
    pub(crate) fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// The run's events, in publish order.
    pub(crate) fn events(&self) -> &[E] {
        &self.segment.as_slice()[self.start as usize..self.end as usize]
    }

    /// Splits off the first `count` events (fewer than [`Run::len`]) as a run of their own.
    pub(crate) fn split_front(&mut self, count: usize) -> Run<E> {
        debug_assert!(count < self.len());
        let end = self.start + narrow(count);
        let front = Run {
            segment: Arc::clone(&self.segment),
            start: self.start,
            end,
        };
        self.start = end;
        front
    }

    /// Forgets the first `count` events (fewer than [`Run::len`]); they stay allocated until
    /// the segment goes.
    pub(crate) fn skip_front(&mut self, count: usize) {
        debug_assert!(count < self.len());
        self.start += narrow(count);
    }

    /// The run's only event.
    fn into_single(self) -> Shared<E> {
        debug_assert_eq!(self.len(), 1);
        Shared {
            segment: self.segment,
            index: self.start,
        }
    }
}

/// Runs in order, with the number of events they hold.
pub(crate) struct Runs<E> {
    runs: VecDeque<Run<E>>,
    len: usize,
}

impl<E> Runs<E> {
    /// No runs, with room for `runs` entries before the first reallocation.
    pub(crate) fn with_capacity(runs: usize) -> Self {
        Self {
            runs: VecDeque::with_capacity(runs),
            len: 0,
        }
    }

    /// Events held, over all runs.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when no event is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a run (an empty one is ignored).
    pub(crate) fn push_back(&mut self, run: Run<E>) {
        if run.len() > 0 {
            self.len += run.len();
            self.runs.push_back(run);
        }
    }

    /// Moves the first `count` events (at most [`Runs::len`]) to the end of `into`, splitting
    /// a run where `count` falls inside it.
    pub(crate) fn move_front(&mut self, mut count: usize, into: &mut Runs<E>) {
        while count > 0 {
            let Some(front) = self.runs.front_mut() else {
                break;
            };
            let run = if front.len() <= count {
                match self.runs.pop_front() {
                    Some(run) => run,
                    None => break,
                }
            } else {
                front.split_front(count)
            };
            count -= run.len();
            self.len -= run.len();
            into.push_back(run);
        }
    }

    /// Removes the first `count` events (at most [`Runs::len`]). Runs emptied by it are put in
    /// `released`, for the caller to drop where dropping is safe.
    pub(crate) fn evict_front(&mut self, mut count: usize, released: &mut Vec<Run<E>>) {
        while count > 0 {
            let Some(front) = self.runs.front_mut() else {
                break;
            };
            if front.len() <= count {
                count -= front.len();
                self.len -= front.len();
                released.extend(self.runs.pop_front());
            } else {
                front.skip_front(count);
                self.len -= count;
                count = 0;
            }
        }
    }

    /// Takes the first event on its own.
    pub(crate) fn pop_front_event(&mut self) -> Option<Shared<E>> {
        let front = self.runs.front_mut()?;
        self.len -= 1;
        if front.len() > 1 {
            Some(front.split_front(1).into_single())
        } else {
            self.runs.pop_front().map(Run::into_single)
        }
    }

    /// Drops every run.
    pub(crate) fn clear(&mut self) {
        self.runs.clear();
        self.len = 0;
    }

    /// Empties `self` into a new value, keeping nothing.
    pub(crate) fn take(&mut self) -> Runs<E> {
        Runs {
            runs: std::mem::take(&mut self.runs),
            len: std::mem::take(&mut self.len),
        }
    }
}

/// The events of one handler call, in the order the subscriber received them.
///
/// It derefs to nothing: iterate it ([`Batch::iter`] or `for event in batch`) to read the
/// events, and use [`Batch::shared`] or [`Batch::iter_shared`] to keep one past the call. The
/// events are not copied for it: a batch refers to the allocations its publishes made, which
/// every subscriber shares.
pub struct Batch<E> {
    runs: Runs<E>,
}

impl<E> Batch<E> {
    /// An empty batch.
    pub fn new() -> Self {
        Self {
            runs: Runs::with_capacity(0),
        }
    }

    /// A batch able to take `runs` runs (stretches of one publish) without reallocating.
    pub(crate) fn with_run_capacity(runs: usize) -> Self {
        Self {
            runs: Runs::with_capacity(runs),
        }
    }

    /// The runs, for the actor that fills and empties it.
    pub(crate) fn runs_mut(&mut self) -> &mut Runs<E> {
        &mut self.runs
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// True when there are no events.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The events in order.
    pub fn iter(&self) -> Iter<'_, E> {
        Iter {
            runs: self.runs.runs.iter(),
            current: [].iter(),
            remaining: self.runs.len(),
        }
    }

    /// The event at `index`, if the batch has that many. It walks the batch's runs (one per
    /// stretch of one publish), so to visit every event, iterate rather than index.
    pub fn get(&self, index: usize) -> Option<&E> {
        self.locate(index)
            .map(|(run, offset)| &run.events()[offset])
    }

    /// The first event.
    pub fn first(&self) -> Option<&E> {
        self.runs.runs.front().and_then(|run| run.events().first())
    }

    /// The last event.
    pub fn last(&self) -> Option<&E> {
        self.runs.runs.back().and_then(|run| run.events().last())
    }

    /// A handle on the event at `index` that may outlive the call (it keeps the event's
    /// publish allocated).
    pub fn shared(&self, index: usize) -> Option<Shared<E>> {
        self.locate(index).map(|(run, offset)| Shared {
            segment: Arc::clone(&run.segment),
            index: run.start + narrow(offset),
        })
    }

    /// Handles on every event, in order, that may outlive the call.
    pub fn iter_shared(&self) -> impl ExactSizeIterator<Item = Shared<E>> + '_ {
        let shared = self.runs.runs.iter().flat_map(|run| {
            (run.start..run.end).map(|index| Shared {
                segment: Arc::clone(&run.segment),
                index,
            })
        });
        SharedIter {
            next: shared,
            remaining: self.len(),
        }
    }

    fn locate(&self, mut index: usize) -> Option<(&Run<E>, usize)> {
        for run in &self.runs.runs {
            if index < run.len() {
                return Some((run, index));
            }
            index -= run.len();
        }
        None
    }
}

impl<E> Default for Batch<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> From<Vec<E>> for Batch<E> {
    /// A batch of `events` as one publish would make it: one shared allocation.
    fn from(events: Vec<E>) -> Self {
        let mut runs = Runs::with_capacity(1);
        for segment in into_segments(events) {
            let len = segment.as_slice().len();
            runs.push_back(Run::new(segment, 0..len));
        }
        Self { runs }
    }
}

impl<E> FromIterator<E> for Batch<E> {
    fn from_iter<I: IntoIterator<Item = E>>(events: I) -> Self {
        Self::from(events.into_iter().collect::<Vec<E>>())
    }
}

impl<E> FromIterator<Shared<E>> for Batch<E> {
    /// A batch of events already published (or made with [`Shared::new`]), in the given order.
    fn from_iter<I: IntoIterator<Item = Shared<E>>>(events: I) -> Self {
        let mut runs = Runs::with_capacity(0);
        for event in events {
            let index = event.index as usize;
            runs.push_back(Run::new(event.segment, index..index + 1));
        }
        Self { runs }
    }
}

impl<E> std::ops::Index<usize> for Batch<E> {
    type Output = E;

    /// The event at `index`; like a slice, panics when the batch is shorter.
    fn index(&self, index: usize) -> &E {
        match self.get(index) {
            Some(event) => event,
            None => panic!(
                "index {index} out of range for a batch of {} events",
                self.len()
            ),
        }
    }
}

impl<'a, E> IntoIterator for &'a Batch<E> {
    type Item = &'a E;
    type IntoIter = Iter<'a, E>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<E: fmt::Debug> fmt::Debug for Batch<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The events of a [`Batch`], by reference and in order.
pub struct Iter<'a, E> {
    runs: std::collections::vec_deque::Iter<'a, Run<E>>,
    current: std::slice::Iter<'a, E>,
    remaining: usize,
}

impl<E> Clone for Iter<'_, E> {
    fn clone(&self) -> Self {
        Self {
            runs: self.runs.clone(),
            current: self.current.clone(),
            remaining: self.remaining,
        }
    }
}

impl<'a, E> Iterator for Iter<'a, E> {
    type Item = &'a E;

    fn next(&mut self) -> Option<&'a E> {
        loop {
            if let Some(event) = self.current.next() {
                self.remaining -= 1;
                return Some(event);
            }
            self.current = self.runs.next()?.events().iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<E> ExactSizeIterator for Iter<'_, E> {}
impl<E> FusedIterator for Iter<'_, E> {}

/// Gives an exact length to the iterator behind [`Batch::iter_shared`].
struct SharedIter<I> {
    next: I,
    remaining: usize,
}

impl<E, I: Iterator<Item = Shared<E>>> Iterator for SharedIter<I> {
    type Item = Shared<E>;

    fn next(&mut self) -> Option<Shared<E>> {
        let next = self.next.next()?;
        self.remaining -= 1;
        Some(next)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<E, I: Iterator<Item = Shared<E>>> ExactSizeIterator for SharedIter<I> {}

/// One published event, held past a handler call or yielded by an
/// [`EventStream`](crate::EventStream). Cloning it is cheap; the event is freed with the rest
/// of its publish once no handle on any of them is left.
pub struct Shared<E> {
    segment: Segment<E>,
    index: u32,
}

impl<E> Shared<E> {
    /// An event of its own, not published: for tests and for feeding handlers directly.
    pub fn new(event: E) -> Self {
        Self {
            segment: segment_of_one(event),
            index: 0,
        }
    }
}

impl<E> Clone for Shared<E> {
    fn clone(&self) -> Self {
        Self {
            segment: Arc::clone(&self.segment),
            index: self.index,
        }
    }
}

impl<E> Deref for Shared<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.segment.as_slice()[self.index as usize]
    }
}

impl<E> AsRef<E> for Shared<E> {
    fn as_ref(&self) -> &E {
        self
    }
}

impl<E: fmt::Debug> fmt::Debug for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<E: fmt::Display> fmt::Display for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// Compares the events, not where they live (as `Arc` does).
impl<E: PartialEq> PartialEq for Shared<E> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<E: Eq> Eq for Shared<E> {}

impl<E: std::hash::Hash> std::hash::Hash for Shared<E> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_of(segments: &[&[u32]]) -> Runs<u32> {
        let mut runs = Runs::with_capacity(segments.len());
        for events in segments {
            let mut one = Batch::from(events.to_vec());
            let len = one.len();
            one.runs.move_front(len, &mut runs);
        }
        runs
    }

    fn batch_of(runs: Runs<u32>) -> Vec<u32> {
        Batch { runs }.iter().copied().collect()
    }

    #[test]
    fn moving_splits_a_run_where_the_count_falls() {
        let mut from = runs_of(&[&[1, 2, 3], &[4, 5]]);
        let mut into = Runs::with_capacity(2);
        from.move_front(4, &mut into);
        assert_eq!((from.len(), into.len()), (1, 4));
        assert_eq!(batch_of(into), [1, 2, 3, 4]);
        assert_eq!(batch_of(from), [5]);
    }

    #[test]
    fn evicting_releases_only_emptied_runs() {
        let mut runs = runs_of(&[&[1, 2], &[3, 4, 5]]);
        let mut released = Vec::new();
        runs.evict_front(3, &mut released);
        assert_eq!(released.len(), 1);
        assert_eq!(runs.len(), 2);
        assert_eq!(batch_of(runs), [4, 5]);
    }

    #[test]
    fn events_pop_one_at_a_time_in_order() {
        let mut runs = runs_of(&[&[1, 2], &[3]]);
        let popped: Vec<u32> = std::iter::from_fn(|| runs.pop_front_event())
            .map(|e| *e)
            .collect();
        assert_eq!(popped, [1, 2, 3]);
        assert!(runs.is_empty());
    }

    #[test]
    fn a_batch_indexes_and_shares_across_runs() {
        let batch = Batch {
            runs: runs_of(&[&[10, 11], &[12, 13, 14]]),
        };
        assert_eq!(batch.len(), 5);
        assert_eq!(batch.iter().len(), 5);
        assert_eq!(batch.get(3), Some(&13));
        assert_eq!(batch.get(5), None);
        assert_eq!((batch.first(), batch.last()), (Some(&10), Some(&14)));
        let kept: Vec<Shared<u32>> = batch.iter_shared().collect();
        drop(batch);
        assert_eq!(
            kept.iter().map(|e| **e).collect::<Vec<_>>(),
            [10, 11, 12, 13, 14]
        );
        let again: Batch<u32> = kept.iter().cloned().rev().collect();
        assert_eq!(
            again.iter().copied().collect::<Vec<_>>(),
            [14, 13, 12, 11, 10]
        );
        let mut walked = again.iter();
        walked.next();
        let rest: Vec<u32> = walked.clone().copied().collect();
        assert_eq!(
            (rest.as_slice(), walked.len()),
            ([13, 12, 11, 10].as_slice(), 4)
        );
        // Shared handles compare and hash by event, whichever publish holds them.
        let distinct: std::collections::HashSet<Shared<u32>> =
            kept.into_iter().chain([Shared::new(12)]).collect();
        assert_eq!(distinct.len(), 5);
        assert_eq!(Shared::new(7).to_string(), "7");
    }
}
