//! The two loops of live alerting: evaluation on the rules' interval, and delivery of the
//! outbox with retries and backoff. Both run on tasks of their own, never on the ingest
//! path.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Mutex, Notify};
use tracehound_query::monitor::live::{firing_now, Alert, AlertBoard};
use tracehound_query::monitor::quality::{quality_now, QualityRow};
use tracehound_query::monitor::rules::RuleSet;
use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::timestamp::format_rfc3339;
use tracehound_query::QueryError;
use tracehound_store::Store;

use crate::receivers::Receiver;
use crate::state::{AlertState, Notification, StateError, StateFile};

/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest delay between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Notifications the outbox holds at most; past it the oldest are dropped and counted.
const MAX_OUTBOX: usize = 10_000;
/// How often the outbox is looked at when nothing wakes it.
const DELIVERY_TICK: Duration = Duration::from_millis(500);

/// What the engine needs besides the store.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The rules and their interval.
    pub rules: Arc<RuleSet>,
    /// Where notifications go; none keeps state without notifying.
    pub receivers: Vec<Receiver>,
    /// The server's address as people open it, for triage links.
    pub public_url: String,
    /// The durable state.
    pub state_file: StateFile,
    /// Where the API reads the alerts.
    pub board: AlertBoard,
    /// How long one delivery attempt may take.
    pub timeout: Duration,
}

/// What one evaluation found, per tenant.
#[derive(Debug, Default)]
struct Evaluated {
    firing: Vec<(u32, Vec<Alert>)>,
    quality: Vec<(u32, Vec<QualityRow>)>,
}

/// Why live alerting could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The durable state could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The HTTP client for the receivers could not be built.
    #[error("cannot build the HTTP client for alert receivers: {0}")]
    Client(String),
}

/// Live alerting for one process.
pub struct AlertEngine {
    store: Store,
    config: EngineConfig,
    state: Mutex<AlertState>,
    wake: Notify,
    client: reqwest::Client,
}

/// Describes the engine's metrics, for `/metrics`' HELP lines.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, Unit};
    describe_gauge!("tracehound_alerts_firing", Unit::Count, "Alerts firing now, over every tenant.");
    describe_gauge!("tracehound_alert_outbox", Unit::Count, "Alert notifications not yet delivered to every receiver.");
    describe_counter!(
        "tracehound_alert_evaluations_total",
        Unit::Count,
        "Evaluations of the alert rules, by outcome (ok, error)."
    );
    describe_counter!(
        "tracehound_alert_deliveries_total",
        Unit::Count,
        "Attempts to deliver an alert notification, by receiver kind and outcome (delivered, failed)."
    );
    describe_counter!(
        "tracehound_alert_notifications_dropped_total",
        Unit::Count,
        "Undelivered alert notifications dropped because the outbox was full."
    );
}

impl AlertEngine {
    /// Reads the durable state (receivers no longer configured are forgotten) and
    /// publishes it on the board.
    pub fn open(store: Store, config: EngineConfig) -> Result<Arc<AlertEngine>, OpenError> {
        let mut state = config.state_file.load()?;
        let names: Vec<String> = config.receivers.iter().map(|r| r.name().to_string()).collect();
        state.keep_receivers(&names);
        let client =
            reqwest::Client::builder().timeout(config.timeout).build().map_err(|e| OpenError::Client(e.to_string()))?;
        let engine = AlertEngine { store, config, state: Mutex::new(state), wake: Notify::new(), client };
        if let Ok(state) = engine.state.try_lock() {
            engine.publish(&state);
        }
        Ok(Arc::new(engine))
    }

