//! The judge over HTTP: `POST {judge-url}/chat/completions`, as OpenAI clients call it.

use std::time::Duration;

use tracehound_query::evals::judge::{read_reply, request_body, JudgeReply};
use tracehound_query::evals::scorecard::Scorecard;

/// Why a judge call gave no verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No answer in time.
    #[error("the judge did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("cannot reach the judge: {0}")]
    Transport(String),
    /// An answer with an error status.
    #[error("the judge answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// An answer that is not a verdict.
    #[error(transparent)]
    Reply(#[from] tracehound_query::evals::judge::ReplyError),
}

impl CallError {
    /// The metric label of the failure.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Timeout(_) => "timeout",
            CallError::Transport(_) => "unreachable",
            CallError::Status { .. } => "error_status",
            CallError::Reply(_) => "invalid_answer",
        }
    }
}

/// A configured judge endpoint.
#[derive(Clone)]
pub struct JudgeClient {
    client: reqwest::Client,
    base_url: String,
    endpoint: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for JudgeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("JudgeClient").field("endpoint", &self.endpoint).field("model", &self.model).finish()
    }
}

impl JudgeClient {
    /// A client of `{base_url}/chat/completions`.
    pub fn new(base_url: &str, model: &str, api_key: Option<String>, timeout: Duration) -> Result<JudgeClient, String> {
        let client = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
        let endpoint = format!("{}/chat/completions", base_url.trim_end_matches('/'));
        Ok(JudgeClient { client, base_url: base_url.to_string(), endpoint, model: model.to_string(), api_key, timeout })
    }

    /// The base URL, as configured.
    pub fn endpoint_base(&self) -> &str {
        &self.base_url
    }

    /// The judge model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Asks the judge one criterion's prompt.
    pub async fn judge(&self, scorecard: &Scorecard, prompt: &str) -> Result<JudgeReply, CallError> {
        let body = request_body(&self.model, scorecard, prompt);
        let mut request = self.client.post(&self.endpoint).json(&body).timeout(self.timeout);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                CallError::Timeout(self.timeout)
            } else {
                CallError::Transport(e.to_string())
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&bytes).chars().take(300).collect();
            return Err(CallError::Status { status: status.as_u16(), body });
        }
        Ok(read_reply(&bytes)?)
    }
}
