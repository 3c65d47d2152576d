//! An imported travel matrix (long format), as produced by an external router.

use std::collections::HashMap;

use crate::csv_input::Sheet;
use crate::great_circle::check_detour;
use crate::{Leg, Place, TravelError, TravelModel, great_circle_km};

/// Directed legs by place id, read from CSV `from,to,minutes,km`.
///
/// A pair not in the table is [`TravelError::MissingPair`], except a place to
/// itself (same id), which is zero when not listed. Where `km` was left empty
/// it is filled at lookup with the great-circle distance × the fallback detour.
#[derive(Debug, Clone)]
pub struct TravelMatrix {
    name: String,
    /// from id → to id → (minutes, km if given).
    entries: HashMap<String, HashMap<String, Entry>>,
    pairs: usize,
    pairs_without_km: usize,
    fallback_detour: f64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    minutes: f64,
    km: Option<f64>,
}

impl TravelMatrix {
    /// Parse the CSV text; `name` is the file name used in error messages.
    pub fn from_csv(name: &str, text: &str) -> Result<TravelMatrix, TravelError> {
        let sheet = Sheet::read(name, text, &["from", "to", "minutes"], &["km"])?;
        let mut entries: HashMap<String, HashMap<String, Entry>> = HashMap::new();
        let mut first_line: HashMap<(String, String), u64> = HashMap::new();
        let mut pairs_without_km = 0;
        for row in sheet.rows() {
            let from = row.id("from")?;
            let to = row.id("to")?;
            let minutes = row.present("minutes", row.non_negative("minutes")?)?;
            let km = row.non_negative("km")?;
            let key = (from.to_string(), to.to_string());
            if let Some(line) = first_line.get(&key) {
                return Err(row.error(format!(
                    "duplicate pair {from:?} -> {to:?} (first given on line {line})"
                )));
            }
            first_line.insert(key, row.line());
            pairs_without_km += usize::from(km.is_none());
            entries
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string(), Entry { minutes, km });
        }
        Ok(TravelMatrix {
            name: name.to_string(),
            entries,
            pairs: first_line.len(),
            pairs_without_km,
            fallback_detour: 1.0,
        })
    }

    /// Set the detour factor (finite, ≥ 1.0) applied to the great-circle
    /// distance for rows whose `km` is empty. Default 1.0.
    pub fn with_fallback_detour(mut self, detour_factor: f64) -> Result<TravelMatrix, TravelError> {
        self.fallback_detour = check_detour("fallback_detour", detour_factor)?;
        Ok(self)
    }

    /// Number of (from, to) rows.
    pub fn len(&self) -> usize {
        self.pairs
    }

    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }

    /// Whether the table has a row for this ordered pair of ids.
    pub fn contains(&self, from_id: &str, to_id: &str) -> bool {
        self.entry(from_id, to_id).is_some()
    }

    fn entry(&self, from_id: &str, to_id: &str) -> Option<Entry> {
        self.entries.get(from_id)?.get(to_id).copied()
    }
}

impl TravelModel for TravelMatrix {
    fn leg(&self, from: &Place, to: &Place) -> Result<Leg, TravelError> {
        match self.entry(&from.id, &to.id) {
            Some(Entry { minutes, km }) => Ok(Leg {
                minutes,
                km: km.unwrap_or_else(|| {
                    great_circle_km(&from.location, &to.location) * self.fallback_detour
                }),
            }),
            None if from.id == to.id => Ok(Leg::ZERO),
            None => Err(TravelError::MissingPair {
                from: from.id.clone(),
                to: to.id.clone(),
            }),
        }
    }

    fn describe(&self) -> String {
        let mut text = format!("travel matrix {}: {} pairs", self.name, self.pairs);
        if self.pairs_without_km > 0 {
            text += &format!(
                " ({} without km, filled with great circle × {})",
                self.pairs_without_km, self.fallback_detour
            );
        }
        text
    }
}
