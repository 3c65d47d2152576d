//! Layouts: which sites are open, with their rooms, staff and escort teams.
//!
//! A [`Layout`] names the open sites of a region: its main center (always
//! open), any of its existing sub-centers, and candidate sites where a
//! sub-center would be built. [`Layout::apply`] turns it into a validated
//! [`Region`] the engine and the simulation run on: closed sub-centers are
//! removed with their staff and escort teams, and each opened candidate gets
//! the rooms, staff and teams of a [`SubCenterTemplate`].

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use casehub_model::{
    DailyWindow, EscortTeam, Gender, Officer, OfficerId, Post, Qualification, Region, Room, RoomId,
    RoomKind, Shift, ShiftId, Site, SiteId, SiteKind,
};

use crate::SimError;

/// What a newly built sub-center has. The defaults are the town-level
/// sub-center of the sample county (`region-3-sites.toml`): about 1,100 m²,
/// rooms about a third of the main center's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubCenterTemplate {
    pub intake_rooms: u32,
    pub search_rooms: u32,
    pub information_collection_rooms: u32,
    pub medical_rooms: u32,
    /// Adult holding rooms, each for `holding_capacity` persons.
    pub holding_rooms: u32,
    pub holding_capacity: u32,
    /// Single holding rooms suitable for juveniles.
    pub juvenile_holding_rooms: u32,
    /// Interrogation rooms; the last one is suitable for juveniles.
    pub interrogation_rooms: u32,
    /// Inquiry rooms; the last one is suitable for juveniles.
    pub inquiry_rooms: u32,
    /// Intake, search and custody staff on the day shift (08:00-20:00), half of them women.
    pub day_staff: u32,
    /// The same on the night shift (20:00-08:00).
    pub night_staff: u32,
    /// Questioning officers on the day shift, half of them women
    /// (`day_investigators` in older files).
    #[serde(alias = "day_investigators")]
    pub day_questioners: u32,
    /// The same on the night shift (`night_investigators` in older files).
    #[serde(alias = "night_investigators")]
    pub night_questioners: u32,
    /// Escort teams per shift (one day, one night crew each).
    pub teams_per_shift: u32,
    /// Officers per team; one of them a woman.
    pub team_size: u32,
    /// Seats in each team's vehicle, members included.
    pub team_seats: u32,
}

impl Default for SubCenterTemplate {
    fn default() -> Self {
        SubCenterTemplate {
            intake_rooms: 1,
            search_rooms: 1,
            information_collection_rooms: 1,
            medical_rooms: 0,
            holding_rooms: 2,
            holding_capacity: 2,
            juvenile_holding_rooms: 1,
            interrogation_rooms: 3,
            inquiry_rooms: 2,
            day_staff: 4,
            night_staff: 2,
            day_questioners: 4,
            night_questioners: 2,
            teams_per_shift: 1,
            team_size: 3,
            team_seats: 7,
        }
    }
}

