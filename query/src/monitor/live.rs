//! The rules evaluated now: which series are firing at this moment, and what changed since
//! the last evaluation.
//!
//! A live evaluation is the backtest's last step: the rules replayed over the recent past
//! up to now (see [`super::backtest`]), so that live and replayed answers never disagree.
//! An alert is known by its tenant, rule and labels, not by when it fired: a replay that
//! starts later may place the same breach's firing a little later, and that must not read as
//! a new alert.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tracehound_store::{Store, TenantId};
use utoipa::ToSchema;

use super::backtest::{backtest, Firing};
use super::quality::QualityRow;
use super::rules::RuleSet;
use crate::error::QueryError;
use crate::failing::Window;

/// One alert: a rule firing for one series of one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    /// The tenant's id.
    pub tenant: u32,
    /// The rule and its numbers when it fired.
    #[serde(flatten)]
    pub firing: Firing,
}

impl Alert {
    /// What the alert is known by: tenant, rule and labels.
    pub fn key(&self) -> String {
        alert_key(self.tenant, &self.firing.rule, &self.firing.labels)
    }
}

/// The identity of an alert: tenant, rule and labels.
pub fn alert_key(tenant: u32, rule: &str, labels: &BTreeMap<String, String>) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{tenant}/{rule}/{}", labels.join(","))
}

/// How far before now the rules are replayed: long enough for any rule's window, `for`
/// and `keep_firing_for`, so that the state at now is the one a replay from long ago would
/// reach.
pub fn horizon(rules: &RuleSet) -> u64 {
    const HOUR: u64 = 3_600 * 1_000_000_000;
    rules.rules.iter().map(|r| r.window + r.for_duration + r.keep_firing_for).max().unwrap_or(0).max(HOUR)
}

/// The tenant's alerts firing at `now`.
pub fn firing_now(store: &Store, tenant: TenantId, rules: &RuleSet, now: u64) -> Result<Vec<Alert>, QueryError> {
    let window = Window { since: now.saturating_sub(horizon(rules)), until: now };
    let answer = backtest(store, tenant, rules, window)?;
    Ok(answer
        .firings
        .into_iter()
        .filter(|f| f.resolved_at.is_none())
        .map(|firing| Alert { tenant: tenant.0, firing })
        .collect())
}

/// What `GET /api/v1/alerts` answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertsView {
    /// Whether rules are being evaluated in this process.
    pub evaluating: bool,
    /// The last evaluation, RFC 3339; absent before the first.
    pub evaluated_at: Option<String>,
    /// Where the rules came from.
    pub rules_source: String,
    /// Alerts firing now.
    pub firing: Vec<Alert>,
    /// Notifications not yet delivered to every receiver.
    pub undelivered: usize,
    /// The tenant of each undelivered notification: the answer counts the caller's only.
    #[serde(skip)]
    pub undelivered_tenants: Vec<u32>,
    /// The last delivery failure, if any since the last success.
    pub last_delivery_error: Option<String>,
    /// Why the last evaluation failed, if it did.
    pub last_evaluation_error: Option<String>,
}

impl AlertsView {
    /// The view as `tenant` may see it: its own alerts and undelivered notifications.
    pub fn for_tenant(mut self, tenant: u32) -> AlertsView {
        self.firing.retain(|alert| alert.tenant == tenant);
        self.undelivered = self.undelivered_tenants.iter().filter(|t| **t == tenant).count();
        self.undelivered_tenants.clear();
        self
    }
}

/// The alerts and the quality rows as the evaluator last published them, for the API to read.
#[derive(Debug, Clone, Default)]
pub struct AlertBoard {
    view: Arc<RwLock<AlertsView>>,
    quality: Arc<RwLock<TenantRows>>,
}

/// Quality rows per tenant id.
pub type TenantRows = Vec<(u32, Vec<QualityRow>)>;

impl AlertBoard {
    /// A board that says nothing is evaluated yet.
    pub fn new(rules_source: &str, evaluating: bool) -> AlertBoard {
        let view = AlertsView { evaluating, rules_source: rules_source.to_string(), ..AlertsView::default() };
        AlertBoard { view: Arc::new(RwLock::new(view)), quality: Arc::default() }
    }

    /// Every tenant's quality rows, as last evaluated.
    pub fn quality(&self) -> TenantRows {
        self.quality.read().map(|q| q.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Replaces the quality rows.
    pub fn set_quality(&self, rows: TenantRows) {
        *self.quality.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = rows;
    }

    /// What was last published.
    pub fn snapshot(&self) -> AlertsView {
        self.view.read().map(|v| v.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Replaces the view through `change`.
    pub fn update(&self, change: impl FnOnce(&mut AlertsView)) {
        let mut guard = self.view.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(tenant: u32) -> Alert {
        Alert {
            tenant,
            firing: Firing {
                rule: "q".into(),
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

    #[test]
    fn a_tenant_sees_only_its_own_alerts_and_undelivered_notifications() {
        let view = AlertsView {
            firing: vec![alert(1), alert(2)],
            undelivered: 3,
            undelivered_tenants: vec![1, 2, 2],
            ..AlertsView::default()
        };
        let seen = view.for_tenant(2);
        assert_eq!(seen.firing.len(), 1);
        assert_eq!(seen.undelivered, 2);
    }
}
