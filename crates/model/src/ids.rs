//! Identifiers. Each kind of entity has its own id type so that a room id can
//! never be passed where an officer id is expected.
//!
//! An id is 1–64 characters of ASCII letters, digits, `-`, `_` or `.`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};

/// Check the id alphabet and length; `field` names the field in the error.
pub fn validate_id(field: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(ValidationError::new(
            field,
            "\"\"",
            "an id must not be empty",
        ));
    }
    if s.len() > 64 {
        return Err(ValidationError::new(
            field,
            format!("{s:?}"),
            "an id must be at most 64 characters",
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(ValidationError::new(
            field,
            format!("{s:?}"),
            format!(
                "character {c:?} is not allowed in an id (use letters, digits, '-', '_' or '.')"
            ),
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validate and build an id.
            pub fn new(s: impl Into<String>) -> Result<Self> {
                let s = s.into();
                validate_id($what, &s)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValidationError;
            fn try_from(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A case-handling site: the main center or a sub-center (or a candidate site).
    SiteId, "site id"
);
id_type!(
    /// A room inside a site.
    RoomId, "room id"
);
id_type!(
    /// A police station (派出所).
    StationId, "station id"
);
id_type!(
    /// An officer or a member of the center's professional staff.
    OfficerId, "officer id"
);
id_type!(
    /// An escort team of a site.
    TeamId, "escort team id"
);
id_type!(
    /// A case (one incident brought in, with one or more persons).
    CaseId, "case id"
);
id_type!(
    /// A person brought in under a case.
    PersonId, "person id"
);
id_type!(
    /// A named daily shift pattern.
    ShiftId, "shift id"
);
id_type!(
    /// A co-suspect group: persons who must be held and questioned apart.
    GroupId, "co-suspect group id"
);
