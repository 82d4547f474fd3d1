//! Text that makes search meaningful: a support-desk vocabulary drawn with a Zipf-like
//! distribution (a few words everywhere, a long tail of rare ones), common phrases so phrase
//! queries have something to find, and identifiers unique to one trace.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::Rng;

/// The head of the vocabulary, most frequent first: the words a support agent's prompts,
/// answers, tool calls and retrieved documents are made of.
const HEAD: &[&str] = &[
    "the",
    "to",
    "and",
    "a",
    "of",
    "your",
    "you",
    "is",
    "for",
    "in",
    "order",
    "we",
    "it",
    "that",
    "on",
    "with",
    "customer",
    "please",
    "refund",
    "can",
    "this",
    "be",
    "account",
    "are",
    "have",
    "shipping",
    "not",
    "will",
    "payment",
    "policy",
    "from",
    "delivery",
    "status",
    "if",
    "item",
    "return",
    "days",
    "store",
    "credit",
    "our",
    "by",
    "help",
    "at",
    "or",
    "support",
    "product",
    "as",
    "an",
    "was",
    "invoice",
    "card",
    "number",
    "request",
    "subscription",
    "cancel",
    "address",
    "email",
    "package",
    "tracking",
    "warehouse",
    "charge",
    "billing",
    "plan",
    "discount",
    "coupon",
    "exchange",
    "damaged",
    "missing",
    "delay",
    "carrier",
    "label",
    "replacement",
    "warranty",
    "receipt",
    "balance",
    "transfer",
    "bank",
    "login",
    "password",
    "reset",
    "verify",
    "identity",
    "escalate",
    "agent",
    "ticket",
    "priority",
    "urgent",
    "resolved",
    "pending",
    "approved",
    "declined",
    "fraud",
    "dispute",
    "chargeback",
    "eligible",
    "window",
    "thirty",
    "business",
    "weekend",
    "holiday",
    "express",
    "standard",
    "international",
    "customs",
    "duty",
    "tax",
    "vat",
    "currency",
    "euro",
    "dollar",
    "pound",
    "price",
    "quote",
    "estimate",
    "confirm",
    "cancelled",
    "shipped",
    "delivered",
    "returned",
    "processing",
    "backorder",
    "inventory",
    "size",
    "color",
    "model",
    "version",
    "firmware",
    "update",
    "device",
    "battery",
    "screen",
    "charger",
    "cable",
    "adapter",
    "manual",
    "setup",
    "install",
    "error",
    "timeout",
    "retry",
    "outage",
    "maintenance",
    "apologize",
    "understand",
    "sorry",
    "thanks",
    "appreciate",
    "happy",
    "assist",
    "today",
    "tomorrow",
    "yesterday",
    "week",
    "month",
    "year",
    "contact",
    "phone",
    "chat",
    "callback",
    "survey",
];

/// Word pairs that occur together, so phrase queries (`"refund policy"`) match real runs.
pub const PHRASES: &[&str] = &[
    "refund policy",
    "store credit",
    "order status",
    "shipping delay",
    "tracking number",
    "payment declined",
    "return window",
    "damaged package",
    "billing address",
    "subscription plan",
];

/// Syllables the long tail of rare words is built from (`kavomi`, `lorten`, ...).
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "ten", "vor", "qui", "zan", "bel", "dro", "fex", "gul", "hin", "jax", "kel", "mur", "nox",
    "pil", "sut", "wen",
];

/// A vocabulary with Zipf-like word frequencies and the sampler that draws from it.
pub struct Corpus {
    words: Vec<String>,
    sampler: WeightedIndex<f64>,
}

/// Exponent of the rank-frequency law: natural language sits near 1.
const ZIPF_EXPONENT: f64 = 1.05;

impl Corpus {
    /// A corpus of the head words plus `tail` generated rare words (`tail` ≥ 1).
    pub fn new(tail: usize) -> Corpus {
        let mut words: Vec<String> = HEAD.iter().map(|w| w.to_string()).collect();
        words.extend((0..tail.max(1)).map(tail_word));
        let weights = (0..words.len()).map(|rank| 1.0 / ((rank + 1) as f64).powf(ZIPF_EXPONENT));
        let sampler = WeightedIndex::new(weights).expect("weights are positive and finite");
        Corpus { words, sampler }
    }

    /// Number of distinct words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Always false: a corpus has at least one word.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The word of a frequency rank (0 = most frequent); `None` past the end.
    pub fn word(&self, rank: usize) -> Option<&str> {
        self.words.get(rank).map(String::as_str)
    }

    /// Appends about `bytes` bytes of sentences to `out` (never fewer, at most one word more).
    pub fn fill<R: Rng>(&self, rng: &mut R, bytes: usize, out: &mut String) {
        let target = out.len() + bytes;
        let mut sentence_words = 0;
        while out.len() < target {
            if sentence_words > 0 {
                out.push(' ');
            }
            if rng.random_ratio(1, 40) {
                out.push_str(PHRASES[rng.random_range(0..PHRASES.len())]);
            } else {
                out.push_str(&self.words[self.sampler.sample(rng)]);
            }
            sentence_words += 1;
            if sentence_words >= 8 && rng.random_ratio(1, 6) {
                out.push_str(". ");
                sentence_words = 0;
            }
        }
    }

    /// About `bytes` bytes of sentences.
    pub fn text<R: Rng>(&self, rng: &mut R, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes + 16);
        self.fill(rng, bytes, &mut out);
        out
    }
}

/// The `index`-th generated rare word: syllables spelling `index` in base 20.
pub fn tail_word(index: usize) -> String {
    let mut n = index;
    let mut word = String::new();
    // At least three syllables, so no tail word collides with a short head word.
    for _ in 0..3 {
        word.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    while n > 0 {
        word.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    word
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn generated_tail_words_are_distinct_from_each_other_and_from_the_head() {
        let corpus = Corpus::new(5_000);
        let distinct: HashSet<&str> = (0..corpus.len()).filter_map(|r| corpus.word(r)).collect();
        assert_eq!(distinct.len(), corpus.len());
    }

    #[test]
    fn text_reaches_the_requested_size_and_overshoots_by_at_most_a_word() {
        let corpus = Corpus::new(1_000);
        let mut rng = SmallRng::seed_from_u64(7);
        for bytes in [1, 100, 1024, 8192] {
            let text = corpus.text(&mut rng, bytes);
            assert!(text.len() >= bytes && text.len() < bytes + 40, "{bytes} → {}", text.len());
        }
    }

    #[test]
    fn frequent_ranks_dominate_and_the_tail_still_occurs() {
        let corpus = Corpus::new(20_000);
        let mut rng = SmallRng::seed_from_u64(1);
        let text = corpus.text(&mut rng, 400_000);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            *counts.entry(word).or_default() += 1;
        }
        let the = counts.get("the").copied().unwrap_or(0);
        let rank_100 = counts.get(corpus.word(100).unwrap()).copied().unwrap_or(0);
        assert!(the > 10 * rank_100.max(1), "the={the} rank100={rank_100}");
        let tail_seen = counts.keys().filter(|w| w.len() >= 6 && !HEAD.contains(w)).count();
        assert!(tail_seen > 1_000, "only {tail_seen} rare words occurred");
    }

    #[test]
    fn phrases_occur_as_adjacent_words() {
        let corpus = Corpus::new(1_000);
        let mut rng = SmallRng::seed_from_u64(3);
        let text = corpus.text(&mut rng, 50_000);
        assert!(PHRASES.iter().any(|p| text.contains(p)));
    }
}
