//! Tokenization for LLM evidence, beyond English.
//!
//! - Words are runs of letters and digits, lowercased and folded to ASCII where a folding
//!   exists (`Rückerstattung` → `ruckerstattung`, `café` → `cafe`).
//! - Identifiers joined by `-`, `_`, `.`, `@` or `/` (`B-31726`, `ERR_TIMEOUT`,
//!   `jane.doe@example.com`) are indexed whole *and* as their parts, all at one position,
//!   so the identifier is findable as typed, its parts are findable alone, and phrases
//!   around it keep their positions. Queries use the whole identifier only.
//! - CJK scripts have no spaces: a run of CJK characters is indexed as overlapping
//!   bigrams (a lone character as itself), so any two-character-or-longer substring is
//!   findable as a phrase of bigrams.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// Name the index analyzer is registered under.
pub const INDEX_ANALYZER: &str = "tracehound_index";

/// Tokens longer than this (in bytes) are dropped: hashes and base64 blobs are noise, and
/// their parts stay indexed.
const MAX_TOKEN_BYTES: usize = 96;

/// Whether a run of joined parts is emitted whole, parts, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Whole identifier and its parts (documents).
    Index,
    /// Whole identifier only (queries: `B-31726` means that identifier).
    Query,
}

/// The analyzer used for indexed text.
pub fn index_analyzer() -> TextAnalyzer {
    analyzer(Mode::Index)
}

/// The analyzer used for query text.
pub fn query_analyzer() -> TextAnalyzer {
    analyzer(Mode::Query)
}

fn analyzer(mode: Mode) -> TextAnalyzer {
    TextAnalyzer::builder(EvidenceTokenizer { mode })
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Query-mode tokens of `text`, in order, with their positions.
pub fn query_tokens(text: &str) -> Vec<(usize, String)> {
    let mut analyzer = query_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push((token.position, token.text.clone()));
    }
    out
}

/// Index-mode tokens of `text`, with byte offsets (for highlighting).
pub fn index_tokens(text: &str) -> Vec<Token> {
    let mut analyzer = index_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.clone());
    }
    out
}

#[derive(Clone)]
struct EvidenceTokenizer {
    mode: Mode,
}

impl Tokenizer for EvidenceTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream { tokens: split(text, self.mode), index: None, none: Token::default() }
    }
}

/// Tokens computed up front: the splitting needs look-ahead (is this `-` between two
/// word characters?), which is simpler over a whole text than as a streaming state machine.
struct VecTokenStream {
    tokens: Vec<Token>,
    index: Option<usize>,
    /// Answered before the first `advance` or past the end, where tantivy never looks.
    none: Token,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        let next = self.index.map_or(0, |i| i + 1);
        self.index = Some(next);
        next < self.tokens.len()
    }

    fn token(&self) -> &Token {
        self.index.and_then(|i| self.tokens.get(i)).unwrap_or(&self.none)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.index {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.none,
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3400..=0x4DBF // CJK Extension A
        | 0x4E00..=0x9FFF // CJK Unified Ideographs
        | 0xF900..=0xFAFF // CJK Compatibility Ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0x1100..=0x11FF // Hangul Jamo
        | 0x20000..=0x2FA1F)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

fn is_joiner(c: char) -> bool {
    matches!(c, '-' | '_' | '.' | '@' | '/')
}

fn token(text: &str, from: usize, to: usize, position: usize) -> Token {
    Token { offset_from: from, offset_to: to, position, text: text[from..to].to_string(), position_length: 1 }
}

fn split(text: &str, mode: Mode) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |(offset, _)| *offset);
    let mut tokens = Vec::new();
    let mut position = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i].1) {
                i += 1;
            }
            if i - start == 1 {
                tokens.push(token(text, end_of(start), end_of(i), position));
                position += 1;
            } else {
                for b in start..i - 1 {
                    tokens.push(token(text, end_of(b), end_of(b + 2), position));
                    position += 1;
                }
            }
        } else if is_word(c) {
            // A run of word parts joined by single joiners between word characters.
            let start = i;
            let mut parts = Vec::new();
            let mut part_start = i;
            loop {
                while i < chars.len() && is_word(chars[i].1) {
                    i += 1;
                }
                parts.push((part_start, i));
                let joined = i + 1 < chars.len() && is_joiner(chars[i].1) && is_word(chars[i + 1].1);
                if !joined {
                    break;
                }
                i += 1;
                part_start = i;
            }
            if parts.len() > 1 {
                tokens.push(token(text, end_of(start), end_of(i), position));
            }
            if parts.len() == 1 || mode == Mode::Index {
                for (from, to) in parts {
                    tokens.push(token(text, end_of(from), end_of(to), position));
                }
            }
            position += 1;
        } else {
            i += 1;
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(tokens: Vec<Token>) -> Vec<String> {
        tokens.into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn words_are_lowercased_and_accents_folded() {
        assert_eq!(texts(index_tokens("Rückerstattung CAFÉ año")), vec!["ruckerstattung", "cafe", "ano"]);
    }

    #[test]
    fn an_identifier_is_indexed_whole_and_as_parts_at_one_position() {
        let tokens = index_tokens("order B-31726 late");
        let at_one: Vec<_> = tokens.iter().filter(|t| t.position == 1).map(|t| t.text.as_str()).collect();
        assert_eq!(at_one, vec!["b-31726", "b", "31726"]);
        assert_eq!(tokens.last().map(|t| t.position), Some(2));
    }

    #[test]
    fn a_query_keeps_an_identifier_whole() {
        assert_eq!(
            query_tokens("ERR_TIMEOUT jane.doe@example.com"),
            vec![(0, "err_timeout".to_string()), (1, "jane.doe@example.com".to_string())]
        );
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_an_identifier() {
        assert_eq!(texts(index_tokens("see B-31726.")), vec!["see", "b-31726", "b", "31726"]);
    }

    #[test]
    fn cjk_text_becomes_overlapping_bigrams() {
        assert_eq!(texts(index_tokens("退款政策")), vec!["退款", "款政", "政策"]);
        assert_eq!(texts(index_tokens("的")), vec!["的"]);
    }

    #[test]
    fn cjk_next_to_latin_splits_cleanly() {
        assert_eq!(texts(index_tokens("订单B-1已发货")), vec!["订单", "b-1", "b", "1", "已发", "发货"]);
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let text = "Grüße, B-7!";
        for token in index_tokens(text) {
            assert!(text.get(token.offset_from..token.offset_to).is_some());
        }
    }

    #[test]
    fn empty_and_symbol_only_text_has_no_tokens() {
        assert!(index_tokens("").is_empty());
        assert!(index_tokens(" -- !! ").is_empty());
    }
}
