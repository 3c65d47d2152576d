//! Local time of day and daily windows (open hours, shifts).
//!
//! Absolute instants are `chrono::DateTime<Utc>`; open hours and shifts are
//! local times of day, turned into instants with the region's UTC offset.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};

/// Minutes in a day.
pub const DAY_MIN: i64 = 1440;

/// A local time of day, `00:00` to `24:00` inclusive (24:00 is only useful as a window end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    pub const MIDNIGHT: TimeOfDay = TimeOfDay(0);
    pub const END_OF_DAY: TimeOfDay = TimeOfDay(1440);

    /// From minutes after midnight (0..=1440).
    pub fn from_minutes(field: &str, minutes: u32) -> Result<Self> {
        if minutes > 1440 {
            return Err(ValidationError::new(
                field,
                minutes,
                "a time of day is at most 24:00 (1440 minutes)",
            ));
        }
        Ok(Self(minutes as u16))
    }

    pub fn minutes(self) -> u32 {
        u32::from(self.0)
    }

    /// Parse `HH:MM`; `field` names the field in errors.
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        let bad = || {
            ValidationError::new(
                field,
                format!("{s:?}"),
                "expected a time of day as HH:MM, 00:00 to 24:00",
            )
        };
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u32 = h.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(Self((h * 60 + m) as u16))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse("time of day", &s)
    }
}

impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> String {
        t.to_string()
    }
}

/// A window repeated every day, written `HH:MM-HH:MM`. A window whose end is
/// before its start crosses midnight (`20:00-08:00` is a night shift);
/// `00:00-24:00` is the whole day. A window may not be empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DailyWindow {
    start: TimeOfDay,
    end: TimeOfDay,
}

impl DailyWindow {
    /// The whole day, every day.
    pub const ALWAYS: DailyWindow = DailyWindow {
        start: TimeOfDay::MIDNIGHT,
        end: TimeOfDay::END_OF_DAY,
    };

    pub fn new(field: &str, start: TimeOfDay, end: TimeOfDay) -> Result<Self> {
        if start == TimeOfDay::END_OF_DAY {
            return Err(ValidationError::new(
                field,
                format!("{start}-{end}"),
                "a window cannot start at 24:00",
            ));
        }
        if start == end {
            return Err(ValidationError::new(
                field,
                format!("{start}-{end}"),
                "a window must not be empty (use 00:00-24:00 for the whole day)",
            ));
        }
        if start == TimeOfDay::MIDNIGHT && end == TimeOfDay::END_OF_DAY {
            return Ok(Self::ALWAYS);
        }
        // 24:00 as an end is the same as 00:00 of the next day.
        let end = if end == TimeOfDay::END_OF_DAY {
            TimeOfDay::MIDNIGHT
        } else {
            end
        };
        if start == end {
            return Ok(Self::ALWAYS);
        }
        Ok(Self { start, end })
    }

    /// Parse `HH:MM-HH:MM`.
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        let (a, b) = s.split_once('-').ok_or_else(|| {
            ValidationError::new(field, format!("{s:?}"), "expected a window as HH:MM-HH:MM")
        })?;
        let start = TimeOfDay::parse(field, a.trim())?;
        let end = TimeOfDay::parse(field, b.trim())?;
        Self::new(field, start, end)
    }

    pub fn start(&self) -> TimeOfDay {
        self.start
    }

    pub fn end(&self) -> TimeOfDay {
        self.end
    }

    pub fn is_always(&self) -> bool {
        *self == Self::ALWAYS
    }

    /// Length of one daily occurrence in minutes.
    pub fn len_min(&self) -> i64 {
        if self.is_always() {
            return DAY_MIN;
        }
        (i64::from(self.end.0) - i64::from(self.start.0)).rem_euclid(DAY_MIN)
    }

    /// Whether the interval `[from, to)`, in local minutes since any midnight-aligned
    /// epoch, lies entirely inside one occurrence of the window.
    pub fn covers(&self, from: i64, to: i64) -> bool {
        if to <= from || self.is_always() {
            return true;
        }
        let start = i64::from(self.start.0);
        let day = (from - start).div_euclid(DAY_MIN);
        let open = day * DAY_MIN + start;
        let close = open + self.len_min();
        from >= open && to <= close
    }

    /// Whether the local minute `at` is inside the window.
    pub fn contains(&self, at: i64) -> bool {
        self.covers(at, at + 1)
    }

    /// The earliest local minute `>= at` at which an interval of `len` minutes fits inside the window,
    /// or `None` if `len` is longer than the window.
    pub fn next_fit(&self, at: i64, len: i64) -> Option<i64> {
        if self.covers(at, at + len) {
            return Some(at);
        }
        if len > self.len_min() {
            return None;
        }
        let start = i64::from(self.start.0);
        let day = (at - start).div_euclid(DAY_MIN) + 1;
        Some(day * DAY_MIN + start)
    }
}

impl fmt::Display for DailyWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_always() {
            return f.write_str("00:00-24:00");
        }
        write!(f, "{}-{}", self.start, self.end)
    }
}

impl FromStr for DailyWindow {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse("window", s)
    }
}

impl TryFrom<String> for DailyWindow {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse("window", &s)
    }
}

impl From<DailyWindow> for String {
    fn from(w: DailyWindow) -> String {
        w.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_windows() {
        let w = DailyWindow::parse("w", "08:00-20:00").unwrap();
        assert_eq!(w.to_string(), "08:00-20:00");
        assert_eq!(w.len_min(), 720);
        assert!(DailyWindow::parse("w", "00:00-24:00").unwrap().is_always());
        assert_eq!(
            DailyWindow::parse("w", "20:00-08:00").unwrap().len_min(),
            720
        );
        for bad in [
            "8:00-20:00",
            "08:00",
            "08:00-08:00",
            "25:00-26:00",
            "08:60-09:00",
            "24:00-08:00",
            "ab:cd-01:00",
        ] {
            let e = DailyWindow::parse("shifts[0].window", bad).unwrap_err();
            assert_eq!(e.field, "shifts[0].window", "{bad}");
        }
    }

    #[test]
    fn night_window_covers_across_midnight() {
        let w = DailyWindow::parse("w", "20:00-08:00").unwrap();
        // 22:00 day 0 to 02:00 day 1.
        assert!(w.covers(22 * 60, DAY_MIN + 2 * 60));
        assert!(!w.covers(7 * 60, 9 * 60));
        assert!(w.contains(DAY_MIN + 7 * 60 + 59));
        assert!(!w.contains(DAY_MIN + 8 * 60));
        assert_eq!(w.next_fit(9 * 60, 60), Some(20 * 60));
        assert_eq!(w.next_fit(0, 13 * 60), None);
    }

    #[test]
    fn day_window_next_fit() {
        let w = DailyWindow::parse("w", "08:00-20:00").unwrap();
        assert_eq!(w.next_fit(19 * 60 + 30, 60), Some(DAY_MIN + 8 * 60));
        assert_eq!(w.next_fit(9 * 60, 60), Some(9 * 60));
        assert!(DailyWindow::ALWAYS.covers(-5, 10_000));
    }
}
