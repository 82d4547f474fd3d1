//! Redaction at ingest: secrets and personal data replaced by `[REDACTED:<rule>]` markers in
//! every normalized span and log record before the writer sees them, so the raw values never
//! reach the disk (store, journal or search index).
//!
//! Exact evidence is the product, so nothing is redacted unless asked for, and the built-in
//! detectors are written to leave evidence alone: dates, timestamps, order and request ids,
//! UUIDs, trace ids, version strings and model names never match. Identity fields (request,
//! session and user ids) are the keys evidence is found by, so the built-in detectors skip
//! them, and the raw attribute values they were read from; only a configured rule
//! (`--redact-rule`) reaches them, since naming one is an explicit choice.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::ops::Range;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};
use tracehound_store::model::{AttrValue, KeyValue, LlmCall, LogRecord, Message, MessagePart, Span};

/// A built-in detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detector {
    /// Email addresses.
    Email,
    /// `Bearer <token>` credentials (the token is replaced, the word kept).
    Bearer,
    /// Common API-key shapes: `sk-…`, `AKIA…`, `ghp_…`, `xox[bp]-…`, `AIza…`, `sk_live_…`.
    ApiKey,
    /// Payment card numbers with a card-network prefix that pass the Luhn check.
    Card,
    /// IPv6 addresses.
    Ipv6,
    /// IPv4 addresses.
    Ipv4,
    /// Phone numbers written with a leading `+` or as grouped North American numbers.
    Phone,
}

impl Detector {
    /// Every built-in detector, in the order they run: credentials and cards before the
    /// looser number shapes, so a card is never half-eaten as a phone number.
    pub const ALL: [Detector; 7] = [
        Detector::Email,
        Detector::Bearer,
        Detector::ApiKey,
        Detector::Card,
        Detector::Ipv6,
        Detector::Ipv4,
        Detector::Phone,
    ];

    /// The rule name used in markers, metrics and `--redact-detectors`.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Bearer => "bearer",
            Detector::ApiKey => "api_key",
            Detector::Card => "card",
            Detector::Ipv6 => "ipv6",
            Detector::Ipv4 => "ipv4",
            Detector::Phone => "phone",
        }
    }

    /// The detector with this name (`ip` names both address families).
    pub fn parse(name: &str) -> Result<Vec<Detector>, RedactError> {
        let name = name.trim().to_ascii_lowercase();
        if name == "ip" {
            return Ok(vec![Detector::Ipv4, Detector::Ipv6]);
        }
        Self::ALL.into_iter().find(|d| d.name() == name).map(|d| vec![d]).ok_or_else(|| RedactError::UnknownDetector {
            name,
            known: Self::ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", "),
        })
    }

    /// The pattern; word boundaries are ASCII (`\b`) so the fast DFA engines still run
    /// on text that is not ASCII, where a Unicode boundary would force the slow one.
    fn pattern(self) -> &'static str {
        match self {
            Detector::Email => {
                r"(?i)\b[a-z0-9._%+-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}\b"
            }
            Detector::Bearer => r"(?i)\bbearer\s+(?P<secret>[a-z0-9._~+/=-]{8,})",
            Detector::ApiKey => concat!(
                r"\b(?:sk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{16,}",
                r"|AKIA[0-9A-Z]{16}",
                r"|gh[pousr]_[A-Za-z0-9]{30,}",
                r"|github_pat_[A-Za-z0-9_]{22,}",
                r"|xox[abposr]-[A-Za-z0-9-]{10,}",
                r"|AIza[0-9A-Za-z_-]{35}",
                r"|[sr]k_(?:live|test)_[0-9A-Za-z]{16,})"
            ),
            // Card networks start with 2-6; a Unix timestamp of this era (seconds, ms, ns)
            // starts with 1, so none is mistaken for a card even when its digits pass Luhn.
            // Either one run of digits or groups of four (Amex: 4-6-5) with one separator; a
            // pair of dates ("2024-08-06 2024-08-07") has short groups and never matches.
            Detector::Card => r"\b[2-6]\d{12,18}\b|\b[2-6]\d{3}[ -]\d{4,6}[ -]\d{4,5}(?:[ -]\d{1,4})?\b",
            Detector::Ipv6 => r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}",
            Detector::Ipv4 => r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
            // Separators are required: a bare run of digits is far more often an id, an
            // amount or a timestamp than a phone number.
            Detector::Phone => concat!(
                r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,4}){2,5}",
                r"|(?:\(\d{3}\)[ ]?|\b\d{3}[-. ])\d{3}[-. ]\d{4}\b"
            ),
        }
    }

    /// A cheap test ruling out texts the pattern cannot match; most texts hold no address or
    /// number at all, and patterns starting with a character class get no literal prefilter.
    fn may_match(self, text: &str) -> bool {
        let digits = || text.bytes().filter(u8::is_ascii_digit).count();
        match self {
            Detector::Email => text.contains('@'),
            Detector::Card => digits() >= 13,
            Detector::Phone => digits() >= 8,
            Detector::Ipv4 => text.contains('.') && digits() >= 4,
            Detector::Ipv6 => text.bytes().filter(|&b| b == b':').count() >= 2,
            Detector::Bearer | Detector::ApiKey => true,
        }
    }

    /// Whether a regex match really is this kind of thing.
    fn accepts(self, text: &str, range: &Range<usize>) -> bool {
        let found = &text[range.clone()];
        match self {
            Detector::Card => {
                let digits: Vec<u32> = found.chars().filter_map(|c| c.to_digit(10)).collect();
                let mut separators = found.chars().filter(|c| !c.is_ascii_digit());
                let one_separator = separators.next().is_none_or(|first| separators.all(|c| c == first));
                one_separator && (13..=19).contains(&digits.len()) && luhn_valid(&digits) && standalone(text, range)
            }
            Detector::Ipv6 => {
                found.bytes().any(|b| b.is_ascii_digit())
                    && Ipv6Addr::from_str(found).is_ok()
                    && standalone(text, range)
            }
            Detector::Ipv4 => standalone(text, range),
            Detector::Phone => {
                let digits = found.bytes().filter(u8::is_ascii_digit).count();
                (8..=15).contains(&digits) && standalone(text, range)
            }
            // Prose says "bearer authentication"; a token has digits.
            Detector::Bearer => found.bytes().any(|b| b.is_ascii_digit()),
            Detector::Email | Detector::ApiKey => true,
        }
    }
}

