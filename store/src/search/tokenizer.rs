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
    TextAnalyzer::builder(EvidenceTokenizer { mode, token: Token::default() })
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
    /// Reused across texts and tokens, so a token costs no allocation once its buffer has grown.
    token: Token,
}

impl Tokenizer for EvidenceTokenizer {
    type TokenStream<'a> = EvidenceTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> EvidenceTokenStream<'a> {
        self.token.reset();
        EvidenceTokenStream {
            text,
            mode: self.mode,
            cursor: 0,
            next_position: 0,
            pending: Pending::None,
            token: &mut self.token,
        }
    }
}

/// What the stream still owes from the run it is in before scanning on from `cursor`.
#[derive(Debug, Clone, Copy)]
enum Pending {
    None,
    /// Index mode: the parts of a joined word run, the next one starting at `from`; parts are
    /// separated by exactly one (single-byte) joiner up to `end`, all at `position`.
    Parts {
        from: usize,
        end: usize,
        position: usize,
    },
    /// Inside a CJK run whose last character so far spans `from..to`: the next bigram, if the
    /// character at `to` is CJK too, starts at `from`.
    Cjk {
        from: usize,
        to: usize,
    },
}

/// One pass over the text, one token at a time. Look-ahead is at most one character past a
/// joiner, so no run needs buffering beyond a few offsets.
struct EvidenceTokenStream<'a> {
    text: &'a str,
    mode: Mode,
    /// Where scanning for the next run resumes: the end of the run last started.
    cursor: usize,
    next_position: usize,
    pending: Pending,
    token: &'a mut Token,
}

impl EvidenceTokenStream<'_> {
    fn emit(&mut self, from: usize, to: usize, position: usize) {
        let token = &mut *self.token;
        token.text.clear();
        token.text.push_str(self.text.get(from..to).unwrap_or_default());
        token.offset_from = from;
        token.offset_to = to;
        token.position = position;
        token.position_length = 1;
    }

    fn take_position(&mut self) -> usize {
        let position = self.next_position;
        self.next_position += 1;
        position
    }

    /// The next part of a joined run: up to the next joiner, or the run's end.
    fn next_part(&mut self, from: usize, end: usize, position: usize) {
        let bytes = self.text.as_bytes();
        let to = bytes
            .get(from..end)
            .and_then(|part| part.iter().position(|&b| is_joiner_byte(b)))
            .map_or(end, |n| from + n);
        self.pending = if to < end { Pending::Parts { from: to + 1, end, position } } else { Pending::None };
        self.emit(from, to, position);
    }

    /// Continues a CJK run whose last character spans `from..to`; false once it has ended.
    fn next_bigram(&mut self, from: usize, to: usize) -> bool {
        match char_at(self.text, to) {
            Some(c) if is_cjk(c) => {
                let next_to = to + c.len_utf8();
                self.pending = Pending::Cjk { from: to, to: next_to };
                let position = self.take_position();
                self.emit(from, next_to, position);
                true
            }
            _ => {
                self.pending = Pending::None;
                self.cursor = to;
                false
            }
        }
    }

    fn start_cjk(&mut self, from: usize, to: usize) {
        if !self.next_bigram(from, to) {
            // A lone CJK character is its own token.
            let position = self.take_position();
            self.emit(from, to, position);
        }
    }

    /// A run of word parts joined by single joiners between word characters, from `from`
    /// (a word character's start).
    fn start_word(&mut self, from: usize) {
        let bytes = self.text.as_bytes();
        let mut end = word_end(self.text, from);
        let mut joined = false;
        while bytes.get(end).is_some_and(|&b| is_joiner_byte(b)) && char_at(self.text, end + 1).is_some_and(is_word) {
            joined = true;
            end = word_end(self.text, end + 1);
        }
        self.cursor = end;
        let position = self.take_position();
        if joined && self.mode == Mode::Index {
            self.pending = Pending::Parts { from, end, position };
        }
        // A single-part word is its own (only) part; a joined run comes whole before its parts.
        self.emit(from, end, position);
    }
}

impl TokenStream for EvidenceTokenStream<'_> {
    fn advance(&mut self) -> bool {
        match self.pending {
            Pending::Parts { from, end, position } => {
                self.next_part(from, end, position);
                return true;
            }
            Pending::Cjk { from, to } => {
                if self.next_bigram(from, to) {
                    return true;
                }
            }
            Pending::None => {}
        }
        let bytes = self.text.as_bytes();
        let mut i = self.cursor;
        while let Some(&b) = bytes.get(i) {
            if b < 0x80 {
                // ASCII is never CJK, and a word character only if alphanumeric.
                if b.is_ascii_alphanumeric() {
                    self.start_word(i);
                    return true;
                }
                i += 1;
                continue;
            }
            let Some(c) = char_at(self.text, i) else { break };
            let to = i + c.len_utf8();
            if is_cjk(c) {
                self.start_cjk(i, to);
                return true;
            }
            if is_word(c) {
                self.start_word(i);
                return true;
            }
            i = to;
        }
        self.cursor = self.text.len();
        self.token.reset();
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The character starting at byte `at`, if `at` is a character boundary before the end.
fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|rest| rest.chars().next())
}

/// The end of the run of word characters starting at `from`.
fn word_end(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        if b < 0x80 {
            if !b.is_ascii_alphanumeric() {
                break;
            }
            i += 1;
        } else {
            match char_at(text, i) {
                Some(c) if is_word(c) => i += c.len_utf8(),
                _ => break,
            }
        }
    }
    i
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

