//! The search query language: the text a user types, read into the store's [`Clause`]s.
//!
//! Items are separated by whitespace:
//!
//! - `word` must occur; `"exact phrase"` must occur as written, words in order;
//! - `-item` excludes what `item` would require (`-refund`, `-"refund policy"`, `-status:error`);
//! - `field:value` with a filter field (`model:gpt-4o`, `service:"billing api"`) requires that exact value;
//! - `field:value` with a text field (`output:refund`, `output:"refund policy"`) looks only in that text;
//! - `since:2h` and `until:2026-11-28T10:00:00Z` bound the request start time.
//!
//! A quote opens a phrase only at the start of an item or right after `field:`, and a word
//! whose prefix is not a field name (`http://x`, `ERR:TIMEOUT`) is simply a word, so pasted
//! identifiers, URLs and log lines search as typed.

use std::fmt;

use tracehound_store::search::{Clause, FilterField, TextField};

use crate::time_range::parse_time_bound;

/// Span kinds the `kind:` filter accepts, as the store names them.
pub const SPAN_KINDS: [&str; 9] =
    ["llm", "tool", "retrieval", "embedding", "agent", "chain", "evaluation", "guardrail", "other"];

/// Message of a query that would match everything it does not exclude.
pub const NOTHING_REQUIRED: &str = "a query needs at least one word, phrase or filter that must match";

/// A query read from its text: the conditions, and the time bounds as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedQuery {
    /// Conditions, all of which must hold.
    pub clauses: Vec<Clause>,
    /// `since:` as written; resolve with [`parse_time_bound`].
    pub since: Option<String>,
    /// `until:` as written; resolve with [`parse_time_bound`].
    pub until: Option<String>,
}

/// Why a query text cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong, for a human; names the position when there is one worth naming.
    pub message: String,
    /// Offset of the offending item, in characters from 0.
    pub position: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SyntaxError {}

impl SyntaxError {
    fn at(position: usize, what: impl fmt::Display) -> Self {
        SyntaxError { message: format!("{what} at character {position}"), position }
    }
}

/// Reads a query text into clauses and time bounds.
pub fn parse_query(text: &str) -> Result<ParsedQuery, SyntaxError> {
    let mut reader = Reader { chars: text.chars().collect(), at: 0 };
    let mut query = ParsedQuery::default();
    while reader.skip_whitespace() {
        reader.item(&mut query)?;
    }
    let required = query.clauses.iter().any(|clause| !negated(clause));
    if !required {
        return Err(SyntaxError { message: NOTHING_REQUIRED.to_string(), position: 0 });
    }
    Ok(query)
}

fn negated(clause: &Clause) -> bool {
    match clause {
        Clause::Words { negated, .. } | Clause::Phrase { negated, .. } | Clause::Filter { negated, .. } => *negated,
    }
}

/// What the name before a `:` designates.
enum Field {
    Text(TextField),
    Filter(FilterField),
    Since,
    Until,
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        match name {
            "since" => Some(Field::Since),
            "until" => Some(Field::Until),
            _ => TextField::parse(name).map(Field::Text).or_else(|| FilterField::parse(name).map(Field::Filter)),
        }
    }
}

/// Every name a query may put before `:`, in the order the README lists them.
fn field_names() -> impl Iterator<Item = &'static str> {
    TextField::ALL
        .into_iter()
        .map(TextField::as_str)
        .chain(FilterField::ALL.into_iter().map(FilterField::as_str))
        .chain(["since", "until"])
}

/// The message for `name:` that is no field: the nearest field, every field, and how to
/// search the text as it is.
fn unknown_field(name: &str, item: &str) -> String {
    // A swapped, missing or extra letter (`modle`, `sesion`), two in a longer name; a short
    // name two edits away from a field (`foo`, `tool`) is more likely no field at all.
    let allowed = if name.len() <= 4 { 1 } else { 2 };
    let nearest = field_names()
        .map(|field| (strsim::damerau_levenshtein(name, field), field))
        .filter(|(distance, _)| *distance <= allowed)
        .min();
    let hint = nearest.map(|(_, field)| format!(" (did you mean {field}:?)")).unwrap_or_default();
    let fields: Vec<&str> = field_names().collect();
    format!(
        "unknown field {name}:{hint}; the fields are {}. To search for the text itself, quote it: \"{item}\"",
        fields.join(", ")
    )
}

