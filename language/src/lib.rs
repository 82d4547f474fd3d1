//! The language of a question or an answer, as an ISO 639-1 code.
//!
//! # Why whatlang
//!
//! The research for triage (`docs/triage-research/DESIGN.md` §5) measured two well-kept
//! Rust detectors on 8,658 real-shaped questions: lingua reached 99.95% with 27 living
//! languages, whatlang 94.4% with every language it knows, most of its misses being English
//! called Latin, Afrikaans or Danish. Lingua's models add tens of megabytes to the binary and
//! its high-accuracy mode costs a millisecond-scale budget per text; this runs on the
//! write path of every request, and triage only needs a language's *share* of traffic to
//! move, not every text to be right. So: whatlang (trigrams, microseconds, no data files),
//! limited to [`LANGUAGES`] (living languages people write to support bots in), with the
//! text cleaned of what is not prose first, and an answer only when whatlang says it is
//! reliable enough. Unknown is `None`, never a guess.

use std::sync::LazyLock;

use whatlang::{Detector, Lang};

/// The languages a text may be identified as: living languages with many writers online.
/// Dead or rare ones (Latin, Esperanto, Afrikaans...) are left out, because short English
/// questions are what they were mistaken for.
pub const LANGUAGES: &[(Lang, &str)] = &[
    (Lang::Eng, "en"),
    (Lang::Spa, "es"),
    (Lang::Fra, "fr"),
    (Lang::Deu, "de"),
    (Lang::Por, "pt"),
    (Lang::Ita, "it"),
    (Lang::Nld, "nl"),
    (Lang::Pol, "pl"),
    (Lang::Rus, "ru"),
    (Lang::Ukr, "uk"),
    (Lang::Tur, "tr"),
    (Lang::Ara, "ar"),
    (Lang::Hin, "hi"),
    (Lang::Cmn, "zh"),
    (Lang::Jpn, "ja"),
    (Lang::Kor, "ko"),
    (Lang::Vie, "vi"),
    (Lang::Ind, "id"),
    (Lang::Swe, "sv"),
    (Lang::Dan, "da"),
    (Lang::Nob, "nb"),
    (Lang::Fin, "fi"),
    (Lang::Ces, "cs"),
    (Lang::Ron, "ro"),
    (Lang::Hun, "hu"),
    (Lang::Ell, "el"),
    (Lang::Heb, "he"),
    (Lang::Tha, "th"),
];

/// Languages so close that one is the other's runner-up: a low margin between them still
/// names the family's leader, where a low margin over an unrelated language names nothing.
/// (whatlang's confidence is the margin over the runner-up, and Spanish questions scored a
/// third of the time below [`MIN_CONFIDENCE`] only because Portuguese came second.)
const SIBLINGS: &[&[Lang]] = &[
    &[Lang::Spa, Lang::Por, Lang::Ita],
    &[Lang::Dan, Lang::Nob, Lang::Swe],
    &[Lang::Rus, Lang::Ukr],
    &[Lang::Nld, Lang::Deu],
    &[Lang::Ces, Lang::Pol],
];

/// Lowest confidence kept when the runner-up is a sibling language: none. The family is
/// certain then, and within it whatlang's leader is the best guess there is (Spanish
/// questions led Portuguese by margins as thin as 0.03).
const MIN_SIBLING_CONFIDENCE: f64 = 0.0;

/// Confidence both texts must keep, on a detector of their two languages only, for a
/// question and an answer to be in different languages.
pub const MIN_MISMATCH_CONFIDENCE: f64 = 0.9;

/// Fewest prose words a text needs before its language is named.
pub const MIN_WORDS: usize = 3;

/// Lowest whatlang confidence kept; below it the language is unknown.
pub const MIN_CONFIDENCE: f64 = 0.25;

/// Characters read from a text: the language of a long answer shows in its opening.
const MAX_CHARS: usize = 600;

/// The language of a text with the one shared [`Identifier`]: see [`Identifier::identify`].
pub fn identify(text: &str) -> Option<&'static str> {
    static SHARED: LazyLock<Identifier> = LazyLock::new(Identifier::default);
    SHARED.identify(text)
}

/// Whether a question and an answer are in different languages, with the shared
/// [`Identifier`]: see [`Identifier::differ`].
pub fn differ(question: &str, answer: &str) -> Option<bool> {
    static SHARED: LazyLock<Identifier> = LazyLock::new(Identifier::default);
    SHARED.differ(question, answer)
}

/// Identifies languages; built once, shared by every caller.
#[derive(Debug, Clone)]
pub struct Identifier {
    detector: Detector,
}

impl Default for Identifier {
    fn default() -> Self {
        Identifier { detector: Detector::with_allowlist(LANGUAGES.iter().map(|(lang, _)| *lang).collect()) }
    }
}