    /// Runs both loops until `stop` turns true.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let evaluate = {
            let engine = self.clone();
            let mut stop = stop.clone();
            async move {
                let period = Duration::from_nanos(engine.config.rules.interval.max(1_000_000));
                let mut ticks = tokio::time::interval(period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = ticks.tick() => engine.evaluate_once().await,
                        _ = stop.changed() => break,
                    }
                }
            }
        };
        let deliver = {
            let engine = self.clone();
            let mut stop = stop;
            async move {
                loop {
                    tokio::select! {
                        _ = engine.wake.notified() => {}
                        _ = tokio::time::sleep(DELIVERY_TICK) => {}
                        _ = stop.changed() => break,
                    }
                    engine.deliver_due().await;
                }
            }
        };
        tokio::join!(evaluate, deliver);
    }

    /// One evaluation of every tenant; changes are saved, then handed to delivery.
    pub async fn evaluate_once(&self) {
        let store = self.store.clone();
        let rules = self.config.rules.clone();
        let now = now_unix_nanos();
        let found = tokio::task::spawn_blocking(move || -> Result<Evaluated, QueryError> {
            let mut out = Evaluated::default();
            for tenant in store.tenants()? {
                out.firing.push((tenant.0, firing_now(&store, tenant, &rules, now)?));
                out.quality.push((tenant.0, quality_now(&store, tenant, now)?));
            }
            Ok(out)
        })
        .await
        .unwrap_or_else(|e| Err(QueryError::ReadAborted(format!("the alert evaluation did not complete: {e}"))));
        let mut state = self.state.lock().await;
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                metrics::counter!("tracehound_alert_evaluations_total", "outcome" => "error").increment(1);
                tracing::error!(error = %e, "alert evaluation failed");
                self.config.board.update(|view| view.last_evaluation_error = Some(e.to_string()));
                return;
            }
        };
        metrics::counter!("tracehound_alert_evaluations_total", "outcome" => "ok").increment(1);
        self.config.board.set_quality(found.quality);
        let receivers: Vec<String> = self.config.receivers.iter().map(|r| r.name().to_string()).collect();
        let mut changed = false;
        for (tenant, firing) in found.firing {
            changed |= state.apply(tenant, firing, now, &receivers);
        }
        if changed {
            let overflow = state.outbox.len().saturating_sub(MAX_OUTBOX);
            if overflow > 0 {
                state.outbox.drain(..overflow);
                metrics::counter!("tracehound_alert_notifications_dropped_total").increment(overflow as u64);
                tracing::warn!(
                    dropped = overflow,
                    "alert outbox full: the oldest undelivered notifications were dropped"
                );
            }
            self.save(&state).await;
            self.wake.notify_one();
        }
        self.config.board.update(|view| {
            view.evaluated_at = Some(format_rfc3339(now));
            view.last_evaluation_error = None;
        });
        self.publish(&state);
    }

    /// Attempts every notification that is due, oldest first; a later notification of an
    /// alert waits while an earlier one to the same receiver is undelivered, so a receiver
    /// never hears "resolved" before "firing".
    pub async fn deliver_due(&self) {
        let now = now_unix_nanos();
        let due: Vec<Notification> = {
            let state = self.state.lock().await;
            let mut waiting: Vec<(String, String)> = Vec::new();
            let mut due = Vec::new();
            for n in &state.outbox {
                let key = n.alert.key();
                let blocked = n.pending.iter().any(|r| waiting.contains(&(key.clone(), r.clone())));
                if !blocked && n.next_attempt_unix_nano <= now {
                    due.push(n.clone());
                }
                waiting.extend(n.pending.iter().map(|r| (key.clone(), r.clone())));
            }
            due
        };
        for n in due {
            let mut delivered: Vec<String> = Vec::new();
            let mut errors: Vec<String> = Vec::new();
            for name in &n.pending {
                let Some(receiver) = self.config.receivers.iter().find(|r| r.name() == name) else { continue };
                let kind = receiver.kind.as_str();
                match self.send(receiver, &n).await {
                    Ok(()) => {
                        metrics::counter!("tracehound_alert_deliveries_total", "receiver" => kind, "outcome" => "delivered")
                            .increment(1);
                        delivered.push(name.clone());
                    }
                    Err(e) => {
                        metrics::counter!("tracehound_alert_deliveries_total", "receiver" => kind, "outcome" => "failed")
                            .increment(1);
                        tracing::warn!(receiver = %name, alert = %n.alert.key(), error = %e, "alert notification not delivered; will retry");
                        errors.push(format!("{name}: {e}"));
                    }
                }
            }
            let mut state = self.state.lock().await;
            if let Some(stored) = state.outbox.iter_mut().find(|s| s.id == n.id) {
                stored.pending.retain(|r| !delivered.contains(r));
                if !errors.is_empty() {
                    stored.attempts += 1;
                    let delay = backoff(stored.attempts);
                    stored.next_attempt_unix_nano = now_unix_nanos() + delay.as_nanos() as u64;
                    stored.last_error = Some(errors.join("; "));
                }
            }
            state.outbox.retain(|s| !s.pending.is_empty());
            self.save(&state).await;
            self.publish(&state);
        }
    }

    async fn send(&self, receiver: &Receiver, n: &Notification) -> Result<(), String> {
        let body = receiver.body(n, &self.config.public_url);
        let response = self.client.post(receiver.url.clone()).json(&body).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }

    async fn save(&self, state: &AlertState) {
        let file = self.config.state_file.clone();
        let snapshot = state.clone();
        let saved = tokio::task::spawn_blocking(move || file.save(&snapshot)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot save the alert state"),
            Err(e) => tracing::error!(error = %e, "saving the alert state did not complete"),
        }
    }

    /// Puts the firing alerts and the outbox's state on the board and in the gauges.
    fn publish(&self, state: &AlertState) {
        metrics::gauge!("tracehound_alerts_firing").set(state.active.len() as f64);
        metrics::gauge!("tracehound_alert_outbox").set(state.outbox.len() as f64);
        self.config.board.update(|view| {
            view.evaluating = true;
            view.rules_source = self.config.rules.source.clone();
            view.firing = state.active.values().cloned().collect();
            view.undelivered = state.outbox.len();
            view.undelivered_tenants = state.outbox.iter().map(|n| n.alert.tenant).collect();
            view.last_delivery_error = state.outbox.iter().find_map(|n| n.last_error.clone());
        });
    }
}

/// The delay before attempt `attempts + 1`: 1 s, 2 s, 4 s, ... up to 5 minutes.
fn backoff(attempts: u32) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1u32.checked_shl(attempts.saturating_sub(1)).unwrap_or(u32::MAX));
    doubled.min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
