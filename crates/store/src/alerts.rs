//! The early warnings: a pure query over the [`SchedulingState`] at a moment.
//!
//! | kind | raised when |
//! |---|---|
//! | `deadline_at_risk` | an open case's legal limit is within one of the policy's lead times (the smallest one reached is named) |
//! | `legal_limit_breached` | an open case's legal limit has passed |
//! | `held_too_long` | a person has been in holding longer than the policy's `max_holding_min` |
//! | `too_few_questioners` | a questioning booked or under way has fewer officers than `min_questioning_officers` |
//! | `station_below_minimum` | a station has fewer officers on duty than its minimum because officers are out on bookings |
//! | `unrecorded_questioning` | a questioning under way in a room without audio-video recording (every questioning must be recorded) |
//! | `plan_broken` | a step under way overran the room booked for it, a booked step has not started the policy's `late_start_min` (default 15) after its start, or a reported escort delay broke the case's accepted plan (until a new plan is committed or its rooms are released) |
//!
//! Every alert has a key, stable while its condition lasts, so that a stream
//! sends each condition once.

use chrono::{DateTime, Duration, Utc};

use casehub_model::{CaseId, PersonId, Shift, SiteId, StationId, Step};

use crate::state::{CaseStatus, SchedulingState};

/// What an alert is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    DeadlineAtRisk,
    LegalLimitBreached,
    HeldTooLong,
    TooFewQuestioners,
    StationBelowMinimum,
    PlanBroken,
    UnrecordedQuestioning,
}

impl AlertKind {
    /// The name used in the API and the docs.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::DeadlineAtRisk => "deadline_at_risk",
            AlertKind::LegalLimitBreached => "legal_limit_breached",
            AlertKind::HeldTooLong => "held_too_long",
            AlertKind::TooFewQuestioners => "too_few_questioners",
            AlertKind::StationBelowMinimum => "station_below_minimum",
            AlertKind::PlanBroken => "plan_broken",
            AlertKind::UnrecordedQuestioning => "unrecorded_questioning",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub kind: AlertKind,
    /// Stable for one condition.
    pub key: String,
    pub case: Option<CaseId>,
    pub person: Option<PersonId>,
    pub station: Option<StationId>,
    pub site: Option<SiteId>,
    /// The moment the condition was checked.
    pub at: DateTime<Utc>,
    /// The legal deadline concerned, if any.
    pub deadline: Option<DateTime<Utc>>,
    pub message: String,
}

impl Alert {
    fn new(kind: AlertKind, key: String, at: DateTime<Utc>, message: String) -> Self {
        Alert {
            kind,
            key,
            case: None,
            person: None,
            station: None,
            site: None,
            at,
            deadline: None,
            message,
        }
    }
}

/// The site of a case: the site of its room bookings, if any.
fn case_site(state: &SchedulingState, case: &CaseId) -> Option<SiteId> {
    state
        .rooms
        .values()
        .find(|r| r.bookings.iter().any(|b| &b.case == case))
        .map(|r| r.value.site.clone())
}

