//! The legal checks the state machine itself applied to `CommitPlan`
//! before rules version 6: capacity, the station minimum without shifts,
//! questioners, holding rooms, juveniles and co-suspects. From version 6 a
//! plan is checked by the catalogue at commit ([`crate::accept`]); these stay
//! to replay older logs and to check a delay's slip.

use std::collections::BTreeMap;

use casehub_model::{OfficerId, Post, RoomId, Rule, StationId, Step};
use chrono::{DateTime, Datelike, Utc};

use crate::state::*;

impl SchedulingState {
    /// Every check of a plan's bookings against the state: the cases,
    /// persons, rooms and intervals they name, each resource's capacity
    /// (existing bookings and the new ones together) and the legal rules.
    pub(crate) fn check_plan(&self, bookings: &[PlannedBooking]) -> Result<(), Response> {
        let mut conflicts = Vec::new();
        for (i, pb) in bookings.iter().enumerate() {
            let b = &pb.booking;
            for (field, t) in [("start", b.start), ("end", b.end)] {
                if self.rules_at_least(2)
                    && !(BOOKING_TIMES.0..=BOOKING_TIMES.1).contains(&t.year())
                {
                    conflicts.push(Conflict::Invalid {
                        field: format!("bookings[{i}].{field}"),
                        reason: format!(
                            "{t} is not in the years {} to {}",
                            BOOKING_TIMES.0, BOOKING_TIMES.1
                        ),
                    });
                }
            }
            if b.end <= b.start {
                conflicts.push(Conflict::Invalid {
                    field: format!("bookings[{i}].end"),
                    reason: format!(
                        "the booking ends at {} before it starts at {}",
                        b.end, b.start
                    ),
                });
            }
            match self.cases.get(&b.case) {
                None => conflicts.push(Conflict::Unknown {
                    entity: EntityRef::Case(b.case.clone()),
                }),
                Some(c) if c.value.status == CaseStatus::Exited => {
                    conflicts.push(Conflict::Invalid {
                        field: format!("bookings[{i}].case"),
                        reason: format!("case {} has exited", b.case),
                    })
                }
                Some(c) => {
                    if let Some(p) = &b.person
                        && !c.value.progress.contains_key(p)
                    {
                        conflicts.push(Conflict::Invalid {
                            field: format!("bookings[{i}].person"),
                            reason: format!("{p} is not a person of case {}", b.case),
                        });
                    }
                    if let (ResourceRef::Room(r), Some(step)) = (&pb.resource, b.step)
                        && let Some(room) = self.rooms.get(r)
                    {
                        let wanted = step.room_kind(c.value.case.category);
                        if room.value.room.kind != wanted {
                            conflicts.push(Conflict::Invalid {
                                field: format!("bookings[{i}].resource"),
                                reason: format!(
                                    "{step} needs a {wanted} room; room {r} is a {} room",
                                    room.value.room.kind
                                ),
                            });
                        }
                    }
                }
            }
            if self.bookings_of(&pb.resource).is_none() {
                conflicts.push(Conflict::Unknown {
                    entity: pb.resource.entity(),
                });
            }
        }
        reject_if(conflicts, "the plan is invalid")?;

        // Capacity: every resource, existing bookings and the new ones together.
        let by_resource = by_resource(bookings);
        let mut conflicts = Vec::new();
        for (resource, new) in &by_resource {
            let existing = self.bookings_of(resource).unwrap_or(&[]);
            let capacity = self.capacity_of(resource);
            for nb in new {
                let mut overlapping: Vec<&Booking> = existing
                    .iter()
                    .chain(new.iter().copied())
                    .filter(|o| o.overlaps(nb))
                    .collect();
                // `nb` itself is in `new`, hence in the list once.
                if max_concurrency(&overlapping, nb) > capacity {
                    overlapping.retain(|o| !std::ptr::eq(*o, *nb));
                    let culprit = overlapping
                        .iter()
                        .find(|o| existing.iter().any(|e| std::ptr::eq(e, **o)))
                        .or(overlapping.first())
                        .copied()
                        .unwrap_or(nb);
                    let conflict = match self.holding_room(resource) {
                        Some((id, capacity)) => Conflict::Rule {
                            rule: Rule::HoldingCapacity,
                            entity: EntityRef::Room(id.clone()),
                            detail: format!(
                                "holding room {id} (capacity {capacity}) would hold more than {capacity} persons from {} to {} (with case {})",
                                nb.start, nb.end, culprit.case
                            ),
                        },
                        None => Conflict::Overlap {
                            resource: (*resource).clone(),
                            case: culprit.case.clone(),
                            start: culprit.start,
                            end: culprit.end,
                        },
                    };
                    if !conflicts.contains(&conflict) {
                        conflicts.push(conflict);
                    }
                }
            }
        }
        reject_if(conflicts, "the plan overlaps existing bookings")?;
        reject_if(
            self.legal_conflicts(bookings),
            "the plan breaks a legal rule",
        )
    }
}