/// True when the match is not glued to a longer token: an id like `ord-415-555-0132`, a
/// version `1.2.3.4.5` or a path segment keeps its numbers.
fn standalone(text: &str, range: &Range<usize>) -> bool {
    let glue = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '@');
    let before = text[..range.start].chars().next_back();
    let after = text[range.end..].chars().next();
    // A sentence may end right after the value ("call +1 415 555 0132."): a dot not followed
    // by more of the token is punctuation.
    let after_ok = match after {
        None => true,
        Some('.') => !text[range.end + 1..].chars().next().is_some_and(|c| c.is_alphanumeric()),
        Some(c) => !glue(c),
    };
    !before.is_some_and(glue) && after_ok
}

/// The Luhn checksum used by every payment card network.
fn luhn_valid(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Why a redaction configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// A `--redact-detectors` entry names no detector.
    #[error("unknown redaction detector {name:?} (known: {known}, ip)")]
    UnknownDetector {
        /// The name given.
        name: String,
        /// The names accepted.
        known: String,
    },
    /// A `--redact-rule` is not `NAME=REGEX`.
    #[error("redaction rule {0:?} must be NAME=REGEX, NAME made of letters, digits, '_' or '-'")]
    BadRule(String),
    /// A rule's regex does not compile.
    #[error("redaction rule {name:?} has an invalid regex: {source}")]
    BadRegex {
        /// The rule name.
        name: String,
        /// What the regex engine said.
        source: regex::Error,
    },
    /// A rule's regex matches the empty string, which would mark every position.
    #[error("redaction rule {0:?} matches the empty string")]
    EmptyMatch(String),
}

/// What to redact: chosen built-in detectors plus configured rules.
#[derive(Debug, Clone, Default)]
pub struct RedactConfig {
    /// Built-in detectors to run.
    pub detectors: Vec<Detector>,
    /// Configured rules as `(name, regex)`.
    pub rules: Vec<(String, String)>,
}

