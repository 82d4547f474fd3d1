//! Which spans of a matching request hold the searched text, and where: the evidence
//! behind a hit, computed from the store's exact text with the index's own analyzer.

use std::collections::HashMap;

use serde::Serialize;

use crate::model::{Span, SpanId};
use crate::search::document::span_texts;
use crate::search::request::{Clause, TextField};
use crate::search::tokenizer::{index_tokens, query_tokens};

/// Characters of context kept before the first match of a snippet.
const CONTEXT_BEFORE: usize = 60;
/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 240;

/// One place a search matched inside a span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanMatch {
    /// The span.
    #[serde(with = "crate::model::hex_bytes")]
    pub span_id: SpanId,
    /// Which text of the span matched.
    #[serde(serialize_with = "serialize_field")]
    pub field: TextField,
    /// A window of the text around the match, exact (not HTML).
    pub snippet: String,
    /// Byte ranges of `snippet` that matched, for highlighting.
    pub highlights: Vec<(usize, usize)>,
}

fn serialize_field<S: serde::Serializer>(field: &TextField, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(field.as_str())
}

/// A positive word or phrase clause, as query tokens.
struct Wanted {
    field: Option<TextField>,
    tokens: Vec<(usize, String)>,
    phrase: bool,
}

/// The matches of the positive word and phrase clauses in the given spans: at most one per
/// span and text field, in span order.
pub fn highlight(spans: &[Span], clauses: &[Clause]) -> Vec<SpanMatch> {
    let wanted: Vec<Wanted> = clauses
        .iter()
        .filter_map(|clause| match clause {
            Clause::Words { text, field, negated: false } => {
                Some(Wanted { field: *field, tokens: query_tokens(text), phrase: false })
            }
            Clause::Phrase { text, field, negated: false } => {
                Some(Wanted { field: *field, tokens: query_tokens(text), phrase: true })
            }
            _ => None,
        })
        .filter(|w| !w.tokens.is_empty())
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for span in spans {
        let mut done: Vec<TextField> = Vec::new();
        for (field, text) in span_texts(span) {
            if done.contains(&field) {
                continue;
            }
            let ranges = match_ranges(text, field, &wanted);
            if let Some(found) = snippet(text, &ranges) {
                done.push(field);
                out.push(SpanMatch { span_id: span.span_id, field, snippet: found.0, highlights: found.1 });
            }
        }
    }
    out
}

fn match_ranges(text: &str, field: TextField, wanted: &[Wanted]) -> Vec<(usize, usize)> {
    let tokens = index_tokens(text);
    let mut by_position: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, token) in tokens.iter().enumerate() {
        by_position.entry(token.position).or_default().push(i);
    }
    let at = |position: usize, text: &str| -> Option<usize> {
        by_position.get(&position)?.iter().copied().find(|i| tokens[*i].text == text)
    };
    let mut ranges = Vec::new();
    for want in wanted.iter().filter(|w| w.field.is_none_or(|f| f == field)) {
        if want.phrase {
            let first = want.tokens.first().map_or(0, |(p, _)| *p);
            for token in tokens.iter().filter(|t| Some(&t.text) == want.tokens.first().map(|(_, t)| t)) {
                let hits: Option<Vec<usize>> =
                    want.tokens.iter().map(|(p, t)| at(token.position + p - first, t)).collect();
                if let Some(hits) = hits {
                    let from = hits.iter().map(|i| tokens[*i].offset_from).min().unwrap_or(0);
                    let to = hits.iter().map(|i| tokens[*i].offset_to).max().unwrap_or(0);
                    ranges.push((from, to));
                }
            }
        } else {
            for token in &tokens {
                if want.tokens.iter().any(|(_, t)| *t == token.text) {
                    ranges.push((token.offset_from, token.offset_to));
                }
            }
        }
    }
    ranges.sort_unstable();
    ranges.dedup();
    ranges
}

/// A window of `text` around the first range, with the ranges inside it made relative.
fn snippet(text: &str, ranges: &[(usize, usize)]) -> Option<(String, Vec<(usize, usize)>)> {
    let (first, _) = *ranges.first()?;
    let start = text[..first].char_indices().rev().nth(CONTEXT_BEFORE.saturating_sub(1)).map_or(0, |(i, _)| i);
    let end = text[start..].char_indices().nth(SNIPPET_CHARS).map_or(text.len(), |(i, _)| start + i);
    let inside = ranges
        .iter()
        .filter(|(from, to)| *from >= start && *to <= end)
        .map(|(from, to)| (from - start, to - start))
        .collect();
    Some((text[start..end].to_string(), inside))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LlmCall, Message, MessagePart};

    fn llm_span(user_text: &str) -> Span {
        Span {
            span_id: [1; 8],
            llm: Some(LlmCall {
                input_messages: vec![Message {
                    role: "user".into(),
                    parts: vec![MessagePart::Text { content: user_text.into() }],
                    name: None,
                    finish_reason: None,
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn words(text: &str) -> Clause {
        Clause::Words { text: text.into(), field: None, negated: false }
    }

    #[test]
    fn a_word_match_points_at_the_exact_text() {
        let found = highlight(&[llm_span("Please cancel my Refund now")], &[words("refund")]);
        assert_eq!(found.len(), 1);
        let (from, to) = found[0].highlights[0];
        assert_eq!(&found[0].snippet[from..to], "Refund");
        assert_eq!(found[0].field, TextField::Input);
    }

    #[test]
    fn a_phrase_matches_only_adjacent_words() {
        let phrase = Clause::Phrase { text: "refund policy".into(), field: None, negated: false };
        assert!(highlight(&[llm_span("the policy on refund")], std::slice::from_ref(&phrase)).is_empty());
        let found = highlight(&[llm_span("our refund policy applies")], &[phrase]);
        let (from, to) = found[0].highlights[0];
        assert_eq!(&found[0].snippet[from..to], "refund policy");
    }

    #[test]
    fn an_identifier_is_highlighted_as_typed() {
        let found = highlight(&[llm_span("where is order B-31726?")], &[words("B-31726")]);
        let (from, to) = found[0].highlights[0];
        assert_eq!(&found[0].snippet[from..to], "B-31726");
    }

    #[test]
    fn a_long_text_is_cut_around_the_match() {
        let text = format!("{} needle {}", "a ".repeat(500), "b ".repeat(500));
        let found = highlight(&[llm_span(&text)], &[words("needle")]);
        assert!(found[0].snippet.chars().count() <= SNIPPET_CHARS);
        let (from, to) = found[0].highlights[0];
        assert_eq!(&found[0].snippet[from..to], "needle");
    }

    #[test]
    fn negated_clauses_highlight_nothing() {
        let negated = Clause::Words { text: "refund".into(), field: None, negated: true };
        assert!(highlight(&[llm_span("refund")], &[negated]).is_empty());
    }
}
