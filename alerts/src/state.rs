//! The durable alert state: which alerts are firing as last notified, and the outbox of
//! notifications not yet delivered to every receiver. One JSON file, replaced atomically.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracehound_query::monitor::live::Alert;

/// The file format's version; a newer one is refused rather than misread.
const FORMAT_VERSION: u32 = 1;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("alert state {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not an alert state this version reads.
    #[error("alert state {path} cannot be read: {reason}; move it aside to start with no alert firing")]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    /// The alert started firing.
    Firing,
    /// The alert stopped firing.
    Resolved,
}

/// One notification of one alert's change, and the receivers it has yet to reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique in the state, increasing.
    pub id: u64,
    /// Firing or resolved.
    pub status: NotificationStatus,
    /// The alert, with its numbers when it fired.
    pub alert: Alert,
    /// When it resolved, Unix ns (resolved notifications only).
    pub resolved_at_unix_nano: Option<u64>,
    /// Receivers (by name) still to reach.
    pub pending: Vec<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before this, Unix ns.
    pub next_attempt_unix_nano: u64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// Firing alerts and the outbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    version: u32,
    /// Firing alerts by key (tenant, rule, labels), as last notified.
    pub active: BTreeMap<String, Alert>,
    /// Notifications not yet delivered to every receiver, oldest first.
    pub outbox: Vec<Notification>,
    next_id: u64,
}

impl AlertState {
    /// What one evaluation of `tenant` found firing: alerts new since the last evaluation
    /// are queued as firing, alerts of the tenant no longer firing as resolved. Returns
    /// whether anything changed.
    pub fn apply(&mut self, tenant: u32, firing: Vec<Alert>, now: u64, receivers: &[String]) -> bool {
        let mut changed = false;
        let now_keys: Vec<String> = firing.iter().map(Alert::key).collect();
        let gone: Vec<String> = self
            .active
            .iter()
            .filter(|(key, alert)| alert.tenant == tenant && !now_keys.contains(key))
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            if let Some(alert) = self.active.remove(&key) {
                self.queue(NotificationStatus::Resolved, alert, Some(now), now, receivers);
                changed = true;
            }
        }
        for (key, alert) in now_keys.into_iter().zip(firing) {
            if let std::collections::btree_map::Entry::Vacant(slot) = self.active.entry(key) {
                slot.insert(alert.clone());
                self.queue(NotificationStatus::Firing, alert, None, now, receivers);
                changed = true;
            }
        }
        changed
    }

    fn queue(
        &mut self,
        status: NotificationStatus,
        alert: Alert,
        resolved: Option<u64>,
        now: u64,
        receivers: &[String],
    ) {
        if receivers.is_empty() {
            return;
        }
        self.next_id += 1;
        self.outbox.push(Notification {
            id: self.next_id,
            status,
            alert,
            resolved_at_unix_nano: resolved,
            pending: receivers.to_vec(),
            attempts: 0,
            next_attempt_unix_nano: now,
            last_error: None,
        });
    }

    /// Receivers no longer configured are dropped from every pending notification, and
    /// notifications left with none are removed: a receiver taken out of the
    /// configuration is not retried forever.
    pub fn keep_receivers(&mut self, receivers: &[String]) {
        for n in &mut self.outbox {
            n.pending.retain(|r| receivers.contains(r));
        }
        self.outbox.retain(|n| !n.pending.is_empty());
    }
}

/// Where the state lives.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state as last saved; empty when there is no file yet.
    pub fn load(&self) -> Result<AlertState, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(AlertState { version: FORMAT_VERSION, ..AlertState::default() })
            }
            Err(source) => return Err(StateError::Io { path: self.path.clone(), source }),
        };
        let state: AlertState = serde_json::from_str(&text)
            .map_err(|e| StateError::Format { path: self.path.clone(), reason: e.to_string() })?;
        if state.version != FORMAT_VERSION {
            return Err(StateError::Format {
                path: self.path.clone(),
                reason: format!("format version {} (this build reads {FORMAT_VERSION})", state.version),
            });
        }
        Ok(state)
    }

    /// Replaces the file with `state`: a temporary file beside it, synced, then renamed over
    /// it, so a crash leaves the old state or the new one, never half of either.
    pub fn save(&self, state: &AlertState) -> Result<(), StateError> {
        let io = |source| StateError::Io { path: self.path.clone(), source };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut saved = state.clone();
        saved.version = FORMAT_VERSION;
        let text = serde_json::to_vec_pretty(&saved).map_err(|e| io(std::io::Error::other(e)))?;
        let temporary = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(&text).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, &self.path).map_err(io)?;
        // Makes the rename itself durable; not every platform can sync a directory.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_query::monitor::backtest::Firing;

    fn alert(tenant: u32, rule: &str) -> Alert {
        Alert {
            tenant,
            firing: Firing {
                rule: rule.into(),
                labels: BTreeMap::new(),
                fired_at: "2026-10-04T02:07:00Z".into(),
                resolved_at: None,
                value: 0.3,
                threshold: 0.1,
                baseline: 0.03,
                requests: 70,
                baseline_requests: 800,
                p_value: 1e-9,
                level: 1e-5,
            },
        }
    }

    const RECEIVERS: &[&str] = &["webhook"];

    fn receivers() -> Vec<String> {
        RECEIVERS.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn a_new_alert_is_queued_once_however_often_it_is_seen_firing() {
        let mut state = AlertState::default();
        assert!(state.apply(1, vec![alert(1, "q")], 10, &receivers()));
        assert!(!state.apply(1, vec![alert(1, "q")], 20, &receivers()));
        assert_eq!(state.outbox.len(), 1);
        assert_eq!(state.outbox[0].status, NotificationStatus::Firing);
    }

    #[test]
    fn an_alert_no_longer_firing_is_queued_as_resolved() {
        let mut state = AlertState::default();
        state.apply(1, vec![alert(1, "q")], 10, &receivers());
        state.apply(1, vec![], 20, &receivers());
        assert!(state.active.is_empty());
        assert_eq!(state.outbox[1].status, NotificationStatus::Resolved);
        assert_eq!(state.outbox[1].resolved_at_unix_nano, Some(20));
    }

    #[test]
    fn one_tenants_evaluation_never_resolves_another_tenants_alert() {
        let mut state = AlertState::default();
        state.apply(1, vec![alert(1, "q")], 10, &receivers());
        state.apply(2, vec![], 20, &receivers());
        assert_eq!(state.active.len(), 1);
    }

    #[test]
    fn the_state_reads_back_as_saved() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("alerts").join("state.json"));
        assert_eq!(file.load().unwrap().active.len(), 0);
        let mut state = AlertState::default();
        state.apply(1, vec![alert(1, "q")], 10, &receivers());
        file.save(&state).unwrap();
        let read = file.load().unwrap();
        assert_eq!(read.active, state.active);
        assert_eq!(read.outbox, state.outbox);
    }

    #[test]
    fn a_state_file_that_is_not_json_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "not json").unwrap();
        let err = StateFile::new(&path).load().unwrap_err().to_string();
        assert!(err.contains("move it aside"), "{err}");
    }

    #[test]
    fn a_receiver_taken_out_of_the_configuration_is_not_retried() {
        let mut state = AlertState::default();
        state.apply(1, vec![alert(1, "q")], 10, &receivers());
        state.keep_receivers(&[]);
        assert!(state.outbox.is_empty());
    }
}