impl SubCenterTemplate {
    /// Check the template; errors name the field and the value.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |field: &str, value: u32, reason: &str| {
            Err(SimError::invalid(
                format!("template.{field}"),
                value.to_string(),
                reason,
            ))
        };
        if self.intake_rooms == 0 {
            return bad("intake_rooms", 0, "a site needs at least one intake room");
        }
        if self.holding_rooms + self.juvenile_holding_rooms == 0 {
            return bad("holding_rooms", 0, "a site needs at least one holding room");
        }
        if self.holding_rooms > 0 && self.holding_capacity == 0 {
            return bad(
                "holding_capacity",
                0,
                "a holding room holds at least one person",
            );
        }
        if self.interrogation_rooms + self.inquiry_rooms == 0 {
            return bad(
                "interrogation_rooms",
                0,
                "a site needs at least one interrogation or inquiry room",
            );
        }
        if self.teams_per_shift > 0 && self.team_size == 0 {
            return bad("team_size", 0, "a team needs at least one member");
        }
        if self.teams_per_shift > 0 && self.team_seats <= self.team_size {
            return bad(
                "team_seats",
                self.team_seats,
                "the vehicle needs more seats than the team has members",
            );
        }
        for (f, v) in [
            ("intake_rooms", self.intake_rooms),
            ("search_rooms", self.search_rooms),
            (
                "information_collection_rooms",
                self.information_collection_rooms,
            ),
            ("medical_rooms", self.medical_rooms),
            ("holding_rooms", self.holding_rooms),
            ("juvenile_holding_rooms", self.juvenile_holding_rooms),
            ("interrogation_rooms", self.interrogation_rooms),
            ("inquiry_rooms", self.inquiry_rooms),
            ("day_staff", self.day_staff),
            ("night_staff", self.night_staff),
            ("day_questioners", self.day_questioners),
            ("night_questioners", self.night_questioners),
            ("teams_per_shift", self.teams_per_shift),
        ] {
            if v > 200 {
                return bad(f, v, "at most 200");
            }
        }
        Ok(())
    }
}

/// The open sites of a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// A short name for tables and charts, e.g. `MC` or `MC+CAND-NE`.
    pub name: String,
    /// Open sites: ids of the region's sites or candidate sites. The main
    /// center is open whether listed or not.
    pub open: Vec<SiteId>,
    /// Rooms, staff and teams of each candidate site that is opened.
    #[serde(default)]
    pub template: SubCenterTemplate,
}

impl Layout {
    /// The region as it is: every site open, no candidate built.
    pub fn from_region(region: &Region) -> Layout {
        let open: Vec<SiteId> = region.sites.iter().map(|s| s.id.clone()).collect();
        Layout {
            name: layout_name(&open),
            open,
            template: SubCenterTemplate::default(),
        }
    }

    /// The main center plus the given sites or candidate sites.
    pub fn with_sites(
        region: &Region,
        open: &[&str],
        template: SubCenterTemplate,
    ) -> Result<Layout, SimError> {
        let main = region.main_center().id.clone();
        let mut ids = vec![main];
        for (i, &id) in open.iter().enumerate() {
            let known = region.site(id).is_some()
                || region.candidate_sites.iter().any(|c| c.id.as_str() == id);
            if !known {
                return Err(SimError::invalid(
                    format!("open[{i}]"),
                    id,
                    "no such site or candidate site in this region",
                ));
            }
            let sid = SiteId::new(id).map_err(|e| SimError::Invalid(e.to_string()))?;
            if !ids.contains(&sid) {
                ids.push(sid);
            }
        }
        Ok(Layout {
            name: layout_name(&ids),
            open: ids,
            template,
        })
    }

    /// The layout a placement model chose: `facility_names` are the
    /// instance's facilities (site and candidate ids, as
    /// `casehub layout solve --region` builds them) and `open` the solution's
    /// opened facility indices.
    pub fn from_solution(
        region: &Region,
        facility_names: &[String],
        open: &[usize],
        template: SubCenterTemplate,
    ) -> Result<Layout, SimError> {
        let mut ids = Vec::new();
        for &j in open {
            let name = facility_names.get(j).ok_or_else(|| {
                SimError::invalid(
                    "open",
                    j.to_string(),
                    format!("only {} facilities", facility_names.len()),
                )
            })?;
            ids.push(name.as_str());
        }
        Layout::with_sites(region, &ids, template)
    }