/// A value after `field:`, or a whole plain item.
struct Value {
    text: String,
    quoted: bool,
    position: usize,
}

/// A cursor over the query's characters; positions are character offsets.
struct Reader {
    chars: Vec<char>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// Skips whitespace; `true` when an item follows.
    fn skip_whitespace(&mut self) -> bool {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
        self.at < self.chars.len()
    }

    fn item(&mut self, query: &mut ParsedQuery) -> Result<(), SyntaxError> {
        let start = self.at;
        // A `-` excludes only at the start of an item, so `B-31726` stays one word.
        let negated = self.peek() == Some('-');
        if negated {
            self.at += 1;
            if self.peek().is_none_or(char::is_whitespace) {
                return Err(SyntaxError::at(start, "a lone '-' excludes nothing: write it right before a word"));
            }
        }
        if self.peek() == Some('"') {
            let phrase = self.quoted("phrase")?;
            query.clauses.push(Clause::Phrase { text: phrase.text, field: None, negated });
            return Ok(());
        }
        let Some((name, field)) = self.field_prefix()? else {
            let word = self.bare();
            query.clauses.push(Clause::Words { text: word.text, field: None, negated });
            return Ok(());
        };
        let field_start = self.at;
        self.at += name.chars().count() + 1;
        let value = if self.peek() == Some('"') {
            let what = if matches!(field, Field::Text(_)) { "phrase" } else { "quoted value" };
            self.quoted(what)?
        } else {
            self.bare()
        };
        if value.text.trim().is_empty() && !value.quoted {
            return Err(SyntaxError::at(field_start, format_args!("{name}: needs a value")));
        }
        match field {
            Field::Text(field) if value.quoted => {
                query.clauses.push(Clause::Phrase { text: value.text, field: Some(field), negated })
            }
            Field::Text(field) => query.clauses.push(Clause::Words { text: value.text, field: Some(field), negated }),
            Field::Filter(field) => {
                let value = filter_value(field, value)?;
                query.clauses.push(Clause::Filter { field, value, negated });
            }
            Field::Since | Field::Until => {
                if negated {
                    return Err(SyntaxError::at(start, format_args!("{name}: cannot be excluded")));
                }
                let slot = if matches!(field, Field::Since) { &mut query.since } else { &mut query.until };
                *slot = Some(time_bound(&name, slot.is_some(), field_start, value)?);
            }
        }
        Ok(())
    }

    /// `name` and its field when the item starts with a field name and a `:`. A lowercase
    /// name that is no field is an error rather than a word: `modle:gpt-4o` searched as
    /// text would silently match nothing like what was meant. A `:` followed by `/`, `:`
    /// or nothing (`http://…`, `a::b`, `note:`) is text, and so is an uppercase prefix.
    fn field_prefix(&self) -> Result<Option<(String, Field)>, SyntaxError> {
        let name: String = self
            .chars
            .get(self.at..)
            .unwrap_or(&[])
            .iter()
            .take_while(|c| c.is_ascii_lowercase() || **c == '_')
            .collect();
        let colon = self.at + name.chars().count();
        if name.is_empty() || self.chars.get(colon) != Some(&':') {
            return Ok(None);
        }
        if let Some(field) = Field::parse(&name) {
            return Ok(Some((name, field)));
        }
        if self.chars.get(colon + 1).is_none_or(|c| c.is_whitespace() || matches!(c, '/' | ':')) {
            return Ok(None);
        }
        let item: String = self.chars[self.at..].iter().take_while(|c| !c.is_whitespace()).collect();
        Err(SyntaxError::at(self.at, unknown_field(&name, &item)))
    }