/// One person's (or an unnamed) stay in a room, for the room rules.
struct Stay<'a> {
    booking: &'a Booking,
    new: bool,
    juvenile: Option<bool>,
    group: Option<&'a casehub_model::GroupId>,
}

impl SchedulingState {
    /// The room's id and capacity if `resource` is a holding room.
    fn holding_room<'r>(&self, resource: &'r ResourceRef) -> Option<(&'r RoomId, u32)> {
        match resource {
            ResourceRef::Room(id) => self
                .rooms
                .get(id)
                .filter(|e| e.value.room.kind == casehub_model::RoomKind::Holding)
                .map(|e| (id, e.value.room.capacity)),
            _ => None,
        }
    }

    /// The person a booking serves, if it names one the store knows.
    fn person_of(&self, b: &Booking) -> Option<&casehub_model::Person> {
        let p = b.person.as_ref()?;
        self.cases
            .get(&b.case)?
            .value
            .case
            .persons
            .iter()
            .find(|x| &x.id == p)
    }

    /// The legal rules a plan must keep that the state machine can decide
    /// from its own state: a station's minimum on duty, the questioning
    /// officers, juveniles apart from adults and co-suspects apart. (Holding
    /// capacity is part of the capacity check.) Every check counts the
    /// existing bookings and the plan's together.
    fn legal_conflicts(&self, plan: &[PlannedBooking]) -> Vec<Conflict> {
        let mut conflicts: Vec<Conflict> = Vec::new();
        let mut push = |c: Conflict| {
            // One conflict per rule and entity: the first instance found.
            let key = |c: &Conflict| match c {
                Conflict::Rule { rule, entity, .. } => Some((*rule, entity.clone())),
                _ => None,
            };
            if !conflicts.iter().any(|o| key(o) == key(&c)) {
                conflicts.push(c);
            }
        };
        self.check_rooms_apart(plan, &mut push);
        self.check_questioning(plan, &mut push);
        self.check_station_minimum(plan, &mut push);
        conflicts
    }

    /// Juveniles apart from adults, co-suspects apart: in every room the plan
    /// books, no two persons who must be apart overlap in time.
    fn check_rooms_apart(&self, plan: &[PlannedBooking], push: &mut impl FnMut(Conflict)) {
        let mut rooms: BTreeMap<&RoomId, Vec<Stay<'_>>> = BTreeMap::new();
        for pb in plan {
            if let ResourceRef::Room(id) = &pb.resource {
                rooms.entry(id).or_default();
            }
        }
        for (id, stays) in rooms.iter_mut() {
            let existing = self.rooms.get(*id).map_or(&[][..], |e| &e.bookings[..]);
            let new = plan
                .iter()
                .filter(|pb| pb.resource == ResourceRef::Room((*id).clone()))
                .map(|pb| (&pb.booking, true));
            for (booking, new) in existing.iter().map(|b| (b, false)).chain(new) {
                let person = self.person_of(booking);
                stays.push(Stay {
                    booking,
                    new,
                    juvenile: person.map(|p| p.juvenile),
                    group: person.and_then(|p| p.co_suspect_group.as_ref()),
                });
            }
            for (i, a) in stays.iter().enumerate() {
                for b in &stays[i + 1..] {
                    if !(a.new || b.new) || !a.booking.overlaps(b.booking) {
                        continue;
                    }
                    let same_person =
                        a.booking.case == b.booking.case && a.booking.person == b.booking.person;
                    if same_person {
                        continue;
                    }
                    let who = |s: &Stay<'_>| {
                        format!(
                            "{} of case {}",
                            s.booking
                                .person
                                .as_ref()
                                .map_or("a person".to_string(), |p| p.to_string()),
                            s.booking.case
                        )
                    };
                    let from = a.booking.start.max(b.booking.start);
                    let to = a.booking.end.min(b.booking.end);
                    if let (Some(ja), Some(jb)) = (a.juvenile, b.juvenile)
                        && ja != jb
                    {
                        let (juv, adult) = if ja { (a, b) } else { (b, a) };
                        push(Conflict::Rule {
                            rule: Rule::JuvenileSeparation,
                            entity: EntityRef::Room((*id).clone()),
                            detail: format!(
                                "juvenile {} and adult {} would be in room {id} together from {from} to {to}",
                                who(juv),
                                who(adult)
                            ),
                        });
                    }
                    if let (Some(ga), Some(gb)) = (a.group, b.group)
                        && ga == gb
                    {
                        push(Conflict::Rule {
                            rule: Rule::CoSuspectSeparation,
                            entity: EntityRef::Room((*id).clone()),
                            detail: format!(
                                "co-suspects {} and {} (group {ga}) would be in room {id} together from {from} to {to}",
                                who(a),
                                who(b)
                            ),
                        });
                    }
                }
            }
        }
    }

    /// Every questioning the plan books (a room booking whose step is
    /// questioning) has at least the policy's number of distinct officers
    /// qualified to question, each booked for the same case (and the same
    /// person, or no particular person) over the whole questioning.
    fn check_questioning(&self, plan: &[PlannedBooking], push: &mut impl FnMut(Conflict)) {
        let needed = self.policy.min_questioning_officers as usize;
        for pb in plan {
            let (ResourceRef::Room(room), Some(Step::Questioning)) =
                (&pb.resource, pb.booking.step)
            else {
                continue;
            };
            let q = &pb.booking;
            let serves = |o: &Booking| {
                o.case == q.case
                    && (o.person.is_none() || q.person.is_none() || o.person == q.person)
                    && matches!(o.step, None | Some(Step::Questioning))
                    && o.start <= q.start
                    && q.end <= o.end
            };
            let mut officers: Vec<&OfficerId> = Vec::new();
            for (id, e) in &self.officers {
                if e.value.can(casehub_model::Qualification::Questioning)
                    && e.bookings.iter().any(serves)
                {
                    officers.push(id);
                }
            }
            for other in plan {
                if let ResourceRef::Officer(id) = &other.resource
                    && serves(&other.booking)
                    && self
                        .officers
                        .get(id)
                        .is_some_and(|e| e.value.can(casehub_model::Qualification::Questioning))
                    && !officers.contains(&id)
                {
                    officers.push(id);
                }
            }
            if officers.len() < needed {
                let names: Vec<&str> = officers.iter().map(|o| o.as_str()).collect();
                push(Conflict::Rule {
                    rule: Rule::QuestioningOfficers,
                    entity: EntityRef::Case(q.case.clone()),
                    detail: format!(
                        "questioning of {} in room {room} from {} to {} has {} qualified officer(s) booked ({}); the policy requires {needed}",
                        q.person
                            .as_ref()
                            .map_or("case ".to_string() + q.case.as_str(), |p| p.to_string()),
                        q.start,
                        q.end,
                        officers.len(),
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        },
                    ),
                });
            }
        }
    }

    /// A station never drops below its minimum on duty: at every moment of a
    /// new booking of one of its officers, the officers posted to it minus
    /// those booked away (existing bookings and the plan's) are at least
    /// `min_on_duty`. The state machine does not know shift windows, so every
    /// officer posted to the station counts as on duty; the engine's
    /// validator checks shifts.
    fn check_station_minimum(&self, plan: &[PlannedBooking], push: &mut impl FnMut(Conflict)) {
        let station_of = |id: &OfficerId| match self.officers.get(id).map(|e| &e.value.post) {
            Some(Post::Station(s)) => Some(s.clone()),
            _ => None,
        };
        let mut by_station: BTreeMap<StationId, Vec<&PlannedBooking>> = BTreeMap::new();
        for pb in plan {
            if let ResourceRef::Officer(id) = &pb.resource
                && let Some(s) = station_of(id)
            {
                by_station.entry(s).or_default().push(pb);
            }
        }
        for (station, new) in by_station {
            let Some(st) = self.stations.get(&station) else {
                continue;
            };
            let min = st.value.min_on_duty as usize;
            let posted: Vec<(&OfficerId, &[Booking])> = self
                .officers
                .iter()
                .filter(|(_, e)| e.value.post == Post::Station(station.clone()))
                .map(|(id, e)| (id, e.bookings.as_slice()))
                .collect();
            let away_at = |t: DateTime<Utc>| -> Vec<&OfficerId> {
                posted
                    .iter()
                    .filter(|(id, existing)| {
                        existing.iter().any(|b| b.start <= t && t < b.end)
                            || new.iter().any(|pb| {
                                pb.resource == ResourceRef::Officer((*id).clone())
                                    && pb.booking.start <= t
                                    && t < pb.booking.end
                            })
                    })
                    .map(|(id, _)| *id)
                    .collect()
            };
            for nb in &new {
                let b = &nb.booking;
                let mut points = vec![b.start];
                for (_, existing) in &posted {
                    points.extend(existing.iter().map(|o| o.start));
                }
                points.extend(new.iter().map(|o| o.booking.start));
                points.retain(|t| b.start <= *t && *t < b.end);
                points.sort();
                points.dedup();
                for t in points {
                    let away = away_at(t);
                    let left = posted.len().saturating_sub(away.len());
                    if left < min {
                        let names: Vec<&str> = away.iter().map(|o| o.as_str()).collect();
                        push(Conflict::Rule {
                            rule: Rule::StationMinimum,
                            entity: EntityRef::Station(station.clone()),
                            detail: format!(
                                "station {station} at {t}: {} officers posted, {} away ({}) with case {}, {left} left; the minimum on duty is {min}",
                                posted.len(),
                                away.len(),
                                names.join(", "),
                                b.case
                            ),
                        });
                        break;
                    }
                }
            }
        }
    }
}