    /// The region with this layout's sites: closed sub-centers removed with
    /// their staff and teams, opened candidates built from the template.
    pub fn apply(&self, region: &Region) -> Result<Region, SimError> {
        self.template.validate()?;
        let mut r = region.clone();
        let main = region.main_center().id.clone();
        let open: HashSet<&SiteId> = self.open.iter().chain(std::iter::once(&main)).collect();
        for (i, id) in self.open.iter().enumerate() {
            let known = region.site(id.as_str()).is_some()
                || region.candidate_sites.iter().any(|c| &c.id == id);
            if !known {
                return Err(SimError::invalid(
                    format!("layout.open[{i}]"),
                    id.as_str(),
                    "no such site or candidate site in this region",
                ));
            }
        }
        let closed: HashSet<SiteId> = r
            .sites
            .iter()
            .filter(|s| !open.contains(&s.id))
            .map(|s| s.id.clone())
            .collect();
        r.sites.retain(|s| !closed.contains(&s.id));
        r.officers
            .retain(|o| !matches!(&o.post, Post::Site(s) if closed.contains(s)));
        r.escort_teams.retain(|t| !closed.contains(&t.site));

        let t = &self.template;
        let candidates: Vec<_> = region
            .candidate_sites
            .iter()
            .filter(|c| open.contains(&c.id))
            .cloned()
            .collect();
        for c in candidates {
            // The region's day and night shifts (added when it has none).
            let day = ensure_shift(&mut r, "08:00-20:00", "sim-day")?;
            let night = ensure_shift(&mut r, "20:00-08:00", "sim-night")?;
            let sid = c.id.clone();
            let room = |n: &str, k: u32, kind: RoomKind, cap: Option<u32>, juv: bool| {
                Room::new(rid(&sid, &format!("{n}-{k}")), kind, cap, true, juv)
                    .map_err(|e| SimError::Invalid(format!("template room: {e}")))
            };
            let mut rooms = Vec::new();
            for (n, kind, count) in [
                ("intake", RoomKind::Intake, t.intake_rooms),
                ("search", RoomKind::Search, t.search_rooms),
                (
                    "info",
                    RoomKind::InformationCollection,
                    t.information_collection_rooms,
                ),
                ("medical", RoomKind::Medical, t.medical_rooms),
            ] {
                for k in 1..=count {
                    rooms.push(room(n, k, kind, None, false)?);
                }
            }
            for k in 1..=t.holding_rooms {
                rooms.push(room(
                    "hold",
                    k,
                    RoomKind::Holding,
                    Some(t.holding_capacity),
                    false,
                )?);
            }
            for k in 1..=t.juvenile_holding_rooms {
                rooms.push(room("jhold", k, RoomKind::Holding, Some(1), true)?);
            }
            for k in 1..=t.interrogation_rooms {
                let juv = k == t.interrogation_rooms;
                rooms.push(room(
                    "interrogation",
                    k,
                    RoomKind::Interrogation,
                    None,
                    juv,
                )?);
            }
            for k in 1..=t.inquiry_rooms {
                let juv = k == t.inquiry_rooms;
                rooms.push(room("inquiry", k, RoomKind::Inquiry, None, juv)?);
            }
            let site = Site::new(
                sid.clone(),
                c.name.clone(),
                SiteKind::SubCenter,
                c.location,
                DailyWindow::ALWAYS,
                rooms,
            )
            .map_err(|e| SimError::Invalid(format!("site {sid}: {e}")))?;
            r.sites.push(site);
            let mut add = |name: String, gender: Gender, q: Vec<Qualification>, shift: &ShiftId| {
                let id = oid(&sid, &name);
                let o = Officer::new(
                    id.clone(),
                    None,
                    gender,
                    Post::Site(sid.clone()),
                    q,
                    shift.clone(),
                )
                .map_err(|e| SimError::Invalid(format!("officer {id}: {e}")))?;
                r.officers.push(o);
                Ok::<OfficerId, SimError>(id)
            };
            let alt = |k: u32| {
                if k.is_multiple_of(2) {
                    Gender::Female
                } else {
                    Gender::Male
                }
            };
            let staff_q = || {
                vec![
                    Qualification::Intake,
                    Qualification::Search,
                    Qualification::Custody,
                ]
            };
            let questioner_q = || vec![Qualification::Questioning, Qualification::Juvenile];
            for k in 1..=t.day_staff {
                add(format!("staff{k:02}"), alt(k), staff_q(), &day)?;
            }
            for k in 1..=t.night_staff {
                add(format!("nstaff{k:02}"), alt(k), staff_q(), &night)?;
            }
            for k in 1..=t.day_questioners {
                add(format!("inv{k:02}"), alt(k), questioner_q(), &day)?;
            }
            for k in 1..=t.night_questioners {
                add(format!("ninv{k:02}"), alt(k), questioner_q(), &night)?;
            }
            let mut team_no = 0;
            for (prefix, shift) in [("esc", &day), ("nesc", &night)] {
                for _ in 0..t.teams_per_shift {
                    team_no += 1;
                    let mut members = Vec::new();
                    for m in 1..=t.team_size {
                        let g = if m == t.team_size {
                            Gender::Female
                        } else {
                            Gender::Male
                        };
                        members.push(add(
                            format!("{prefix}{team_no:02}-{m}"),
                            g,
                            vec![Qualification::Escort, Qualification::Search],
                            shift,
                        )?);
                    }
                    let team = EscortTeam::new(
                        casehub_model::TeamId::new(format!("{sid}-team-{team_no}"))
                            .map_err(|e| SimError::Invalid(e.to_string()))?,
                        sid.clone(),
                        t.team_seats,
                        members,
                    )
                    .map_err(|e| SimError::Invalid(format!("team at {sid}: {e}")))?;
                    r.escort_teams.push(team);
                }
            }
        }
        // Built candidates are sites now, no longer candidates.
        r.candidate_sites.retain(|c| !open.contains(&c.id));
        r.info.name = format!("{} — layout {}", region.info.name, self.name);
        Region::new(r).map_err(|e| SimError::Invalid(format!("layout {}: {e}", self.name)))
    }
}

