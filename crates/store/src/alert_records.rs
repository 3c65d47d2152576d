//! Alerts kept and handled (rules version 5): each alert the leader finds
//! ([`crate::alerts`]) becomes a replicated record with a lifecycle —
//! raised, acknowledged (who and when), escalated to the supervisors when
//! nobody acknowledged it within the policy's `alert_escalate_min`, and
//! resolved on its own when its condition clears.
//!
//! The leader proposes [`Command::AlertSweep`] with what changed since the
//! records (under a reserved client id); users acknowledge with
//! [`Command::AcknowledgeAlert`]. The state machine only records: it reads
//! no clock, so every replica applies the same log to the same records, and
//! a new leader carries on from them (no alert is lost or raised twice
//! across a leader change).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use casehub_model::{CaseId, PersonId, SiteId, StationId};

use crate::alerts::{Alert, AlertKind};
use crate::state::{Outcome, SchedulingState, invalid};

/// The resolved alerts kept in the live state, newest last; older ones
/// are in the audit trail (their sweeps) only.
pub const HISTORY: usize = 5_000;

/// An alert as the leader raises it: the condition, without a lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raised {
    pub kind: AlertKind,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<StationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    pub message: String,
}

impl From<&Alert> for Raised {
    fn from(a: &Alert) -> Self {
        Raised {
            kind: a.kind,
            key: a.key.clone(),
            case: a.case.clone(),
            person: a.person.clone(),
            station: a.station.clone(),
            site: a.site.clone(),
            deadline: a.deadline,
            message: a.message.clone(),
        }
    }
}

/// Who acknowledged an alert, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// An alert with its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    #[serde(flatten)]
    pub alert: Raised,
    pub raised_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

impl AlertRecord {
    /// raised, acknowledged, escalated or resolved: the latest of them.
    pub fn status(&self) -> &'static str {
        if self.resolved_at.is_some() {
            "resolved"
        } else if self.acknowledged.is_some() {
            "acknowledged"
        } else if self.escalated_at.is_some() {
            "escalated"
        } else {
            "raised"
        }
    }
}

/// The open alerts by key, and the resolved ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertRecords {
    #[serde(default)]
    pub open: std::collections::BTreeMap<String, AlertRecord>,
    #[serde(default)]
    pub history: imbl::Vector<AlertRecord>,
}

impl AlertRecords {
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.history.is_empty()
    }
}

/// What the leader found changed: to raise, resolve and escalate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sweep {
    pub raised: Vec<Raised>,
    pub resolved: Vec<String>,
    pub escalated: Vec<String>,
}

impl Sweep {
    pub fn is_empty(&self) -> bool {
        self.raised.is_empty() && self.resolved.is_empty() && self.escalated.is_empty()
    }
}

impl SchedulingState {
    /// Compare the conditions standing at `now` with the open records:
    /// the new ones to raise, the cleared ones to resolve, and the ones
    /// nobody acknowledged within the policy's `alert_escalate_min`.
    pub fn alert_sweep(&self, standing: &[Alert], now: DateTime<Utc>) -> Sweep {
        let open = &self.alerts.open;
        let keys: std::collections::BTreeSet<&str> =
            standing.iter().map(|a| a.key.as_str()).collect();
        let after = chrono::Duration::minutes(i64::from(self.policy.alert_escalate_min));
        Sweep {
            raised: standing
                .iter()
                .filter(|a| !open.contains_key(&a.key))
                .map(Raised::from)
                .collect(),
            resolved: open
                .keys()
                .filter(|k| !keys.contains(k.as_str()))
                .cloned()
                .collect(),
            escalated: open
                .values()
                .filter(|r| {
                    keys.contains(r.alert.key.as_str())
                        && r.acknowledged.is_none()
                        && r.escalated_at.is_none()
                        && r.raised_at + after <= now
                })
                .map(|r| r.alert.key.clone())
                .collect(),
        }
    }

    /// Apply a sweep at `at`: raise what is not open, resolve and
    /// escalate what is.
    pub(crate) fn apply_sweep(
        &mut self,
        raised: &[Raised],
        resolved: &[String],
        escalated: &[String],
        at: DateTime<Utc>,
    ) -> Outcome {
        for r in raised {
            self.alerts
                .open
                .entry(r.key.clone())
                .or_insert_with(|| AlertRecord {
                    alert: r.clone(),
                    raised_at: at,
                    acknowledged: None,
                    escalated_at: None,
                    resolved_at: None,
                });
        }
        for key in escalated {
            if let Some(r) = self.alerts.open.get_mut(key)
                && r.escalated_at.is_none()
                && r.acknowledged.is_none()
            {
                r.escalated_at = Some(at);
            }
        }
        for key in resolved {
            if let Some(mut r) = self.alerts.open.remove(key) {
                r.resolved_at = Some(at);
                self.alerts.history.push_back(r);
                while self.alerts.history.len() > HISTORY {
                    self.alerts.history.pop_front();
                }
            }
        }
        Ok(vec![])
    }

    /// A user acknowledges an open alert.
    pub(crate) fn acknowledge(&mut self, key: &str, by: &str, at: DateTime<Utc>) -> Outcome {
        let Some(r) = self.alerts.open.get_mut(key) else {
            return Err(invalid("key", format!("no open alert {key}")));
        };
        if let Some(a) = &r.acknowledged {
            return Err(invalid(
                "key",
                format!(
                    "alert {key} was acknowledged by {} at {}",
                    a.by,
                    a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ));
        }
        r.acknowledged = Some(Acknowledgement {
            by: by.to_string(),
            at,
        });
        Ok(vec![])
    }
}
