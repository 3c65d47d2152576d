//! Rooms: rules 3 and 4 per case (room kind, recording, open hours), and
//! rules 5 to 8 across the plan and the state's bookings, room by room: no
//! room double-booked (nor used while closed), holding rooms within capacity, juveniles never held
//! with adults, co-suspects never in one room at once.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use casehub_model::{Case, CaseId, GroupId, PersonId, Room, RoomKind};

use super::{Checker, overlaps};
use crate::plan::{CasePlan, Rule};

/// A person in a room over `[start, end)`, from the plan or the state.
struct Stay<'a> {
    case: &'a CaseId,
    person: &'a PersonId,
    /// The step, or "existing booking".
    what: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// `None` where the person is unknown.
    juvenile: Option<bool>,
    group: Option<&'a GroupId>,
    from_plan: bool,
}

impl Stay<'_> {
    fn describe(&self, c: &Checker<'_>) -> String {
        format!(
            "case {} (person {}, {}) {}",
            self.case,
            self.person,
            self.what,
            c.span(self.start, self.end)
        )
    }

    fn same_person(&self, other: &Stay<'_>) -> bool {
        self.case == other.case && self.person == other.person
    }
}

impl<'a> Checker<'a> {
    /// Rules 3 and 4: room kind, recording, open hours.
    pub(super) fn check_rooms_of_case(&mut self, cp: &'a CasePlan, case: Option<&'a Case>) {
        let cid = &cp.case;
        for pp in &cp.persons {
            for b in &pp.steps {
                let Some(&(site, room)) = self.rooms.get(b.room.as_str()) else {
                    continue;
                };
                if let Some(case) = case {
                    let want = b.step.room_kind(case.category);
                    if room.kind != want {
                        let detail = format!(
                            "person {}: {} in room {}, a {} room; a {} case needs a {want} room",
                            pp.person, b.step, room.id, room.kind, case.category
                        );
                        self.push(Rule::RoomKind, Some(cid), detail);
                    }
                }
                if !room.recording {
                    let detail = format!(
                        "person {}: {} in room {}, which has no audio/video recording",
                        pp.person, b.step, room.id
                    );
                    self.push(Rule::Recording, Some(cid), detail);
                }
                if b.start < b.end
                    && !site
                        .open_hours
                        .covers(self.local_min(b.start), self.local_min(b.end))
                {
                    let detail = format!(
                        "person {}: {} in room {} {} is outside site {}'s open hours {}",
                        pp.person,
                        b.step,
                        room.id,
                        self.span(b.start, b.end),
                        site.id,
                        site.open_hours
                    );
                    self.push(Rule::OpenHours, Some(cid), detail);
                }
            }
        }
    }

