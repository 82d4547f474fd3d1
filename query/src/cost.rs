//! What a request cost: its tokens per model times a price per model.
//!
//! The built-in table holds list prices of common models, in US dollars per million tokens,
//! as the providers published them on [`BUILT_IN_DATE`]; prices change, and contracts differ,
//! so `--prices FILE` replaces it (see [`PriceTable::from_json`]). A model is priced by the
//! longest table key its name starts with, so a dated snapshot (`gpt-4o-2024-08-06`) takes
//! its alias's price, and `gpt-4o-mini` is never priced as `gpt-4o`. Input tokens include
//! cached ones (OpenAI's convention, which the OTel GenAI usage attributes follow): cached
//! tokens are charged at the cached price and the rest at the input price. A request with
//! any LLM call of an unpriced model has no cost, rather than a cost that leaves it out.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tracehound_store::summary::ModelUsage;

/// When the built-in prices were read from the providers' price pages.
pub const BUILT_IN_DATE: &str = "2025-06-30";

/// One model's prices, US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Input (prompt) tokens.
    pub input: f64,
    /// Output (completion) tokens.
    pub output: f64,
    /// Input tokens read from the provider's cache; the input price when absent.
    #[serde(default)]
    pub cached_input: Option<f64>,
}

/// Prices by model name prefix, and the date they were true on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// When the prices held (a date, as the table's author wrote it).
    pub date: String,
    /// By model name or prefix.
    pub models: BTreeMap<String, Price>,
}

/// Why a price file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// Not the expected JSON.
    #[error("not a price table: {0} (expected {{\"date\": \"YYYY-MM-DD\", \"models\": {{\"gpt-4o\": {{\"input\": 2.5, \"output\": 10.0, \"cached_input\": 1.25}}}}}})")]
    Format(String),
    /// A price that is negative or not a number.
    #[error("the price of {0} is negative or not a number")]
    Invalid(String),
}

const fn price(input: f64, output: f64, cached_input: f64) -> Price {
    Price { input, output, cached_input: Some(cached_input) }
}

/// List prices on [`BUILT_IN_DATE`], USD per million tokens (input, output, cached input).
const BUILT_IN: &[(&str, Price)] = &[
    ("gpt-4o", price(2.50, 10.00, 1.25)),
    ("gpt-4o-mini", price(0.15, 0.60, 0.075)),
    ("gpt-4.1", price(2.00, 8.00, 0.50)),
    ("gpt-4.1-mini", price(0.40, 1.60, 0.10)),
    ("gpt-4.1-nano", price(0.10, 0.40, 0.025)),
    ("o3", price(2.00, 8.00, 0.50)),
    ("o4-mini", price(1.10, 4.40, 0.275)),
    ("text-embedding-3-small", price(0.02, 0.0, 0.02)),
    ("text-embedding-3-large", price(0.13, 0.0, 0.13)),
    ("claude-3-5-haiku", price(0.80, 4.00, 0.08)),
    ("claude-3-5-sonnet", price(3.00, 15.00, 0.30)),
    ("claude-3-7-sonnet", price(3.00, 15.00, 0.30)),
    ("claude-sonnet-4", price(3.00, 15.00, 0.30)),
    ("claude-opus-4", price(15.00, 75.00, 1.50)),
    ("gemini-2.0-flash", price(0.10, 0.40, 0.025)),
    ("gemini-2.5-flash", price(0.30, 2.50, 0.075)),
    ("gemini-2.5-pro", price(1.25, 10.00, 0.31)),
];

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable {
            date: BUILT_IN_DATE.to_string(),
            models: BUILT_IN.iter().map(|(model, price)| (model.to_string(), *price)).collect(),
        }
    }
}

impl PriceTable {
    /// Reads a table from JSON: `{"date": "...", "models": {"name": {"input", "output", "cached_input"?}}}`.
    pub fn from_json(text: &str) -> Result<Self, PriceError> {
        let table: PriceTable = serde_json::from_str(text).map_err(|e| PriceError::Format(e.to_string()))?;
        for (model, p) in &table.models {
            let ok = |v: f64| v.is_finite() && v >= 0.0;
            if !(ok(p.input) && ok(p.output) && p.cached_input.is_none_or(ok)) {
                return Err(PriceError::Invalid(model.clone()));
            }
        }
        Ok(table)
    }

