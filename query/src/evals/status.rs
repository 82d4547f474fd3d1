//! What `GET /api/v1/evals` answers: how online evaluation is set up and how it is doing.
//! The engine publishes it on an [`EvalBoard`]; the API reads the board.

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The judge, as configured (never its key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JudgeView {
    /// The chat-completions base URL.
    pub url: String,
    /// The judge model.
    pub model: String,
}

/// The scorecard in force.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScorecardView {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its criteria's names.
    pub criteria: Vec<String>,
}

/// What the judge cost today (UTC) and what it may cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpendView {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Judge calls answered today.
    pub calls: u64,
    /// Tokens the judge reported today, input plus output.
    pub tokens: u64,
    /// US dollars by the price table (0 for an unpriced judge model).
    pub cost_usd: f64,
    /// The daily token budget, if any.
    pub budget_tokens: Option<u64>,
    /// The daily dollar budget, if any.
    pub budget_usd: Option<f64>,
    /// True once a budget is spent: judging waits for the next UTC day.
    pub exhausted: bool,
}

/// The state of online evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvalStatus {
    /// Whether live sampling runs.
    pub enabled: bool,
    /// The sampled share of requests.
    pub sample_rate: f64,
    /// Only these services, when any.
    pub services: Vec<String>,
    /// Only these version values (`dimension=value`), when any.
    pub versions: Vec<String>,
    /// The deterministic checks run on every sampled request.
    pub checks: Vec<String>,
    /// Whether external scorers take the sampled requests (`POST /api/v1/evals/leases`)
    /// instead of the server's checks and judge.
    pub external_scorers: bool,
    /// The LLM judge, when one is configured.
    pub judge: Option<JudgeView>,
    /// The scorecard the judge scores.
    pub scorecard: Option<ScorecardView>,
    /// Requests waiting in the queue, all tenants.
    pub backlog: u64,
    /// Of those, requests whose trace is complete and that wait for a judge slot or a retry.
    pub due: u64,
    /// Seconds the oldest due request has waited past its time.
    pub lag_seconds: f64,
    /// Requests judged since the server started.
    pub judged: u64,
    /// Requests given up after every judge attempt failed, since the server started.
    pub failed: u64,
    /// Judge calls since the server started, answered or not.
    pub judge_calls: u64,
    /// Judge calls that failed (an error status, a timeout, an answer that is not a verdict).
    pub judge_failures: u64,
    /// The judge's spend today and the budget.
    pub spend: SpendView,
    /// The last judge failure, and when (RFC 3339).
    pub last_error: Option<String>,
    /// When the last failure happened.
    pub last_error_at: Option<String>,
}

/// Where the engine publishes [`EvalStatus`] for the API.
#[derive(Debug, Clone, Default)]
pub struct EvalBoard {
    status: Arc<RwLock<EvalStatus>>,
}

impl EvalBoard {
    /// A board with a status to start from.
    pub fn new(status: EvalStatus) -> EvalBoard {
        EvalBoard { status: Arc::new(RwLock::new(status)) }
    }

    /// What was last published.
    pub fn snapshot(&self) -> EvalStatus {
        self.status.read().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Changes the status.
    pub fn update(&self, change: impl FnOnce(&mut EvalStatus)) {
        let mut status = self.status.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut status);
    }
}