    /// Everything up to the next whitespace, quotes included.
    fn bare(&mut self) -> Value {
        let position = self.at;
        let mut text = String::new();
        while let Some(c) = self.peek().filter(|c| !c.is_whitespace()) {
            text.push(c);
            self.at += 1;
        }
        Value { text, quoted: false, position }
    }

    /// A `"..."` starting here; `what` names it in errors.
    fn quoted(&mut self, what: &str) -> Result<Value, SyntaxError> {
        let position = self.at;
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(SyntaxError::at(position, format_args!("unterminated {what} starting"))),
                Some('"') => break,
                Some(c) => text.push(c),
            }
            self.at += 1;
        }
        self.at += 1;
        if text.trim().is_empty() {
            return Err(SyntaxError::at(position, format_args!("empty {what}")));
        }
        Ok(Value { text, quoted: true, position })
    }
}

/// The value a filter compares, checked where only some values exist.
fn filter_value(field: FilterField, value: Value) -> Result<String, SyntaxError> {
    match field {
        // Kinds and statuses are a closed set: a typo would otherwise silently match nothing.
        FilterField::Status => {
            let status = value.text.to_lowercase();
            if status == "ok" || status == "error" {
                Ok(status)
            } else {
                Err(SyntaxError::at(value.position, format_args!("status: must be ok or error, not {:?},", value.text)))
            }
        }
        FilterField::Kind => {
            let kind = value.text.to_lowercase();
            if SPAN_KINDS.contains(&kind.as_str()) {
                Ok(kind)
            } else {
                let kinds = SPAN_KINDS.join(", ");
                Err(SyntaxError::at(
                    value.position,
                    format_args!("kind: must be one of {kinds}, not {:?},", value.text),
                ))
            }
        }
        // Trace ids are hex, which is the same in either case; the store keeps lowercase.
        FilterField::Trace => Ok(value.text.to_ascii_lowercase()),
        _ => Ok(value.text),
    }
}

