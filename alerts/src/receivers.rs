//! Where notifications go, and the body each kind of receiver reads.

use serde_json::{json, Value};
use tracehound_query::monitor::live::Alert;
use tracehound_query::timestamp::{format_rfc3339, parse_rfc3339};

use crate::state::{Notification, NotificationStatus};

/// How far before an alert fired its triage link starts: the triage window's default, so
/// the baseline before the shift is in view.
const TRIAGE_LEAD_NANOS: u64 = 3 * 3_600 * 1_000_000_000;

/// The body a receiver reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiverKind {
    /// A generic JSON body: status, the alert's numbers, the triage link.
    Webhook,
    /// Slack's incoming-webhook body: `{"text": ...}`.
    Slack,
    /// Alertmanager's `POST /api/v2/alerts`: a list of postable alerts.
    Alertmanager,
}

impl ReceiverKind {
    /// Its name in receiver names and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverKind::Webhook => "webhook",
            ReceiverKind::Slack => "slack",
            ReceiverKind::Alertmanager => "alertmanager",
        }
    }
}

/// One receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    /// The body it reads.
    pub kind: ReceiverKind,
    /// Where to POST.
    pub url: url::Url,
    name: String,
}

/// Why a receiver's URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {url:?}: {reason}")]
pub struct ReceiverError {
    /// The flag that gave it.
    pub flag: &'static str,
    /// The URL as given.
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

impl Receiver {
    /// A receiver of `kind` at `url` (for Alertmanager its base URL; `/api/v2/alerts` is
    /// appended). `flag` names where it came from in an error.
    pub fn new(kind: ReceiverKind, url: &str, flag: &'static str) -> Result<Receiver, ReceiverError> {
        let fail = |reason: String| ReceiverError { flag, url: url.to_string(), reason };
        let mut parsed = url::Url::parse(url.trim()).map_err(|e| fail(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(fail("only http and https URLs are served".into()));
        }
        if kind == ReceiverKind::Alertmanager {
            let base = parsed.path().trim_end_matches('/').to_string();
            parsed.set_path(&format!("{base}/api/v2/alerts"));
        }
        // The name goes into the state file: a hash, because a Slack webhook URL is a secret.
        let digest = blake3::hash(parsed.as_str().as_bytes()).to_hex();
        Ok(Receiver { kind, url: parsed, name: format!("{}:{}", kind.as_str(), &digest.as_str()[..12]) })
    }

    /// The name pending notifications know it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JSON body of `notification` for this receiver; `public_url` is where the
    /// triage link points.
    pub fn body(&self, notification: &Notification, public_url: &str) -> Value {
        let alert = &notification.alert;
        let resolved_at = notification.resolved_at_unix_nano.map(format_rfc3339);
        let link = triage_link(public_url, alert, notification.resolved_at_unix_nano);
        let status = match notification.status {
            NotificationStatus::Firing => "firing",
            NotificationStatus::Resolved => "resolved",
        };
        match self.kind {
            ReceiverKind::Webhook => json!({
                "version": "1",
                "status": status,
                "alert": alert,
                "resolved_at": resolved_at,
                "triage_url": link,
            }),
            ReceiverKind::Slack => json!({ "text": slack_text(status, alert, &link) }),
            ReceiverKind::Alertmanager => {
                let mut labels = serde_json::Map::new();
                labels.insert("alertname".into(), Value::from(alert.firing.rule.clone()));
                labels.insert("tenant".into(), Value::from(alert.tenant.to_string()));
                for (k, v) in &alert.firing.labels {
                    labels.insert(k.clone(), Value::from(v.clone()));
                }
                let mut posted = json!({
                    "labels": labels,
                    "annotations": {
                        "summary": summary(alert),
                        "description": numbers(alert),
                        "triage": link,
                    },
                    "startsAt": alert.firing.fired_at,
                    "generatorURL": link,
                });
                if let (Some(at), Some(object)) = (resolved_at, posted.as_object_mut()) {
                    object.insert("endsAt".into(), Value::from(at));
                }
                Value::Array(vec![posted])
            }
        }
    }
}

fn summary(alert: &Alert) -> String {
    let labels: Vec<String> = alert.firing.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if labels.is_empty() {
        format!("{} (tenant {})", alert.firing.rule, alert.tenant)
    } else {
        format!("{} {{{}}} (tenant {})", alert.firing.rule, labels.join(", "), alert.tenant)
    }
}

fn numbers(alert: &Alert) -> String {
    let f = &alert.firing;
    format!(
        "{:.1}% of {} requests against {:.1}% of {} in the baseline (threshold {:.1}%; Fisher p = {:.2e} ≤ {:.2e})",
        f.value * 100.0,
        f.requests,
        f.baseline * 100.0,
        f.baseline_requests,
        f.threshold * 100.0,
        f.p_value,
        f.level
    )
}

fn slack_text(status: &str, alert: &Alert, link: &str) -> String {
    let word = if status == "firing" { "FIRING" } else { "RESOLVED" };
    format!("{word}: {} since {}\n{}\nTriage: {link}", summary(alert), alert.firing.fired_at, numbers(alert))
}

/// The triage page of the alert's window: from well before it fired to when it resolved
/// (or now, while it fires).
pub fn triage_link(public_url: &str, alert: &Alert, resolved_at: Option<u64>) -> String {
    let fired = parse_rfc3339(&alert.firing.fired_at).unwrap_or(0);
    let since = format_rfc3339(fired.saturating_sub(TRIAGE_LEAD_NANOS));
    let mut link = format!("{}/triage", public_url.trim_end_matches('/'));
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("since", &since);
    if let Some(at) = resolved_at {
        query.append_pair("until", &format_rfc3339(at));
    }
    link.push('?');
    link.push_str(&query.finish());
    link
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tracehound_query::monitor::backtest::Firing;

    fn notification(status: NotificationStatus) -> Notification {
        Notification {
            id: 1,
            status,
            alert: Alert {
                tenant: 0,
                firing: Firing {
                    rule: "quality_shift".into(),
                    labels: BTreeMap::from([("service".to_string(), "checkout".to_string())]),
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
            },
            resolved_at_unix_nano: (status == NotificationStatus::Resolved).then_some(1_791_345_600_000_000_000),
            pending: vec![],
            attempts: 0,
            next_attempt_unix_nano: 0,
            last_error: None,
        }
    }

    #[test]
    fn alertmanager_gets_a_list_with_alertname_and_an_end_once_resolved() {
        let receiver =
            Receiver::new(ReceiverKind::Alertmanager, "http://127.0.0.1:9093/", "--alertmanager-url").unwrap();
        assert_eq!(receiver.url.path(), "/api/v2/alerts");
        let body = receiver.body(&notification(NotificationStatus::Resolved), "http://th:4320");
        assert_eq!(body[0]["labels"]["alertname"], "quality_shift");
        assert_eq!(body[0]["labels"]["service"], "checkout");
        assert!(body[0]["endsAt"].is_string(), "{body}");
        let firing = receiver.body(&notification(NotificationStatus::Firing), "http://th:4320");
        assert!(firing[0].get("endsAt").is_none(), "{firing}");
    }

    #[test]
    fn every_body_links_to_the_triage_of_the_alerts_window() {
        for kind in [ReceiverKind::Webhook, ReceiverKind::Slack, ReceiverKind::Alertmanager] {
            let receiver = Receiver::new(kind, "http://127.0.0.1:1/hook", "--flag").unwrap();
            let body = receiver.body(&notification(NotificationStatus::Firing), "http://th:4320").to_string();
            assert!(body.contains("http://th:4320/triage?since=2026-10-03T23%3A07%3A00"), "{kind:?}: {body}");
        }
    }

    #[test]
    fn a_receiver_name_does_not_reveal_its_url() {
        let receiver =
            Receiver::new(ReceiverKind::Slack, "https://hooks.example/services/T0/B0/secret", "--f").unwrap();
        assert!(!receiver.name().contains("secret"));
        assert!(receiver.name().starts_with("slack:"));
    }

    #[test]
    fn a_url_that_is_not_http_is_refused_by_flag() {
        let err = Receiver::new(ReceiverKind::Webhook, "ftp://x/y", "--alert-webhook").unwrap_err().to_string();
        assert!(err.contains("--alert-webhook") && err.contains("http"), "{err}");
    }
}
