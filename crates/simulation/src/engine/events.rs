//! The events of a replication and their order in the queue.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Ev {
    Arrival(usize),
    Dispatch,
    Depart(usize),
    AtSite(usize),
    Ready { case: usize, person: usize },
    Release { case: usize, officer: usize },
}

impl Ev {
    /// Order of events at the same instant: releases first, dispatch last.
    pub(super) fn class(&self) -> u8 {
        match self {
            Ev::Release { .. } => 0,
            Ev::Arrival(_) => 1,
            Ev::Depart(_) | Ev::AtSite(_) | Ev::Ready { .. } => 2,
            Ev::Dispatch => 3,
        }
    }
}

pub(super) struct Entry {
    pub(super) t: f64,
    pub(super) class: u8,
    pub(super) seq: u64,
    pub(super) ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the earliest first.
        o.t.total_cmp(&self.t)
            .then(o.class.cmp(&self.class))
            .then(o.seq.cmp(&self.seq))
    }
}