    /// The price of a model: the longest key its name starts with.
    pub fn price_of(&self, model: &str) -> Option<&Price> {
        let model = model.to_ascii_lowercase();
        // Provider prefixes (`openai/gpt-4o`, `models/gemini-2.5-pro`) say nothing of the price.
        let name = model.rsplit('/').next().unwrap_or(&model);
        self.models
            .iter()
            .filter(|(key, _)| name.starts_with(key.to_ascii_lowercase().as_str()))
            .max_by_key(|(key, _)| key.len())
            .map(|(_, price)| price)
    }

    /// The cost of a request's calls, in US dollars; `None` when a model has no price.
    pub fn cost(&self, usage: &BTreeMap<String, ModelUsage>) -> Option<f64> {
        let mut total = 0.0;
        for (model, u) in usage {
            let p = self.price_of(model)?;
            let cached = u.cache_read.clamp(0, u.input.max(0)) as f64;
            let fresh = u.input.max(0) as f64 - cached;
            total += (fresh * p.input + cached * p.cached_input.unwrap_or(p.input) + u.output.max(0) as f64 * p.output)
                / 1e6;
        }
        Some(total)
    }
}

static PRICES: OnceLock<PriceTable> = OnceLock::new();

/// The table in force: the one [`install`] set, else the built-in one.
///
/// Process-wide because every view of a request shows its cost, and threading a table
/// through each of them would change every signature for one setting read at start-up.
pub fn prices() -> &'static PriceTable {
    PRICES.get_or_init(PriceTable::default)
}

/// Replaces the built-in table for this process; false when a table was already in force.
pub fn install(table: PriceTable) -> bool {
    PRICES.set(table).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(model: &str, input: i64, output: i64, cache_read: i64) -> BTreeMap<String, ModelUsage> {
        BTreeMap::from([(model.to_string(), ModelUsage { calls: 1, input, output, cache_read })])
    }

    #[test]
    fn a_dated_snapshot_is_priced_as_its_alias() {
        let cost = PriceTable::default().cost(&usage("gpt-4o-2024-08-06", 1_000_000, 1_000_000, 0)).unwrap();
        assert!((cost - 12.50).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn the_longest_prefix_decides_so_a_mini_model_is_not_priced_as_the_large_one() {
        let table = PriceTable::default();
        assert_eq!(table.price_of("gpt-4o-mini-2024-07-18").map(|p| p.input), Some(0.15));
    }

    #[test]
    fn cached_input_tokens_are_charged_at_the_cached_price() {
        let cost = PriceTable::default().cost(&usage("gpt-4o", 1_000_000, 0, 400_000)).unwrap();
        assert!((cost - (0.6 * 2.50 + 0.4 * 1.25)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn a_model_without_a_price_leaves_the_cost_unknown() {
        assert_eq!(PriceTable::default().cost(&usage("my-finetune-7b", 10, 10, 0)), None);
    }

    #[test]
    fn a_provider_prefix_is_ignored() {
        assert!(PriceTable::default().price_of("openai/gpt-4.1-mini").is_some());
    }

    #[test]
    fn a_price_file_with_a_negative_price_is_refused() {
        let text = r#"{"date": "2026-12-01", "models": {"gpt-4o": {"input": -1, "output": 10}}}"#;
        assert!(matches!(PriceTable::from_json(text), Err(PriceError::Invalid(m)) if m == "gpt-4o"));
    }

    #[test]
    fn a_price_file_reads_with_the_cached_price_optional() {
        let text = r#"{"date": "2026-12-01", "models": {"acme-large": {"input": 1.0, "output": 2.0}}}"#;
        let table = PriceTable::from_json(text).unwrap();
        let cost = table.cost(&usage("acme-large-v3", 1_000_000, 500_000, 100_000)).unwrap();
        assert!((cost - 2.0).abs() < 1e-9, "{cost}");
    }
}