/// A `since:` / `until:` value, checked now so its error can point at it.
fn time_bound(name: &str, repeated: bool, field_start: usize, value: Value) -> Result<String, SyntaxError> {
    if repeated {
        return Err(SyntaxError::at(field_start, format_args!("{name}: given twice")));
    }
    // Whether a bound reads does not depend on the time it counts back from.
    parse_time_bound(&value.text, 0).map_err(|e| SyntaxError::at(value.position, format_args!("{name}: {e},")))?;
    Ok(value.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clauses(text: &str) -> Vec<Clause> {
        match parse_query(text) {
            Ok(query) => query.clauses,
            Err(e) => panic!("{text:?} did not parse: {e}"),
        }
    }

    fn error(text: &str) -> SyntaxError {
        match parse_query(text) {
            Ok(query) => panic!("{text:?} parsed as {query:?}"),
            Err(e) => e,
        }
    }

    fn words(text: &str) -> Clause {
        Clause::Words { text: text.into(), field: None, negated: false }
    }

    fn phrase(text: &str) -> Clause {
        Clause::Phrase { text: text.into(), field: None, negated: false }
    }

    fn filter(field: FilterField, value: &str) -> Clause {
        Clause::Filter { field, value: value.into(), negated: false }
    }

    fn excluded(clause: Clause) -> Clause {
        match clause {
            Clause::Words { text, field, .. } => Clause::Words { text, field, negated: true },
            Clause::Phrase { text, field, .. } => Clause::Phrase { text, field, negated: true },
            Clause::Filter { field, value, .. } => Clause::Filter { field, value, negated: true },
        }
    }

    #[test]
    fn each_word_is_required() {
        assert_eq!(clauses("refund  policy"), [words("refund"), words("policy")]);
    }

    #[test]
    fn a_quoted_phrase_is_one_clause_kept_as_typed() {
        assert_eq!(clauses(r#"ask "refund  policy" now"#), [words("ask"), phrase("refund  policy"), words("now")]);
    }

    #[test]
    fn a_leading_minus_excludes_a_word() {
        assert_eq!(clauses("refund -policy"), [words("refund"), excluded(words("policy"))]);
    }

    #[test]
    fn a_leading_minus_excludes_a_phrase() {
        assert_eq!(clauses(r#"refund -"store credit""#), [words("refund"), excluded(phrase("store credit"))]);
    }

    #[test]
    fn a_leading_minus_excludes_a_filter() {
        assert_eq!(clauses("refund -status:error"), [words("refund"), excluded(filter(FilterField::Status, "error"))]);
    }

    #[test]
    fn a_minus_inside_a_word_is_part_of_it() {
        assert_eq!(clauses("B-31726 -B-31727"), [words("B-31726"), excluded(words("B-31727"))]);
    }

    #[test]
    fn identifiers_and_emails_are_plain_words() {
        assert_eq!(clauses("ERR_TIMEOUT jane.doe@example.com"), [words("ERR_TIMEOUT"), words("jane.doe@example.com")]);
    }

    #[test]
    fn every_filter_field_is_read_by_its_name() {
        for field in FilterField::ALL {
            let value = match field {
                FilterField::Status => "ok",
                FilterField::Kind => "llm",
                _ => "v1",
            };
            assert_eq!(clauses(&format!("{}:{value}", field.as_str())), [filter(field, value)], "{field:?}");
        }
    }

    #[test]
    fn a_filter_value_may_be_quoted_to_hold_spaces() {
        assert_eq!(clauses(r#"service:"billing api""#), [filter(FilterField::Service, "billing api")]);
    }

    #[test]
    fn a_filter_value_keeps_its_case() {
        assert_eq!(clauses("model:GPT-4o"), [filter(FilterField::Model, "GPT-4o")]);
    }

    #[test]
    fn kind_and_status_are_read_in_either_case() {
        assert_eq!(
            clauses("kind:LLM status:Error"),
            [filter(FilterField::Kind, "llm"), filter(FilterField::Status, "error")]
        );
    }

    #[test]
    fn a_trace_id_filter_is_lowercased_like_stored_ids() {
        assert_eq!(clauses("trace:4BF92F35"), [filter(FilterField::Trace, "4bf92f35")]);
    }

    #[test]
    fn a_filter_value_may_contain_colons() {
        assert_eq!(clauses("request:req:2026:7"), [filter(FilterField::Request, "req:2026:7")]);
    }

    #[test]
    fn every_text_field_restricts_its_words() {
        for field in TextField::ALL {
            let expected = Clause::Words { text: "refund".into(), field: Some(field), negated: false };
            assert_eq!(clauses(&format!("{}:refund", field.as_str())), [expected], "{field:?}");
        }
    }

    #[test]
    fn a_text_field_restricts_a_quoted_phrase() {
        let expected = Clause::Phrase { text: "refund policy".into(), field: Some(TextField::Output), negated: false };
        assert_eq!(clauses(r#"output:"refund policy""#), [expected]);
    }

    #[test]
    fn a_restricted_word_can_be_excluded() {
        let expected = Clause::Words { text: "timeout".into(), field: Some(TextField::Error), negated: true };
        assert_eq!(clauses("refund -error:timeout"), [words("refund"), expected]);
    }

    #[test]
    fn since_and_until_are_time_bounds_not_clauses() {
        let query = parse_query("refund since:2h until:2026-11-28T10:00:00Z").expect("parses");
        assert_eq!(query.clauses, [words("refund")]);
        assert_eq!((query.since.as_deref(), query.until.as_deref()), (Some("2h"), Some("2026-11-28T10:00:00Z")));
    }

    #[test]
    fn urls_uppercase_prefixes_and_paths_are_plain_words() {
        assert_eq!(
            clauses("http://example.com/a ERR:TIMEOUT Model:x std::io note:"),
            [words("http://example.com/a"), words("ERR:TIMEOUT"), words("Model:x"), words("std::io"), words("note:")]
        );
    }

    #[test]
    fn a_misspelt_field_is_an_error_naming_the_nearest_and_every_field() {
        let err = parse_query("refund modle:gpt-4o").expect_err("modle is no field");
        assert_eq!(err.position, 7);
        assert!(
            err.message.starts_with("unknown field modle: (did you mean model:?); the fields are input, "),
            "{err}"
        );
        assert!(err.message.contains("prompt_version") && err.message.contains("since, until"), "{err}");
        assert!(err.message.contains(r#"quote it: "modle:gpt-4o""#), "{err}");
    }

    #[test]
    fn an_unknown_field_far_from_every_field_suggests_none() {
        let err = parse_query("foo:bar").expect_err("foo is no field");
        assert!(err.message.starts_with("unknown field foo:; the fields are"), "{err}");
    }

    #[test]
    fn a_quote_inside_a_word_is_part_of_it() {
        assert_eq!(clauses(r#"don"t"#), [words(r#"don"t"#)]);
    }

    #[test]
    fn accented_and_cjk_words_pass_through_untouched() {
        assert_eq!(clauses("Crème brûlée 退款政策"), [words("Crème"), words("brûlée"), words("退款政策")]);
    }

    #[test]
    fn an_ideographic_space_separates_words() {
        assert_eq!(clauses("退款\u{3000}政策"), [words("退款"), words("政策")]);
    }

    #[test]
    fn a_filter_alone_is_a_query() {
        assert_eq!(clauses("status:error"), [filter(FilterField::Status, "error")]);
    }

    #[test]
    fn an_unterminated_phrase_is_reported_where_it_starts() {
        let e = error(r#"refund "policy now"#);
        assert_eq!(e, SyntaxError { message: "unterminated phrase starting at character 7".into(), position: 7 });
    }

    #[test]
    fn an_unterminated_quoted_value_is_reported_where_its_quote_is() {
        assert_eq!(error(r#"x service:"billing"#).position, 10);
    }

    #[test]
    fn an_empty_phrase_is_refused() {
        assert_eq!(error(r#"refund """#), SyntaxError { message: "empty phrase at character 7".into(), position: 7 });
    }

    #[test]
    fn a_blank_phrase_is_refused() {
        assert_eq!(error(r#"refund output:"  ""#).position, 14);
    }

    #[test]
    fn a_field_without_a_value_is_refused() {
        let e = error("refund model: x");
        assert_eq!(e, SyntaxError { message: "model: needs a value at character 7".into(), position: 7 });
    }

    #[test]
    fn a_field_at_the_end_without_a_value_is_refused() {
        assert_eq!(error("refund -input:").position, 8);
    }

    #[test]
    fn a_lone_minus_is_refused() {
        assert_eq!(error("refund - policy").position, 7);
        assert_eq!(error("refund -").position, 7);
    }

    #[test]
    fn an_unknown_status_is_refused_at_its_value() {
        let e = error("status:failed");
        assert_eq!(e.position, 7);
        assert_eq!(e.message, "status: must be ok or error, not \"failed\", at character 7");
    }

    #[test]
    fn an_unknown_kind_is_refused_listing_the_kinds() {
        let e = error("x kind:llms");
        assert_eq!(e.position, 7);
        assert!(e.message.contains("llm, tool, retrieval, embedding, agent, chain, evaluation, guardrail, other"));
    }

    #[test]
    fn an_unreadable_time_bound_is_refused_at_its_value() {
        let e = error("refund since:yesterday");
        assert_eq!(e.position, 13);
        assert!(e.message.starts_with("since: \"yesterday\" is neither"), "{}", e.message);
    }

    #[test]
    fn a_time_bound_given_twice_is_refused() {
        assert_eq!(error("x since:2h since:3h").position, 11);
    }

    #[test]
    fn a_time_bound_cannot_be_excluded() {
        assert_eq!(error("x -until:2h").position, 2);
    }

    #[test]
    fn a_query_of_exclusions_only_is_refused() {
        let e = error("-refund -status:error since:2h");
        assert_eq!(e, SyntaxError { message: NOTHING_REQUIRED.into(), position: 0 });
    }

    #[test]
    fn an_empty_query_is_refused() {
        assert_eq!(error("   ").message, NOTHING_REQUIRED);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(error(r#"退款 "policy"#).position, 3);
    }
}