impl Identifier {
    /// The ISO 639-1 code of the text's language, or `None` when the text is too short,
    /// not prose, or not clearly one language.
    pub fn identify(&self, text: &str) -> Option<&'static str> {
        let prose = prose(text);
        if prose.split_whitespace().count() < MIN_WORDS {
            return None;
        }
        let info = self.detector.detect(&prose)?;
        let sure = info.confidence() >= MIN_CONFIDENCE
            || (info.confidence() > MIN_SIBLING_CONFIDENCE
                && runner_up(&prose, info.lang()).is_some_and(|r| siblings(info.lang(), r)));
        if !sure {
            return None;
        }
        code(info.lang())
    }

    /// Whether a question and its answer are in different languages: `None` when either
    /// cannot be read. Each text's best language is taken with no threshold; when they
    /// differ, both texts are read again by a detector of those two languages only, and
    /// must each keep theirs with [`MIN_MISMATCH_CONFIDENCE`]. On the scenarios this flags
    /// 0.2% of passing requests and every Spanish question answered in English, where a
    /// plain threshold flagged 1% and found two thirds.
    pub fn differ(&self, question: &str, answer: &str) -> Option<bool> {
        let (q, a) = (prose(question), prose(answer));
        if q.split_whitespace().count() < MIN_WORDS || a.split_whitespace().count() < MIN_WORDS {
            return None;
        }
        let (lq, la) = (self.detector.detect_lang(&q)?, self.detector.detect_lang(&a)?);
        if lq == la {
            return Some(false);
        }
        let pair = Detector::with_allowlist(vec![lq, la]);
        let keeps = |text: &str, lang: Lang| {
            pair.detect(text).is_some_and(|i| i.lang() == lang && i.confidence() >= MIN_MISMATCH_CONFIDENCE)
        };
        Some(keeps(&q, lq) && keeps(&a, la))
    }
}

/// The best language for the text once `first` is left out.
fn runner_up(prose: &str, first: Lang) -> Option<Lang> {
    let rest: Vec<Lang> = LANGUAGES.iter().map(|(l, _)| *l).filter(|l| *l != first).collect();
    Detector::with_allowlist(rest).detect_lang(prose)
}

fn siblings(a: Lang, b: Lang) -> bool {
    SIBLINGS.iter().any(|group| group.contains(&a) && group.contains(&b))
}

fn code(lang: Lang) -> Option<&'static str> {
    LANGUAGES.iter().find(|(l, _)| *l == lang).map(|(_, code)| *code)
}

/// The words of a text that are prose: no citation markers (`[doc:kb-12]`), no tokens with
/// digits (order numbers, dates), no identifiers (`snake_case`, `a.b`, URLs, e-mails).
fn prose(text: &str) -> String {
    let head: String = text.chars().take(MAX_CHARS).collect();
    let mut out = String::with_capacity(head.len());
    let mut in_brackets = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric());
        let identifier = trimmed.chars().any(|c| c.is_ascii_digit() || matches!(c, '_' | '@' | '/' | '.' | ':' | '='));
        if !trimmed.is_empty() && !identifier {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(trimmed);
        }
        word.clear();
    };
    for c in head.chars() {
        match c {
            '[' => {
                flush(&mut word, &mut out);
                in_brackets = true;
            }
            ']' => in_brackets = false,
            _ if in_brackets => {}
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_english_question_is_english() {
        let id = Identifier::default();
        assert_eq!(id.identify("How do I reset the password on my account?"), Some("en"));
    }

    #[test]
    fn a_spanish_question_is_spanish() {
        let id = Identifier::default();
        assert_eq!(id.identify("¿Cómo puedo cambiar la dirección de envío de mi pedido?"), Some("es"));
    }

    #[test]
    fn a_german_answer_is_german() {
        let id = Identifier::default();
        assert_eq!(id.identify("Ihre Bestellung wird morgen versendet, vielen Dank für Ihre Geduld."), Some("de"));
    }

    #[test]
    fn a_spanish_question_close_to_portuguese_is_still_spanish() {
        let id = Identifier::default();
        assert_eq!(id.identify("Por qué me cobraron dos veces la factura de este mes"), Some("es"));
    }

    #[test]
    fn a_spanish_question_answered_in_english_differs() {
        let id = Identifier::default();
        let question = "¿Por qué me cobraron dos veces la factura de este mes?";
        let answer = "I don't have information about that. Please contact our billing team for help.";
        assert_eq!(id.differ(question, answer), Some(true));
    }

    #[test]
    fn an_english_question_answered_in_english_does_not_differ() {
        let id = Identifier::default();
        let question = "Why was my card charged twice for the same invoice this month?";
        let answer =
            "You were charged twice because the first payment was retried; the duplicate is refunded in 5 days.";
        assert_eq!(id.differ(question, answer), Some(false));
    }

    #[test]
    fn two_words_are_too_few_to_tell() {
        assert_eq!(Identifier::default().identify("Hello there"), None);
    }

    #[test]
    fn citations_and_order_numbers_are_not_read_as_words() {
        assert_eq!(prose("See [doc:kb-1042] for order A-123 and refund_policy now"), "See for order and now");
    }

    #[test]
    fn a_text_of_identifiers_has_no_language() {
        assert_eq!(Identifier::default().identify("kb-1 kb-2 order_77 x=3 2026-10-01"), None);
    }
}