    pub(super) fn check_rooms(&mut self) {
        let mut by_room: HashMap<&str, Vec<Stay<'a>>> = HashMap::new();
        for cp in &self.plan.cases {
            let case = self.case_of(&cp.case);
            for pp in &cp.persons {
                let person = self.person_of(case, &pp.person);
                for b in &pp.steps {
                    if b.start >= b.end || !self.rooms.contains_key(b.room.as_str()) {
                        continue;
                    }
                    by_room.entry(b.room.as_str()).or_default().push(Stay {
                        case: &cp.case,
                        person: &pp.person,
                        what: b.step.to_string(),
                        start: b.start,
                        end: b.end,
                        juvenile: person.map(|p| p.juvenile),
                        group: person.and_then(|p| p.co_suspect_group.as_ref()),
                        from_plan: true,
                    });
                }
            }
        }
        for rb in &self.state.room_bookings {
            if rb.start >= rb.end || !self.rooms.contains_key(rb.room.as_str()) {
                continue;
            }
            by_room.entry(rb.room.as_str()).or_default().push(Stay {
                case: &rb.case,
                person: &rb.person,
                what: "existing booking".to_string(),
                start: rb.start,
                end: rb.end,
                juvenile: Some(rb.juvenile),
                group: rb.group.as_ref(),
                from_plan: false,
            });
        }
        // Rule 5 too: nobody in a room while it is closed.
        for c in &self.state.room_closures {
            let Some(stays) = by_room.get(c.room.as_str()) else {
                continue;
            };
            for stay in stays.iter().filter(|s| s.from_plan) {
                if overlaps(stay.start, stay.end, c.start, c.end) {
                    let detail = format!(
                        "room {} is closed {}{}: {}",
                        c.room,
                        self.span(c.start, c.end),
                        if c.note.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", c.note)
                        },
                        stay.describe(self)
                    );
                    self.push(Rule::RoomDoubleBooked, Some(stay.case), detail);
                }
            }
        }
        let region = &self.state.region;
        for site in &region.sites {
            for room in &site.rooms {
                let Some(mut stays) = by_room.remove(room.id.as_str()) else {
                    continue;
                };
                if !stays.iter().any(|s| s.from_plan) {
                    continue;
                }
                stays.sort_by(|a, b| a.start.cmp(&b.start).then(a.end.cmp(&b.end)));
                if room.kind == RoomKind::Holding {
                    self.check_holding(room, &stays);
                } else {
                    self.check_single(room, &stays);
                }
            }
        }
    }

    /// Rule 5 (and 8 for co-suspects in one room): one person at a time.
    fn check_single(&mut self, room: &Room, stays: &[Stay<'a>]) {
        for i in 0..stays.len() {
            for j in i + 1..stays.len() {
                let (a, b) = (&stays[i], &stays[j]);
                if b.start >= a.end {
                    break;
                }
                if !(a.from_plan || b.from_plan)
                    || a.same_person(b)
                    || !overlaps(a.start, a.end, b.start, b.end)
                {
                    continue;
                }
                let blame = if a.from_plan { a.case } else { b.case };
                let detail = format!(
                    "room {} booked by {} and {}",
                    room.id,
                    a.describe(self),
                    b.describe(self)
                );
                self.push(Rule::RoomDoubleBooked, Some(blame), detail);
                if let (Some(ga), Some(gb)) = (a.group, b.group)
                    && ga == gb
                {
                    let detail = format!(
                        "co-suspects {} and {} (group {ga}) are in room {} at overlapping times: {} and {}",
                        a.person,
                        b.person,
                        room.id,
                        a.describe(self),
                        b.describe(self)
                    );
                    self.push(Rule::CoSuspectSeparation, Some(blame), detail);
                }
            }
        }
    }

    /// Rules 6, 7 and 8 in a holding room, checked at every stay's start.
    fn check_holding(&mut self, room: &Room, stays: &[Stay<'a>]) {
        let mut last_over: Option<Vec<usize>> = None;
        let mut reported_pairs: HashSet<(usize, usize, Rule)> = HashSet::new();
        let points: BTreeSet<DateTime<Utc>> = stays.iter().map(|s| s.start).collect();
        for t in points {
            let present: Vec<usize> = (0..stays.len())
                .filter(|&i| stays[i].start <= t && t < stays[i].end)
                .collect();
            if !present.iter().any(|&i| stays[i].from_plan) {
                continue;
            }
            let blame = present
                .iter()
                .find(|&&i| stays[i].from_plan)
                .map(|&i| stays[i].case);
            // Distinct persons present.
            let mut persons: Vec<usize> = Vec::new();
            for &i in &present {
                if !persons.iter().any(|&k| stays[k].same_person(&stays[i])) {
                    persons.push(i);
                }
            }
            if persons.len() > room.capacity as usize {
                if last_over.as_ref() != Some(&persons) {
                    let who: Vec<String> =
                        persons.iter().map(|&i| stays[i].describe(self)).collect();
                    let detail = format!(
                        "holding room {} (capacity {}) holds {} persons at {}: {}",
                        room.id,
                        room.capacity,
                        persons.len(),
                        self.at(t),
                        who.join("; ")
                    );
                    self.push(Rule::HoldingCapacity, blame, detail);
                    last_over = Some(persons.clone());
                }
            } else {
                last_over = None;
            }
            for (x, &i) in persons.iter().enumerate() {
                for &j in &persons[x + 1..] {
                    let (a, b) = (&stays[i], &stays[j]);
                    if !(a.from_plan || b.from_plan) {
                        continue;
                    }
                    let blame = if a.from_plan { a.case } else { b.case };
                    let key = (i.min(j), i.max(j));
                    if let (Some(ja), Some(jb)) = (a.juvenile, b.juvenile)
                        && ja != jb
                        && reported_pairs.insert((key.0, key.1, Rule::JuvenileSeparation))
                    {
                        let (juv, adult) = if ja { (a, b) } else { (b, a) };
                        let detail = format!(
                            "holding room {} holds juvenile {} with adult {}: {} and {}",
                            room.id,
                            juv.person,
                            adult.person,
                            juv.describe(self),
                            adult.describe(self)
                        );
                        self.push(Rule::JuvenileSeparation, Some(blame), detail);
                    }
                    if let (Some(ga), Some(gb)) = (a.group, b.group)
                        && ga == gb
                        && reported_pairs.insert((key.0, key.1, Rule::CoSuspectSeparation))
                    {
                        let detail = format!(
                            "holding room {} holds co-suspects {} and {} (group {ga}) together: {} and {}",
                            room.id,
                            a.person,
                            b.person,
                            a.describe(self),
                            b.describe(self)
                        );
                        self.push(Rule::CoSuspectSeparation, Some(blame), detail);
                    }
                }
            }
        }
    }
}