fn layout_name(ids: &[SiteId]) -> String {
    ids.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("+")
}

fn rid(site: &SiteId, suffix: &str) -> RoomId {
    // Site ids are at most 64 characters; keep the room id within the limit.
    let mut s = format!("{site}-{suffix}");
    if s.len() > 64 {
        s = format!("{}-{suffix}", &site.as_str()[..64 - suffix.len() - 1]);
    }
    RoomId::new(s).expect("built from a valid id")
}

fn oid(site: &SiteId, suffix: &str) -> OfficerId {
    let mut s = format!("{site}-{suffix}");
    if s.len() > 64 {
        s = format!("{}-{suffix}", &site.as_str()[..64 - suffix.len() - 1]);
    }
    OfficerId::new(s).expect("built from a valid id")
}

fn ensure_shift(r: &mut Region, window: &str, id: &str) -> Result<ShiftId, SimError> {
    let w = DailyWindow::parse("shift", window).expect("constant window");
    if let Some(s) = r.shifts.iter().find(|s| s.window == w) {
        return Ok(s.id.clone());
    }
    let id = ShiftId::new(id).expect("constant id");
    r.shifts.push(Shift {
        id: id.clone(),
        window: w,
    });
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_reads_questioners_under_their_old_names_too() {
        let old: SubCenterTemplate =
            toml::from_str("day_staff = 5\nday_investigators = 6\nnight_investigators = 3\n")
                .unwrap();
        assert_eq!((old.day_questioners, old.night_questioners), (6, 3));
        assert_eq!(old.day_staff, 5);
        assert_eq!(
            old.teams_per_shift,
            SubCenterTemplate::default().teams_per_shift
        );
        let new: SubCenterTemplate =
            toml::from_str("day_questioners = 6\nnight_questioners = 3\n").unwrap();
        assert_eq!((new.day_questioners, new.night_questioners), (6, 3));
        // Written back, a template uses the new names only.
        let text = toml::to_string(&old).unwrap();
        assert!(text.contains("day_questioners = 6"), "{text}");
        assert!(!text.contains("investigators"), "{text}");
    }
}