impl RedactConfig {
    /// From the `serve` flags: `--redact` (every detector), `--redact-detectors` (some) and
    /// `--redact-rule NAME=REGEX` entries.
    pub fn from_flags(all: bool, detectors: &[String], rules: &[String]) -> Result<Self, RedactError> {
        let mut chosen = if all { Detector::ALL.to_vec() } else { Vec::new() };
        for name in detectors.iter().filter(|n| !n.trim().is_empty()) {
            chosen.extend(Detector::parse(name)?);
        }
        chosen.sort();
        chosen.dedup();
        let rules = rules
            .iter()
            .map(|rule| {
                let (name, regex) = rule.split_once('=').ok_or_else(|| RedactError::BadRule(rule.clone()))?;
                let valid_name =
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid_name || regex.is_empty() {
                    return Err(RedactError::BadRule(rule.clone()));
                }
                Ok((name.to_string(), regex.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RedactConfig { detectors: chosen, rules })
    }

    /// True when nothing would be redacted.
    pub fn is_empty(&self) -> bool {
        self.detectors.is_empty() && self.rules.is_empty()
    }
}

struct Rule {
    name: String,
    regex: Regex,
    /// `None` for a configured rule: every match counts.
    detector: Option<Detector>,
}

/// Redaction counts of one item, by rule name.
pub type Counts = BTreeMap<String, u64>;

/// Compiled redaction rules; build once, share across receivers.
pub struct Redactor {
    builtin: Vec<Rule>,
    custom: Vec<Rule>,
}

impl Redactor {
    /// Compiles the configuration; `None` when it redacts nothing.
    pub fn new(config: &RedactConfig) -> Result<Option<Self>, RedactError> {
        if config.is_empty() {
            return Ok(None);
        }
        let builtin = Detector::ALL
            .into_iter()
            .filter(|d| config.detectors.contains(d))
            .map(|d| {
                // ASCII classes and word boundaries: digits a card or an address is written in
                // are ASCII, and a Unicode `\b` would keep the fast DFA engines off any text
                // that is not pure ASCII.
                let regex = RegexBuilder::new(d.pattern())
                    .unicode(false)
                    .build()
                    .map_err(|source| RedactError::BadRegex { name: d.name().into(), source })?;
                Ok(Rule { name: d.name().into(), regex, detector: Some(d) })
            })
            .collect::<Result<Vec<_>, RedactError>>()?;
        let custom = config
            .rules
            .iter()
            .map(|(name, pattern)| {
                let regex =
                    Regex::new(pattern).map_err(|source| RedactError::BadRegex { name: name.clone(), source })?;
                if regex.is_match("") {
                    return Err(RedactError::EmptyMatch(name.clone()));
                }
                Ok(Rule { name: name.clone(), regex, detector: None })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Redactor { builtin, custom }))
    }

    /// The names of the active rules, in the order they run.
    pub fn rule_names(&self) -> Vec<&str> {
        self.builtin.iter().chain(&self.custom).map(|r| r.name.as_str()).collect()
    }

    /// Text with every match replaced by its marker; `counts` gains one per replacement.
    pub fn redact_text(&self, text: &str, counts: &mut Counts) -> Option<String> {
        apply(self.builtin.iter().chain(&self.custom), text, counts)
    }

    /// Redacts a string in place.
    fn text(&self, text: &mut String, counts: &mut Counts) {
        if let Some(new) = self.redact_text(text, counts) {
            *text = new;
        }
    }

    fn opt(&self, text: &mut Option<String>, counts: &mut Counts) {
        if let Some(text) = text {
            self.text(text, counts);
        }
    }

    /// An identity field: only configured rules apply.
    fn identity(&self, text: &mut Option<String>, counts: &mut Counts) {
        if let Some(value) = text {
            if let Some(new) = apply(self.custom.iter(), value, counts) {
                *value = new;
            }
        }
    }

    fn value(&self, value: &mut AttrValue, identities: &[String], counts: &mut Counts) {
        match value {
            AttrValue::Str(s) if identities.contains(s) => {
                if let Some(new) = apply(self.custom.iter(), s, counts) {
                    *s = new;
                }
            }
            AttrValue::Str(s) => self.text(s, counts),
            AttrValue::Array(items) => items.iter_mut().for_each(|v| self.value(v, identities, counts)),
            AttrValue::Map(entries) => self.attributes(entries, identities, counts),
            // Bytes are kept as sent: they are not text, and scanning base64 finds nothing.
            AttrValue::Bool(_) | AttrValue::Int(_) | AttrValue::Double(_) | AttrValue::Bytes { .. } => {}
        }
    }

    fn attributes(&self, attributes: &mut [KeyValue], identities: &[String], counts: &mut Counts) {
        for kv in attributes {
            if let Some(value) = kv.value.as_mut() {
                self.value(value, identities, counts);
            }
        }
    }

    fn json(&self, value: &mut serde_json::Value, counts: &mut Counts) {
        match value {
            serde_json::Value::String(s) => self.text(s, counts),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.json(v, counts)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.json(v, counts)),
            _ => {}
        }
    }

    fn messages(&self, messages: &mut [Message], counts: &mut Counts) {
        for message in messages {
            for part in &mut message.parts {
                match part {
                    MessagePart::Text { content } | MessagePart::Reasoning { content } => self.text(content, counts),
                    MessagePart::ToolCall { arguments, .. } => self.opt(arguments, counts),
                    MessagePart::ToolCallResponse { response, .. } => self.text(response, counts),
                    MessagePart::Other { value, .. } => self.json(value, counts),
                }
            }
        }
    }

    fn llm(&self, llm: &mut LlmCall, counts: &mut Counts) {
        self.opt(&mut llm.system_instructions, counts);
        self.messages(&mut llm.input_messages, counts);
        self.messages(&mut llm.output_messages, counts);
        llm.parameters.values_mut().for_each(|v| self.json(v, counts));
        self.opt(&mut llm.tool_definitions, counts);
        llm.embedding_inputs.iter_mut().for_each(|t| self.text(t, counts));
    }

    /// Redacts every text of a span, records the counts on it, and reports them as metrics.
    pub fn redact_span(&self, span: &mut Span) {
        let mut counts = Counts::new();
        let identities: Vec<String> =
            [&span.request_id, &span.session_id, &span.user_id].into_iter().flatten().cloned().collect();
        self.identity(&mut span.request_id, &mut counts);
        self.identity(&mut span.session_id, &mut counts);
        self.identity(&mut span.user_id, &mut counts);
        self.text(&mut span.name, &mut counts);
        self.text(&mut span.status_message, &mut counts);
        if let Some(llm) = span.llm.as_mut() {
            self.llm(llm, &mut counts);
        }
        if let Some(tool) = span.tool.as_mut() {
            self.opt(&mut tool.description, &mut counts);
            self.opt(&mut tool.arguments, &mut counts);
            self.opt(&mut tool.result, &mut counts);
        }
        if let Some(retrieval) = span.retrieval.as_mut() {
            self.opt(&mut retrieval.query, &mut counts);
            for doc in &mut retrieval.documents {
                self.opt(&mut doc.content, &mut counts);
                self.opt(&mut doc.metadata, &mut counts);
            }
        }
        self.opt(&mut span.input_value, &mut counts);
        self.opt(&mut span.output_value, &mut counts);
        if let Some(error) = span.error.as_mut() {
            self.opt(&mut error.message, &mut counts);
            self.opt(&mut error.stacktrace, &mut counts);
        }
        // Versions are read from raw attributes, which are redacted below: keep them equal.
        span.versions.values_mut().for_each(|v| self.text(v, &mut counts));
        let raw = &mut span.raw;
        self.attributes(&mut raw.resource, &identities, &mut counts);
        self.attributes(&mut raw.scope_attributes, &identities, &mut counts);
        self.attributes(&mut raw.attributes, &identities, &mut counts);
        for event in &mut raw.events {
            self.attributes(&mut event.attributes, &identities, &mut counts);
        }
        for link in &mut raw.links {
            self.attributes(&mut link.attributes, &identities, &mut counts);
        }
        record_metrics(&counts);
        merge(&mut span.redactions, counts);
    }

    /// Redacts every text of a log record, records the counts on it and as metrics.
    pub fn redact_log(&self, record: &mut LogRecord) {
        let mut counts = Counts::new();
        if let Some(body) = record.body.as_mut() {
            self.value(body, &[], &mut counts);
        }
        self.attributes(&mut record.attributes, &[], &mut counts);
        self.attributes(&mut record.resource, &[], &mut counts);
        if let Some(llm) = record.llm.as_mut() {
            self.llm(llm, &mut counts);
        }
        record_metrics(&counts);
        merge(&mut record.redactions, counts);
    }
}

fn apply<'a>(rules: impl Iterator<Item = &'a Rule>, text: &str, counts: &mut Counts) -> Option<String> {
    let mut current: Option<String> = None;
    for rule in rules {
        let source = current.as_deref().unwrap_or(text);
        if !rule.detector.is_none_or(|d| d.may_match(source)) {
            continue;
        }
        let mut out = String::new();
        let mut last = 0;
        let mut hits = 0u64;
        for caps in rule.regex.captures_iter(source) {
            let Some(whole) = caps.get(0) else { continue };
            if whole.is_empty() || !rule.detector.is_none_or(|d| d.accepts(source, &whole.range())) {
                continue;
            }
            // A rule with a `secret` group replaces only that part (`Bearer [REDACTED:bearer]`).
            let target = caps.name("secret").unwrap_or(whole);
            out.push_str(&source[last..target.start()]);
            out.push_str("[REDACTED:");
            out.push_str(&rule.name);
            out.push(']');
            last = target.end();
            hits += 1;
        }
        if hits > 0 {
            out.push_str(&source[last..]);
            *counts.entry(rule.name.clone()).or_default() += hits;
            current = Some(out);
        }
    }
    current
}

fn merge(into: &mut Counts, counts: Counts) {
    for (rule, n) in counts {
        *into.entry(rule).or_default() += n;
    }
}

/// Gives the redaction counter its `# HELP` line. Call once the recorder is installed.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "tracehound_redactions_total",
        metrics::Unit::Count,
        "Values redacted at ingest, by rule."
    );
}

fn record_metrics(counts: &Counts) {
    for (rule, n) in counts {
        metrics::counter!("tracehound_redactions_total", "rule" => rule.clone()).increment(*n);
    }
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
