//! Validation errors. Every error names the field and the offending value.

use std::fmt;

/// A value from outside (a file, a request, a flag) that failed validation.
///
/// `field` is a path such as `stations[3].location.lat`; `value` is the
/// offending value as the user wrote it; `reason` says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} = {value}: {reason}")]
pub struct ValidationError {
    pub field: String,
    pub value: String,
    pub reason: String,
}

impl ValidationError {
    pub fn new(
        field: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Prefix the field path, e.g. `lat` inside `stations[3].location`.
    pub fn within(mut self, parent: impl fmt::Display) -> Self {
        let parent = parent.to_string();
        self.field = if self.field.is_empty() {
            parent
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// Shorthand used by validating constructors.
pub type Result<T, E = ValidationError> = std::result::Result<T, E>;

/// Require a finite number (not NaN, not infinite).
pub fn finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            value,
            "must be a finite number",
        ))
    }
}

/// Require a finite number strictly greater than zero.
pub fn positive(field: &str, value: f64) -> Result<f64> {
    let v = finite(field, value)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(ValidationError::new(field, value, "must be greater than 0"))
    }
}

/// Require a finite number greater than or equal to zero.
pub fn non_negative(field: &str, value: f64) -> Result<f64> {
    let v = finite(field, value)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(ValidationError::new(field, value, "must not be negative"))
    }
}

/// Require a probability in [0, 1].
pub fn probability(field: &str, value: f64) -> Result<f64> {
    let v = finite(field, value)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(ValidationError::new(
            field,
            value,
            "must be between 0 and 1",
        ))
    }
}