/// Joiners are all ASCII, so a byte test finds them without decoding.
fn is_joiner_byte(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.' | b'@' | b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The original whole-text splitter, kept as the oracle the streaming tokenizer must match.
    fn reference_split(text: &str, mode: Mode) -> Vec<Token> {
        fn is_joiner(c: char) -> bool {
            matches!(c, '-' | '_' | '.' | '@' | '/')
        }
        fn token(text: &str, from: usize, to: usize, position: usize) -> Token {
            Token { offset_from: from, offset_to: to, position, text: text[from..to].to_string(), position_length: 1 }
        }
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

    /// The reference tokens served as a stream, so they can run through the real filters.
    #[derive(Clone)]
    struct ReferenceTokenizer {
        mode: Mode,
    }

    struct ReferenceStream {
        tokens: std::vec::IntoIter<Token>,
        current: Token,
    }

    impl Tokenizer for ReferenceTokenizer {
        type TokenStream<'a> = ReferenceStream;

        fn token_stream<'a>(&'a mut self, text: &'a str) -> ReferenceStream {
            ReferenceStream { tokens: reference_split(text, self.mode).into_iter(), current: Token::default() }
        }
    }

    impl TokenStream for ReferenceStream {
        fn advance(&mut self) -> bool {
            match self.tokens.next() {
                Some(token) => {
                    self.current = token;
                    true
                }
                None => false,
            }
        }

        fn token(&self) -> &Token {
            &self.current
        }

        fn token_mut(&mut self) -> &mut Token {
            &mut self.current
        }
    }

    fn drain(mut stream: impl TokenStream) -> Vec<Token> {
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().clone());
        }
        out
    }

    fn streamed(text: &str, mode: Mode) -> Vec<Token> {
        let mut tokenizer = EvidenceTokenizer { mode, token: Token::default() };
        drain(tokenizer.token_stream(text))
    }

    fn reference_pipeline(text: &str, mode: Mode) -> Vec<Token> {
        let mut analyzer = TextAnalyzer::builder(ReferenceTokenizer { mode })
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .build();
        drain(analyzer.token_stream(text))
    }

    /// Pieces that exercise every branch: joiners alone, doubled and at the edges, the
    /// edges of the CJK ranges, non-ASCII word and non-word characters, and a run long
    /// enough for the length filter.
    #[rustfmt::skip]
    const FRAGMENTS: &[&str] = &[
        "a", "Z", "order", "B", "31726", "0", "9", "ERR", "TIMEOUT", "jane", "example", "com", "-", "_", ".", "@",
        "/", "--", "..", "@@", "/_", "-.", " ", "  ", "\n", "\t", ",", "!", "?", "(", ")", "'", "\"", ":", "#", "é",
        "ü", "ß", "Ä", "café", "Grüße", "İ", "ﬁ", "Ω", "²", "٣", "\u{0301}", "\u{200B}", "\u{3000}", "退", "款", "政策",
        "的", "。", "あ", "カタカナ", "한", "국어", "\u{1100}", "\u{11FF}", "\u{1200}", "\u{303F}", "\u{3040}", "\u{30FF}",
        "\u{3100}", "\u{D7AF}", "\u{D7B0}", "\u{F900}", "𠀀", "\u{2FA1F}", "\u{2FA20}", "😀", "👍🏽",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "ÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉ",
    ];

    /// xorshift64: deterministic, so a failure reproduces from its printed text.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    fn generated_texts() -> Vec<String> {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        (0..4000)
            .map(|_| {
                let len = rng.below(40);
                (0..len).map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())]).collect()
            })
            .collect()
    }

    #[test]
    fn the_stream_matches_the_reference_splitter_on_generated_text() {
        for text in generated_texts() {
            for mode in [Mode::Index, Mode::Query] {
                assert_eq!(streamed(&text, mode), reference_split(&text, mode), "{mode:?} {text:?}");
            }
        }
    }

    #[test]
    fn the_stream_matches_the_reference_splitter_on_every_short_text() {
        let alphabet = ["a", "1", "é", "-", ".", "@", " ", "退", "한", "😀"];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> =
                texts.iter().flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}"))).collect();
            for text in &longer {
                for mode in [Mode::Index, Mode::Query] {
                    assert_eq!(streamed(text, mode), reference_split(text, mode), "{mode:?} {text:?}");
                }
            }
            texts = longer;
        }
    }

    #[test]
    fn the_analyzers_match_the_reference_through_the_filters() {
        for text in generated_texts() {
            assert_eq!(index_tokens(&text), reference_pipeline(&text, Mode::Index), "{text:?}");
            let query: Vec<_> =
                reference_pipeline(&text, Mode::Query).into_iter().map(|t| (t.position, t.text)).collect();
            assert_eq!(query_tokens(&text), query, "{text:?}");
        }
    }

    #[test]
    fn a_reused_analyzer_starts_each_text_afresh() {
        let mut analyzer = index_analyzer();
        let first = drain(analyzer.token_stream("Grüße B-7 退款政策"));
        let second = drain(analyzer.token_stream("order B-31726"));
        assert_eq!(first, reference_pipeline("Grüße B-7 退款政策", Mode::Index));
        assert_eq!(second, reference_pipeline("order B-31726", Mode::Index));
    }

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
