//! Arbitrary text as a search query, and the text of every clause it parses to through the
//! store's query tokenizer: a query string must be read or refused with a position, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_query::search_syntax::parse_query;
use tracehound_store::search::tokenizer::query_tokens;
use tracehound_store::search::Clause;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_query(&text) {
        Ok(query) => {
            for clause in &query.clauses {
                let text = match clause {
                    Clause::Words { text, .. } | Clause::Phrase { text, .. } => text,
                    Clause::Filter { value, .. } => value,
                };
                let _ = query_tokens(text);
            }
        }
        Err(error) => {
            // The position is shown under the query with a caret: it must point into it.
            assert!(
                error.position <= text.chars().count(),
                "error position {} past the end of {text:?}",
                error.position
            );
        }
    }
});
