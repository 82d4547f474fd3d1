//! The flags of online evaluation and the engine's configuration read from them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tracehound_evals::judge_client::JudgeClient;
use tracehound_evals::{EvalConfig, JudgeConfig};
use tracehound_query::evals::checks::Check;
use tracehound_query::evals::sampling::Sampling;
use tracehound_query::evals::scorecard::Scorecard;

/// Online evaluation: sample live requests and score them with checks and an LLM judge.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// The share of requests to evaluate, 0 to 1 (0.02 is 2%); chosen by trace id. 0 is off.
    #[arg(long, env = "TRACEHOUND_EVAL_SAMPLE_RATE", default_value_t = 0.0)]
    pub eval_sample_rate: f64,
    /// Evaluate only these services (comma-separated).
    #[arg(long, env = "TRACEHOUND_EVAL_SERVICES", value_delimiter = ',')]
    pub eval_services: Vec<String>,
    /// Evaluate only requests carrying these version values, `dimension=value` (comma-separated;
    /// one of the values of each dimension named).
    #[arg(long, env = "TRACEHOUND_EVAL_VERSIONS", value_delimiter = ',')]
    pub eval_versions: Vec<String>,
    /// The deterministic checks to run (comma-separated; default all: refusal, abstention,
    /// language_mismatch, uncited_answer, invalid_json, tool_error; `none` for none).
    #[arg(long, env = "TRACEHOUND_EVAL_CHECKS", value_delimiter = ',')]
    pub eval_checks: Vec<String>,
    /// Seconds a trace must go unwritten before it is judged.
    #[arg(long, env = "TRACEHOUND_EVAL_QUIET_SECS", default_value_t = 5.0)]
    pub eval_quiet_secs: f64,
    /// An OpenAI-compatible judge's base URL, as OpenAI clients take it
    /// (`http://127.0.0.1:8000/v1`); called at `{judge-url}/chat/completions`.
    #[arg(long, env = "TRACEHOUND_JUDGE_URL")]
    pub judge_url: Option<String>,
    /// The judge model.
    #[arg(long, env = "TRACEHOUND_JUDGE_MODEL")]
    pub judge_model: Option<String>,
    /// The environment variable holding the judge's API key (sent as a bearer token).
    #[arg(long, env = "TRACEHOUND_JUDGE_API_KEY_ENV")]
    pub judge_api_key_env: Option<String>,
    /// A scorecard (TOML: `name`, `version`, `[[criteria]]` with `name`, `prompt`, `scale`);
    /// default: the built-in correctness and grounding.
    #[arg(long, env = "TRACEHOUND_SCORECARD")]
    pub scorecard: Option<PathBuf>,
    /// Requests judged at once at most.
    #[arg(long, env = "TRACEHOUND_JUDGE_CONCURRENCY", default_value_t = 4)]
    pub judge_concurrency: usize,
    /// Judge calls per second at most.
    #[arg(long, env = "TRACEHOUND_JUDGE_RATE", default_value_t = 10.0)]
    pub judge_rate: f64,
    /// Seconds one judge call may take.
    #[arg(long, env = "TRACEHOUND_JUDGE_TIMEOUT_SECS", default_value_t = 60.0)]
    pub judge_timeout_secs: f64,
    /// Attempts per request before the judge's failure is reported and the request given up.
    #[arg(long, env = "TRACEHOUND_JUDGE_MAX_ATTEMPTS", default_value_t = 5)]
    pub judge_max_attempts: u32,
    /// External scorers take the sampled requests through `POST /api/v1/evals/leases` and
    /// complete them with their scores; the server then judges nothing itself.
    #[arg(long, env = "TRACEHOUND_EVAL_EXTERNAL_SCORERS")]
    pub eval_external_scorers: bool,
    /// Tokens the judge may spend per UTC day; judging waits for the next day once spent.
    #[arg(long, env = "TRACEHOUND_JUDGE_DAILY_BUDGET_TOKENS")]
    pub judge_daily_budget_tokens: Option<u64>,
    /// US dollars the judge may spend per UTC day, by the price table (`--prices`).
    #[arg(long, env = "TRACEHOUND_JUDGE_DAILY_BUDGET_USD")]
    pub judge_daily_budget_usd: Option<f64>,
}

impl EvalArgs {
    /// The engine's configuration; a flag that cannot be used stops the start-up with why.
    pub fn config(&self) -> anyhow::Result<EvalConfig> {
        let sampling = Sampling::new(self.eval_sample_rate, &self.eval_services, &self.eval_versions)
            .context("cannot use the sampling flags")?;
        let checks = match self.eval_checks.as_slice() {
            [] => Check::ALL.to_vec(),
            [only] if only.trim() == "none" => Vec::new(),
            names => names
                .iter()
                .map(|name| {
                    Check::parse(name).with_context(|| {
                        let known: Vec<&str> = Check::ALL.iter().map(|c| c.as_str()).collect();
                        format!("--eval-checks: {name:?} is not a check; checks: {}", known.join(", "))
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let seconds = |value: f64, flag: &str| {
            Duration::try_from_secs_f64(value).with_context(|| format!("{flag} must be a positive number of seconds"))
        };
        let judge = match (&self.judge_url, &self.judge_model) {
            (None, None) => None,
            (None, Some(_)) => bail!("--judge-model needs --judge-url, the judge's base URL"),
            (Some(_), None) => bail!("--judge-url needs --judge-model, the model the judge runs"),
            (Some(url), Some(model)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!("--judge-url {url:?} is not an http(s) URL like http://127.0.0.1:8000/v1");
                }
                let api_key = match &self.judge_api_key_env {
                    Some(var) => Some(std::env::var(var).with_context(|| {
                        format!("--judge-api-key-env names {var}, which is not set in the environment")
                    })?),
                    None => None,
                };
                let timeout = seconds(self.judge_timeout_secs, "--judge-timeout-secs")?;
                let client = JudgeClient::new(url, model, api_key, timeout)
                    .map_err(|e| anyhow::anyhow!("cannot build the judge's HTTP client: {e}"))?;
                let scorecard = match &self.scorecard {
                    Some(path) => {
                        let text = std::fs::read_to_string(path)
                            .with_context(|| format!("cannot read --scorecard {}", path.display()))?;
                        Scorecard::from_toml(&text)
                            .with_context(|| format!("cannot use --scorecard {}", path.display()))?
                    }
                    None => Scorecard::builtin(),
                };
                Some(JudgeConfig { client, scorecard: Arc::new(scorecard) })
            }
        };
        if self.eval_external_scorers && judge.is_some() {
            bail!("--eval-external-scorers hands the queue to your scorers: drop --judge-url, or drop --eval-external-scorers");
        }
        if self.scorecard.is_some() && judge.is_none() {
            bail!("--scorecard needs a judge: --judge-url and --judge-model");
        }
        if !(self.judge_rate.is_finite() && self.judge_rate > 0.0) {
            bail!("--judge-rate must be a positive number of calls per second");
        }
        Ok(EvalConfig {
            sampling,
            checks,
            judge,
            quiet: seconds(self.eval_quiet_secs, "--eval-quiet-secs")?,
            max_wait: Duration::from_secs(600),
            concurrency: self.judge_concurrency.max(1),
            calls_per_second: self.judge_rate,
            max_attempts: self.judge_max_attempts.max(1),
            budget_tokens: self.judge_daily_budget_tokens,
            budget_usd: self.judge_daily_budget_usd,
            external_scorers: self.eval_external_scorers,
        })
    }
}