/// Every alert standing at `now`, ordered by kind then key.
pub fn alerts(
    state: &SchedulingState,
    shifts: &[Shift],
    utc_offset_min: i32,
    now: DateTime<Utc>,
) -> Vec<Alert> {
    let policy = &state.policy;
    let mut out = Vec::new();
    for (id, entry) in &state.cases {
        let c = &entry.value;
        if c.status == CaseStatus::Exited {
            continue;
        }
        let site = case_site(state, id);
        let limit = policy.legal_limits.limit_min(c.case.category);
        // Times outside chrono's range (a clock far in the future) never
        // panic: such a deadline is never near.
        let deadline = c
            .case
            .clock_started_at
            .checked_add_signed(Duration::minutes(i64::from(limit)));
        let left = deadline.map(|d| d - now);
        if let (Some(deadline), Some(left)) = (deadline, left)
            && left <= Duration::zero()
        {
            let mut a = Alert::new(
                AlertKind::LegalLimitBreached,
                format!("legal_limit_breached/{id}"),
                now,
                format!(
                    "case {id}: the {} h limit passed at {deadline} ({} min ago) and the case is still open",
                    f64::from(limit) / 60.0,
                    -left.num_minutes()
                ),
            );
            a.case = Some(id.clone());
            a.site = site.clone();
            a.deadline = Some(deadline);
            out.push(a);
        } else if let (Some(deadline), Some(left)) = (deadline, left)
            && let Some(lead) = policy
                .alert_lead_min
                .iter()
                .copied()
                .filter(|&l| left <= Duration::minutes(i64::from(l)))
                .min()
        {
            let mut a = Alert::new(
                AlertKind::DeadlineAtRisk,
                format!("deadline_at_risk/{id}/{lead}"),
                now,
                format!(
                    "case {id}: {} min left before its legal limit at {deadline} (alert at {lead} min)",
                    left.num_minutes()
                ),
            );
            a.case = Some(id.clone());
            a.site = site.clone();
            a.deadline = Some(deadline);
            out.push(a);
        }
        // A late event broke the accepted plan (see `Command::ReportDelay`).
        if let Some(broken) = &c.plan_broken {
            let waiting = if c.status == CaseStatus::Submitted {
                "its plan was dropped and it waits to be re-planned"
            } else {
                "its plan is kept but no longer holds; a dispatcher must decide"
            };
            let mut a = Alert::new(
                AlertKind::PlanBroken,
                format!("plan_broken/{id}/{}", broken.at.timestamp()),
                now,
                format!("case {id}: {}; {waiting}", broken.reason),
            );
            a.case = Some(id.clone());
            a.station = Some(c.case.origin.clone());
            a.site = site.clone();
            out.push(a);
        }
        for (person, progress) in &c.progress {
            let Some((step, started)) = progress.current else {
                continue;
            };
            let held = now - started;
            if step == Step::Holding && held > Duration::minutes(i64::from(policy.max_holding_min))
            {
                let mut a = Alert::new(
                    AlertKind::HeldTooLong,
                    format!("held_too_long/{id}/{person}"),
                    now,
                    format!(
                        "{person} of case {id} has been in holding {} min, longer than the {} min policy allows",
                        held.num_minutes(),
                        policy.max_holding_min
                    ),
                );
                a.case = Some(id.clone());
                a.person = Some(person.clone());
                a.site = site.clone();
                out.push(a);
            }
            // The room booked for the step under way ends before now: overrun.
            let booked_end = state
                .rooms
                .values()
                .flat_map(|r| r.bookings.iter())
                .filter(|b| {
                    &b.case == id
                        && b.person.as_ref() == Some(person)
                        && b.step == Some(step)
                        && b.start <= now
                })
                .map(|b| b.end)
                .max();
            if let Some(end) = booked_end
                && end < now
            {
                let mut a = Alert::new(
                    AlertKind::PlanBroken,
                    format!("plan_broken/overrun/{id}/{person}/{}", step.as_str()),
                    now,
                    format!(
                        "{person} of case {id}: {} overran its booking, which ended at {end}; later bookings may not hold",
                        step.as_str()
                    ),
                );
                a.case = Some(id.clone());
                a.person = Some(person.clone());
                a.site = site.clone();
                out.push(a);
            }
            // A questioning under way in a room that does not record.
            if step == Step::Questioning {
                let unrecorded = state.rooms.values().find(|r| {
                    !r.value.room.recording
                        && r.bookings.iter().any(|b| {
                            &b.case == id
                                && b.person.as_ref() == Some(person)
                                && b.step == Some(Step::Questioning)
                                && b.start <= now
                                && now < b.end
                        })
                });
                if let Some(r) = unrecorded {
                    let mut a = Alert::new(
                        AlertKind::UnrecordedQuestioning,
                        format!("unrecorded_questioning/{id}/{person}"),
                        now,
                        format!(
                            "{person} of case {id}: questioned in {}, which does not record",
                            r.value.room.id
                        ),
                    );
                    a.case = Some(id.clone());
                    a.person = Some(person.clone());
                    a.site = Some(r.value.site.clone());
                    out.push(a);
                }
            }
        }
        // Booked steps that should have started and have not.
        for r in state.rooms.values() {
            for b in r.bookings.iter().filter(|b| &b.case == id) {
                let (Some(person), Some(step)) = (&b.person, b.step) else {
                    continue;
                };
                let progress = c.progress.get(person);
                let begun = progress.is_some_and(|p| {
                    p.current.is_some_and(|(s, _)| s == step)
                        || p.completed.iter().any(|(s, _, _)| *s == step)
                });
                let late = b
                    .start
                    .checked_add_signed(Duration::minutes(i64::from(policy.late_start_min)))
                    .is_some_and(|t| t < now);
                if !begun && late && now < b.end {
                    let mut a = Alert::new(
                        AlertKind::PlanBroken,
                        format!("plan_broken/late/{id}/{person}/{}", step.as_str()),
                        now,
                        format!(
                            "{person} of case {id}: {} was booked in {} from {} and has not started",
                            step.as_str(),
                            r.value.room.id,
                            b.start
                        ),
                    );
                    a.case = Some(id.clone());
                    a.person = Some(person.clone());
                    a.site = Some(r.value.site.clone());
                    out.push(a);
                }
                // Questioners booked with this questioning.
                if step == Step::Questioning && b.end > now {
                    let questioners = state
                        .officers
                        .values()
                        .filter(|o| {
                            o.bookings.iter().any(|ob| {
                                &ob.case == id
                                    && ob.person.as_ref() == Some(person)
                                    && ob.step == Some(Step::Questioning)
                                    && ob.start < b.end
                                    && b.start < ob.end
                            })
                        })
                        .count();
                    if questioners < policy.min_questioning_officers as usize {
                        let mut a = Alert::new(
                            AlertKind::TooFewQuestioners,
                            format!("too_few_questioners/{id}/{person}/{}", b.start.timestamp()),
                            now,
                            format!(
                                "{person} of case {id}: the questioning in {} from {} has {questioners} officer(s), fewer than {}",
                                r.value.room.id, b.start, policy.min_questioning_officers
                            ),
                        );
                        a.case = Some(id.clone());
                        a.person = Some(person.clone());
                        a.site = Some(r.value.site.clone());
                        out.push(a);
                    }
                }
            }
        }
    }
    // Stations short of officers because of escorts.
    for st in crate::staffing::stations(state, shifts, utc_offset_min, now) {
        if st.below_minimum() {
            let id = &st.station;
            let mut a = Alert::new(
                AlertKind::StationBelowMinimum,
                format!("station_below_minimum/{id}"),
                now,
                format!(
                    "station {id}: {} of {} officers on duty remain ({} out on escorts), below its minimum of {}",
                    st.present(),
                    st.on_duty,
                    st.away,
                    st.min_on_duty
                ),
            );
            a.station = Some(id.clone());
            out.push(a);
        }
    }
    out.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.key.cmp(&b.key)));
    out
}
