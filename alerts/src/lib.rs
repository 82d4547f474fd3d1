//! Live alerting: the rules of `tracehound_query::monitor` evaluated on a timer, the alerts'
//! firing and resolved state kept in a durable file, and notifications delivered to
//! webhooks (a generic JSON body, Slack's incoming webhook, Alertmanager's
//! `POST /api/v2/alerts`) with retries and backoff.
//!
//! Nothing here runs on the ingest path: evaluation reads the store on a blocking thread of
//! its own, delivery runs on its own task, and both only read what ingest has written.
//! Delivery is at least once: a notification is removed from the outbox only after its
//! receiver answered 2xx and the removal is on disk, so a crash between the two sends it
//! again, and a restart never sends one that was already recorded as delivered.
//!
//! The roller (`rollups.rs`) keeps the quality series' per-minute aggregates as data
//! arrives, following the store's change log, so a week's chart reads a week of minutes.

pub mod engine;
pub mod receivers;
pub mod rollups;
pub mod state;

pub use engine::{AlertEngine, EngineConfig, OpenError};
pub use receivers::{Receiver, ReceiverKind};
pub use state::{AlertState, Notification, NotificationStatus, StateError, StateFile};
