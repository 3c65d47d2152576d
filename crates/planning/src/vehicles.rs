//! Who rides with whom: the vehicles an escort takes.
//!
//! With the policy's `separate_vehicles`, co-suspects of one group ride in
//! separate vehicles, and juveniles apart from adults. A vehicle carries at
//! most `seats` persons (an escort team's passenger seats; a station's own
//! cars are not limited). [`seating`] finds the fewest vehicles that keep
//! both: for each of the adults and the juveniles, the larger of the biggest
//! co-suspect group and the persons over the seats, filled in turn with the
//! persons ordered by group (a group's members then land in different
//! vehicles, and no vehicle takes more than its share).

use casehub_model::{Gender, Person};

/// Whether a vehicle (persons' indices) carries a woman: it needs a female
/// officer.
pub fn carries_woman(persons: &[Person], vehicle: &[usize]) -> bool {
    vehicle.iter().any(|&i| persons[i].gender == Gender::Female)
}

/// How many of the vehicles carry a woman.
pub fn female_vehicles(persons: &[Person], vehicles: &[Vec<usize>]) -> usize {
    vehicles
        .iter()
        .filter(|v| carries_woman(persons, v))
        .count()
}

/// The persons of a case (their indices) per vehicle, in a stable order.
/// Without `separate`, everyone rides together unless the seats run out.
/// `seats` of 0 is taken as 1.
pub fn seating(persons: &[Person], separate: bool, seats: Option<usize>) -> Vec<Vec<usize>> {
    let all: Vec<usize> = (0..persons.len()).collect();
    let classes: Vec<Vec<usize>> = if separate {
        let (juveniles, adults): (Vec<usize>, Vec<usize>) =
            all.into_iter().partition(|&i| persons[i].juvenile);
        [adults, juveniles]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect()
    } else if all.is_empty() {
        Vec::new()
    } else {
        vec![all]
    };
    let mut out = Vec::new();
    for mut class in classes {
        class.sort_by(|&a, &b| {
            persons[a]
                .co_suspect_group
                .cmp(&persons[b].co_suspect_group)
        });
        let biggest_group = if separate {
            class
                .chunk_by(|&a, &b| persons[a].co_suspect_group == persons[b].co_suspect_group)
                .filter(|g| persons[g[0]].co_suspect_group.is_some())
                .map(<[usize]>::len)
                .max()
                .unwrap_or(1)
        } else {
            1
        };
        let by_seats = seats.map_or(1, |s| class.len().div_ceil(s.max(1)));
        let m = biggest_group.max(by_seats).max(1);
        let mut vehicles = vec![Vec::new(); m];
        for (k, &p) in class.iter().enumerate() {
            vehicles[k % m].push(p);
        }
        out.extend(vehicles.into_iter().filter(|v| !v.is_empty()));
    }
    for v in &mut out {
        v.sort_unstable();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::seating;
    use casehub_model::{Gender, GroupId, Person, PersonId};

    fn p(id: &str, juvenile: bool, group: Option<&str>) -> Person {
        Person {
            id: PersonId::new(id).unwrap(),
            gender: Gender::Male,
            juvenile,
            co_suspect_group: group.map(|g| GroupId::new(g).unwrap()),
        }
    }

    #[test]
    fn co_suspects_and_juveniles_ride_apart_in_the_fewest_vehicles() {
        let persons = [
            p("A", false, Some("G")),
            p("B", false, Some("G")),
            p("C", false, None),
            p("J", true, Some("G")),
            p("K", true, None),
        ];
        let v = seating(&persons, true, Some(6));
        // Adults: A and B apart (2 vehicles, C with one of them); juveniles: one more.
        assert_eq!(v.len(), 3, "{v:?}");
        for vehicle in &v {
            let juveniles = vehicle.iter().filter(|&&i| persons[i].juvenile).count();
            assert!(juveniles == 0 || juveniles == vehicle.len(), "{v:?}");
            let g = vehicle
                .iter()
                .filter(|&&i| persons[i].co_suspect_group.is_some() && !persons[i].juvenile)
                .count();
            assert!(g <= 1, "{v:?}");
        }
        let mut everyone: Vec<usize> = v.concat();
        everyone.sort_unstable();
        assert_eq!(everyone, vec![0, 1, 2, 3, 4]);
        // Without the rule everyone rides together, seats allowing.
        assert_eq!(seating(&persons, false, Some(6)), vec![vec![0, 1, 2, 3, 4]]);
        assert_eq!(seating(&persons, false, Some(2)).len(), 3);
        // Seats bound each vehicle under the rule too.
        let many: Vec<Person> = (0..5).map(|i| p(&format!("P{i}"), false, None)).collect();
        let v = seating(&many, true, Some(2));
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|x| x.len() <= 2));
        assert!(seating(&[], true, Some(2)).is_empty());
    }
}
