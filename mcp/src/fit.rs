//! Answers sized for a model's context: long texts and long lists are cut, each cut says
//! what was left out and which tool call returns it whole.

use serde_json::{Map, Value};

/// The most characters one tool answer holds (about 5,000 tokens): enough for a request's
/// tree with its prompts shortened, small enough to leave an agent room to think.
pub const MAX_ANSWER_CHARS: usize = 20_000;

/// How hard to cut, from lightest to hardest: the longest a text may stay, and the most
/// items a list keeps. The first level whose answer fits is used.
const LEVELS: &[(usize, usize)] = &[
    (usize::MAX, usize::MAX),
    (2_000, usize::MAX),
    (1_000, 100),
    (500, 50),
    (300, 20),
    (200, 10),
    (120, 5),
    (80, 3),
    (60, 1),
];

/// Where a cut text can be read whole, from the innermost object naming it.
#[derive(Debug, Clone, Default)]
struct Origin {
    trace_id: Option<String>,
    span_id: Option<String>,
    request_id: Option<String>,
}

impl Origin {
    fn within(&self, object: &Map<String, Value>) -> Origin {
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
        let mut origin = self.clone();
        match (text("trace_id"), text("span_id")) {
            (Some(trace), Some(span)) => {
                origin.trace_id = Some(trace);
                origin.span_id = Some(span);
            }
            (Some(trace), None) => {
                origin.trace_id = Some(trace);
                origin.span_id = None;
            }
            _ => {}
        }
        if let Some(request) = text("request_id") {
            origin.request_id = Some(request);
        }
        origin
    }

    fn how_to_fetch(&self) -> String {
        match (&self.trace_id, &self.span_id, &self.request_id) {
            (Some(trace), Some(span), _) => format!("get_span trace_id={trace} span_id={span} returns it whole"),
            (_, _, Some(request)) => format!("lookup id={request} then get_span returns it whole"),
            (Some(trace), None, None) => format!("lookup id={trace} then get_span returns it whole"),
            _ => "narrow the call (a shorter window, a lower limit) to see it whole".to_string(),
        }
    }
}

/// `value` as compact JSON text of at most `limit` characters.
///
/// Texts are shortened first, then lists, each cut marked in place with what was left out;
/// an answer that still does not fit is cut as text, with a marker at its end.
pub fn fit(value: &Value, limit: usize) -> String {
    let whole = value.to_string();
    if whole.chars().count() <= limit {
        return whole;
    }
    for &(text_cap, list_cap) in &LEVELS[1..] {
        let cut = cut(value, text_cap, list_cap, &Origin::default()).to_string();
        if cut.chars().count() <= limit {
            return cut;
        }
    }
    let marker = format!(
        "…[cut: the answer is {} characters and at most {limit} are sent; narrow the call]",
        whole.chars().count()
    );
    let keep = limit.saturating_sub(marker.chars().count());
    let mut text: String = whole.chars().take(keep).collect();
    text.push_str(&marker);
    text
}

fn cut(value: &Value, text_cap: usize, list_cap: usize, origin: &Origin) -> Value {
    match value {
        Value::String(text) => Value::String(shorten(text, text_cap, origin)),
        Value::Array(items) => {
            let mut kept: Vec<Value> =
                items.iter().take(list_cap).map(|v| cut(v, text_cap, list_cap, origin)).collect();
            if items.len() > list_cap {
                kept.push(Value::String(format!(
                    "…[cut: {} more of {} items; {}]",
                    items.len() - list_cap,
                    items.len(),
                    origin.how_to_fetch()
                )));
            }
            Value::Array(kept)
        }
        Value::Object(object) => {
            let inner = origin.within(object);
            Value::Object(
                object
                    .iter()
                    .map(|(key, v)| {
                        // Ids are how a cut is undone: they are never cut.
                        let v = if is_id(key) { v.clone() } else { cut(v, text_cap, list_cap, &inner) };
                        (key.clone(), v)
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn is_id(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || key == "next_cursor"
}

fn shorten(text: &str, cap: usize, origin: &Origin) -> String {
    let length = text.chars().count();
    if length <= cap {
        return text.to_string();
    }
    let mut shown: String = text.chars().take(cap).collect();
    shown.push_str(&format!("…[cut: {} more of {length} characters; {}]", length - cap, origin.how_to_fetch()));
    shown
}

/// One page of a long text: `limit` characters from `offset`, and where the next begins.
pub fn page(text: &str, offset: usize, limit: usize) -> (String, Option<usize>) {
    let total = text.chars().count();
    let chunk: String = text.chars().skip(offset).take(limit).collect();
    let end = offset.saturating_add(limit);
    (chunk, (end < total).then_some(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_that_fits_is_sent_whole() {
        let value = json!({"request_id": "r1", "text": "short"});
        assert_eq!(fit(&value, 1_000), value.to_string());
    }

    #[test]
    fn a_long_text_in_a_span_is_cut_with_the_call_that_returns_it_whole() {
        let value = json!({"trace_id": "ab", "span_id": "cd", "content": "x".repeat(10_000)});
        let answer = fit(&value, 5_000);
        assert!(answer.chars().count() <= 5_000);
        assert!(answer.contains("get_span trace_id=ab span_id=cd"), "{answer}");
        assert!(answer.contains("more of 10000 characters"), "{answer}");
    }

    #[test]
    fn a_long_list_is_cut_and_says_how_many_items_were_left_out() {
        let items: Vec<Value> = (0..2_000).map(|i| json!({"request_id": format!("r{i}"), "q": "question"})).collect();
        let answer = fit(&json!({"examples": items}), 3_000);
        assert!(answer.chars().count() <= 3_000);
        assert!(answer.contains("more of 2000 items"), "{answer}");
        let parsed: Value = serde_json::from_str(&answer).expect("a cut answer is still JSON");
        assert_eq!(parsed["examples"][0]["request_id"], "r0");
    }

    #[test]
    fn ids_are_never_cut() {
        let id = "i".repeat(120);
        let value = json!({"request_id": id, "content": "y".repeat(5_000)});
        let answer = fit(&value, 1_000);
        assert!(answer.contains(&id));
    }

    #[test]
    fn an_answer_that_cannot_fit_by_cutting_parts_is_cut_as_text_within_the_limit() {
        let keys: Map<String, Value> = (0..5_000).map(|i| (format!("k{i}"), Value::from(i))).collect();
        let answer = fit(&Value::Object(keys), 2_000);
        assert!(answer.chars().count() <= 2_000);
        assert!(answer.ends_with("narrow the call]"));
    }

    #[test]
    fn pages_cover_a_text_exactly_once() {
        let text = "αβγδεζηθικ".repeat(7);
        let mut offset = Some(0);
        let mut joined = String::new();
        while let Some(at) = offset {
            let (chunk, next) = page(&text, at, 9);
            joined.push_str(&chunk);
            offset = next;
        }
        assert_eq!(joined, text);
    }
}
